/** Message routing by type URL: decoding, the signer the ante handler checks, gas, and the handler. */
import { MsgExec, MsgGrant, MsgRevoke } from 'cosmjs-types/cosmos/authz/v1beta1/tx';
import { MsgSend } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import {
  MsgWithdrawDelegatorReward,
  MsgWithdrawDelegatorRewardResponse,
  MsgWithdrawValidatorCommission,
  MsgWithdrawValidatorCommissionResponse,
} from 'cosmjs-types/cosmos/distribution/v1beta1/tx';
import { MsgDeposit, MsgSubmitProposal, MsgVote, MsgVoteWeighted } from 'cosmjs-types/cosmos/gov/v1/tx';
import {
  MsgDeposit as MsgDepositBeta,
  MsgVote as MsgVoteBeta,
  MsgVoteWeighted as MsgVoteWeightedBeta,
} from 'cosmjs-types/cosmos/gov/v1beta1/tx';
import { MsgUnjail } from 'cosmjs-types/cosmos/slashing/v1beta1/tx';
import { MsgBeginRedelegate, MsgDelegate, MsgUndelegate } from 'cosmjs-types/cosmos/staking/v1beta1/tx';
import { MsgCancelUpgrade, MsgSoftwareUpgrade } from 'cosmjs-types/cosmos/upgrade/v1beta1/tx';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import { type Dispatcher, handleExec, handleGrant, handleRevoke } from './authz.js';
import { handleSend } from './bank.js';
import { coinList, event, rebech } from './codec.js';
import type { Ctx } from './context.js';
import { withdrawCommission, withdrawDelegationRewards } from './distribution.js';
import { distribution as distErrors, sdk } from './errors.js';
import {
  handleDeposit,
  handleSubmitProposal,
  handleVote,
  handleVoteBeta,
  handleVoteWeighted,
  handleVoteWeightedBeta,
} from './gov.js';
import { handleUnjail } from './slashing.js';
import { getValidator, handleBeginRedelegate, handleDelegate, handleUndelegate } from './staking.js';
import { delegationKey } from './state.js';
import { handleCancelUpgrade, handleSoftwareUpgrade } from './upgrade.js';

interface Route<T> {
  module: string;
  decode(bytes: Uint8Array): T;
  signer(msg: T, ctxPrefix: string): string;
  gas: number;
  handle(ctx: Ctx, msg: T): Uint8Array;
}

/** Gas per message on top of the ante costs; MsgExec adds its inner messages' gas. */
const MSG_GAS = 30_000;
const operatorAccount = (valoper: string, prefix: string): string => rebech(valoper, prefix);

function route<T>(r: Route<T>): Route<unknown> {
  return r as Route<unknown>;
}

const routes: Record<string, Route<unknown>> = {
  '/cosmos.bank.v1beta1.MsgSend': route({
    module: 'bank',
    decode: MsgSend.decode,
    signer: (m) => m.fromAddress,
    gas: MSG_GAS,
    handle: handleSend,
  }),
  '/cosmos.staking.v1beta1.MsgDelegate': route({
    module: 'staking',
    decode: MsgDelegate.decode,
    signer: (m) => m.delegatorAddress,
    gas: MSG_GAS * 2,
    handle: handleDelegate,
  }),
  '/cosmos.staking.v1beta1.MsgUndelegate': route({
    module: 'staking',
    decode: MsgUndelegate.decode,
    signer: (m) => m.delegatorAddress,
    gas: MSG_GAS * 2,
    handle: handleUndelegate,
  }),
  '/cosmos.staking.v1beta1.MsgBeginRedelegate': route({
    module: 'staking',
    decode: MsgBeginRedelegate.decode,
    signer: (m) => m.delegatorAddress,
    gas: MSG_GAS * 3,
    handle: handleBeginRedelegate,
  }),
  '/cosmos.slashing.v1beta1.MsgUnjail': route({
    module: 'slashing',
    decode: MsgUnjail.decode,
    signer: (m, prefix) => operatorAccount(m.validatorAddr, prefix),
    gas: MSG_GAS,
    handle: handleUnjail,
  }),
  '/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward': route({
    module: 'distribution',
    decode: MsgWithdrawDelegatorReward.decode,
    signer: (m) => m.delegatorAddress,
    gas: MSG_GAS,
    handle: (ctx, m) => {
      getValidator(ctx.state, m.validatorAddress);
      const delegation = ctx.state.delegations.get(delegationKey(m.delegatorAddress, m.validatorAddress));
      if (!delegation) throw distErrors.emptyDelegation();
      const amount = withdrawDelegationRewards(ctx, delegation);
      return MsgWithdrawDelegatorRewardResponse.encode({ amount: coinList(amount) }).finish();
    },
  }),
  '/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission': route({
    module: 'distribution',
    decode: MsgWithdrawValidatorCommission.decode,
    signer: (m, prefix) => operatorAccount(m.validatorAddress, prefix),
    gas: MSG_GAS,
    handle: (ctx, m) => {
      const amount = withdrawCommission(ctx, getValidator(ctx.state, m.validatorAddress));
      return MsgWithdrawValidatorCommissionResponse.encode({ amount: coinList(amount) }).finish();
    },
  }),
  '/cosmos.gov.v1.MsgSubmitProposal': route({
    module: 'gov',
    decode: MsgSubmitProposal.decode,
    signer: (m) => m.proposer,
    gas: MSG_GAS * 2,
    handle: (ctx, m) => handleSubmitProposal(ctx, m, dispatcher(ctx.state.params.bech32Prefix)),
  }),
  '/cosmos.gov.v1.MsgDeposit': route({
    module: 'gov',
    decode: MsgDeposit.decode,
    signer: (m) => m.depositor,
    gas: MSG_GAS,
    handle: handleDeposit,
  }),
  '/cosmos.gov.v1.MsgVote': route({
    module: 'gov',
    decode: MsgVote.decode,
    signer: (m) => m.voter,
    gas: MSG_GAS,
    handle: handleVote,
  }),
  '/cosmos.gov.v1beta1.MsgVote': route({
    module: 'gov',
    decode: MsgVoteBeta.decode,
    signer: (m) => m.voter,
    gas: MSG_GAS,
    handle: handleVoteBeta,
  }),
  '/cosmos.gov.v1.MsgVoteWeighted': route({
    module: 'gov',
    decode: MsgVoteWeighted.decode,
    signer: (m) => m.voter,
    gas: MSG_GAS,
    handle: handleVoteWeighted,
  }),
  '/cosmos.gov.v1beta1.MsgVoteWeighted': route({
    module: 'gov',
    decode: MsgVoteWeightedBeta.decode,
    signer: (m) => m.voter,
    gas: MSG_GAS,
    handle: handleVoteWeightedBeta,
  }),
  '/cosmos.gov.v1beta1.MsgDeposit': route({
    module: 'gov',
    decode: MsgDepositBeta.decode,
    signer: (m) => m.depositor,
    gas: MSG_GAS,
    handle: (ctx, m) => handleDeposit(ctx, { ...m }),
  }),
  // Signed by the gov module account: they run only as a passed proposal's messages.
  '/cosmos.upgrade.v1beta1.MsgSoftwareUpgrade': route({
    module: 'upgrade',
    decode: MsgSoftwareUpgrade.decode,
    signer: (m) => m.authority,
    gas: MSG_GAS,
    handle: handleSoftwareUpgrade,
  }),
  '/cosmos.upgrade.v1beta1.MsgCancelUpgrade': route({
    module: 'upgrade',
    decode: MsgCancelUpgrade.decode,
    signer: (m) => m.authority,
    gas: MSG_GAS,
    handle: handleCancelUpgrade,
  }),
  '/cosmos.authz.v1beta1.MsgGrant': route({
    module: 'authz',
    decode: MsgGrant.decode,
    signer: (m) => m.granter,
    gas: MSG_GAS,
    handle: handleGrant,
  }),
  '/cosmos.authz.v1beta1.MsgRevoke': route({
    module: 'authz',
    decode: MsgRevoke.decode,
    signer: (m) => m.granter,
    gas: MSG_GAS,
    handle: handleRevoke,
  }),
  '/cosmos.authz.v1beta1.MsgExec': route({
    module: 'authz',
    decode: MsgExec.decode,
    signer: (m) => m.grantee,
    gas: MSG_GAS / 3,
    handle: (ctx, m) => handleExec(ctx, m, dispatcher(ctx.state.params.bech32Prefix)),
  }),
};

export interface DecodedMsg {
  any: Any;
  route: Route<unknown>;
  msg: unknown;
  signer: string;
}

export function decodeMsg(any: Any, prefix: string): DecodedMsg {
  const r = routes[any.typeUrl];
  if (!r) throw sdk.txDecode(`unable to resolve type URL ${any.typeUrl}`);
  let msg: unknown;
  try {
    msg = r.decode(any.value);
  } catch (error) {
    throw sdk.txDecode(`${any.typeUrl}: ${(error as Error).message}`);
  }
  let signer: string;
  try {
    signer = r.signer(msg, prefix);
  } catch {
    throw sdk.invalidAddress(`invalid signer address in ${any.typeUrl}`);
  }
  return { any, route: r, msg, signer };
}

/** Gas of one message, including MsgExec's inner messages. */
export function msgGas(decoded: DecodedMsg, prefix: string): number {
  if (decoded.any.typeUrl !== '/cosmos.authz.v1beta1.MsgExec') return decoded.route.gas;
  const inner = (decoded.msg as MsgExec).msgs.map((m) => msgGas(decodeMsg(m, prefix), prefix));
  return decoded.route.gas + inner.reduce((a, b) => a + b, 0);
}

/** Runs one message with the SDK's `message` event (action, sender, module) in front of its own. */
export function runMsg(ctx: Ctx, decoded: DecodedMsg): Uint8Array {
  const own: Ctx = { ...ctx, events: [] };
  const response = decoded.route.handle(own, decoded.msg);
  ctx.events.push(
    event('message', { action: decoded.any.typeUrl, sender: decoded.signer, module: decoded.route.module }),
    ...own.events,
  );
  return response;
}

/** Runs messages on behalf of their signer: authz MsgExec's inner messages, gov proposals' messages. */
export function dispatcher(prefix: string): Dispatcher {
  return {
    signerOf: (msg: Any) => decodeMsg(msg, prefix).signer,
    run: (ctx: Ctx, msg: Any) => runMsg(ctx, decodeMsg(msg, prefix)),
  };
}

export const responseTypeUrl = (typeUrl: string): string => `${typeUrl}Response`;
