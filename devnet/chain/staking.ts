/** Staking: validators, delegations (shares as Dec atomics), undelegation with an unbonding queue, slashing of stake. */
import {
  MsgBeginRedelegateResponse,
  MsgDelegateResponse,
  MsgUndelegateResponse,
} from 'cosmjs-types/cosmos/staking/v1beta1/tx';
import type { MsgBeginRedelegate, MsgDelegate, MsgUndelegate } from 'cosmjs-types/cosmos/staking/v1beta1/tx';
import { DEC, coinsString, decString, event, rfc3339, timestamp } from './codec.js';
import { burn, moduleToModule, sendFromModule, sendToModule } from './bank.js';
import type { Ctx } from './context.js';
import { withdrawDelegationRewards } from './distribution.js';
import { sdk, staking as errors } from './errors.js';
import {
  BOND_STATUS,
  type DelegationState,
  MODULES,
  type State,
  type ValidatorState,
  delegationKey,
} from './state.js';

export const DEFAULT_UNBONDING_TIME_MS = 10_000;

export function unbondingTimeMs(state: State): number {
  return state.params.unbondingTimeMs ?? DEFAULT_UNBONDING_TIME_MS;
}

export function getValidator(state: State, operator: string): ValidatorState {
  const validator = state.validators.get(operator);
  if (!validator) throw errors.noValidator();
  return validator;
}

export function poolOf(validator: ValidatorState): string {
  return validator.status === BOND_STATUS.bonded ? MODULES.bondedPool : MODULES.notBondedPool;
}

export function tokensFromShares(validator: ValidatorState, shares: bigint): bigint {
  return validator.shares === 0n ? 0n : (shares * validator.tokens) / validator.shares;
}

function sharesFromTokens(validator: ValidatorState, tokens: bigint, roundUp: boolean): bigint {
  if (validator.tokens === 0n) return tokens * DEC;
  const numerator = tokens * validator.shares;
  return roundUp ? (numerator + validator.tokens - 1n) / validator.tokens : numerator / validator.tokens;
}

function bondAmount(state: State, amount: { denom: string; amount: string } | undefined): bigint {
  const denom = state.params.denom;
  if (!amount || amount.denom !== denom) {
    throw sdk.invalidRequest(`invalid coin denomination: got ${amount?.denom ?? ''}, expected ${denom}`);
  }
  const value = BigInt(amount.amount);
  if (value <= 0n) throw sdk.invalidRequest('invalid delegation amount');
  return value;
}

/** Adds stake; used by genesis and MsgDelegate. Existing rewards are withdrawn first, as the SDK does. */
export function delegate(ctx: Ctx, delegator: string, validator: ValidatorState, amount: bigint): bigint {
  sendToModule(ctx, delegator, poolOf(validator), new Map([[ctx.state.params.denom, amount]]), false);
  const shares = bondShares(ctx, delegator, validator, amount);
  ctx.events.push(
    event('delegate', {
      validator: validator.operator,
      delegator,
      amount: `${amount}${ctx.state.params.denom}`,
      new_shares: decString(shares),
    }),
  );
  return shares;
}

/** Books tokens already in the validator's pool as new shares of the delegation. */
function bondShares(ctx: Ctx, delegator: string, validator: ValidatorState, amount: bigint): bigint {
  const key = delegationKey(delegator, validator.operator);
  let delegation = ctx.state.delegations.get(key);
  if (delegation) withdrawDelegationRewards(ctx, delegation);
  else {
    delegation = { delegator, validator: validator.operator, shares: 0n, rewards: new Map() };
    ctx.state.delegations.set(key, delegation);
  }
  const shares = sharesFromTokens(validator, amount, false);
  validator.tokens += amount;
  validator.shares += shares;
  delegation.shares += shares;
  return shares;
}

export function handleDelegate(ctx: Ctx, msg: MsgDelegate): Uint8Array {
  const validator = getValidator(ctx.state, msg.validatorAddress);
  delegate(ctx, msg.delegatorAddress, validator, bondAmount(ctx.state, msg.amount));
  return MsgDelegateResponse.encode({}).finish();
}

export function selfDelegation(state: State, validator: ValidatorState): DelegationState | undefined {
  return state.delegations.get(delegationKey(validator.account, validator.operator));
}

/**
 * Removes the shares worth `amount` tokens from a delegation (rounded up, as the SDK's
 * ValidateUnbondAmount, capped at what it holds) after withdrawing its rewards; returns the tokens.
 */
function unbondShares(ctx: Ctx, delegator: string, validator: ValidatorState, amount: bigint): bigint {
  const { state } = ctx;
  const key = delegationKey(delegator, validator.operator);
  const delegation = state.delegations.get(key);
  if (!delegation) throw errors.noDelegation();
  if (sharesFromTokens(validator, amount, false) > delegation.shares) throw errors.badShares();
  const roundedUp = sharesFromTokens(validator, amount, true);
  // biome-ignore lint/complexity/useMathMinMax: bigint operands; Math.min takes numbers.
  const shares = roundedUp > delegation.shares ? delegation.shares : roundedUp;
  withdrawDelegationRewards(ctx, delegation);

  const tokens = tokensFromShares(validator, shares);
  validator.tokens -= tokens;
  validator.shares -= shares;
  delegation.shares -= shares;
  if (delegation.shares === 0n) state.delegations.delete(key);
  // A validator whose operator withdrew all self-stake is jailed (min self delegation 1).
  const self = selfDelegation(state, validator);
  if (!self || tokensFromShares(validator, self.shares) < 1n) validator.jailed = true;
  return tokens;
}

function movePools(ctx: Ctx, from: string, to: string, tokens: bigint): void {
  if (from !== to) moduleToModule(ctx, from, to, new Map([[ctx.state.params.denom, tokens]]));
}

export function handleUndelegate(ctx: Ctx, msg: MsgUndelegate): Uint8Array {
  const { state } = ctx;
  const validator = getValidator(state, msg.validatorAddress);
  const tokens = unbondShares(ctx, msg.delegatorAddress, validator, bondAmount(state, msg.amount));
  movePools(ctx, poolOf(validator), MODULES.notBondedPool, tokens);
  const completionTimeMs = ctx.timeMs + unbondingTimeMs(state);
  state.unbondings.push({
    delegator: msg.delegatorAddress,
    validator: validator.operator,
    creationHeight: ctx.height,
    completionTimeMs,
    initialBalance: tokens,
    balance: tokens,
  });
  const coin = { denom: state.params.denom, amount: tokens.toString() };
  ctx.events.push(
    event('unbond', {
      validator: validator.operator,
      delegator: msg.delegatorAddress,
      amount: `${tokens}${state.params.denom}`,
      completion_time: rfc3339(completionTimeMs),
    }),
  );
  return MsgUndelegateResponse.encode({ completionTime: timestamp(completionTimeMs), amount: coin }).finish();
}

/** Moves stake between validators at once (no redelegation queue: later slashes of the source do not follow it). */
export function handleBeginRedelegate(ctx: Ctx, msg: MsgBeginRedelegate): Uint8Array {
  const { state } = ctx;
  const source = getValidator(state, msg.validatorSrcAddress);
  const destination = getValidator(state, msg.validatorDstAddress);
  if (source === destination) throw errors.selfRedelegation();
  const tokens = unbondShares(ctx, msg.delegatorAddress, source, bondAmount(state, msg.amount));
  movePools(ctx, poolOf(source), poolOf(destination), tokens);
  bondShares(ctx, msg.delegatorAddress, destination, tokens);
  const completionTimeMs = ctx.timeMs + unbondingTimeMs(state);
  ctx.events.push(
    event('redelegate', {
      source_validator: source.operator,
      destination_validator: destination.operator,
      amount: `${tokens}${state.params.denom}`,
      completion_time: rfc3339(completionTimeMs),
    }),
  );
  return MsgBeginRedelegateResponse.encode({ completionTime: timestamp(completionTimeMs) }).finish();
}

/** Pays out matured unbonding entries and finishes validators' unbonding periods. */
export function completeUnbonding(ctx: Ctx): void {
  const { state } = ctx;
  const remaining = [];
  for (const entry of state.unbondings) {
    if (entry.completionTimeMs > ctx.timeMs) {
      remaining.push(entry);
      continue;
    }
    const coins = new Map([[state.params.denom, entry.balance]]);
    sendFromModule(ctx, MODULES.notBondedPool, entry.delegator, coins);
    ctx.events.push(
      event('complete_unbonding', {
        amount: coinsString(coins),
        validator: entry.validator,
        delegator: entry.delegator,
      }),
    );
  }
  state.unbondings = remaining;
  for (const validator of state.validators.values()) {
    if (validator.status === BOND_STATUS.unbonding && validator.unbondingTimeMs <= ctx.timeMs) {
      validator.status = BOND_STATUS.unbonded;
    }
  }
}

/** Burns `fraction` (Dec atomics) of the validator's tokens from the pool that holds them. */
export function slashTokens(ctx: Ctx, validator: ValidatorState, fraction: bigint): bigint {
  const burned = (validator.tokens * fraction) / DEC;
  if (burned === 0n) return 0n;
  validator.tokens -= burned;
  burn(ctx, poolOf(validator), new Map([[ctx.state.params.denom, burned]]));
  return burned;
}

export function totalBonded(state: State): bigint {
  let total = 0n;
  for (const v of state.validators.values()) if (v.status === BOND_STATUS.bonded) total += v.tokens;
  return total;
}
