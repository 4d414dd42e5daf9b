import type { Action, ActionResult, Report } from '../../protocol/index.js';
import { configActions, desiredConfig } from '../domain/node-config.js';
import type { NodeRecord } from '../domain/registry.js';
import { type CloudOutcome, type CloudRequest, type SentryEffect, chatEffect } from './effects.js';
import {
  floodVerdict,
  isRetired,
  p2pPortOf,
  peerOf,
  replacementRefusal,
  rotationRefusal,
  sentriesOf,
  sentryDesiredConfig,
  unhealthyCause,
} from './facts.js';
import type { SentrySettings } from './settings.js';
import {
  type ReplacementOp,
  type RotationOp,
  type SentryDefenceState,
  type SentryOp,
  type SentryTrack,
  activeOps,
  isActiveOp,
  newTrack,
} from './state.js';

export type SentryEvent =
  /** An accepted report (after the registry applied it): flood streak, action results, completion. */
  | { type: 'report'; report: Report }
  /** The scheduled tick: retries, timeouts, health, replacements. */
  | { type: 'tick' }
  | { type: 'cloud-result'; outcome: CloudOutcome }
  | { type: 'request-rotation'; node: string; actor: string }
  | { type: 'request-replacement'; node: string; actor: string };

export interface SentryInput {
  /** The registry, with the event's report already applied. */
  nodes: readonly NodeRecord[];
  settings: SentrySettings;
  /** Emit due cloud calls with this event (default true); false leaves them due for the next tick. */
  issueCloudCalls?: boolean;
}

/** The answer to a person's request, shaped as chatops' OperationResult. */
export interface SentryAnswer {
  accepted: boolean;
  summary: string;
  operationId?: string;
}

export interface SentryOutput {
  state: SentryDefenceState;
  effects: SentryEffect[];
  answer: SentryAnswer | null;
}

export const COMMANDER = 'commander';

/** `45 s`, `12 min`: how long, for people. */
function duration(ms: number): string {
  return ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

/**
 * Applies one event at commander time `now`. Pure: the input state is not modified; applying the
 * same event again to the returned state changes nothing more (reports by seq, results by action id
 * and phase, cloud outcomes by attempt). Persist `state` with a conditional write, then perform the
 * effects (cloud calls through `performCloud`, whose outcomes are fed back as events).
 */
export function decideSentryDefence(
  state: SentryDefenceState,
  event: SentryEvent,
  now: number,
  input: SentryInput,
): SentryOutput {
  const run = new Run(structuredClone(state), now, input);
  switch (event.type) {
    case 'report':
      run.report(event.report);
      break;
    case 'tick':
      run.tick();
      break;
    case 'cloud-result':
      run.cloudResult(event.outcome);
      break;
    case 'request-rotation':
      run.requestRotation(event.node, event.actor);
      break;
    case 'request-replacement':
      run.requestReplacement(event.node, event.actor);
      break;
  }
  run.wire();
  if (input.issueCloudCalls !== false) run.issueDueCloudCalls();
  run.prune();
  return { state: run.s, effects: run.finish(), answer: run.answer };
}

/** One event's worth of decisions on a private copy of the state. */
class Run {
  answer: SentryAnswer | null = null;
  private readonly fx: SentryEffect[] = [];
  /** Chat for each touched operation is emitted once per event, in its final phase. */
  private readonly chat = new Map<string, 'post' | 'update'>();
  private readonly cfg: SentrySettings;
  private readonly nodes: readonly NodeRecord[];

  constructor(
    readonly s: SentryDefenceState,
    private readonly now: number,
    input: SentryInput,
  ) {
    this.cfg = input.settings;
    this.nodes = input.nodes;
  }

  finish(): SentryEffect[] {
    for (const [id, mode] of this.chat) {
      const op = this.s.ops[id];
      if (op) this.fx.push(chatEffect(op, mode));
    }
    return this.fx;
  }

  // ── events ────────────────────────────────────────────────────────────────────────────────

  report(report: Report): void {
    for (const result of report.results) this.result(report.nodeId, result);
    if (report.role !== 'sentry') return;
    const track = this.track(report.nodeId);
    if (report.seq <= track.lastSeq) return;
    track.lastSeq = report.seq;

    const op = this.activeFor(report.nodeId);
    if (op?.kind === 'rotation' && op.phase === 'starting' && op.config) {
      // Done once the daemon serves again (its RPC answers) with the new external address.
      const serving = report.daemon.running && report.daemon.rpcReachable;
      if (serving && report.configVersion === op.config.version) this.rotationDone(op);
    }
    const flood = floodVerdict(report, this.cfg.floodThresholds);
    if (!flood) {
      track.floodStreak = 0;
      if (track.heldReason) this.releaseHold(report.nodeId, track);
      return;
    }
    track.floodStreak += 1;
    if (track.floodStreak < this.cfg.floodReportsToAct || this.activeFor(report.nodeId)) return;
    const reason = `flooded for ${track.floodStreak} reports: ${flood}`;
    const refusal = rotationRefusal(this.s, report.nodeId, this.nodes, this.now, this.cfg);
    if (refusal) this.hold(report.nodeId, track, reason, refusal);
    else this.startRotation(report.nodeId, COMMANDER, reason);
  }

  tick(): void {
    for (const op of activeOps(this.s)) this.checkTimeouts(op);
    for (const node of sentriesOf(this.s, this.nodes)) {
      const track = this.track(node.id);
      const cause = this.activeFor(node.id) ? null : unhealthyCause(node, this.now, this.cfg);
      if (!cause) {
        track.unhealthySince = null;
        continue;
      }
      // A silent pilot has been unhealthy since its report went stale, not since we noticed.
      const since =
        cause === 'pilot silent' && node.lastSeen !== null
          ? node.lastSeen + this.cfg.freshReportMs
          : this.now;
      track.unhealthySince = Math.min(track.unhealthySince ?? since, since);
      if (this.now - track.unhealthySince <= this.cfg.replaceAfterMs) continue;
      if (replacementRefusal(this.s, node.id, this.nodes, this.now, this.cfg)) continue;
      this.startReplacement(node, COMMANDER, `${cause} for ${duration(this.now - track.unhealthySince)}`);
    }
  }

  requestRotation(name: string, actor: string): void {
    const refusal = rotationRefusal(this.s, name, this.nodes, this.now, this.cfg);
    if (refusal) {
      this.refuse('rotate-ip', name, actor, refusal);
      return;
    }
    const op = this.startRotation(name, actor, `requested by ${actor}`);
    this.answer = {
      accepted: true,
      summary: `IP rotation of ${name} started (${op.id})`,
      operationId: op.id,
    };
  }

  requestReplacement(name: string, actor: string): void {
    const refusal = replacementRefusal(this.s, name, this.nodes, this.now, this.cfg);
    if (refusal) {
      this.refuse('replace', name, actor, refusal);
      return;
    }
    const node = this.nodes.find((n) => n.id === name)!;
    const op = this.startReplacement(node, actor, `requested by ${actor}`);
    this.answer = {
      accepted: true,
      summary: `Replacement of ${name} started (${op.id})`,
      operationId: op.id,
    };
  }

  /** Pilot results: matched to the operation's actions by id, and only in the phase that awaits them. */
  private result(nodeId: string, result: ActionResult): void {
    const op = this.activeFor(nodeId);
    if (op?.kind !== 'rotation' || !op.actionIds.includes(result.id)) return;
    // The registry keeps a node's recent results, and they may come again with later reports.
    if (op.resultsSeen?.includes(result.id)) return;
    const detail = result.message ? ` (${result.message})` : '';
    if (op.phase === 'stopping' && result.id === `${op.id}.stop`) {
      op.resultsSeen = [...(op.resultsSeen ?? []), result.id];
      if (!result.ok) {
        this.fail(op, `stop-daemon failed${detail}`);
        return;
      }
      this.audit(nodeId, 'sentry.rotation.stopped', op.node, 'ok', `${op.id}: daemon stopped`);
      this.phase(op, 'rotating');
      op.nextCloudAt = this.now;
    } else if (
      op.phase === 'starting' &&
      (result.id === `${op.id}.config` || result.id === `${op.id}.start`)
    ) {
      op.resultsSeen = [...(op.resultsSeen ?? []), result.id];
      const step = result.id === `${op.id}.config` ? 'apply-config' : 'start-daemon';
      this.audit(
        nodeId,
        `sentry.rotation.${step}`,
        op.node,
        result.ok ? 'ok' : 'failed',
        `${op.id}${detail}`,
      );
      if (result.ok) return;
      // The start comes after the config in the same queue: a failed config still gets a start.
      if (step === 'apply-config') op.lastError = `apply-config failed${detail}`;
      else this.fail(op, `start-daemon failed${detail}`);
      this.touch(op);
    }
  }

  cloudResult(outcome: CloudOutcome): void {
    const op = this.s.ops[outcome.opId];
    const awaiting =
      op?.kind === 'rotation'
        ? op.phase === 'rotating'
        : op?.kind === 'replacement' && op.phase === 'terminating';
    if (!op || !awaiting || outcome.attempt !== op.attempts) return; // stale or repeated
    if (!outcome.ok) {
      this.cloudFailed(op, outcome.error);
      return;
    }
    if (outcome.kind === 'rotate' && op.kind === 'rotation') this.rotated(op, outcome);
    else if (outcome.kind === 'terminate' && op.kind === 'replacement') this.terminated(op, outcome.released);
  }

  // ── rotation ──────────────────────────────────────────────────────────────────────────────

  private startRotation(name: string, actor: string, reason: string): RotationOp {
    const node = this.nodes.find((n) => n.id === name)!;
    const track = this.track(name);
    const id = this.opId('rot', name);
    const op: RotationOp = {
      ...this.opBase(id, node, actor, reason),
      kind: 'rotation',
      phase: 'stopping',
      previousAddress: track.publicAddress,
      newAddress: null,
      allocationId: null,
      config: null,
      actionIds: [],
    };
    this.s.ops[id] = op;
    track.floodStreak = 0;
    if (track.heldReason) this.releaseHold(name, track);
    this.queue(op, { id: `${id}.stop`, type: 'stop-daemon', issuedAt: this.now });
    this.audit(actor, 'sentry.rotation.started', name, 'ok', `${id}: ${reason}`);
    this.chat.set(id, 'post');
    return op;
  }

  private rotated(op: RotationOp, outcome: Extract<CloudOutcome, { ok: true; kind: 'rotate' }>): void {
    const node = this.nodes.find((n) => n.id === op.node);
    if (!node) {
      this.fail(op, `${op.node} left the registry during its rotation`);
      return;
    }
    const address = `${outcome.publicIp}:${p2pPortOf(node, this.cfg)}`;
    const track = this.track(op.node);
    op.previousAddress ??= outcome.previousPublicIp
      ? `${outcome.previousPublicIp}:${p2pPortOf(node, this.cfg)}`
      : null;
    op.newAddress = address;
    op.allocationId = outcome.allocationId;
    op.lastError = null;
    op.config = sentryDesiredConfig(node, this.nodes, address);
    track.publicAddress = address;
    this.fx.push(
      { type: 'public-address', nodeId: op.node, address, previous: op.previousAddress },
      { type: 'desired-config', nodeId: op.node, config: op.config },
    );
    this.queue(op, {
      id: `${op.id}.config`,
      type: 'apply-config',
      issuedAt: this.now,
      version: op.config.version,
      patch: op.config.patch,
      restart: false,
    });
    this.queue(op, { id: `${op.id}.start`, type: 'start-daemon', issuedAt: this.now });
    const released = outcome.released.length ? `, released ${outcome.released.join(', ')}` : '';
    const foreign = outcome.foreignAllocationId
      ? `, left foreign address ${outcome.foreignAllocationId} allocated`
      : '';
    this.audit(
      COMMANDER,
      'sentry.rotation.address',
      op.node,
      'ok',
      `${op.id}: ${op.previousAddress ?? '?'} → ${address} (${outcome.allocationId}${released}${foreign})`,
    );
    this.phase(op, 'starting');
  }

  private rotationDone(op: RotationOp): void {
    this.phase(op, 'done');
    op.finishedAt = this.now;
    this.track(op.node).cooldownUntil = this.now + this.cfg.cooldownMs;
    this.audit(COMMANDER, 'sentry.rotation.done', op.node, 'ok', `${op.id}: running at ${op.newAddress}`);
  }

  // ── replacement ───────────────────────────────────────────────────────────────────────────

  private startReplacement(node: NodeRecord, actor: string, reason: string): ReplacementOp {
    const id = this.opId('rep', node.id);
    const op: ReplacementOp = {
      ...this.opBase(id, node, actor, reason),
      kind: 'replacement',
      phase: 'terminating',
      terminatedAt: null,
      replacement: null,
    };
    op.nextCloudAt = this.now;
    this.s.ops[id] = op;
    this.audit(actor, 'sentry.replacement.started', node.id, 'ok', `${id}: ${reason}`);
    this.chat.set(id, 'post');
    return op;
  }

  private terminated(op: ReplacementOp, released: string[]): void {
    op.terminatedAt = this.now;
    op.lastError = null;
    this.phase(op, 'awaiting-replacement');
    delete this.s.wired[op.node];
    delete this.s.sentries[op.node];
    this.fx.push({ type: 'remove-node', nodeId: op.node });
    // Validators drop the dead sentry from the file for their next start.
    for (const validator of this.validators()) this.pushConfig(validator, []);
    this.audit(
      COMMANDER,
      'sentry.replacement.terminated',
      op.node,
      'ok',
      `${op.id}: ${op.instanceId} terminated${released.length ? `, released ${released.join(', ')}` : ''}`,
    );
  }

  // ── shared steps ──────────────────────────────────────────────────────────────────────────

  private cloudFailed(op: SentryOp, error: { kind: string; message: string; retryable: boolean }): void {
    if (op.kind === 'replacement' && error.kind === 'not-found') {
      this.terminated(op, []);
      return;
    }
    op.lastError = error.message;
    this.touch(op);
    if (!error.retryable) {
      this.fail(op, `${error.kind}: ${error.message}`);
      return;
    }
    if (op.attempts >= this.cfg.cloudMaxAttempts) {
      this.fail(op, `gave up after ${op.attempts} attempts: ${error.message}`);
      return;
    }
    const delay = Math.min(this.cfg.cloudRetryBaseMs * 2 ** (op.attempts - 1), this.cfg.cloudRetryMaxMs);
    op.nextCloudAt = this.now + delay;
    this.audit(
      COMMANDER,
      `sentry.${op.kind}.retry`,
      op.node,
      'failed',
      `${op.id} attempt ${op.attempts}: ${error.message}`,
    );
  }

  /** Ends an operation as failed; a rotation never leaves its sentry stopped. */
  private fail(op: SentryOp, reason: string): void {
    const startQueued = op.kind === 'rotation' && op.actionIds.includes(`${op.id}.start`);
    op.failure = reason;
    op.finishedAt = this.now;
    op.nextCloudAt = null;
    this.phase(op, 'failed');
    if (op.kind === 'rotation') {
      this.track(op.node).cooldownUntil = this.now + this.cfg.cooldownMs;
      if (!startQueued) this.queue(op, { id: `${op.id}.restore`, type: 'start-daemon', issuedAt: this.now });
    }
    const what = op.kind === 'rotation' ? 'IP rotation' : 'Replacement';
    this.fx.push({
      type: 'alert',
      key: `sentry:${op.node}:${op.kind}-failed`,
      severity: 'critical',
      title: `${what} of ${op.node} failed`,
      text: `${op.id}: ${reason}`,
      resolved: false,
    });
    this.audit(COMMANDER, `sentry.${op.kind}.failed`, op.node, 'failed', `${op.id}: ${reason}`);
  }

  private checkTimeouts(op: SentryOp): void {
    const waited = this.now - op.phaseAt;
    if (op.kind === 'rotation' && (op.phase === 'stopping' || op.phase === 'starting')) {
      if (waited > this.cfg.pilotStepTimeoutMs) {
        this.fail(
          op,
          `no ${op.phase === 'stopping' ? 'stop' : 'start'} confirmed by the pilot within ${Math.round(waited / 1000)} s`,
        );
      }
    } else if (op.kind === 'replacement' && op.phase === 'awaiting-replacement') {
      if (waited > this.cfg.replacementWaitMs) {
        this.fail(op, `no new sentry enrolled within ${Math.round(waited / 60_000)} min of the termination`);
      }
    }
  }

  /** Issues every cloud call that is due; an unanswered call is issued again after the timeout. */
  issueDueCloudCalls(): void {
    for (const op of activeOps(this.s)) {
      const wantsCloud = op.phase === 'rotating' || op.phase === 'terminating';
      if (!wantsCloud || op.nextCloudAt === null || op.nextCloudAt > this.now) continue;
      op.attempts += 1;
      op.nextCloudAt = this.now + this.cfg.cloudCallTimeoutMs;
      const request: CloudRequest = {
        kind: op.kind === 'rotation' ? 'rotate' : 'terminate',
        opId: op.id,
        attempt: op.attempts,
        node: op.node,
        instanceId: op.instanceId,
      };
      this.fx.push({ type: 'cloud', request });
    }
  }

  /**
   * Points validators at every sentry whose peer address is new or changed, without a restart
   * (`dial-peers`), and gives them the config for their next start. A replacement waiting for its
   * new sentry is done once one is wired.
   */
  wire(): void {
    const sentries = sentriesOf(this.s, this.nodes);
    const present = new Set(sentries.map((n) => n.id));
    for (const id of Object.keys(this.s.wired)) if (!present.has(id)) delete this.s.wired[id];
    for (const sentry of sentries) {
      const peer = peerOf(sentry);
      if (!peer || this.s.wired[sentry.id] === peer) continue;
      const isNew = this.s.wired[sentry.id] === undefined;
      this.s.wired[sentry.id] = peer;
      const validators = this.validators().filter((v) => v.chainId === sentry.chainId);
      for (const validator of validators) this.pushConfig(validator, [peer]);
      this.audit(
        COMMANDER,
        'sentry.wired',
        sentry.id,
        'ok',
        `${peer} announced to ${validators.map((v) => v.id).join(', ') || 'no validator'}`,
      );
      if (!isNew) continue;
      const waiting = activeOps(this.s)
        .filter((op): op is ReplacementOp => op.kind === 'replacement' && op.phase === 'awaiting-replacement')
        .sort((a, b) => a.startedAt - b.startedAt)[0];
      if (waiting && sentry.enrolledAt >= waiting.startedAt) {
        waiting.replacement = sentry.id;
        waiting.finishedAt = this.now;
        this.phase(waiting, 'done');
        this.audit(
          COMMANDER,
          'sentry.replacement.done',
          waiting.node,
          'ok',
          `${waiting.id}: ${sentry.id} wired in`,
        );
      }
    }
  }

  /** Finished operations beyond the configured number are dropped, oldest first. */
  prune(): void {
    const finished = Object.values(this.s.ops)
      .filter((op) => !isActiveOp(op))
      .sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0));
    for (const op of finished.slice(this.cfg.keepFinishedOps)) {
      // Keep a replacement while its node lingers in the registry: it marks the node retired.
      const lingering =
        op.kind === 'replacement' && this.nodes.some((n) => n.id === op.node && isRetired(this.s, n));
      if (!lingering) delete this.s.ops[op.id];
    }
  }

  // ── helpers ───────────────────────────────────────────────────────────────────────────────

  private validators(): NodeRecord[] {
    return this.nodes.filter((n) => n.role === 'validator' && n.status === 'approved');
  }

  /** New desired config for a validator (file, next start) plus dialing of `dial` now. */
  private pushConfig(validator: NodeRecord, dial: string[]): void {
    const fleet = this.nodes.filter((n) => !(n.role === 'sentry' && isRetired(this.s, n)));
    const config = desiredConfig(validator, fleet);
    this.fx.push({ type: 'desired-config', nodeId: validator.id, config });
    for (const action of configActions(validator, config, this.now, dial))
      this.fx.push({ type: 'action', nodeId: validator.id, action });
  }

  private hold(name: string, track: SentryTrack, reason: string, refusal: string): void {
    if (track.heldReason === refusal) return;
    track.heldReason = refusal;
    this.fx.push({
      type: 'alert',
      key: `sentry:${name}:flood-held`,
      severity: 'warning',
      title: `${name} is flooded; IP rotation held back`,
      text: `${reason}. Not rotating: ${refusal}.`,
      resolved: false,
    });
    this.audit(COMMANDER, 'sentry.rotation.held', name, 'denied', `${reason}; ${refusal}`);
  }

  private releaseHold(name: string, track: SentryTrack): void {
    track.heldReason = null;
    this.fx.push({
      type: 'alert',
      key: `sentry:${name}:flood-held`,
      severity: 'ok',
      title: `${name}: flood handled`,
      text: 'The flood ended or a rotation started.',
      resolved: true,
    });
  }

  private refuse(action: string, name: string, actor: string, refusal: string): void {
    this.answer = { accepted: false, summary: `Not started: ${refusal}` };
    this.audit(actor, `sentry.${action}`, name, 'denied', refusal);
  }

  private opBase(id: string, node: NodeRecord, actor: string, reason: string) {
    return {
      id,
      node: node.id,
      instanceId: node.instanceId ?? '',
      startedAt: this.now,
      phaseAt: this.now,
      requestedBy: actor,
      reason,
      attempts: 0,
      nextCloudAt: null,
      lastError: null,
      finishedAt: null,
      failure: null,
    };
  }

  private opId(prefix: string, node: string): string {
    this.s.opSeq += 1;
    return `${prefix}-${node}-${this.s.opSeq}`;
  }

  private queue(op: RotationOp, action: Action): void {
    op.actionIds.push(action.id);
    this.fx.push({ type: 'action', nodeId: op.node, action });
  }

  private phase<O extends SentryOp>(op: O, phase: O['phase']): void {
    op.phase = phase;
    op.phaseAt = this.now;
    op.attempts = 0;
    this.touch(op);
  }

  private touch(op: SentryOp): void {
    if (!this.chat.has(op.id)) this.chat.set(op.id, 'update');
  }

  private activeFor(node: string): SentryOp | undefined {
    return activeOps(this.s).find((op) => op.node === node);
  }

  private track(node: string): SentryTrack {
    this.s.sentries[node] ??= newTrack();
    return this.s.sentries[node];
  }

  private audit(
    actor: string,
    action: string,
    target: string,
    outcome: 'ok' | 'denied' | 'failed',
    detail: string,
  ) {
    this.fx.push({ type: 'audit', entry: { at: this.now, actor, action, target, outcome, detail } });
  }
}
