/**
 * Authz: grants of GenericAuthorization and StakeAuthorization, revocation, and MsgExec, which runs
 * inner messages on the granter's behalf after checking the grant, its expiry and its limits.
 */
import { GenericAuthorization } from 'cosmjs-types/cosmos/authz/v1beta1/authz';
import { MsgExecResponse, MsgGrantResponse, MsgRevokeResponse } from 'cosmjs-types/cosmos/authz/v1beta1/tx';
import type { MsgExec, MsgGrant, MsgRevoke } from 'cosmjs-types/cosmos/authz/v1beta1/tx';
import { AuthorizationType, StakeAuthorization } from 'cosmjs-types/cosmos/staking/v1beta1/authz';
import { MsgBeginRedelegate, MsgDelegate, MsgUndelegate } from 'cosmjs-types/cosmos/staking/v1beta1/tx';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import { event, timestampMs } from './codec.js';
import type { Ctx } from './context.js';
import { ChainError, authz as errors, sdk } from './errors.js';
import { type GrantState, grantKey } from './state.js';

export const GENERIC_AUTHORIZATION = '/cosmos.authz.v1beta1.GenericAuthorization';
export const STAKE_AUTHORIZATION = '/cosmos.staking.v1beta1.StakeAuthorization';

const stakeMsgTypes: Partial<Record<AuthorizationType, string>> = {
  [AuthorizationType.AUTHORIZATION_TYPE_DELEGATE]: '/cosmos.staking.v1beta1.MsgDelegate',
  [AuthorizationType.AUTHORIZATION_TYPE_UNDELEGATE]: '/cosmos.staking.v1beta1.MsgUndelegate',
  [AuthorizationType.AUTHORIZATION_TYPE_REDELEGATE]: '/cosmos.staking.v1beta1.MsgBeginRedelegate',
};

/** The msg type URL an authorization governs (the grant's store key). */
export function authorizationMsgType(authorization: Any): string {
  if (authorization.typeUrl === GENERIC_AUTHORIZATION)
    return GenericAuthorization.decode(authorization.value).msg;
  if (authorization.typeUrl === STAKE_AUTHORIZATION) {
    const stake = StakeAuthorization.decode(authorization.value);
    const type = stakeMsgTypes[stake.authorizationType];
    if (!type) throw errors.unknownType(`unknown authorization type ${stake.authorizationType}`);
    if (!stake.allowList?.address.length && !stake.denyList?.address.length) {
      throw sdk.invalidRequest('both allowed & deny list cannot be empty');
    }
    return type;
  }
  throw errors.unknownType(authorization.typeUrl);
}

function typedEvent(type: string, attrs: Record<string, string>): ReturnType<typeof event> {
  return event(type, Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, JSON.stringify(v)])));
}

export function handleGrant(ctx: Ctx, msg: MsgGrant): Uint8Array {
  if (msg.granter === msg.grantee) throw errors.granteeIsGranter();
  const authorization = msg.grant?.authorization;
  if (!authorization) throw sdk.invalidRequest('authorization is nil');
  const msgTypeUrl = authorizationMsgType(authorization);
  const expirationMs = timestampMs(msg.grant?.expiration);
  if (expirationMs !== null && expirationMs <= ctx.timeMs) throw errors.invalidExpiration();
  ctx.state.grants.set(grantKey(msg.granter, msg.grantee, msgTypeUrl), {
    granter: msg.granter,
    grantee: msg.grantee,
    msgTypeUrl,
    authorization: { typeUrl: authorization.typeUrl, value: authorization.value },
    expirationMs,
  });
  ctx.events.push(
    typedEvent('cosmos.authz.v1beta1.EventGrant', {
      grantee: msg.grantee,
      granter: msg.granter,
      msg_type_url: msgTypeUrl,
    }),
  );
  return MsgGrantResponse.encode({}).finish();
}

export function handleRevoke(ctx: Ctx, msg: MsgRevoke): Uint8Array {
  const key = grantKey(msg.granter, msg.grantee, msg.msgTypeUrl);
  if (!ctx.state.grants.delete(key)) {
    throw errors.notFound(`failed to delete grant with key ${key}`);
  }
  ctx.events.push(
    typedEvent('cosmos.authz.v1beta1.EventRevoke', {
      grantee: msg.grantee,
      granter: msg.granter,
      msg_type_url: msg.msgTypeUrl,
    }),
  );
  return MsgRevokeResponse.encode({}).finish();
}

/** The validator a staking msg targets (the destination for a redelegation) and its amount. */
function stakeTarget(msg: Any): { validator: string; amount: { denom: string; amount: string } | undefined } {
  if (msg.typeUrl === '/cosmos.staking.v1beta1.MsgBeginRedelegate') {
    const m = MsgBeginRedelegate.decode(msg.value);
    return { validator: m.validatorDstAddress, amount: m.amount };
  }
  const m =
    msg.typeUrl === '/cosmos.staking.v1beta1.MsgDelegate'
      ? MsgDelegate.decode(msg.value)
      : MsgUndelegate.decode(msg.value);
  return { validator: m.validatorAddress, amount: m.amount };
}

/** StakeAuthorization.Accept: validator lists, then max_tokens (deleted when used up). */
function acceptStake(grant: GrantState, msg: Any): 'keep' | 'delete' {
  const stake = StakeAuthorization.decode(grant.authorization.value);
  const { validator, amount } = stakeTarget(msg);
  const allow = stake.allowList?.address ?? [];
  const deny = stake.denyList?.address ?? [];
  if (deny.includes(validator) || (allow.length > 0 && !allow.includes(validator))) {
    throw sdk.unauthorized(`cannot delegate/undelegate to ${validator} validator`);
  }
  if (!stake.maxTokens) return 'keep';
  const left = BigInt(stake.maxTokens.amount) - BigInt(amount?.amount ?? '0');
  if (left < 0n || stake.maxTokens.denom !== amount?.denom) {
    throw new ChainError('undefined', 1, 'internal', 'negative coin amount');
  }
  if (left === 0n) return 'delete';
  stake.maxTokens = { denom: stake.maxTokens.denom, amount: left.toString() };
  grant.authorization = { typeUrl: STAKE_AUTHORIZATION, value: StakeAuthorization.encode(stake).finish() };
  return 'keep';
}

export interface Dispatcher {
  signerOf(msg: Any): string;
  /** Runs one message, returning its response bytes. */
  run(ctx: Ctx, msg: Any): Uint8Array;
}

export function handleExec(ctx: Ctx, msg: MsgExec, dispatcher: Dispatcher): Uint8Array {
  const results: Uint8Array[] = [];
  for (const inner of msg.msgs) {
    const granter = dispatcher.signerOf(inner);
    if (granter !== msg.grantee) {
      const key = grantKey(granter, msg.grantee, inner.typeUrl);
      const grant = ctx.state.grants.get(key);
      if (!grant) {
        throw errors.notFound(
          `failed to get grant with given granter: ${granter}, grantee: ${msg.grantee} & msgType: ${inner.typeUrl} `,
        );
      }
      if (grant.expirationMs !== null && grant.expirationMs < ctx.timeMs) throw errors.expired();
      if (grant.authorization.typeUrl === STAKE_AUTHORIZATION && acceptStake(grant, inner) === 'delete') {
        ctx.state.grants.delete(key);
      }
    }
    results.push(dispatcher.run(ctx, inner));
  }
  return MsgExecResponse.encode({ results }).finish();
}

/** Grants past their expiration are pruned at the start of each block, as the SDK's begin blocker does. */
export function pruneExpiredGrants(ctx: Ctx): void {
  for (const [key, grant] of [...ctx.state.grants]) {
    if (grant.expirationMs !== null && grant.expirationMs <= ctx.timeMs) ctx.state.grants.delete(key);
  }
}
