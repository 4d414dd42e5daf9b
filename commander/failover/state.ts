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
  /** x/upgrade's pending plan as this node reads it (absent from state written before upgrades). */
  upgradePlan?: UpgradeRef | null;
  /** The node stopped at this upgrade's height and waits for the new binary. */
  upgradeHalted?: UpgradeRef | null;
  /** Commander time the node's maintenance window ends; absent or null: none. */
  maintenanceUntil?: number | null;
  /**
   * The chain, as this node reads it, has the validator jailed or tombstoned: out of the active set,
   * so no node of ours can sign for it (absent from state written before).
   */
  validatorOut?: boolean;
}

/** A chain upgrade as x/upgrade names it: the chain's last block before it is `height − 1`. */
export interface UpgradeRef {
  name: string;
  height: number;
}

/**
 * The chain stopped, or is about to stop for an upgrade: nobody could take over the signing (no
 * commits happen), so the holder keeps its lease and nobody fails over. docs/failover.md.
 */
export interface ChainPause {
  /** The upgrade the chain halts for; null for a halt with no upgrade in sight. */
  upgrade: string | null;
  /**
   * Not the chain but the validator stopped: jailed (or tombstoned), it cannot sign, so missing
   * signatures are nobody's failure and a failover would only move a lease nobody can use.
   */
  jailed?: boolean;
  /** The first height the chain must commit to be moving again: the plan height, or one above the halt. */
  height: number;
  /** Commander time the pause began. */
  since: number;
  /**
   * Commander time one of our nodes first saw `height` committed. From then on the holder has
   * `startupGraceMs` to sign again (its daemon may still load a new binary); null while stopped.
   */
  resumedAt: number | null;
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
  /** The chain's upgrade or halt in progress (absent from state written before pauses). */
  pause?: ChainPause | null;
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
    pause: null,
  };
}

export function isActive(op: FailoverOp | null): op is FailoverOp {
  return op !== null && op.phase !== 'done' && op.phase !== 'aborted';
}

/** Chat subject of every message about this validator's failovers (updated in place). */
export function failoverSubject(key: ValidatorKey): string {
  return `failover:${key.chainId}:${key.validator}`;
}
