import { createHash, randomBytes } from 'node:crypto';
import {
  type EnrollReply,
  EnrollRequest,
  type ErrorReply,
  HEADER_NODE,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  MAX_BODY_BYTES,
  MAX_REPLY_ACTIONS,
  NodeId,
  Report,
  ReportReply,
  checkSignatureHeaders,
  describeZodError,
  parseOrThrow,
  replyHeaders,
  verifySignature,
} from '../../protocol/index.js';
import { KEYS, withRetry } from '../adapters/store/store.js';
import type { FailoverEffect, FailoverReply, FailoverState } from '../failover/index.js';
import { enrollmentActions, enrollmentSubject, renderEnrollment } from '../domain/node-messages.js';
import type { NodeRecord } from '../domain/registry.js';
import { applyReport, decideEnrollment, secretCollectable } from '../domain/registry.js';
import { type DroppedAction, sendableActions } from '../domain/reply-actions.js';
import type { CommanderDeps } from './context.js';
import { type IdentityProof, proveIdentity, tagProvenSentry } from './enroll-identity.js';
import { enrollmentTokenAccepted } from './enrollment-token.js';
import {
  decideAndWrite,
  failoverSettingsOf,
  failoverStateKey,
  fromItem,
  peekValidatorKey,
  performFailoverEffects,
  validatorKeyOf,
} from './failover.js';

/** A reply the HTTP layer sends as JSON (`JSON.stringify(body)`, the bytes a report reply's headers sign). */
export interface PilotReply {
  status: number;
  body: ReportReply | EnrollReply | ErrorReply;
  /** A report reply's signature headers (`replyHeaders`). */
  headers?: Record<string, string>;
  /** A request refused before anyone was known: the HTTP layer counts and samples these (app/refusals.ts). */
  refused?: AnonymousRefusal;
}

export type AnonymousRefusal = 'malformed' | 'bad-token' | 'unknown-node' | 'bad-signature';

export interface PilotRequest {
  /** Header names lowercased. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The raw body exactly as received (signatures cover these bytes). */
  body: string;
}

/** Report interval asked of the nodes an operation is moving the lease between (the protocol's minimum). */
const URGENT_REPORT_MS = 500;

const fail = (status: number, error: string, detail?: string): PilotReply => ({
  status,
  body: detail === undefined ? { error } : { error, detail },
});

const anonymous = (refused: AnonymousRefusal, reply: PilotReply): PilotReply => ({ ...reply, refused });

const sha256 = (text: string) => createHash('sha256').update(text).digest();

type Refusal = Extract<IdentityProof, { kind: 'refused' }>;

function parseJson(body: string): { ok: true; value: unknown } | { ok: false; reply: PilotReply } {
  if (Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES) {
    return { ok: false, reply: fail(413, 'body too large', `the limit is ${MAX_BODY_BYTES} bytes`) };
  }
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (error) {
    return { ok: false, reply: fail(400, 'malformed JSON', (error as Error).message) };
  }
}

/** POST /v1/pilot/enroll: register a name (pending or auto-approved) and hand the secret to its claimant. */
export async function handleEnroll(deps: CommanderDeps, request: PilotRequest): Promise<PilotReply> {
  const json = parseJson(request.body);
  if (!json.ok) return anonymous('malformed', json.reply);
  const parsed = EnrollRequest.safeParse(json.value);
  if (!parsed.success)
    return anonymous('malformed', fail(400, 'invalid enroll request', describeZodError(parsed.error)));
  const enroll = parsed.data;
  if (!(await enrollmentTokenAccepted(deps, enroll.enrollmentToken))) {
    return anonymous(
      'bad-token',
      fail(
        401,
        'wrong enrollment token',
        'use the fleet enrollment token the commander was configured with, or the one an admin rotated to (`token rotate`)',
      ),
    );
  }
  const claimHash = sha256(enroll.claim).toString('hex');

  // A proof is checked once, for a name not yet enrolled; a repeated poll has nothing left to prove.
  let proof: IdentityProof | undefined;
  type Outcome = { node: NodeRecord; created: boolean } | { refused: Refusal } | null;
  const node = await withRetry(async (): Promise<Outcome> => {
    const existing = await deps.store.getNode(enroll.name);
    if (!existing) proof ??= await proveIdentity(deps, enroll);
    const proven: IdentityProof = proof ?? { kind: 'none' };
    if (proven.kind === 'refused') return { refused: proven };
    const identity = proven.kind === 'verified' ? proven.identity : null;
    const now = deps.now();
    const decision = decideEnrollment(
      existing?.value ?? null,
      enroll,
      claimHash,
      deps.settings.autoApprove,
      now,
      identity,
    );
    if (decision.kind !== 'created')
      return decision.kind === 'unchanged' ? { node: decision.node, created: false } : null;
    if (identity) {
      const bound = await deps.store.bindInstance(identity.instanceId, enroll.name);
      if (bound !== enroll.name) {
        return {
          refused: {
            kind: 'refused',
            status: 403,
            reason: `instance ${identity.instanceId} is bound to ${bound} for good: enroll it under that name`,
          },
        };
      }
    }
    // Tag, then secret, then the approved node: a claimant never sees approved-without-secret, and an
    // approved sentry's instance always carries its name (what rotations and terminations require).
    if (decision.autoApproved) {
      const tagged = await tagProvenSentry(deps, decision.node).then(
        () => null,
        (error: Error) => error.message,
      );
      if (tagged !== null) {
        return {
          refused: {
            kind: 'refused',
            status: 503,
            reason: `tagging the instance failed (${tagged}); try again`,
          },
        };
      }
      await deps.store.putSecretOnce(enroll.name, newSecret());
    }
    await deps.store.putNode(decision.node, null);
    await deps.store.appendAudit({
      at: now,
      actor: `pilot:${enroll.name}`,
      action: 'enroll',
      target: enroll.name,
      outcome: 'ok',
      detail: `${enroll.role} on ${enroll.chainId}${identity ? `, proved instance ${identity.instanceId}` : ''}${decision.autoApproved ? ', auto-approved' : ', pending approval'}`,
    });
    deps.log.info(
      { node: enroll.name, role: enroll.role, autoApproved: decision.autoApproved },
      'node enrolled',
    );
    return { node: decision.node, created: true };
  });
  if (node && 'refused' in node) return refuseIdentity(deps, enroll, node.refused);
  if (node?.created) {
    const { node: created } = node;
    await deps.chat.post(
      enrollmentSubject(created.id),
      renderEnrollment(created),
      enrollmentActions(created),
    );
  }
  if (!node) {
    return fail(
      409,
      'name taken',
      `node ${enroll.name} exists under another claim: pick another name, or, if ${enroll.name} is this node, have an admin run \`remove ${enroll.name}\` in chat and enroll again`,
    );
  }
  return enrollReply(deps, node.node);
}

/** An identity proof that failed: nothing is written but the audit entry; the reply names the fix. */
async function refuseIdentity(
  deps: CommanderDeps,
  enroll: EnrollRequest,
  refusal: Refusal,
): Promise<PilotReply> {
  deps.log.warn({ node: enroll.name, reason: refusal.reason }, 'enrollment identity refused');
  await deps.store
    .appendAudit({
      at: deps.now(),
      actor: `pilot:${enroll.name}`,
      action: 'enroll',
      target: enroll.name,
      outcome: 'denied',
      detail: `identity not verified: ${refusal.reason}`.slice(0, 1000),
    })
    .catch((error: Error) => deps.log.error({ node: enroll.name, err: error.message }, 'audit write failed'));
  return refusal.status === 503
    ? fail(503, 'identity check unavailable', refusal.reason)
    : fail(403, 'identity not verified', refusal.reason);
}

async function enrollReply(deps: CommanderDeps, node: NodeRecord): Promise<PilotReply> {
  if (node.status === 'rejected') {
    return fail(
      403,
      'enrollment rejected',
      `node ${node.id} was rejected by an operator; to enroll it again, an admin runs \`remove ${node.id}\` in chat first`,
    );
  }
  if (node.status === 'pending') {
    return {
      status: 202,
      body: { status: 'pending', nodeId: node.id, retryAfterMs: deps.settings.enrollRetryMs },
    };
  }
  if (!secretCollectable(node)) {
    return fail(
      409,
      'already enrolled',
      `node ${node.id} has reported already; its secret is not handed out again: to re-enroll it, an admin runs \`remove ${node.id}\` in chat first`,
    );
  }
  const secret = await deps.store.getSecret(node.id);
  if (!secret) {
    return {
      status: 202,
      body: { status: 'pending', nodeId: node.id, retryAfterMs: deps.settings.enrollRetryMs },
    };
  }
  return { status: 200, body: { status: 'approved', nodeId: node.id, secret } };
}

export function newSecret(): string {
  return randomBytes(32).toString('hex');
}

/**
 * POST /v1/pilot/report. Costs at most three store calls: one BatchGet (node, secret, tick heartbeat
 * and, for a validator, the failover state of its key), the conditional put of the failover state
 * (validators, when it changed) and the conditional put of the node item; a lost race reloads and
 * decides again. Failover effects (chat, alerts, audit) follow the writes. Rejections write nothing;
 * a request whose headers are missing, malformed or stale is refused before anything is read.
 */
export async function handleReport(deps: CommanderDeps, request: PilotRequest): Promise<PilotReply> {
  if (Buffer.byteLength(request.body, 'utf8') > MAX_BODY_BYTES) {
    return anonymous('malformed', fail(413, 'body too large', `the limit is ${MAX_BODY_BYTES} bytes`));
  }
  const nodeHeader = NodeId.safeParse(request.headers[HEADER_NODE]);
  if (!nodeHeader.success) {
    return anonymous(
      'malformed',
      fail(401, `missing or malformed ${HEADER_NODE} header`, 'send the enrolled node id'),
    );
  }
  const nodeId = nodeHeader.data;
  const signed = checkSignatureHeaders(
    request.headers[HEADER_TIMESTAMP],
    request.headers[HEADER_SIGNATURE],
    deps.now(),
  );
  if (!signed.ok) {
    return anonymous(
      signed.problem === 'stale' ? 'bad-signature' : 'malformed',
      fail(401, 'bad signature', signed.reason),
    );
  }

  const foKey = peekValidatorKey(request.body);
  let failover: { state: FailoverState; effects: FailoverEffect[] } | null = null;
  let dropped: DroppedAction[] = [];
  const reply = await withRetry(async () => {
    failover = null;
    dropped = [];
    const [nodeItem, secretItem, tickItem, foItem] = await deps.store.getMany([
      KEYS.node(nodeId),
      KEYS.secret(nodeId),
      KEYS.tick(),
      ...(foKey ? [failoverStateKey(foKey)] : []),
    ]);
    const stored = nodeItem as { value: NodeRecord; version: number } | null;
    const approved = stored?.value.status === 'approved';
    const secret = approved ? await deps.store.openSecret(nodeId, secretItem ?? null) : null;
    if (!stored || !secret) {
      return anonymous(
        'unknown-node',
        fail(401, 'unknown node', `node ${nodeId} is not enrolled and approved; enroll it first`),
      );
    }
    const now = deps.now();
    const check = verifySignature(
      secret,
      request.headers[HEADER_TIMESTAMP],
      request.headers[HEADER_SIGNATURE],
      request.body,
      now,
    );
    if (!check.ok) return anonymous('bad-signature', fail(401, 'bad signature', check.reason));

    const json = parseJson(request.body);
    if (!json.ok) return json.reply;
    const parsed = Report.safeParse(json.value);
    if (!parsed.success) return fail(400, 'invalid report', describeZodError(parsed.error));
    const report = parsed.data;
    const node = stored.value;
    if (report.nodeId !== nodeId) {
      return fail(
        400,
        'node mismatch',
        `nodeId ${report.nodeId} in the body differs from the ${HEADER_NODE} header`,
      );
    }
    if (report.chainId !== node.chainId || report.role !== node.role) {
      return fail(
        400,
        'registration mismatch',
        `node ${nodeId} is enrolled as ${node.role} on ${node.chainId}; re-enroll to change role or chain`,
      );
    }
    if (report.seq <= node.lastSeq) {
      return fail(409, 'replayed report', `seq ${report.seq} is not above the last accepted ${node.lastSeq}`);
    }

    // Failover first: a lost race there retries before the node item has taken this seq.
    let fo: FailoverReply | null = null;
    const key = node.role === 'validator' ? validatorKeyOf(report) : null;
    if (key && foKey && key.chainId === foKey.chainId && key.validator === foKey.validator) {
      const out = await decideAndWrite(
        deps.store,
        fromItem(key, foItem ?? null),
        { type: 'report', report },
        now,
        failoverSettingsOf(deps.settings),
      );
      fo = out.reply;
      failover = { state: out.state, effects: out.effects };
    }
    const applied = applyReport(node, report, now);
    // An action the pilot would refuse is never sent; one queued on the node leaves its queue with
    // this same write. A key action comes from the failover state and is only held back.
    const keyActions = sendableActions(fo?.actions ?? []);
    const queued = sendableActions(applied.node.actions);
    dropped = [...keyActions.dropped, ...queued.dropped];
    const updated = queued.dropped.length ? { ...applied.node, actions: queued.sendable } : applied.node;
    await deps.store.putNode(updated, stored.version);
    const body: ReportReply = {
      // Key actions first; a reply carries at most MAX_REPLY_ACTIONS (the rest follow next time).
      actions: [...keyActions.sendable, ...queued.sendable].slice(0, MAX_REPLY_ACTIONS),
      lease: fo?.lease ?? null,
      configVersion: applied.node.desiredConfig?.version ?? null,
      nextReportMs: fo?.urgent
        ? Math.min(URGENT_REPORT_MS, deps.settings.reportIntervalMs)
        : deps.settings.reportIntervalMs,
      commanderTime: now,
      lastTickAt: (tickItem?.value as { at?: number } | undefined)?.at ?? null,
      ackedResults: applied.acked,
    };
    // The whole reply against the protocol, as the pilot reads it; a failure here is our bug (a 500).
    const checked = parseOrThrow(ReportReply, body, 'report reply');
    const signature = request.headers[HEADER_SIGNATURE] as string;
    const headers = replyHeaders(secret, now, signature, JSON.stringify(checked));
    return { status: 200, body: checked, headers } satisfies PilotReply;
  });
  await reportDropped(deps, nodeId, dropped);
  const decided = failover as { state: FailoverState; effects: FailoverEffect[] } | null;
  if (decided) await performFailoverEffects(deps, decided.effects);
  return reply;
}

/**
 * Logs and audits each action held back from a reply (its reason names the field). Like the
 * failover effects, it follows the writes and never fails the report.
 */
async function reportDropped(deps: CommanderDeps, nodeId: string, dropped: DroppedAction[]): Promise<void> {
  for (const { id, type, reason } of dropped) {
    deps.log.warn({ node: nodeId, action: type, id, reason }, 'invalid action not sent');
    await deps.store
      .appendAudit({
        at: deps.now(),
        actor: 'commander',
        action: 'action-dropped',
        target: nodeId,
        outcome: 'failed',
        detail: `${type} ${id ?? '(no id)'} not sent: ${reason}`,
      })
      .catch((error: Error) => deps.log.error({ node: nodeId, err: error.message }, 'audit write failed'));
  }
}
