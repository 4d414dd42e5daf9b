/** gRPC-over-ABCI queries: request and response protobuf-encoded, errors as baseapp reports them. */
import * as auth from 'cosmjs-types/cosmos/auth/v1beta1/query';
import * as authzQ from 'cosmjs-types/cosmos/authz/v1beta1/query';
import * as bank from 'cosmjs-types/cosmos/bank/v1beta1/query';
import * as dist from 'cosmjs-types/cosmos/distribution/v1beta1/query';
import * as gov from 'cosmjs-types/cosmos/gov/v1/query';
import * as govBeta from 'cosmjs-types/cosmos/gov/v1beta1/query';
import * as slashingQ from 'cosmjs-types/cosmos/slashing/v1beta1/query';
import * as stakingQ from 'cosmjs-types/cosmos/staking/v1beta1/query';
import { BondStatus, bondStatusFromJSON } from 'cosmjs-types/cosmos/staking/v1beta1/staking';
import * as txService from 'cosmjs-types/cosmos/tx/v1beta1/service';
import * as upgradeQ from 'cosmjs-types/cosmos/upgrade/v1beta1/query';
import type { GrantState, State } from './state.js';
import {
  DEC,
  addCoins,
  decCoinList,
  duration,
  timestamp,
  coinList,
  type Coins,
  decodeBech32,
} from './codec.js';
import { toHex } from '@cosmjs/encoding';
import { balanceOf, totalSupply } from './bank.js';
import { valconsPrefix } from './context.js';
import { outstandingRewards } from './distribution.js';
import { ChainError, grpcInvalid, grpcNotFound, sdk } from './errors.js';
import { maxDepositPeriodMs, minDeposit, votesOf } from './gov.js';
import { DEFAULT_UNBONDING_TIME_MS } from './staking.js';
import { type ProposalState, delegationKey, voteKey } from './state.js';
import type { TxOutcome } from './tx.js';
import { govAuthority, planView } from './upgrade.js';
import type { QueryResult } from './types.js';
import {
  accountAny,
  currentTally,
  delegationView,
  proposalView,
  proposalViewBeta,
  signingInfoView,
  tallyView,
  tallyViewBeta,
  validatorView,
  voteView,
  voteViewBeta,
} from './views.js';

interface Codec<T> {
  decode(bytes: Uint8Array): T;
}
interface Encoder<T> {
  encode(message: T): { finish(): Uint8Array };
  fromPartial(object: never): T;
}

export interface QueryEnv {
  state: State;
  genesisTimeMs: number;
  simulate(tx: Uint8Array): TxOutcome;
}

type Handler = (env: QueryEnv, data: Uint8Array) => Uint8Array;
/** Responses are built partially; `fromPartial` fills the remaining fields with protobuf defaults. */
type DeepPartial<T> = T extends Uint8Array | bigint | string | number | boolean
  ? T
  : T extends (infer U)[]
    ? DeepPartial<U>[]
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

function handler<Req, Res>(
  req: Codec<Req>,
  res: Encoder<Res>,
  fn: (env: QueryEnv, request: Req) => DeepPartial<Res>,
): Handler {
  return (env, data) => {
    let request: Req;
    try {
      request = req.decode(data);
    } catch (error) {
      throw grpcInvalid(`invalid request: ${(error as Error).message}`);
    }
    return res.encode(res.fromPartial(fn(env, request) as never)).finish();
  };
}

const page = (total: number) => ({ nextKey: new Uint8Array(), total: BigInt(total) });

function validator(env: QueryEnv, address: string) {
  const v = env.state.validators.get(address);
  if (!v) throw grpcNotFound(`validator ${address} not found`);
  return v;
}

function proposal(env: QueryEnv, id: bigint): ProposalState {
  const p = env.state.proposals.get(id);
  if (!p) throw grpcNotFound(`proposal ${id} doesn't exist`);
  return p;
}

function filteredProposals(env: QueryEnv, r: gov.QueryProposalsRequest): ProposalState[] {
  return [...env.state.proposals.values()].filter(
    (p) =>
      (!r.proposalStatus || p.status === r.proposalStatus) &&
      (!r.voter || env.state.votes.has(voteKey(p.id, r.voter))) &&
      (!r.depositor || env.state.deposits.has(voteKey(p.id, r.depositor))),
  );
}

function vote(env: QueryEnv, r: gov.QueryVoteRequest) {
  proposal(env, r.proposalId);
  const v = env.state.votes.get(voteKey(r.proposalId, r.voter));
  if (!v) throw grpcInvalid(`voter: ${r.voter} not found for proposal: ${r.proposalId}`);
  return v;
}

function grantView(g: GrantState) {
  return {
    authorization: g.authorization,
    expiration: g.expirationMs === null ? undefined : timestamp(g.expirationMs),
  };
}

function delegationRewards(env: QueryEnv, delegator: string, validatorAddress: string): Coins {
  validator(env, validatorAddress);
  const d = env.state.delegations.get(delegationKey(delegator, validatorAddress));
  if (!d) throw grpcNotFound('delegation does not exist');
  return d.rewards;
}

function govParamsView(env: QueryEnv) {
  const p = env.state.params.gov;
  const dec = (n: number) => (BigInt(Math.round(n * 1e9)) * (DEC / 1_000_000_000n)).toString();
  return {
    minDeposit: coinList(minDeposit(env.state)),
    maxDepositPeriod: duration(maxDepositPeriodMs(env.state)),
    votingPeriod: duration(p.votingPeriodMs),
    atomics: { quorum: dec(p.quorum), threshold: dec(p.threshold), vetoThreshold: dec(p.vetoThreshold) },
  };
}

const decText = (atomics: string) =>
  `${BigInt(atomics) / DEC}.${(BigInt(atomics) % DEC).toString().padStart(18, '0')}`;
const utf8 = (s: string) => new TextEncoder().encode(s);

const handlers: Record<string, Handler> = {
  '/cosmos.auth.v1beta1.Query/Account': handler(
    auth.QueryAccountRequest,
    auth.QueryAccountResponse,
    (env, r) => {
      const account = env.state.accounts.get(r.address);
      if (!account) throw grpcNotFound(`account ${r.address} not found`);
      return { account: accountAny(account) };
    },
  ),
  '/cosmos.bank.v1beta1.Query/Balance': handler(
    bank.QueryBalanceRequest,
    bank.QueryBalanceResponse,
    (env, r) => ({
      balance: { denom: r.denom, amount: balanceOf(env.state, r.address, r.denom).toString() },
    }),
  ),
  '/cosmos.bank.v1beta1.Query/AllBalances': handler(
    bank.QueryAllBalancesRequest,
    bank.QueryAllBalancesResponse,
    (env, r) => {
      const balances = coinList(env.state.balances.get(r.address) ?? new Map());
      return { balances, pagination: page(balances.length) };
    },
  ),
  '/cosmos.bank.v1beta1.Query/TotalSupply': handler(
    bank.QueryTotalSupplyRequest,
    bank.QueryTotalSupplyResponse,
    (env) => {
      const supply = coinList(totalSupply(env.state));
      return { supply, pagination: page(supply.length) };
    },
  ),
  '/cosmos.staking.v1beta1.Query/Validator': handler(
    stakingQ.QueryValidatorRequest,
    stakingQ.QueryValidatorResponse,
    (env, r) => ({ validator: validatorView(validator(env, r.validatorAddr), env.genesisTimeMs) }),
  ),
  '/cosmos.staking.v1beta1.Query/Validators': handler(
    stakingQ.QueryValidatorsRequest,
    stakingQ.QueryValidatorsResponse,
    (env, r) => {
      const status = r.status ? bondStatusFromJSON(r.status) : null;
      if (status === BondStatus.UNRECOGNIZED) throw grpcInvalid(`invalid validator status ${r.status}`);
      const validators = [...env.state.validators.values()]
        .filter((v) => status === null || v.status === status)
        .map((v) => validatorView(v, env.genesisTimeMs));
      return { validators, pagination: page(validators.length) };
    },
  ),
  '/cosmos.staking.v1beta1.Query/Delegation': handler(
    stakingQ.QueryDelegationRequest,
    stakingQ.QueryDelegationResponse,
    (env, r) => {
      const d = env.state.delegations.get(delegationKey(r.delegatorAddr, r.validatorAddr));
      if (!d) {
        throw grpcNotFound(
          `delegation with delegator ${r.delegatorAddr} not found for validator ${r.validatorAddr}`,
        );
      }
      return { delegationResponse: delegationView(env.state, d) };
    },
  ),
  '/cosmos.staking.v1beta1.Query/DelegatorDelegations': handler(
    stakingQ.QueryDelegatorDelegationsRequest,
    stakingQ.QueryDelegatorDelegationsResponse,
    (env, r) => {
      const list = [...env.state.delegations.values()].filter((d) => d.delegator === r.delegatorAddr);
      return {
        delegationResponses: list.map((d) => delegationView(env.state, d)),
        pagination: page(list.length),
      };
    },
  ),
  '/cosmos.staking.v1beta1.Query/ValidatorDelegations': handler(
    stakingQ.QueryValidatorDelegationsRequest,
    stakingQ.QueryValidatorDelegationsResponse,
    (env, r) => {
      const list = [...env.state.delegations.values()].filter((d) => d.validator === r.validatorAddr);
      return {
        delegationResponses: list.map((d) => delegationView(env.state, d)),
        pagination: page(list.length),
      };
    },
  ),
  '/cosmos.staking.v1beta1.Query/DelegatorUnbondingDelegations': handler(
    stakingQ.QueryDelegatorUnbondingDelegationsRequest,
    stakingQ.QueryDelegatorUnbondingDelegationsResponse,
    (env, r) => {
      const byValidator = new Map<string, typeof env.state.unbondings>();
      for (const e of env.state.unbondings.filter((u) => u.delegator === r.delegatorAddr)) {
        byValidator.set(e.validator, [...(byValidator.get(e.validator) ?? []), e]);
      }
      const unbondingResponses = [...byValidator].map(([validatorAddress, entries]) => ({
        delegatorAddress: r.delegatorAddr,
        validatorAddress,
        entries: entries.map((e) => ({
          creationHeight: BigInt(e.creationHeight),
          completionTime: timestamp(e.completionTimeMs),
          initialBalance: e.initialBalance.toString(),
          balance: e.balance.toString(),
          unbondingId: 0n,
          unbondingOnHoldRefCount: 0n,
        })),
      }));
      return { unbondingResponses, pagination: page(unbondingResponses.length) };
    },
  ),
  '/cosmos.staking.v1beta1.Query/Params': handler(
    stakingQ.QueryParamsRequest,
    stakingQ.QueryParamsResponse,
    (env) => ({
      params: {
        unbondingTime: duration(env.state.params.unbondingTimeMs ?? DEFAULT_UNBONDING_TIME_MS),
        maxValidators: env.state.params.maxValidators,
        maxEntries: 7,
        historicalEntries: 10_000,
        bondDenom: env.state.params.denom,
        minCommissionRate: '0',
      },
    }),
  ),
  '/cosmos.staking.v1beta1.Query/Pool': handler(
    stakingQ.QueryPoolRequest,
    stakingQ.QueryPoolResponse,
    (env) => {
      let bonded = 0n;
      let notBonded = 0n;
      for (const v of env.state.validators.values()) {
        if (v.status === BondStatus.BOND_STATUS_BONDED) bonded += v.tokens;
        else notBonded += v.tokens;
      }
      for (const u of env.state.unbondings) notBonded += u.balance;
      return { pool: { bondedTokens: bonded.toString(), notBondedTokens: notBonded.toString() } };
    },
  ),
  '/cosmos.distribution.v1beta1.Query/DelegationRewards': handler(
    dist.QueryDelegationRewardsRequest,
    dist.QueryDelegationRewardsResponse,
    (env, r) => ({ rewards: decCoinList(delegationRewards(env, r.delegatorAddress, r.validatorAddress)) }),
  ),
  '/cosmos.distribution.v1beta1.Query/DelegationTotalRewards': handler(
    dist.QueryDelegationTotalRewardsRequest,
    dist.QueryDelegationTotalRewardsResponse,
    (env, r) => {
      const total: Coins = new Map();
      const rewards = [...env.state.delegations.values()]
        .filter((d) => d.delegator === r.delegatorAddress)
        .map((d) => {
          addCoins(total, d.rewards);
          return { validatorAddress: d.validator, reward: decCoinList(d.rewards) };
        });
      return { rewards, total: decCoinList(total) };
    },
  ),
  '/cosmos.distribution.v1beta1.Query/Params': handler(
    dist.QueryParamsRequest,
    dist.QueryParamsResponse,
    () => ({
      params: {
        communityTax: '0',
        baseProposerReward: '0',
        bonusProposerReward: '0',
        withdrawAddrEnabled: false,
      },
    }),
  ),
  '/cosmos.distribution.v1beta1.Query/CommunityPool': handler(
    dist.QueryCommunityPoolRequest,
    dist.QueryCommunityPoolResponse,
    () => ({ pool: [] }),
  ),
  '/cosmos.distribution.v1beta1.Query/DelegatorWithdrawAddress': handler(
    dist.QueryDelegatorWithdrawAddressRequest,
    dist.QueryDelegatorWithdrawAddressResponse,
    (_env, r) => ({ withdrawAddress: r.delegatorAddress }),
  ),
  '/cosmos.distribution.v1beta1.Query/DelegatorValidators': handler(
    dist.QueryDelegatorValidatorsRequest,
    dist.QueryDelegatorValidatorsResponse,
    (env, r) => ({
      validators: [...env.state.delegations.values()]
        .filter((d) => d.delegator === r.delegatorAddress)
        .map((d) => d.validator),
    }),
  ),
  '/cosmos.distribution.v1beta1.Query/ValidatorCommission': handler(
    dist.QueryValidatorCommissionRequest,
    dist.QueryValidatorCommissionResponse,
    (env, r) => ({ commission: { commission: decCoinList(validator(env, r.validatorAddress).commission) } }),
  ),
  '/cosmos.distribution.v1beta1.Query/ValidatorOutstandingRewards': handler(
    dist.QueryValidatorOutstandingRewardsRequest,
    dist.QueryValidatorOutstandingRewardsResponse,
    (env, r) => ({
      rewards: { rewards: decCoinList(outstandingRewards(env.state, validator(env, r.validatorAddress))) },
    }),
  ),
  '/cosmos.slashing.v1beta1.Query/SigningInfo': handler(
    slashingQ.QuerySigningInfoRequest,
    slashingQ.QuerySigningInfoResponse,
    (env, r) => {
      let hex: string;
      try {
        const decoded = decodeBech32(r.consAddress);
        if (decoded.prefix !== valconsPrefix(env.state)) throw new Error('prefix');
        hex = toHex(decoded.data).toUpperCase();
      } catch {
        throw grpcInvalid(`invalid consensus address ${r.consAddress}`);
      }
      const info = env.state.signingInfos.get(hex);
      if (!info) throw grpcNotFound(`SigningInfo not found for validator ${r.consAddress}`);
      return { valSigningInfo: signingInfoView(env.state, info) };
    },
  ),
  '/cosmos.slashing.v1beta1.Query/SigningInfos': handler(
    slashingQ.QuerySigningInfosRequest,
    slashingQ.QuerySigningInfosResponse,
    (env) => {
      const info = [...env.state.signingInfos.values()].map((i) => signingInfoView(env.state, i));
      return { info, pagination: page(info.length) };
    },
  ),
  '/cosmos.slashing.v1beta1.Query/Params': handler(
    slashingQ.QueryParamsRequest,
    slashingQ.QueryParamsResponse,
    (env) => {
      const p = env.state.params.slashing;
      const dec = (n: number) => utf8((BigInt(Math.round(n * 1e9)) * (DEC / 1_000_000_000n)).toString());
      return {
        params: {
          signedBlocksWindow: BigInt(p.signedBlocksWindow),
          minSignedPerWindow: dec(p.minSignedPerWindow),
          downtimeJailDuration: duration(p.downtimeJailMs),
          slashFractionDoubleSign: dec(p.slashFractionDoubleSign),
          slashFractionDowntime: dec(p.slashFractionDowntime),
        },
      };
    },
  ),
  '/cosmos.gov.v1.Query/Proposal': handler(gov.QueryProposalRequest, gov.QueryProposalResponse, (env, r) => ({
    proposal: proposalView(proposal(env, r.proposalId)),
  })),
  '/cosmos.gov.v1.Query/Proposals': handler(
    gov.QueryProposalsRequest,
    gov.QueryProposalsResponse,
    (env, r) => {
      const proposals = filteredProposals(env, r).map((p) => proposalView(p));
      return { proposals, pagination: page(proposals.length) };
    },
  ),
  '/cosmos.gov.v1.Query/Vote': handler(gov.QueryVoteRequest, gov.QueryVoteResponse, (env, r) => ({
    vote: voteView(vote(env, r)),
  })),
  '/cosmos.gov.v1.Query/Votes': handler(gov.QueryVotesRequest, gov.QueryVotesResponse, (env, r) => {
    const votes = votesOf(env.state, proposal(env, r.proposalId).id).map(voteView);
    return { votes, pagination: page(votes.length) };
  }),
  '/cosmos.gov.v1.Query/TallyResult': handler(
    gov.QueryTallyResultRequest,
    gov.QueryTallyResultResponse,
    (env, r) => ({
      tally: tallyView(currentTally(env.state, proposal(env, r.proposalId))),
    }),
  ),
  '/cosmos.gov.v1.Query/Params': handler(gov.QueryParamsRequest, gov.QueryParamsResponse, (env) => {
    const p = govParamsView(env);
    const tally = {
      quorum: decText(p.atomics.quorum),
      threshold: decText(p.atomics.threshold),
      vetoThreshold: decText(p.atomics.vetoThreshold),
    };
    return {
      votingParams: { votingPeriod: p.votingPeriod },
      depositParams: { minDeposit: p.minDeposit, maxDepositPeriod: p.maxDepositPeriod },
      tallyParams: tally,
      params: {
        minDeposit: p.minDeposit,
        maxDepositPeriod: p.maxDepositPeriod,
        votingPeriod: p.votingPeriod,
        ...tally,
        minInitialDepositRatio: decText('0'),
        burnVoteVeto: true,
      },
    };
  }),
  '/cosmos.gov.v1beta1.Query/Proposal': handler(
    govBeta.QueryProposalRequest,
    govBeta.QueryProposalResponse,
    (env, r) => ({
      proposal: proposalViewBeta(proposal(env, r.proposalId)),
    }),
  ),
  '/cosmos.gov.v1beta1.Query/Proposals': handler(
    govBeta.QueryProposalsRequest,
    govBeta.QueryProposalsResponse,
    (env, r) => {
      const proposals = filteredProposals(env, r).map((p) => proposalViewBeta(p));
      return { proposals, pagination: page(proposals.length) };
    },
  ),
  '/cosmos.gov.v1beta1.Query/Vote': handler(
    govBeta.QueryVoteRequest,
    govBeta.QueryVoteResponse,
    (env, r) => ({
      vote: voteViewBeta(vote(env, r)),
    }),
  ),
  '/cosmos.gov.v1beta1.Query/Votes': handler(
    govBeta.QueryVotesRequest,
    govBeta.QueryVotesResponse,
    (env, r) => {
      const votes = votesOf(env.state, proposal(env, r.proposalId).id).map(voteViewBeta);
      return { votes, pagination: page(votes.length) };
    },
  ),
  '/cosmos.gov.v1beta1.Query/TallyResult': handler(
    govBeta.QueryTallyResultRequest,
    govBeta.QueryTallyResultResponse,
    (env, r) => ({ tally: tallyViewBeta(currentTally(env.state, proposal(env, r.proposalId))) }),
  ),
  '/cosmos.gov.v1beta1.Query/Params': handler(
    govBeta.QueryParamsRequest,
    govBeta.QueryParamsResponse,
    (env) => {
      const p = govParamsView(env);
      return {
        votingParams: { votingPeriod: p.votingPeriod },
        depositParams: { minDeposit: p.minDeposit, maxDepositPeriod: p.maxDepositPeriod },
        tallyParams: {
          quorum: utf8(p.atomics.quorum),
          threshold: utf8(p.atomics.threshold),
          vetoThreshold: utf8(p.atomics.vetoThreshold),
        },
      };
    },
  ),
  '/cosmos.authz.v1beta1.Query/Grants': handler(
    authzQ.QueryGrantsRequest,
    authzQ.QueryGrantsResponse,
    (env, r) => {
      const grants = [...env.state.grants.values()].filter(
        (g) =>
          g.granter === r.granter &&
          g.grantee === r.grantee &&
          (!r.msgTypeUrl || g.msgTypeUrl === r.msgTypeUrl),
      );
      if (r.msgTypeUrl && grants.length === 0)
        throw grpcNotFound(`no authorization found for ${r.msgTypeUrl} type`);
      return { grants: grants.map(grantView), pagination: page(grants.length) };
    },
  ),
  '/cosmos.authz.v1beta1.Query/GranterGrants': handler(
    authzQ.QueryGranterGrantsRequest,
    authzQ.QueryGranterGrantsResponse,
    (env, r) => {
      const grants = [...env.state.grants.values()].filter((g) => g.granter === r.granter);
      return {
        grants: grants.map((g) => ({ granter: g.granter, grantee: g.grantee, ...grantView(g) })),
        pagination: page(grants.length),
      };
    },
  ),
  '/cosmos.authz.v1beta1.Query/GranteeGrants': handler(
    authzQ.QueryGranteeGrantsRequest,
    authzQ.QueryGranteeGrantsResponse,
    (env, r) => {
      const grants = [...env.state.grants.values()].filter((g) => g.grantee === r.grantee);
      return {
        grants: grants.map((g) => ({ granter: g.granter, grantee: g.grantee, ...grantView(g) })),
        pagination: page(grants.length),
      };
    },
  ),
  '/cosmos.upgrade.v1beta1.Query/CurrentPlan': handler(
    upgradeQ.QueryCurrentPlanRequest,
    upgradeQ.QueryCurrentPlanResponse,
    (env) => ({ plan: planView(env.state) }),
  ),
  '/cosmos.upgrade.v1beta1.Query/AppliedPlan': handler(
    upgradeQ.QueryAppliedPlanRequest,
    upgradeQ.QueryAppliedPlanResponse,
    (env, r) => ({ height: BigInt(env.state.upgrade.done.get(r.name) ?? 0) }),
  ),
  '/cosmos.upgrade.v1beta1.Query/Authority': handler(
    upgradeQ.QueryAuthorityRequest,
    upgradeQ.QueryAuthorityResponse,
    (env) => ({ address: govAuthority(env.state) }),
  ),
  '/cosmos.tx.v1beta1.Service/Simulate': handler(
    txService.SimulateRequest,
    txService.SimulateResponse,
    (env, r) => {
      const { result, msgResponses } = env.simulate(r.txBytes);
      if (result.code !== 0) throw new ChainError(result.codespace, result.code, result.log);
      return {
        gasInfo: { gasWanted: BigInt(result.gasWanted), gasUsed: BigInt(result.gasUsed) },
        result: { data: new Uint8Array(), log: result.log, events: result.events, msgResponses },
      };
    },
  ),
};

export function runQuery(env: QueryEnv, path: string, data: Uint8Array): QueryResult {
  const height = env.state.height;
  const run = handlers[path];
  try {
    if (!run) throw sdk.unknownRequest('unknown query path');
    return { code: 0, codespace: '', log: '', value: run(env, data), height };
  } catch (error) {
    const e =
      error instanceof ChainError
        ? error
        : new ChainError('undefined', 1, 'internal', (error as Error).message);
    return { code: e.code, codespace: e.codespace, log: e.message, value: new Uint8Array(), height };
  }
}
