import type { DesiredConfig } from '../../protocol/index.js';

// Plain serialisable data: the core stores the whole state as one item with a version and writes
// it conditionally, so fleet-wide limits (concurrency, minimum healthy) hold without transactions.

export const ROTATION_PHASES = ['stopping', 'rotating', 'starting', 'done', 'failed'] as const;
export type RotationPhase = (typeof ROTATION_PHASES)[number];

export const REPLACEMENT_PHASES = ['terminating', 'awaiting-replacement', 'done', 'failed'] as const;
export type ReplacementPhase = (typeof REPLACEMENT_PHASES)[number];

interface OpBase {
  /** Also the cloud idempotency key (`opKey`) and the prefix of its pilot action ids. */
  id: string;
  node: string;
  instanceId: string;
  startedAt: number;
  /** When the current phase began (pilot step timeouts run from here). */
  phaseAt: number;
  /** `commander` for automatic operations, otherwise the actor label of the person. */
  requestedBy: string;
  reason: string;
  /** Cloud attempts in the current phase; results of other attempts are stale and ignored. */
  attempts: number;
  /** When the next cloud call is due: after a retryable error, or to re-issue an unanswered call. */
  nextCloudAt: number | null;
  lastError: string | null;
  finishedAt: number | null;
  failure: string | null;
}

export interface RotationOp extends OpBase {
  kind: 'rotation';
  phase: RotationPhase;
  /** The sentry's public address (`host:port`) before the rotation, when known. */
  previousAddress: string | null;
  newAddress: string | null;
  allocationId: string | null;
  /** The config pushed with the new `external_address`; done once the sentry reports this version. */
  config: DesiredConfig | null;
  /** Pilot actions queued by this operation, in order. */
  actionIds: string[];
  /** Results already acted on (reports may repeat them); absent in states saved before it existed. */
  resultsSeen?: string[];
}

export interface ReplacementOp extends OpBase {
  kind: 'replacement';
  phase: ReplacementPhase;
  terminatedAt: number | null;
  /** The sentry that enrolled after the termination. */
  replacement: string | null;
}

export type SentryOp = RotationOp | ReplacementOp;

/** What sentry defence remembers about one sentry between events. */
export interface SentryTrack {
  /** Highest report seq seen (replays and reordering do not count twice). */
  lastSeq: number;
  /** Consecutive flooded reports. */
  floodStreak: number;
  /** No automatic rotation before this time. */
  cooldownUntil: number;
  /** Since when the sentry is silent or its daemon down (null while healthy). */
  unhealthySince: number | null;
  /** The sentry's public `host:port`, once a rotation set it. */
  publicAddress: string | null;
  /** Why a wanted rotation is held back; raised once as an alert, resolved when the flood ends. */
  heldReason: string | null;
}

export interface SentryDefenceState {
  /** The `beam:fleet` tag of the cloud resources. */
  fleet: string;
  sentries: Record<string, SentryTrack>;
  /** Active and recently finished operations, by id. */
  ops: Record<string, SentryOp>;
  /** Counter for deterministic operation ids. */
  opSeq: number;
  /** Sentry → the peer (`<comet id>@<p2p address>`) validators were last pointed at. */
  wired: Record<string, string>;
}

export function initialSentryDefenceState(
  fleet: string,
  wired: Record<string, string> = {},
): SentryDefenceState {
  return { fleet, sentries: {}, ops: {}, opSeq: 0, wired: { ...wired } };
}

export function newTrack(): SentryTrack {
  return {
    lastSeq: 0,
    floodStreak: 0,
    cooldownUntil: 0,
    unhealthySince: null,
    publicAddress: null,
    heldReason: null,
  };
}

export function isActiveOp(op: SentryOp): boolean {
  return op.phase !== 'done' && op.phase !== 'failed';
}

export function activeOps(state: SentryDefenceState): SentryOp[] {
  return Object.values(state.ops).filter(isActiveOp);
}

export function activeOpFor(state: SentryDefenceState, node: string): SentryOp | undefined {
  return activeOps(state).find((op) => op.node === node);
}

/** Chat subject of the messages about a sentry's operations of a kind (updated in place). */
export function opSubject(node: string, kind: SentryOp['kind']): string {
  return `sentry:${node}:${kind}`;
}
