/**
 * The application state of the devnet chain: plain maps and records, cloned for simulation and
 * for the mempool's check state. Amounts are bigint; Dec values are 10^18-scaled atomics.
 */
import type { Coins } from './codec.js';
import type { ChainParams, UpgradePlan } from './types.js';

export interface AccountState {
  address: string;
  accountNumber: bigint;
  sequence: bigint;
  /** Compressed secp256k1 key, set by the first signed tx. */
  pubkey: Uint8Array | null;
}

export const BOND_STATUS = { unbonded: 1, unbonding: 2, bonded: 3 } as const;
export type BondStatusValue = (typeof BOND_STATUS)[keyof typeof BOND_STATUS];

export interface ValidatorState {
  /** Bech32 `<prefix>valoper` address. */
  operator: string;
  /** The operator's account address. */
  account: string;
  moniker: string;
  consensusPubkey: Uint8Array;
  /** Uppercase hex consensus address. */
  consAddress: string;
  tokens: bigint;
  /** Dec atomics. */
  shares: bigint;
  /** Dec atomics. */
  commissionRate: bigint;
  status: BondStatusValue;
  jailed: boolean;
  unbondingHeight: number;
  unbondingTimeMs: number;
  /** Accumulated, unwithdrawn commission (DecCoins). */
  commission: Coins;
}

export interface DelegationState {
  delegator: string;
  validator: string;
  /** Dec atomics. */
  shares: bigint;
  /** Accrued, unwithdrawn rewards (DecCoins). */
  rewards: Coins;
}

export interface UnbondingEntry {
  delegator: string;
  validator: string;
  creationHeight: number;
  completionTimeMs: number;
  initialBalance: bigint;
  balance: bigint;
}

export interface SigningInfo {
  consAddress: string;
  startHeight: number;
  indexOffset: number;
  /** Sliding window of missed flags, indexed by indexOffset % window. */
  missed: boolean[];
  missedCounter: number;
  jailedUntilMs: number;
  tombstoned: boolean;
}

export const PROPOSAL_STATUS = { deposit: 1, voting: 2, passed: 3, rejected: 4, failed: 5 } as const;

export interface Tally {
  yes: bigint;
  abstain: bigint;
  no: bigint;
  veto: bigint;
}

export interface ProposalState {
  id: bigint;
  status: number;
  title: string;
  summary: string;
  metadata: string;
  proposer: string;
  submitTimeMs: number;
  depositEndTimeMs: number;
  votingStartTimeMs: number | null;
  votingEndTimeMs: number | null;
  votingPeriodMs: number;
  totalDeposit: Coins;
  finalTally: Tally | null;
  /** Messages run with the gov module as signer when the proposal passes. */
  messages: { typeUrl: string; value: Uint8Array }[];
  /** Why a passed proposal's messages failed (status failed). */
  failedReason: string;
}

export interface VoteState {
  proposalId: bigint;
  voter: string;
  /** Weights as Dec atomics. */
  options: { option: number; weight: bigint }[];
  metadata: string;
}

export interface GrantState {
  granter: string;
  grantee: string;
  msgTypeUrl: string;
  authorization: { typeUrl: string; value: Uint8Array };
  expirationMs: number | null;
}

export interface State {
  params: ChainParams;
  height: number;
  timeMs: number;
  accounts: Map<string, AccountState>;
  nextAccountNumber: bigint;
  balances: Map<string, Coins>;
  validators: Map<string, ValidatorState>;
  /** Keyed by `delegator/validator`. */
  delegations: Map<string, DelegationState>;
  unbondings: UnbondingEntry[];
  signingInfos: Map<string, SigningInfo>;
  proposals: Map<bigint, ProposalState>;
  nextProposalId: bigint;
  /** Keyed by `proposalId/voter`. */
  votes: Map<string, VoteState>;
  /** Keyed by `proposalId/depositor`. */
  deposits: Map<string, Coins>;
  /** Keyed by `granter/grantee/msgTypeUrl`. */
  grants: Map<string, GrantState>;
  upgrade: {
    plan: UpgradePlan | null;
    /** Upgrade name → the height it was applied at. */
    done: Map<string, number>;
    /** x/upgrade's protocol version: the number of upgrades applied. */
    appVersion: number;
  };
}

export const delegationKey = (delegator: string, validator: string): string => `${delegator}/${validator}`;
export const voteKey = (proposalId: bigint, voter: string): string => `${proposalId}/${voter}`;
export const grantKey = (granter: string, grantee: string, msgTypeUrl: string): string =>
  `${granter}/${grantee}/${msgTypeUrl}`;

export function cloneState(state: State): State {
  return structuredClone(state);
}

/** Module accounts that hold coins on behalf of the state machine. */
export const MODULES = {
  feeCollector: 'fee_collector',
  distribution: 'distribution',
  bondedPool: 'bonded_tokens_pool',
  notBondedPool: 'not_bonded_tokens_pool',
  gov: 'gov',
  mint: 'mint',
} as const;
