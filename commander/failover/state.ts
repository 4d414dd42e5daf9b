import type { Action, Role } from '../../protocol/index.js';

/** One validator identity: the unit that has exactly one signer at a time. */
export interface ValidatorKey {
  chainId: string;
  validator: string;
}

export interface LeaseState {
  holder: string | null;
  /** Fencing token: rises on every change of holder. */
  epoch: number;
  /** Commander time; never lowered for the same holder. */
  expiresAt: number;
  /** When the current holder got the lease (its start-up grace runs from here). */
  grantedAt: number;
}

export interface CommitView {
  height: number;
  signed: boolean;
}

/** What failover needs from a node's latest accepted report. */
export interface NodeFacts {
  nodeId: string;
  role: Role;
  lastSeq: number;
  lastSentAt: number;
  /** Commander time the latest report was accepted. */
  lastReportAt: number;
  running: boolean;
  rpcReachable: boolean;
  height: number | null;
  latestBlockTime: number | null;
  catchingUp: boolean | null;
  peers: number | null;
  /** Commander time at which `height` last changed (start of a stall, if it stopped). */
  heightChangedAt: number;
  custody: {
    holdsValidatorKey: boolean;
    highestEpoch: number;
    fenced: boolean;
    /** Signer mode: the highest height the node's signer has signed at (its high-water mark). */
    markHeight?: number | null;
    /** How the node's pilot signs (absent from state written before key modes). */
    mode?: 'signer' | 'file' | 'external';
  } | null;
  /** The watched validator's latest commits as this node sees them, ascending by height. */
  commits: CommitView[];
}

export type OpKind = 'failover' | 'switchover';

export const PHASES = [
  'detected',
  'awaiting-confirmation',
  'demoting',
  'fencing-wait',
  'promoting',
  'signing',
  'done',
  'aborted',
] as const;
export type OpPhase = (typeof PHASES)[number];

export interface FailoverOp {
  id: string;
  kind: OpKind;
  /** Lease holder when the operation started; null when no node held the lease. */
  from: string | null;
  to: string;
  /** The operator named the target: it is never swapped for another standby. */
  toChosen: boolean;
  /** The epoch the lease will have after the move (demotes carry it too, fencing older promotes). */
  epoch: number;
  phase: OpPhase;
  startedAt: number;
  phaseAt: Partial<Record<OpPhase, number>>;
  demoteActionId: string | null;
  promoteActionId: string | null;
  demoteResult: 'ok' | 'failed' | null;
  /** Signer mode: the height of the old signer's high-water mark, from its demote result. */
  demotedMarkHeight?: number | null;
  /** Consecutive unsigned commits in the standby's view when the operation started. */
  missedAtStart: number;
  /** Highest height known signed by the validator when the operation started. */
  lastSignedHeight: number | null;
  /**
   * Sign-state floor sent with the promote, raised to the floor the pilot reports with its result:
   * the first signature above it after the result is the new signer's.
   */
  minHeight: number | null;
  /** Blocks without our signature between the last signature before and the first after. */
  missedBlocks: number | null;
  reason: string;
  requestedBy: string;
  confirmedBy: string | null;
  /** Who pressed [Not now]: Beam does not ask again for `declineHoldMs`. */
  declinedBy: string | null;
  abortReason: string | null;
}

/** A key action the commander re-sends with every reply to its node until the result arrives. */
export interface OutboxEntry {
  nodeId: string;
  action: Extract<Action, { type: 'promote' | 'demote' }>;
}

export interface FailoverState extends ValidatorKey {
  lease: LeaseState;
  nodes: Record<string, NodeFacts>;
  /** The current operation, or the last finished one (phase done/aborted). */
  op: FailoverOp | null;
  /** Counters for deterministic ids. */
  opSeq: number;
  fenceSeq: number;
  outbox: OutboxEntry[];
  /** Keys of alerts currently raised by failover, so each is raised and resolved once. */
  alerts: string[];
}

/** A fresh state: no holder yet (the first holder comes by adoption or an operator's failover). */
export function initialFailoverState(key: ValidatorKey, lease?: Partial<LeaseState>): FailoverState {
  return {
    chainId: key.chainId,
    validator: key.validator,
    lease: { holder: null, epoch: 0, expiresAt: 0, grantedAt: 0, ...lease },
    nodes: {},
    op: null,
    opSeq: 0,
    fenceSeq: 0,
    outbox: [],
    alerts: [],
  };
}

export function isActive(op: FailoverOp | null): op is FailoverOp {
  return op !== null && op.phase !== 'done' && op.phase !== 'aborted';
}

/** Chat subject of every message about this validator's failovers (updated in place). */
export function failoverSubject(key: ValidatorKey): string {
  return `failover:${key.chainId}:${key.validator}`;
}
