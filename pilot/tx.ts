import { promises as fs } from 'node:fs';
import { DirectSecp256k1HdWallet, type EncodeObject } from '@cosmjs/proto-signing';
import { calculateFee, GasPrice, SigningStargateClient } from '@cosmjs/stargate';
import { MsgExec } from 'cosmjs-types/cosmos/authz/v1beta1/tx';
import {
  MsgWithdrawDelegatorReward,
  MsgWithdrawValidatorCommission,
} from 'cosmjs-types/cosmos/distribution/v1beta1/tx';
import { MsgVote } from 'cosmjs-types/cosmos/gov/v1/tx';
import { MsgVote as MsgVoteBeta } from 'cosmjs-types/cosmos/gov/v1beta1/tx';
import { VoteOption as ProtoVoteOption } from 'cosmjs-types/cosmos/gov/v1/gov';
import { MsgUnjail } from 'cosmjs-types/cosmos/slashing/v1beta1/tx';
import { MsgDelegate } from 'cosmjs-types/cosmos/staking/v1beta1/tx';
import type { Coin, VoteOption } from '../protocol/index.js';

const VOTE_OPTIONS: Record<VoteOption, ProtoVoteOption> = {
  yes: ProtoVoteOption.VOTE_OPTION_YES,
  no: ProtoVoteOption.VOTE_OPTION_NO,
  abstain: ProtoVoteOption.VOTE_OPTION_ABSTAIN,
  no_with_veto: ProtoVoteOption.VOTE_OPTION_NO_WITH_VETO,
};

export interface TxSettings {
  rpcUrl: string;
  mnemonicFile: string;
  prefix: string;
  gasPrice: string;
  gasLimit: number;
  broadcastPollIntervalMs: number;
  broadcastTimeoutMs: number;
  /** The validator's account: the authz granter. */
  granter: string;
  /** The own validator's operator address. */
  valoper: string;
}

export interface TxOutcome {
  txHash: string;
  height: number;
  code: number;
  rawLog: string;
}

/** Wraps inner messages in MsgExec so the hot grantee acts for the validator's account (direct signing only). */
export function execMessage(
  grantee: string,
  inner: Array<{ typeUrl: string; value: Uint8Array }>,
): EncodeObject {
  return { typeUrl: '/cosmos.authz.v1beta1.MsgExec', value: MsgExec.fromPartial({ grantee, msgs: inner }) };
}

/** gov v1 MsgVote, or v1beta1 (`legacy`) on chains without gov v1; the option numbers are the same. */
export function voteMsg(granter: string, proposalId: string, option: VoteOption, legacy = false) {
  if (legacy) {
    return {
      typeUrl: '/cosmos.gov.v1beta1.MsgVote',
      value: MsgVoteBeta.encode(
        MsgVoteBeta.fromPartial({
          proposalId: BigInt(proposalId),
          voter: granter,
          option: VOTE_OPTIONS[option],
        }),
      ).finish(),
    };
  }
  return {
    typeUrl: '/cosmos.gov.v1.MsgVote',
    value: MsgVote.encode(
      MsgVote.fromPartial({ proposalId: BigInt(proposalId), voter: granter, option: VOTE_OPTIONS[option] }),
    ).finish(),
  };
}

export function delegateMsg(granter: string, valoper: string, amount: Coin) {
  return {
    typeUrl: '/cosmos.staking.v1beta1.MsgDelegate',
    value: MsgDelegate.encode(
      MsgDelegate.fromPartial({ delegatorAddress: granter, validatorAddress: valoper, amount }),
    ).finish(),
  };
}

export function withdrawMsgs(granter: string, valoper: string, commission: boolean) {
  const msgs = [
    {
      typeUrl: '/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward',
      value: MsgWithdrawDelegatorReward.encode({
        delegatorAddress: granter,
        validatorAddress: valoper,
      }).finish(),
    },
  ];
  if (commission) {
    msgs.push({
      typeUrl: '/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission',
      value: MsgWithdrawValidatorCommission.encode({ validatorAddress: valoper }).finish(),
    });
  }
  return msgs;
}

/** x/slashing's MsgUnjail for the own validator (its operator is the message's signer, the granter). */
export function unjailMsg(valoper: string) {
  return {
    typeUrl: '/cosmos.slashing.v1beta1.MsgUnjail',
    value: MsgUnjail.encode({ validatorAddr: valoper }).finish(),
  };
}

/** Signs and broadcasts authz MsgExec transactions with the hot key. */
export class HotSigner {
  private client: SigningStargateClient | null = null;
  private grantee = '';

  constructor(readonly s: TxSettings) {}

  private async connect(): Promise<SigningStargateClient> {
    if (this.client) return this.client;
    const mnemonic = (await fs.readFile(this.s.mnemonicFile, 'utf8')).trim();
    const wallet = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic, { prefix: this.s.prefix });
    const [account] = await wallet.getAccounts();
    if (!account) throw new Error('hot wallet has no account');
    this.grantee = account.address;
    this.client = await SigningStargateClient.connectWithSigner(this.s.rpcUrl, wallet, {
      gasPrice: GasPrice.fromString(this.s.gasPrice),
      broadcastPollIntervalMs: this.s.broadcastPollIntervalMs,
      broadcastTimeoutMs: this.s.broadcastTimeoutMs,
    });
    return this.client;
  }

  async exec(inner: Array<{ typeUrl: string; value: Uint8Array }>, memo = ''): Promise<TxOutcome> {
    const client = await this.connect();
    const fee = calculateFee(this.s.gasLimit, GasPrice.fromString(this.s.gasPrice));
    const r = await client.signAndBroadcast(this.grantee, [execMessage(this.grantee, inner)], fee, memo);
    return { txHash: r.transactionHash, height: r.height, code: r.code, rawLog: r.rawLog ?? '' };
  }

  vote(proposalId: string, option: VoteOption, memo?: string, legacy = false) {
    return this.exec([voteMsg(this.s.granter, proposalId, option, legacy)], memo);
  }

  delegate(amount: Coin, memo?: string) {
    return this.exec([delegateMsg(this.s.granter, this.s.valoper, amount)], memo);
  }

  withdraw(commission: boolean) {
    return this.exec(withdrawMsgs(this.s.granter, this.s.valoper, commission));
  }

  unjail() {
    return this.exec([unjailMsg(this.s.valoper)]);
  }

  disconnect(): void {
    this.client?.disconnect();
    this.client = null;
  }
}
