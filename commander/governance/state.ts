import type { VoteOption } from '../../protocol/index.js';
import type { PolicyOverrides } from './settings.js';

/** A vote Beam asked a pilot to cast (a button, the `vote` command, or the auto-vote). */
export interface VoteIntent {
  option: VoteOption;
  memo?: string;
  /** Who asked (actor label), or `auto-vote`. */
  by: string;
  at: number;
  auto: boolean;
  actionId: string;
  nodeId: string;
  status: 'queued' | 'done' | 'failed';
  txHash?: string;
  height?: number;
  /** The pilot's outcome text (or why it failed). */
  message?: string;
  finishedAt?: number;
}

/** What we know of our vote on chain: an option, `null` (read, not voted), or `unknown` (the read failed). */
export type OurVote = VoteOption | null | 'unknown';

export interface TrackedProposal {
  id: string;
  title: string;
  summary: string;
  votingStart: number | null;
  votingEnd: number | null;
  announcedAt: number;
  /** Reminder offsets (ms before the end) already handled. */
  remindersSent: number[];
  ourVote: OurVote;
  /** Oldest first; the last one is the current. */
  intents: VoteIntent[];
  autoVote: {
    warnedAt: number | null;
    heldBy: string | null;
    heldAt: number | null;
    /** Set once the auto-vote was queued. */
    castAt: number | null;
    /** Why the auto-vote is waiting (told once per reason). */
    waiting: string | null;
  };
  endedAt: number | null;
}

export interface PendingBondAction {
  kind: 'withdraw' | 'delegate';
  actionId: string;
  nodeId: string;
  at: number;
  by: string;
  amount?: string;
  denom?: string;
  /** What the delegation was computed from, for its messages. */
  validator?: string | null;
  liquid?: string;
  reserve?: string;
  /** Chat subject of its announcement. */
  subject: string;
}

export interface BondState {
  pending: PendingBondAction | null;
  lastWithdrawAt: number | null;
  /** Facts from reports sent before this do not show the last transaction's effect yet. */
  settledAt: number | null;
  failedAt: number | null;
  /** Last bond, for `bond` and the status. */
  last: { at: number; amount: string; denom: string; txHash: string | null } | null;
  /** Why auto-bond cannot act (told once per reason). */
  blocked: string | null;
}

/** One item per chain: tracked proposals, chat policy changes, auto-bond progress, grant problems. */
export interface GovernanceState {
  chainId: string;
  /** Random per state: keeps action ids unique for the pilots' at-most-once ledgers. */
  salt: string;
  /** Counter for action ids. */
  seq: number;
  proposals: Record<string, TrackedProposal>;
  overrides: PolicyOverrides;
  bond: BondState;
  grants: { problem: string | null; since: number | null };
}

export function initialGovernanceState(chainId: string, salt: string): GovernanceState {
  return {
    chainId,
    salt,
    seq: 0,
    proposals: {},
    overrides: {},
    bond: { pending: null, lastWithdrawAt: null, settledAt: null, failedAt: null, last: null, blocked: null },
    grants: { problem: null, since: null },
  };
}
