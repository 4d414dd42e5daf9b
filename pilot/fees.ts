// What one hot-key transaction costs, and the daily fee cap: a compromised or buggy commander can
// make the pilot sign votes and withdrawals, and every one of them pays fees from the hot key.
import { utcDay } from './allowlist.js';
import type { PilotState } from './state.js';

/** Transactions a day the cap allows when `limits.max_fee_per_day` is not set. */
export const DEFAULT_FEE_TXS_PER_DAY = 20n;

/**
 * The fee of one transaction, `ceil(gas_limit × gas_price)` as cosmjs' calculateFee computes it, in
 * the gas price's denom. `gasPrice` is config-checked (`0.025uatom`).
 */
export function feePerTx(gasPrice: string, gasLimit: number): { amount: bigint; denom: string } {
  const match = /^(\d+)(?:\.(\d+))?([a-zA-Z][a-zA-Z0-9/]*)$/.exec(gasPrice);
  if (!match) throw new Error(`gas price ${gasPrice} is not amount+denom`);
  const [, whole, fraction = '', denom] = match as unknown as [string, string, string | undefined, string];
  const scale = 10n ** BigInt(fraction.length);
  const product = BigInt(gasLimit) * BigInt(`${whole}${fraction}`);
  return { amount: (product + scale - 1n) / scale, denom };
}

/** Fees already counted for `day` (a UTC date). */
export function feesOn(state: Readonly<PilotState>, day: string): bigint {
  return state.feesSpent?.day === day ? BigInt(state.feesSpent.amount) : 0n;
}

/** Counts one transaction's fee against today, in the state update it is given. */
export function countFee(state: PilotState, fee: bigint, now: number): void {
  const today = utcDay(now);
  state.feesSpent = { day: today, amount: (feesOn(state, today) + fee).toString() };
}
