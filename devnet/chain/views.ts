/** State records as the SDK's protobuf messages (cosmjs-types), with SDK wire formats for decimals. */
import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { PubKey as Ed25519PubKey } from 'cosmjs-types/cosmos/crypto/ed25519/keys';
import { PubKey as Secp256k1PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import { Proposal, type TallyResult, type Vote } from 'cosmjs-types/cosmos/gov/v1/gov';
import {
  Proposal as ProposalBeta,
  type TallyResult as TallyResultBeta,
  type Vote as VoteBeta,
} from 'cosmjs-types/cosmos/gov/v1beta1/gov';
import type { ValidatorSigningInfo } from 'cosmjs-types/cosmos/slashing/v1beta1/slashing';
import { type DelegationResponse, Validator } from 'cosmjs-types/cosmos/staking/v1beta1/staking';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import { DEC, coinList, decString, packAny, timestamp } from './codec.js';
import { tally } from './gov.js';
import { valconsOf } from './slashing.js';
import { tokensFromShares } from './staking.js';
import {
  type AccountState,
  type DelegationState,
  PROPOSAL_STATUS,
  type ProposalState,
  type SigningInfo,
  type State,
  type Tally,
  type ValidatorState,
  type VoteState,
} from './state.js';

export function accountAny(account: AccountState): Any {
  return packAny('/cosmos.auth.v1beta1.BaseAccount', BaseAccount, {
    address: account.address,
    pubKey: account.pubkey
      ? packAny('/cosmos.crypto.secp256k1.PubKey', Secp256k1PubKey, { key: account.pubkey })
      : undefined,
    accountNumber: account.accountNumber,
    sequence: account.sequence,
  });
}

export function validatorView(v: ValidatorState, genesisTimeMs: number): Validator {
  return Validator.fromPartial({
    operatorAddress: v.operator,
    consensusPubkey: packAny('/cosmos.crypto.ed25519.PubKey', Ed25519PubKey, { key: v.consensusPubkey }),
    jailed: v.jailed,
    status: v.status,
    tokens: v.tokens.toString(),
    delegatorShares: v.shares.toString(),
    description: { moniker: v.moniker, identity: '', website: '', securityContact: '', details: '' },
    unbondingHeight: BigInt(v.unbondingHeight),
    unbondingTime: timestamp(v.unbondingTimeMs),
    commission: {
      commissionRates: {
        rate: v.commissionRate.toString(),
        maxRate: DEC.toString(),
        maxChangeRate: (DEC / 100n).toString(),
      },
      updateTime: timestamp(genesisTimeMs),
    },
    minSelfDelegation: '1',
  });
}

export function delegationView(state: State, d: DelegationState): DelegationResponse {
  const validator = state.validators.get(d.validator);
  const balance = validator ? tokensFromShares(validator, d.shares) : 0n;
  return {
    delegation: { delegatorAddress: d.delegator, validatorAddress: d.validator, shares: d.shares.toString() },
    balance: { denom: state.params.denom, amount: balance.toString() },
  };
}

export function signingInfoView(state: State, info: SigningInfo): ValidatorSigningInfo {
  return {
    address: valconsOf(state, info.consAddress),
    startHeight: BigInt(info.startHeight),
    indexOffset: BigInt(info.indexOffset),
    jailedUntil: timestamp(info.jailedUntilMs),
    tombstoned: info.tombstoned,
    missedBlocksCounter: BigInt(info.missedCounter),
  };
}

const emptyTally = (): Tally => ({ yes: 0n, abstain: 0n, no: 0n, veto: 0n });

/**
 * The TallyResult query: the final tally once voting ended, the live tally while voting. A
 * proposal's own `final_tally_result` stays zero until voting ends, as in the SDK.
 */
export function currentTally(state: State, p: ProposalState): Tally {
  if (p.finalTally) return p.finalTally;
  return p.status === PROPOSAL_STATUS.voting ? tally(state, p.id).tally : emptyTally();
}

export function tallyView(t: Tally): TallyResult {
  return {
    yesCount: (t.yes / DEC).toString(),
    abstainCount: (t.abstain / DEC).toString(),
    noCount: (t.no / DEC).toString(),
    noWithVetoCount: (t.veto / DEC).toString(),
  };
}

export function tallyViewBeta(t: Tally): TallyResultBeta {
  const v = tallyView(t);
  return { yes: v.yesCount, abstain: v.abstainCount, no: v.noCount, noWithVeto: v.noWithVetoCount };
}

const maybeTime = (ms: number | null) => (ms === null ? undefined : timestamp(ms));

export function proposalView(p: ProposalState): Proposal {
  return Proposal.fromPartial({
    id: p.id,
    messages: p.messages,
    status: p.status,
    finalTallyResult: tallyView(p.finalTally ?? emptyTally()),
    submitTime: timestamp(p.submitTimeMs),
    depositEndTime: timestamp(p.depositEndTimeMs),
    totalDeposit: coinList(p.totalDeposit),
    votingStartTime: maybeTime(p.votingStartTimeMs),
    votingEndTime: maybeTime(p.votingEndTimeMs),
    metadata: p.metadata,
    title: p.title,
    summary: p.summary,
    proposer: p.proposer,
    failedReason: p.failedReason,
  });
}

/** v1beta1 view: the legacy content is the first message, as in the SDK's conversion (none for a text proposal). */
export function proposalViewBeta(p: ProposalState): ProposalBeta {
  return ProposalBeta.fromPartial({
    proposalId: p.id,
    content: p.messages[0],
    status: p.status,
    finalTallyResult: tallyViewBeta(p.finalTally ?? emptyTally()),
    submitTime: timestamp(p.submitTimeMs),
    depositEndTime: timestamp(p.depositEndTimeMs),
    totalDeposit: coinList(p.totalDeposit),
    votingStartTime: maybeTime(p.votingStartTimeMs),
    votingEndTime: maybeTime(p.votingEndTimeMs),
  });
}

export function voteView(v: VoteState): Vote {
  return {
    proposalId: v.proposalId,
    voter: v.voter,
    options: v.options.map((o) => ({ option: o.option, weight: decString(o.weight) })),
    metadata: v.metadata,
  };
}

export function voteViewBeta(v: VoteState): VoteBeta {
  return {
    proposalId: v.proposalId,
    voter: v.voter,
    option: v.options.length === 1 ? v.options[0]!.option : 0,
    options: v.options.map((o) => ({ option: o.option, weight: o.weight.toString() })),
  };
}
