/**
 * What Beam remembers of a chain's x/upgrade plans: one item per chain (`CHAINUPGRADE/<chainId>`),
 * the plans it announced (kept a while after they end, so a restart or a lagging node's report never
 * announces one again) and a few block samples to estimate the block time.
 */
import type { Role } from '../../protocol/index.js';

/** scheduled → upgrading (halted at its height) → done, or incomplete past the settle time (→ done); or cancelled. */
export type UpgradePhase = 'scheduled' | 'upgrading' | 'incomplete' | 'done' | 'cancelled';

/**
 * Whether a node will take the upgrade by itself: the binary is staged for cosmovisor, or not;
 * `unreported`: its pilot tells, but its latest report does not name the plan yet (sent before the
 * plan passed, or its plan read failed); `unknown`: its pilot does not tell (an older release).
 */
export type Readiness = 'staged' | 'not-staged' | 'manual' | 'unreported' | 'unknown';

/** A node through the halt: still on its old binary, on the new one (waiting for the chain), past the height on it. */
export type Step = 'old' | 'new' | 'done' | 'silent';

export interface NodeProgress {
  role: Role;
  /** The daemon version it ran before the halt (followed while scheduled, frozen at the halt). */
  before: string | null;
  /** The daemon version of its latest report. */
  version: string | null;
  ready: Readiness;
  step: Step;
}

/** One of our nodes (or a validator it watches) not through the upgrade by the settle time. */
export interface Laggard {
  node: string;
  /** Set when it is the validator that does not sign (not a node's binary). */
  validator?: string;
  why: string;
}

export interface TrackedUpgrade {
  name: string;
  height: number;
  info: string;
  phase: UpgradePhase;
  seenAt: number;
  /** Estimated time of the upgrade height from the block time; null until blocks were seen moving. */
  eta: number | null;
  /** Reminder leads (ms before the estimated time) already told, or covered by the announcement. */
  remindersSent: number[];
  /** The chain's approved nodes (frozen at the halt: nodes that join later are not waited for). */
  nodes: Record<string, NodeProgress>;
  /** Validator consensus addresses our nodes watch: each must sign above the height again. */
  validators: string[];
  /** Since when no fresh report lists the plan (a cancellation once it lasts). */
  missingSince: number | null;
  haltedAt: number | null;
  /** The height since which every validator of ours signs again, once seen. */
  signingSince: number | null;
  /** Past the settle time: what is not through yet (its findings are the warnings). */
  laggards: Laggard[];
  endedAt: number | null;
  /** Digest of the thread's last rendered message: it is edited only when it changes. */
  shown: string;
}

/** A block the chain made: its height and header time. */
export interface BlockSample {
  height: number;
  at: number;
}

export interface ChainUpgradeState {
  chainId: string;
  samples: BlockSample[];
  upgrades: Record<string, TrackedUpgrade>;
}

export function initialChainUpgradeState(chainId: string): ChainUpgradeState {
  return { chainId, samples: [], upgrades: {} };
}

export const isOver = (u: TrackedUpgrade) => u.phase === 'done' || u.phase === 'cancelled';
