import type { Action, ActionResult, LeaseGrant, Report } from '../../protocol/index.js';
import { COMMANDER, chatEffect, type FailoverEffect, iso } from './effects.js';
import {
  canTakeOver,
  distil,
  highestKnownHeight,
  holderFailure,
  holderHealthy,
  isFresh,
  isNewer,
  lastSignedHeight,
  maintenanceUntil,
  rankStandbys,
  runsWithKey,
  seen,
  signerFloor,
  showsMissing,
  showsSigning,
  trailingMissed,
} from './facts.js';
import { describePause, nextPause } from './pause.js';
import type { FailoverSettings } from './settings.js';
import {
  type FailoverOp,
  type FailoverState,
  type OpKind,
  type OpPhase,
  type OutboxEntry,
  failoverSubject,
  isActive,
} from './state.js';

export type FailoverEvent =
  | { type: 'report'; report: Report }
  | { type: 'action-result'; nodeId: string; result: ActionResult }
  | { type: 'tick' }
  | { type: 'confirm'; opId: string; actor: string }
  | { type: 'reject'; opId: string; actor: string }
  | { type: 'request-failover'; actor: string; to?: string }
  | { type: 'request-switchover'; actor: string; to?: string };

/** What to put in the reply to a node's report. */
export interface FailoverReply {
  lease: LeaseGrant | null;
  /** Outstanding key actions for this node, oldest first; re-sent until their results arrive. */
  actions: Action[];
  /**
   * An operation is moving the lease: the node should report again soon, so a demote's result and
   * the promote that waits on it travel in a fraction of the report interval.
   */
  urgent: boolean;
}

export interface FailoverOutput {
  state: FailoverState;
  effects: FailoverEffect[];
  /** Set for report events: the lease grant and key actions for THIS report's reply. */
  reply: FailoverReply | null;
}

/** Phases an operation can still be called off in: the lease has not moved yet. */
const CANCELLABLE: readonly OpPhase[] = ['awaiting-confirmation', 'demoting', 'fencing-wait'];

/** Phases in which the lease is on its way out of `op.from`: it is never renewed then. */
const MOVING: readonly OpPhase[] = ['detected', 'demoting', 'fencing-wait'];

/**
 * Applies one event at commander time `now`. Pure: the input state is not modified, and the same
 * event applied to the returned state changes nothing more (reports by seq, results by action id,
 * clicks by phase). Persist `state` with a conditional write, then perform `effects`.
 */
export function decideFailover(
  state: FailoverState,
  event: FailoverEvent,
  now: number,
  settings: FailoverSettings,
): FailoverOutput {
  const run = new Run(structuredClone(state), now, settings);
  let reply: FailoverReply | null = null;
  switch (event.type) {
    case 'report': {
      const accepted = run.report(event.report);
      run.evaluate();
      if (accepted) run.renew(event.report.nodeId);
      reply = replyFor(run.s, event.report.nodeId);
      break;
    }
    case 'action-result':
      run.result(event.nodeId, event.result);
      run.evaluate();
      break;
    case 'tick':
      run.evaluate();
      break;
    case 'confirm':
      run.confirm(event.opId, event.actor);
      run.evaluate();
      break;
    case 'reject':
      run.reject(event.opId, event.actor);
      run.evaluate();
      break;
    case 'request-failover':
      run.request('failover', event.actor, event.to);
      run.evaluate();
      break;
    case 'request-switchover':
      run.request('switchover', event.actor, event.to);
      run.evaluate();
      break;
  }
  return { state: run.s, effects: run.finish(), reply };
}

/** The lease grant and outstanding key actions for a node, from the persisted state. */
export function replyFor(state: FailoverState, nodeId: string): FailoverReply {
  const { lease } = state;
  const known = state.nodes[nodeId] !== undefined || lease.holder === nodeId;
  const op = state.op;
  return {
    lease: known ? { epoch: lease.epoch, holder: lease.holder === nodeId, expiresAt: lease.expiresAt } : null,
    actions: state.outbox.filter((e) => e.nodeId === nodeId).map((e) => e.action),
    urgent: isActive(op) && (op.from === nodeId || op.to === nodeId) && op.phase !== 'awaiting-confirmation',
  };
}

/** One event's worth of decisions on a private copy of the state. */
class Run {
  private readonly fx: FailoverEffect[] = [];
  /** Chat for the operation is emitted once per event, in its final phase. */
  private chat: 'post' | 'update' | null = null;

  constructor(
    readonly s: FailoverState,
    private readonly now: number,
    private readonly cfg: FailoverSettings,
  ) {}

  finish(): FailoverEffect[] {
    const op = this.s.op;
    if (this.chat && op) {
      const autoAt =
        this.cfg.autoApproveAfterMs !== undefined && op.phaseAt['awaiting-confirmation'] !== undefined
          ? op.phaseAt['awaiting-confirmation'] + this.cfg.autoApproveAfterMs
          : null;
      this.fx.push(chatEffect(this.s, op, this.chat, autoAt));
    }
    return this.fx;
  }

  // ── events ────────────────────────────────────────────────────────────────────────────────

  /** Takes the report's results (idempotent by id), then its facts if it is newer than the last. */
  report(report: Report): boolean {
    if (report.chainId !== this.s.chainId) return false;
    for (const result of report.results) this.result(report.nodeId, result);
    const previous = this.s.nodes[report.nodeId];
    if (!isNewer(previous, report)) return false;
    this.s.nodes[report.nodeId] = distil(previous, report, this.now);
    return true;
  }

  result(nodeId: string, result: ActionResult): void {
    const entry = this.s.outbox.find((e) => e.nodeId === nodeId && e.action.id === result.id);
    if (!entry) return; // unknown, or handled already
    this.s.outbox = this.s.outbox.filter((e) => e !== entry);
    this.audit(
      nodeId,
      `failover.${entry.action.type}.${result.ok ? 'ok' : 'failed'}`,
      `${entry.action.type} ${result.id} (epoch ${entry.action.epoch}) on ${nodeId}: ${result.ok ? 'ok' : 'failed'}${result.message ? ` (${result.message})` : ''}`,
    );
    const op = this.s.op;
    if (!isActive(op)) return;
    // A late demote result (the lease already moved by expiry) must never send the op back a phase.
    if (result.id === op.demoteActionId && CANCELLABLE.includes(op.phase)) {
      op.demoteResult = result.ok ? 'ok' : 'failed';
      if (result.ok && result.height !== undefined) op.demotedMarkHeight = result.height;
      if (!result.ok) {
        if (op.kind === 'switchover')
          this.abort(op, `demote failed on ${nodeId}: ${result.message ?? 'no detail'}`);
        else this.phase(op, 'fencing-wait');
      }
    } else if (result.id === op.promoteActionId) {
      if (result.ok) {
        // The new signer signs only above the sign state it reports: a signature at or below it
        // may still be the old signer's, seen late.
        if (result.height !== undefined) op.minHeight = Math.max(op.minHeight ?? 0, result.height);
        this.phase(op, 'signing');
      } else {
        this.abort(op, `promote failed on ${nodeId}: ${result.message ?? 'no detail'}`);
        this.alert('promote-failed', true, 'critical', `Promotion of ${nodeId} failed`, op.abortReason ?? '');
      }
    }
  }

  confirm(opId: string, actor: string): void {
    const op = this.s.op;
    if (!op || op.id !== opId || op.phase !== 'awaiting-confirmation') {
      this.notice(
        `Nothing to confirm: ${op?.id === opId ? `${opId} is ${op.phase}` : `${opId} is not pending`}.`,
      );
      return;
    }
    op.confirmedBy = actor;
    this.audit(actor, 'failover.confirmed', `${actor} confirmed ${op.id}`);
    this.move(op);
  }

  /** [Not now] on a question, or a cancel before the lease has moved (never after a promote). */
  reject(opId: string, actor: string): void {
    const op = this.s.op;
    if (!op || op.id !== opId || !CANCELLABLE.includes(op.phase)) {
      this.notice(
        `Nothing to cancel: ${op?.id === opId ? `${opId} is ${op.phase}` : `${opId} is not pending`}.`,
      );
      return;
    }
    op.declinedBy = actor;
    this.audit(actor, 'failover.declined', `${actor} declined ${op.id} in phase ${op.phase}`);
    this.abort(op, `declined by ${actor}`);
  }

  request(kind: OpKind, actor: string, to: string | undefined): void {
    if (this.cfg.keyMode === 'external') {
      this.audit(actor, `${kind}.refused`, 'keyMode external');
      this.notice(
        `${kind === 'failover' ? 'Failover' : 'Switchover'} refused: this validator signs through an external signer (keyMode external); use its own failover. Beam keeps watching and alerting.`,
      );
      return;
    }
    const ranked = rankStandbys(this.s, this.now, this.cfg);
    const target = to ?? ranked[0];
    const why = this.refusal(kind, to, target);
    if (why !== null || target === undefined) {
      this.audit(actor, `${kind}.refused`, why ?? '');
      this.notice(`${kind === 'failover' ? 'Failover' : 'Switchover'} refused: ${why}`);
      return;
    }
    const op = this.create(kind, target, to !== undefined, `${kind} requested by ${actor}`, actor);
    this.move(op);
  }

  private refusal(kind: OpKind, to: string | undefined, target: string | undefined): string | null {
    const { holder } = this.s.lease;
    if (isActive(this.s.op)) return `${this.s.op.id} is already ${this.s.op.phase}.`;
    // The holder itself is a valid target only once it was demoted (e.g. after a cancelled move).
    if (to !== undefined && to === holder && this.s.nodes[to]?.custody?.holdsValidatorKey !== false) {
      return `${to} already holds the lease.`;
    }
    if (to !== undefined && this.s.nodes[to]?.role !== 'validator') {
      return `${to} is not a validator node of ${this.s.validator}.`;
    }
    const maintenance = to === undefined ? null : maintenanceUntil(this.s.nodes[to], this.now);
    if (maintenance !== null) return `${to} is in maintenance until ${iso(maintenance)}.`;
    if (kind === 'switchover') {
      if (holder === null) return 'no node holds the lease: use failover.';
      const h = this.s.nodes[holder];
      if (!isFresh(h, this.now, this.cfg) || !h.running) {
        return `${holder} is not reporting a running daemon, so it cannot confirm a demote: use failover.`;
      }
    }
    if (target === undefined) return 'no standby is running, synced and seeing new blocks.';
    if (!this.ready(target)) return `${target} is not running, synced and seeing new blocks.`;
    return null;
  }

  // ── the rules, applied after every event ─────────────────────────────────────────────────

  evaluate(): void {
    this.checkModes();
    // External signers (Horcrux, TMKMS) own keys and failover; health alerts still watch signing.
    if (this.cfg.keyMode === 'external') return;
    this.updatePause();
    this.adopt();
    this.fenceStrays();
    const op = this.s.op;
    if (isActive(op)) this.advance(op);
    if (!isActive(this.s.op)) this.detect();
  }

  /** A validator pilot whose key mode is not the fleet's cannot take part in a move of the lease. */
  private checkModes(): void {
    for (const n of Object.values(this.s.nodes)) {
      const mode = n.custody?.mode;
      this.alert(
        `mode:${n.nodeId}`,
        n.role === 'validator' && mode !== undefined && mode !== this.cfg.keyMode,
        'critical',
        `${n.nodeId} signs in ${mode} mode, the fleet in ${this.cfg.keyMode} mode`,
        `Set [validator] key_mode = "${this.cfg.keyMode}" in ${n.nodeId}'s pilot config (or the commander's failover.keyMode) so both agree; until then its key actions are refused or wrong.`,
      );
    }
  }

  /** Opens, resumes or ends the chain's pause (pause.ts); each change is audited. */
  private updatePause(): void {
    const before = this.s.pause ?? null;
    const after = nextPause(this.s, this.now, this.cfg);
    if (after === before) return;
    this.s.pause = after;
    this.audit(COMMANDER, 'failover.pause', describePause(before, after));
  }

  /**
   * Bootstrap: with no holder and no operation, a single node already running with the key (a
   * validator Beam was put in front of) becomes the holder. No promote is sent: it signs already.
   */
  private adopt(): void {
    if (this.s.lease.holder !== null || isActive(this.s.op)) return;
    const withKey = Object.values(this.s.nodes).filter((n) => n.custody?.holdsValidatorKey);
    const only = withKey[0];
    if (withKey.length !== 1 || !only || !runsWithKey(only, this.now, this.cfg)) return;
    const epoch = this.nextEpoch();
    this.s.lease = {
      holder: only.nodeId,
      epoch,
      expiresAt: this.now + this.cfg.leaseDurationMs,
      grantedAt: this.now,
    };
    this.audit(
      COMMANDER,
      'failover.adopted',
      `${only.nodeId} runs with the key and holds no lease: adopted at epoch ${epoch}`,
    );
  }

  /**
   * A node that holds the key without the lease is demoted (its pilot fences) and reported. Only on
   * fresh facts: a silent node's last report says nothing about now (its lease has run out, so its
   * signer refuses), and its first fresh report is answered with the demote if it still holds the key.
   */
  private fenceStrays(): void {
    for (const n of Object.values(this.s.nodes)) {
      const stray =
        n.nodeId !== this.s.lease.holder &&
        n.custody?.holdsValidatorKey === true &&
        isFresh(n, this.now, this.cfg);
      this.alert(
        `stray:${n.nodeId}`,
        stray,
        'critical',
        `${n.nodeId} holds the ${this.s.validator} key without the lease`,
        `${n.nodeId} reported holding the key${seen(n, this.now, this.cfg)}; Beam is demoting it at epoch ${Math.max(1, this.s.lease.epoch)}; ${this.s.lease.holder ?? 'no node'} holds the lease.`,
      );
      if (!stray || this.s.outbox.some((e) => e.nodeId === n.nodeId && e.action.type === 'demote')) continue;
      this.s.fenceSeq++;
      const epoch = Math.max(1, this.s.lease.epoch);
      this.enqueue(n.nodeId, {
        id: `fence-e${epoch}-${this.s.fenceSeq}-${n.nodeId}`,
        type: 'demote',
        issuedAt: this.now,
        epoch,
      });
    }
  }

  private detect(): void {
    // A stopped chain is nobody's failure, and nobody could take over: no failover and no alert
    // (health reports the halt). Raised alerts resolve.
    const stopped = this.s.pause != null && this.s.pause.resumedAt === null;
    const failure = stopped ? null : holderFailure(this.s, this.now, this.cfg);
    const ranked = failure ? rankStandbys(this.s, this.now, this.cfg) : [];
    const target = ranked[0];
    const signing =
      failure !== null &&
      Object.values(this.s.nodes).some((n) => n.role === 'validator' && showsSigning(n, this.now, this.cfg));
    const holder = this.s.lease.holder ?? '';
    this.alert(
      'signing-unreachable',
      signing,
      'warning',
      `${holder} looks unhealthy, but the chain shows ${this.s.validator} signing`,
      `${failure}. No failover while the chain shows the validator's signature.`,
    );
    this.alert(
      'no-standby',
      failure !== null && !signing && target === undefined,
      'critical',
      `${holder} is failing and no standby can take over`,
      `${failure}. No standby out of maintenance reports a running, synced daemon seeing new blocks. No failover while that lasts.`,
    );
    if (!failure || signing || target === undefined || this.declinedRecently()) return;
    if (!showsMissing(this.s.nodes[target], this.now, this.cfg)) return;
    const missed = trailingMissed(this.s.nodes[target]);
    const op = this.create(
      'failover',
      target,
      false,
      `${failure}; ${missed} latest commits without our signature (seen by ${target})`,
      COMMANDER,
    );
    if (this.cfg.mode === 'confirm') this.phase(op, 'awaiting-confirmation');
    else this.move(op);
  }

  private advance(op: FailoverOp): void {
    switch (op.phase) {
      case 'awaiting-confirmation': {
        if (op.requestedBy === COMMANDER && this.chainShowsSigning(op)) {
          this.abort(op, 'the chain shows the validator signing again');
          return;
        }
        const since = op.phaseAt['awaiting-confirmation'] ?? op.startedAt;
        if (this.cfg.autoApproveAfterMs !== undefined && this.now >= since + this.cfg.autoApproveAfterMs) {
          op.confirmedBy = 'auto-approve';
          this.audit(
            COMMANDER,
            'failover.auto-approved',
            `nobody answered within ${this.cfg.autoApproveAfterMs} ms`,
          );
          this.move(op);
        }
        return;
      }
      case 'demoting':
      case 'fencing-wait':
        if (op.phase === 'demoting' && op.demoteActionId === null) {
          if (!isFresh(this.s.nodes[op.to], this.now, this.cfg)) {
            this.abort(op, `${op.to} stopped reporting before the switchover began`);
            return;
          }
          this.demote(op);
        }
        if (
          op.kind === 'failover' &&
          op.requestedBy === COMMANDER &&
          op.demoteResult !== 'ok' &&
          this.chainShowsSigning(op)
        ) {
          this.abort(op, 'the chain shows the validator signing again');
          return;
        }
        if (
          op.phase === 'demoting' &&
          op.from !== null &&
          !isFresh(this.s.nodes[op.from], this.now, this.cfg)
        ) {
          this.phase(op, 'fencing-wait');
        }
        this.promoteWhenSafe(op);
        return;
      case 'promoting':
      case 'signing': {
        // Done only after the promote result: before it, a signature above minHeight may still be
        // the old signer's (reports lag, so minHeight can trail the chain).
        const first = op.phase === 'signing' ? this.firstSignatureAbove(op.minHeight ?? 0) : null;
        if (first !== null) {
          op.missedBlocks = op.lastSignedHeight === null ? null : first - op.lastSignedHeight - 1;
          this.phase(op, 'done');
          this.resolve('promote-failed');
          return;
        }
        const started = op.phaseAt.promoting ?? op.startedAt;
        const failure = holderFailure(this.s, this.now, this.cfg);
        if (failure && this.now - started > this.cfg.startupGraceMs) {
          this.abort(op, `${op.to} did not start signing: ${failure}`);
        }
        return;
      }
      default:
        return;
    }
  }

  /** Starts moving the lease: demote the holder, or (no holder) go straight to the promote checks. */
  private move(op: FailoverOp): void {
    if (op.from === null) {
      this.phase(op, 'fencing-wait');
    } else {
      this.phase(op, 'demoting');
      this.demote(op);
    }
    this.promoteWhenSafe(op);
  }

  /**
   * Queues the old holder's demote. A planned switchover first waits for one report of the target
   * within the operation: from then on it reports at the urgent cadence, so the promote that waits
   * on the demote's result reaches it within a fraction of a report interval (the old holder signs
   * meanwhile, so the wait costs no block).
   */
  private demote(op: FailoverOp): void {
    if (op.from === null || op.demoteActionId !== null) return;
    if (op.kind === 'switchover') {
      const target = this.s.nodes[op.to];
      if ((target?.lastReportAt ?? 0) < (op.phaseAt.demoting ?? op.startedAt)) return;
    }
    op.demoteActionId = `${op.id}-demote`;
    this.enqueue(op.from, { id: op.demoteActionId, type: 'demote', issuedAt: this.now, epoch: op.epoch });
  }

  /**
   * The only place a promote is issued. The old holder must be proven stopped (demote result) or
   * past its lease plus grace; unless a planned switchover's demote proved it, the chain must show
   * the validator absent from the last N commits through the target's own node; and no other node
   * may be reporting a running daemon with the key.
   */
  private promoteWhenSafe(op: FailoverOp): void {
    const demoted = op.demoteResult === 'ok';
    const expired = this.now >= this.s.lease.expiresAt + this.cfg.graceMs;
    if (op.from !== null && !demoted && !expired) return;
    if (!op.toChosen) {
      const best = rankStandbys(this.s, this.now, this.cfg)[0];
      if (best !== undefined && !this.ready(op.to)) op.to = best;
    }
    if (!this.ready(op.to)) return;
    const evidenceNeeded = !(op.kind === 'switchover' && demoted);
    if (evidenceNeeded && !showsMissing(this.s.nodes[op.to], this.now, this.cfg)) return;
    const others = Object.values(this.s.nodes).filter(
      (n) => n.nodeId !== op.to && runsWithKey(n, this.now, this.cfg),
    );
    this.alert(
      'unfenced',
      others.length > 0,
      'critical',
      others.length > 0
        ? `Failover held: ${others.map((n) => `${n.nodeId}${seen(n, this.now, this.cfg)}`).join(', ')} still runs with the key`
        : `Failover no longer held: no other node runs with the key`,
      `${op.id} will not promote ${op.to} while another node reports a running daemon with the validator key.`,
    );
    if (others.length > 0) return;

    const minHeight = this.floor(op, demoted);
    if (minHeight === null) return;
    const expiresAt = this.now + this.cfg.leaseDurationMs;
    this.s.lease = { holder: op.to, epoch: op.epoch, expiresAt, grantedAt: this.now };
    op.minHeight = minHeight;
    op.promoteActionId = `${op.id}-promote`;
    this.enqueue(op.to, {
      id: op.promoteActionId,
      type: 'promote',
      issuedAt: this.now,
      epoch: op.epoch,
      leaseExpiresAt: expiresAt,
      minHeight,
    });
    this.audit(
      COMMANDER,
      'failover.lease-moved',
      `lease to ${op.to} at epoch ${op.epoch} until ${expiresAt}, minHeight ${minHeight}`,
    );
    this.phase(op, 'promoting');
  }

  /**
   * The promote's minHeight. File mode: the sign state the daemon starts with (its
   * double_sign_check_height guards the heights just below). Signer mode: the floor the new signer
   * signs strictly above. After a demote result it is the old signer's exact mark (or a committed
   * height above it). Without one, the old signer may have decided a signature for the height in
   * progress just before its deadline, so the floor is one above every height known, taken from a
   * report of the target received after expiry + grace (null: wait for one). docs/failover.md.
   */
  private floor(op: FailoverOp, demoted: boolean): number | null {
    if (this.cfg.keyMode !== 'signer') return highestKnownHeight(this.s);
    const floor = signerFloor(this.s, op.demotedMarkHeight);
    if (demoted || op.from === null) return demoted ? floor : floor + 1;
    const target = this.s.nodes[op.to];
    const fresh = target !== undefined && target.lastReportAt >= this.s.lease.expiresAt + this.cfg.graceMs;
    return fresh ? floor + 1 : null;
  }

  /**
   * Extends the holder's lease on its own report while it is healthy, or while the chain is paused
   * and it holds the key, and it is not being moved.
   */
  renew(nodeId: string): void {
    const { lease, op } = this.s;
    if (lease.holder !== nodeId) return;
    if (isActive(op) && op.from === nodeId && MOVING.includes(op.phase)) return;
    const n = this.s.nodes[nodeId];
    if (!n) return;
    // Through an upgrade or a halt no commit happens, so nobody could sign in its place, and the
    // lease still fences everyone else: keeping it, whatever the daemon does (stopped at the upgrade
    // height, restarting into a new binary, migrating), costs nothing and spares a fence mid-upgrade.
    const paused = this.s.pause != null && n.custody?.holdsValidatorKey === true;
    if (!paused && !holderHealthy(this.s, n, this.now, this.cfg)) return;
    if (lease.expiresAt - this.now >= this.cfg.renewMarginMs) return;
    lease.expiresAt = this.now + this.cfg.leaseDurationMs;
  }

  // ── helpers ───────────────────────────────────────────────────────────────────────────────

  private create(
    kind: OpKind,
    to: string,
    toChosen: boolean,
    reason: string,
    requestedBy: string,
  ): FailoverOp {
    this.s.opSeq++;
    const epoch = this.nextEpoch();
    const op: FailoverOp = {
      id: `${kind === 'failover' ? 'fo' : 'so'}-e${epoch}-${this.s.opSeq}`,
      kind,
      from: this.s.lease.holder,
      to,
      toChosen,
      epoch,
      phase: 'detected',
      startedAt: this.now,
      phaseAt: { detected: this.now },
      demoteActionId: null,
      promoteActionId: null,
      demoteResult: null,
      missedAtStart: trailingMissed(this.s.nodes[to]),
      lastSignedHeight: lastSignedHeight(this.s),
      minHeight: null,
      missedBlocks: null,
      reason,
      requestedBy,
      confirmedBy: null,
      declinedBy: null,
      abortReason: null,
    };
    this.s.op = op;
    this.chat = 'post';
    this.audit(requestedBy, `${kind}.started`, `${op.id}: ${op.from ?? '(none)'} → ${to}: ${reason}`);
    return op;
  }

  /** Above every epoch the lease, the last operation or any pilot has seen (survives lost state). */
  private nextEpoch(): number {
    let top = Math.max(this.s.lease.epoch, this.s.op?.epoch ?? 0);
    for (const n of Object.values(this.s.nodes)) top = Math.max(top, n.custody?.highestEpoch ?? 0);
    return top + 1;
  }

  private phase(op: FailoverOp, phase: OpPhase): void {
    if (op.phase === phase) return;
    this.audit(COMMANDER, 'failover.phase', `${op.id}: ${op.phase} → ${phase}`);
    op.phase = phase;
    op.phaseAt[phase] = this.now;
    this.chat ??= 'update';
  }

  private abort(op: FailoverOp, reason: string): void {
    op.abortReason = reason;
    // Withdraw what has not run yet: a late demote would stop a validator we decided to keep.
    this.s.outbox = this.s.outbox.filter(
      (e) => e.action.id !== op.demoteActionId && e.action.id !== op.promoteActionId,
    );
    this.phase(op, 'aborted');
  }

  private enqueue(nodeId: string, action: OutboxEntry['action']): void {
    if (this.s.outbox.some((e) => e.action.id === action.id)) return;
    // A demote supersedes any promote still waiting for this node.
    if (action.type === 'demote') {
      this.s.outbox = this.s.outbox.filter((e) => !(e.nodeId === nodeId && e.action.type === 'promote'));
    }
    this.s.outbox.push({ nodeId, action });
    this.fx.push({ type: 'action', nodeId, action });
    this.audit(
      COMMANDER,
      `failover.${action.type}.queued`,
      `${action.type} ${action.id} for ${nodeId} at epoch ${action.epoch}`,
    );
  }

  private ready(nodeId: string): boolean {
    return canTakeOver(this.s.nodes[nodeId], this.now, this.cfg);
  }

  /** A person said [Not now]: do not ask again at once (alerts keep people informed). */
  private declinedRecently(): boolean {
    const op = this.s.op;
    const at = op?.phaseAt.aborted;
    return op?.declinedBy != null && at !== undefined && this.now < at + this.cfg.declineHoldMs;
  }

  private chainShowsSigning(op: FailoverOp): boolean {
    return showsSigning(this.s.nodes[op.to], this.now, this.cfg);
  }

  private firstSignatureAbove(height: number): number | null {
    let first: number | null = null;
    for (const n of Object.values(this.s.nodes)) {
      if (!isFresh(n, this.now, this.cfg)) continue;
      for (const c of n.commits)
        if (c.signed && c.height > height && (first === null || c.height < first)) first = c.height;
    }
    return first;
  }

  private alert(
    name: string,
    raised: boolean,
    severity: 'info' | 'warning' | 'critical',
    title: string,
    text: string,
  ) {
    const key = `${failoverSubject(this.s)}:${name}`;
    const known = this.s.alerts.includes(key);
    if (raised === known) return;
    this.s.alerts = raised ? [...this.s.alerts, key] : this.s.alerts.filter((k) => k !== key);
    this.fx.push({ type: 'alert', key, severity, title, text, resolved: !raised });
    this.audit(
      COMMANDER,
      raised ? 'failover.alert' : 'failover.alert-resolved',
      `${key}${raised ? `: ${title}` : ''}`,
    );
  }

  private resolve(name: string): void {
    this.alert(name, false, 'info', '', '');
  }

  private audit(actor: string, action: string, detail: string): void {
    this.fx.push({ type: 'audit', at: this.now, actor, action, subject: failoverSubject(this.s), detail });
  }

  private notice(text: string): void {
    this.fx.push({ type: 'notice', text });
  }
}
