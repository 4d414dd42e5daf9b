/**
 * Unjailing: `unjail <validator|node>` and the [Unjail] button of a jailed alert (both confirmed
 * first), and the tick that tells the outcome. One item per validator (`UNJAIL/<chainId>#<validator>`,
 * the latest request), written with a conditional put before the action is queued: a second click
 * or a replayed confirmation finds the request waiting and queues nothing.
 */
import { explorerOf } from '../domain/explorer.js';
import { randomBytes } from 'node:crypto';
import { type Key, type Store, VersionConflict, withRetry } from '../adapters/store/store.js';
import type { OperationResult } from '../chatops/ports.js';
import { type NodeRecord, operatorOf, queueAction } from '../domain/registry.js';
import { type Actor, type CommanderDeps, actorLabel } from './context.js';
import { failoverOverview } from './failover-ops.js';
import {
  broadcastProblem,
  grantWarning,
  renderUnjail,
  resolveValidator,
  settleUnjail,
  short,
  type UnjailRequest,
  unjailRefusal,
  unjailSender,
  type ValidatorRef,
} from './unjail.js';

const requestKey = (ref: ValidatorRef): Key => ({ pk: 'UNJAIL', sk: `${ref.chainId}#${ref.validator}` });

async function audit(deps: CommanderDeps, actor: Actor, target: string, result: OperationResult) {
  await deps.store.appendAudit({
    at: deps.now(),
    actor: actorLabel(actor),
    action: 'unjail',
    target,
    outcome: result.accepted ? 'ok' : 'denied',
    detail: result.summary,
  });
  return result;
}

/** Queues the action on the sender, unless it is queued or answered already. */
async function queueUnjail(store: Store, request: UnjailRequest): Promise<void> {
  await withRetry(async () => {
    const fresh = await store.getNode(request.node);
    if (!fresh) throw new Error(`node ${request.node} is gone`);
    const n = fresh.value;
    if (n.recentResults.some((r) => r.id === request.id)) return;
    const next = queueAction(n, { id: request.id, issuedAt: request.at, type: 'unjail' });
    if (next !== n) await store.putNode(next, fresh.version);
  });
}

/** `unjail <validator|node>` (after its confirmation): the chosen pilot sends MsgExec(MsgUnjail). */
export async function requestUnjail(
  deps: CommanderDeps,
  request: { target: string; actor: Actor },
): Promise<OperationResult> {
  const refuse = (summary: string) =>
    audit(deps, request.actor, request.target, { accepted: false, summary });
  const nodes = (await deps.store.listNodes()).map((n) => n.value).filter((n) => n.status === 'approved');
  const ref = resolveValidator(nodes, request.target);
  if (typeof ref === 'string') return refuse(ref);
  const now = deps.now();
  const refusal = unjailRefusal(nodes, ref, now);
  if (refusal) return refuse(refusal);
  const holder =
    (await failoverOverview(deps)).find((o) => o.chainId === ref.chainId && o.validator === ref.validator)
      ?.holder ?? null;
  // Fresh: within the silence threshold health uses for a pilot.
  const freshMs = deps.settings.thresholds.silentIntervals * deps.settings.reportIntervalMs;
  const sender = unjailSender(nodes, ref, holder, (n) => n.lastSeen !== null && now - n.lastSeen <= freshMs);
  if (!sender)
    return refuse(
      `no validator node of ${short(ref.validator)} has a hot key to send MsgUnjail: give one a hot key (chain.hot_mnemonic_file) and its grants (\`beam-pilot grants\`)`,
    );
  const stored = await deps.store.get<UnjailRequest>(requestKey(ref));
  if (stored?.value.status === 'queued')
    return refuse(
      `an unjail of ${short(ref.validator)} (${stored.value.id}, asked by ${stored.value.requestedBy}) is waiting for ${stored.value.node}'s pilot`,
    );
  const unjail: UnjailRequest = {
    ...ref,
    id: `unjail-${now.toString(36)}-${randomBytes(3).toString('hex')}`,
    node: sender.id,
    requestedBy: actorLabel(request.actor),
    at: now,
    status: 'queued',
    txHash: null,
    height: null,
    message: null,
    finishedAt: null,
  };
  try {
    await deps.store.put(requestKey(ref), 'unjail', unjail, stored?.version ?? null);
  } catch (error) {
    if (error instanceof VersionConflict)
      return refuse(`another unjail of ${short(ref.validator)} was asked just now`);
    throw error;
  }
  await queueUnjail(deps.store, unjail);
  const warning = grantWarning(sender, now);
  // Passed over: the holder whose daemon cannot broadcast (often the very node that failed).
  const held = holder !== null && holder !== sender.id ? nodes.find((n) => n.id === holder) : undefined;
  const passedOver = held ? broadcastProblem(held) : null;
  const who =
    sender.id === holder
      ? `${sender.id} (the lease holder)`
      : passedOver
        ? `${sender.id} (not ${holder}, the lease holder: ${passedOver})`
        : sender.id;
  return audit(deps, request.actor, request.target, {
    accepted: true,
    summary: `${who} sends MsgExec(MsgUnjail) for validator ${short(ref.validator)} with its hot key; the tx hash follows here.${warning ? ` Warning: ${warning}.` : ''}`,
    operationId: unjail.id,
  });
}

/** The tick's share: requests whose pilot answered (or never did) are settled and told under their subject. */
export async function runUnjailTick(deps: CommanderDeps, nodes: readonly NodeRecord[]): Promise<void> {
  let waiting: UnjailRequest[];
  try {
    waiting = (await deps.store.query<UnjailRequest>('UNJAIL'))
      .map((r) => r.value)
      .filter((r) => r.status === 'queued');
  } catch (error) {
    deps.log.error({ err: (error as Error).message }, 'unjail tick: listing requests failed');
    return;
  }
  for (const value of waiting) {
    try {
      const result = nodes.find((n) => n.id === value.node)?.recentResults.find((r) => r.id === value.id);
      const settled = await withRetry(async () => {
        const fresh = await deps.store.get<UnjailRequest>(requestKey(value));
        const next = fresh && settleUnjail(fresh.value, result, deps.now());
        if (!fresh || !next) return null;
        await deps.store.put(requestKey(value), 'unjail', next, fresh.version);
        return next;
      });
      if (!settled) continue;
      await deps.chat.update(
        `operation:${settled.id}`,
        renderUnjail(
          settled,
          explorerOf(deps.settings.explorers, settled.chainId),
          operatorOf(nodes, settled.validator),
        ),
      );
      await deps.store.appendAudit({
        at: deps.now(),
        actor: 'system:commander',
        action: `unjail.${settled.status}`,
        target: settled.validator,
        outcome: settled.status === 'done' ? 'ok' : 'failed',
        detail: `${settled.id} by ${settled.node}: ${settled.txHash ?? settled.message ?? 'no detail'}`,
      });
    } catch (error) {
      deps.log.error({ unjail: value.id, err: (error as Error).message }, 'unjail tick failed');
    }
  }
}
