import { fromHex, toBech32 } from '@cosmjs/encoding';
import {
  createProtobufRpcClient,
  decodeCosmosSdkDecFromProto,
  QueryClient,
  setupAuthzExtension,
  setupBankExtension,
  setupDistributionExtension,
  setupGovExtension,
  setupSlashingExtension,
  setupStakingExtension,
} from '@cosmjs/stargate';
import { connectComet, type CometClient } from '@cosmjs/tendermint-rpc';
import { GenericAuthorization } from 'cosmjs-types/cosmos/authz/v1beta1/authz';
import { ProposalStatus, VoteOption as V1Vote } from 'cosmjs-types/cosmos/gov/v1/gov';
import { QueryClientImpl as GovV1Query } from 'cosmjs-types/cosmos/gov/v1/query';
import { StakeAuthorization } from 'cosmjs-types/cosmos/staking/v1beta1/authz';
import { ProposalStatus as BetaStatus } from 'cosmjs-types/cosmos/gov/v1beta1/gov';
import type { Timestamp } from 'cosmjs-types/google/protobuf/timestamp';
import type { ChainFacts, Coin, ProposalFact, VoteOption } from '../protocol/index.js';

export interface ChainWatch {
  rpcUrl: string;
  prefix: string;
  /** Consensus address (hex) of the watched validator. */
  consensusAddress: string | null;
  operatorAddress: string | null;
  /** Validator's account (authz granter, balance holder). */
  accountAddress: string | null;
  /** Hot key address (authz grantee). */
  granteeAddress: string | null;
}

const tsMs = (t: Timestamp | undefined): number | null =>
  t ? Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6) : null;

const STATUS: Record<number, ProposalFact['status']> = {
  [ProposalStatus.PROPOSAL_STATUS_DEPOSIT_PERIOD]: 'deposit',
  [ProposalStatus.PROPOSAL_STATUS_VOTING_PERIOD]: 'voting',
  [ProposalStatus.PROPOSAL_STATUS_PASSED]: 'passed',
  [ProposalStatus.PROPOSAL_STATUS_REJECTED]: 'rejected',
  [ProposalStatus.PROPOSAL_STATUS_FAILED]: 'failed',
};
const VOTES: Record<number, VoteOption> = {
  [V1Vote.VOTE_OPTION_YES]: 'yes',
  [V1Vote.VOTE_OPTION_NO]: 'no',
  [V1Vote.VOTE_OPTION_ABSTAIN]: 'abstain',
  [V1Vote.VOTE_OPTION_NO_WITH_VETO]: 'no_with_veto',
};
const BOND_STATUS: Array<'unspecified' | 'unbonded' | 'unbonding' | 'bonded'> = [
  'unspecified',
  'unbonded',
  'unbonding',
  'bonded',
];

/** gRPC NotFound (code 5) or the SDK's "not found" text: the vote does not exist. */
export function isNotFound(error: unknown): boolean {
  const msg = error instanceof Error ? error.message : String(error);
  return /not found|code = NotFound|code 5\b/i.test(msg);
}

/** DecCoin amounts travel as integers scaled by 10^18; base units are their integer part. */
const decCoins = (coins: Array<{ denom: string; amount: string }>): Coin[] =>
  coins.map((c) => ({ denom: c.denom, amount: (BigInt(c.amount || '0') / 10n ** 18n).toString() }));

/** Reads chain facts with cosmjs query extensions; each failure becomes one line in `errors`. */
export class ChainCollector {
  private comet: CometClient | null = null;
  /** Whether the chain answers gov v1 queries (null until known); votes use v1beta1 where it does not. */
  govV1: boolean | null = null;

  constructor(readonly w: ChainWatch) {}

  private async client() {
    this.comet ??= await connectComet(this.w.rpcUrl);
    const q = QueryClient.withExtensions(
      this.comet,
      setupStakingExtension,
      setupSlashingExtension,
      setupDistributionExtension,
      setupBankExtension,
      setupAuthzExtension,
      setupGovExtension,
    );
    return { q, govV1: new GovV1Query(createProtobufRpcClient(q)) };
  }

  async collect(): Promise<Omit<ChainFacts, 'recentCommits' | 'networkSignedShare' | 'validatorAddress'>> {
    const errors: string[] = [];
    const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | null> => {
      try {
        return await fn();
      } catch (error) {
        errors.push(`${what}: ${(error as Error).message.slice(0, 300)}`);
        return null;
      }
    };
    const { q, govV1 } = await this.client();
    const { consensusAddress: cons, operatorAddress: valoper, accountAddress: account } = this.w;

    const signingInfo = cons
      ? await attempt('signing info', async () => {
          const info = (await q.slashing.signingInfo(toBech32(`${this.w.prefix}valcons`, fromHex(cons))))
            .valSigningInfo;
          const params = (await q.slashing.params()).params;
          const jailedUntil = tsMs(info?.jailedUntil);
          return {
            missedBlocksCounter: Number(info?.missedBlocksCounter ?? 0n),
            signedBlocksWindow: params ? Number(params.signedBlocksWindow) || null : null,
            minSignedPerWindow: params
              ? Math.min(1, decodeCosmosSdkDecFromProto(params.minSignedPerWindow).toFloatApproximation())
              : null,
            jailedUntil: jailedUntil && jailedUntil > 0 ? jailedUntil : null,
            tombstoned: info?.tombstoned ?? false,
          };
        })
      : null;
    const validator = valoper
      ? await attempt('validator', async () => {
          const v = (await q.staking.validator(valoper)).validator;
          if (!v) throw new Error(`validator ${valoper} not found`);
          return { jailed: v.jailed, status: BOND_STATUS[v.status] ?? 'unspecified', tokens: v.tokens };
        })
      : null;
    const balances = account ? await attempt('balances', () => q.bank.allBalances(account)) : null;
    const rewards =
      account && valoper
        ? await attempt('rewards', async () =>
            decCoins((await q.distribution.delegationRewards(account, valoper)).rewards),
          )
        : null;
    const commission = valoper
      ? await attempt('commission', async () =>
          decCoins((await q.distribution.validatorCommission(valoper)).commission?.commission ?? []),
        )
      : null;
    const proposals = await this.proposals(q, govV1, errors);
    const grants =
      account && this.w.granteeAddress
        ? await attempt('authz grants', async () => {
            const r = await q.authz.grants(account, this.w.granteeAddress as string, '');
            return r.grants.map((g) => ({
              msgTypeUrl: grantedMsg(g.authorization?.typeUrl ?? '', g.authorization?.value),
              expiresAt: tsMs(g.expiration),
            }));
          })
        : null;
    return {
      operatorAddress: valoper,
      signingInfo,
      validator,
      // Report caps (protocol): at most 50 coins per list and 50 grants.
      balances: (balances ?? []).slice(0, 50).map((c) => ({ denom: c.denom, amount: c.amount })),
      rewards: (rewards ?? []).slice(0, 50),
      commission: (commission ?? []).slice(0, 50),
      proposals,
      grants: grants?.slice(0, 50) ?? null,
      errors: errors.slice(0, 20),
    };
  }

  private async proposals(
    q: Awaited<ReturnType<ChainCollector['client']>>['q'],
    govV1: GovV1Query,
    errors: string[],
  ): Promise<ProposalFact[]> {
    const voter = this.w.accountAddress;
    try {
      const r = await govV1.Proposals({
        proposalStatus: ProposalStatus.PROPOSAL_STATUS_VOTING_PERIOD,
        voter: '',
        depositor: '',
      });
      const out: ProposalFact[] = [];
      for (const p of r.proposals.slice(0, 200)) {
        const fact: ProposalFact = {
          id: p.id.toString(),
          title: p.title.slice(0, 512),
          summary: p.summary.slice(0, 4000),
          status: STATUS[p.status] ?? 'unknown',
          votingStart: tsMs(p.votingStartTime),
          votingEnd: tsMs(p.votingEndTime),
        };
        if (voter) {
          try {
            const v = await govV1.Vote({ proposalId: p.id, voter });
            const opt = v.vote?.options[0]?.option;
            fact.ourVote = opt !== undefined ? (VOTES[opt] ?? null) : null;
          } catch (error) {
            if (isNotFound(error)) fact.ourVote = null;
            else errors.push(`vote on ${fact.id}: ${(error as Error).message.slice(0, 200)}`);
          }
        }
        out.push(fact);
      }
      this.govV1 = true;
      return out;
    } catch (v1Error) {
      errors.push(`gov v1 unavailable (${(v1Error as Error).message.slice(0, 120)}), used v1beta1`);
    }
    try {
      const r = await q.gov.proposals(BetaStatus.PROPOSAL_STATUS_VOTING_PERIOD, '', '');
      const out: ProposalFact[] = [];
      for (const p of r.proposals.slice(0, 200)) {
        const fact: ProposalFact = {
          id: p.proposalId.toString(),
          title: '',
          summary: '',
          status: STATUS[p.status] ?? 'unknown',
          votingStart: tsMs(p.votingStartTime),
          votingEnd: tsMs(p.votingEndTime),
        };
        if (voter) {
          try {
            const v = await q.gov.vote(p.proposalId.toString(), voter);
            const opt = v.vote?.options[0]?.option ?? v.vote?.option;
            fact.ourVote = opt !== undefined ? (VOTES[opt] ?? null) : null;
          } catch (error) {
            if (isNotFound(error)) fact.ourVote = null;
            else errors.push(`vote on ${fact.id}: ${(error as Error).message.slice(0, 200)}`);
          }
        }
        out.push(fact);
      }
      // v1 failed where v1beta1 answers: a chain without gov v1.
      this.govV1 = false;
      return out;
    } catch (error) {
      errors.push(`gov v1beta1 proposals: ${(error as Error).message.slice(0, 200)}`);
      return [];
    }
  }

  disconnect(): void {
    this.comet?.disconnect();
    this.comet = null;
  }
}

const STAKE_MSGS: Record<number, string> = {
  1: '/cosmos.staking.v1beta1.MsgDelegate',
  2: '/cosmos.staking.v1beta1.MsgUndelegate',
  3: '/cosmos.staking.v1beta1.MsgBeginRedelegate',
};

/** The message type an authorization allows. */
export function grantedMsg(typeUrl: string, value: Uint8Array | undefined): string {
  if (typeUrl === '/cosmos.authz.v1beta1.GenericAuthorization' && value)
    return GenericAuthorization.decode(value).msg;
  if (typeUrl === '/cosmos.staking.v1beta1.StakeAuthorization' && value) {
    const kind = StakeAuthorization.decode(value).authorizationType;
    return STAKE_MSGS[kind] ?? typeUrl;
  }
  return typeUrl;
}
