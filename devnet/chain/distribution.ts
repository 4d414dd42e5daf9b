/**
 * Distribution: each block's minted reward plus the fees collected in the previous block are split
 * among the validators that signed the last commit, by voting power; the validator's commission
 * goes to its commission pool and the rest to its delegators pro rata by shares. Amounts are exact
 * Dec atomics, and rounding dust goes to the commission, so nothing is created or lost.
 */
import { type Coins, DEC, addCoin, addCoins, coinsString, event, truncateDecCoins } from './codec.js';
import { moduleToModule, sendFromModule } from './bank.js';
import { type Ctx, moduleAddr } from './context.js';
import { distribution as errors } from './errors.js';
import { type DelegationState, MODULES, type State, type ValidatorState } from './state.js';

export function delegationsOf(state: State, validator: string): DelegationState[] {
  return [...state.delegations.values()].filter((d) => d.validator === validator);
}

/** Moves the fee collector's coins into distribution and allocates them by signed power. */
export function allocateRewards(ctx: Ctx, signers: { validator: ValidatorState; power: bigint }[]): void {
  const totalPower = signers.reduce((sum, s) => sum + s.power, 0n);
  if (totalPower === 0n) return;
  const collector = moduleAddr(ctx.state, MODULES.feeCollector);
  const collected: Coins = new Map(ctx.state.balances.get(collector) ?? []);
  if (collected.size === 0) return;
  moduleToModule(ctx, MODULES.feeCollector, MODULES.distribution, collected);
  for (const [denom, amount] of collected) {
    const total = amount * DEC;
    let given = 0n;
    signers.forEach((signer, i) => {
      const share = i === signers.length - 1 ? total - given : (total * signer.power) / totalPower;
      given += share;
      allocateToValidator(ctx.state, signer.validator, denom, share);
    });
  }
}

function allocateToValidator(state: State, validator: ValidatorState, denom: string, reward: bigint): void {
  const toDelegators = reward - (reward * validator.commissionRate) / DEC;
  let given = 0n;
  if (validator.shares > 0n) {
    for (const delegation of delegationsOf(state, validator.operator)) {
      const share = (toDelegators * delegation.shares) / validator.shares;
      addCoin(delegation.rewards, denom, share);
      given += share;
    }
  }
  // Commission plus the rounding dust, so the allocation conserves exactly.
  addCoin(validator.commission, denom, reward - given);
}

/** Pays out the integer part of a delegation's rewards; the fraction stays accrued. */
export function withdrawDelegationRewards(ctx: Ctx, delegation: DelegationState): Coins {
  const amount = truncateDecCoins(delegation.rewards);
  for (const [denom, value] of amount) addCoin(delegation.rewards, denom, -value * DEC);
  sendFromModule(ctx, MODULES.distribution, delegation.delegator, amount);
  ctx.events.push(
    event('withdraw_rewards', {
      amount: coinsString(amount),
      validator: delegation.validator,
      delegator: delegation.delegator,
    }),
  );
  return amount;
}

export function withdrawCommission(ctx: Ctx, validator: ValidatorState): Coins {
  const amount = truncateDecCoins(validator.commission);
  if (amount.size === 0) throw errors.noValidatorCommission();
  for (const [denom, value] of amount) addCoin(validator.commission, denom, -value * DEC);
  sendFromModule(ctx, MODULES.distribution, validator.account, amount);
  ctx.events.push(event('withdraw_commission', { amount: coinsString(amount) }));
  return amount;
}

/** Commission plus every delegation's unwithdrawn rewards of one validator (DecCoins). */
export function outstandingRewards(state: State, validator: ValidatorState): Coins {
  const total: Coins = new Map(validator.commission);
  for (const d of delegationsOf(state, validator.operator)) addCoins(total, d.rewards);
  return total;
}
