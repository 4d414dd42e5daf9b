import type { Action, Role } from '../protocol/index.js';
import { windowProblem } from './maintenance.js';

export interface AllowContext {
  role: Role;
  /** Key custody is configured (validator with a key file). */
  custody: boolean;
  /** A hot key and the own validator/granter are configured. */
  signer: boolean;
  denom: string | null;
  maxDelegatePerAction: bigint;
  maxDelegatePerDay: bigint;
  delegatedToday: bigint;
  allowVotes: boolean;
  allowWithdraw: boolean;
  allowUpgrade: boolean;
  allowUnjail: boolean;
  /** The fee one hot-key transaction pays (gas_limit × gas_price). */
  feePerTx: bigint;
  maxFeePerDay: bigint;
  feesToday: bigint;
  /** The pilot's wall clock (maintenance windows end at a wall-clock time). */
  now: number;
  /** Why a state-sync action may not run now (the node is not waiting for one, or has no binary), or null. */
  stateSyncRefusal: string | null;
}

/** Every hot-key transaction pays a fee: none may take the day's fees over `limits.max_fee_per_day`. */
function feeRefusal(c: AllowContext): string | null {
  if (c.feesToday + c.feePerTx <= c.maxFeePerDay) return null;
  return `its fee ${c.feePerTx} would exceed limits.max_fee_per_day ${c.maxFeePerDay} (already ${c.feesToday} today)`;
}

/**
 * The local bound on what any commander may ask. Returns why an action is refused, or null.
 * Delegations always go to the own validator and votes are always cast as the own granter: the
 * executor takes those addresses from the local config, never from the action.
 */
export function refusal(action: Action, c: AllowContext): string | null {
  switch (action.type) {
    case 'promote':
    case 'demote':
      if (c.role !== 'validator' || !c.custody)
        return `${action.type} is allowed only on a validator node with key custody configured`;
      return null;
    case 'vote':
      if (!c.signer) return 'no hot key or granter configured';
      return c.allowVotes ? feeRefusal(c) : 'votes are disabled by limits.allow_votes';
    case 'withdraw-rewards':
      if (!c.signer) return 'no hot key or granter configured';
      return c.allowWithdraw ? feeRefusal(c) : 'withdrawals are disabled by limits.allow_withdraw';
    case 'delegate': {
      if (!c.signer) return 'no hot key or granter configured';
      if (action.amount.denom !== c.denom)
        return `delegation denom ${action.amount.denom} is not the chain denom ${c.denom}`;
      const amount = BigInt(action.amount.amount);
      if (amount <= 0n) return 'delegation amount must be positive';
      if (amount > c.maxDelegatePerAction)
        return `amount ${amount} exceeds limits.max_delegate_per_action ${c.maxDelegatePerAction}`;
      if (c.delegatedToday + amount > c.maxDelegatePerDay) {
        return `amount ${amount} would exceed limits.max_delegate_per_day ${c.maxDelegatePerDay} (already ${c.delegatedToday} today)`;
      }
      return feeRefusal(c);
    }
    case 'unjail':
      if (!c.signer)
        return 'unjail needs chain.hot_mnemonic_file, validator.account_address and validator.operator_address in the config';
      return c.allowUnjail ? feeRefusal(c) : 'unjail is disabled by limits.allow_unjail';
    case 'maintenance':
      return action.until === null ? null : windowProblem(action.until, c.now);
    case 'upgrade-pilot':
    case 'rollback-pilot':
      return c.allowUpgrade ? null : 'pilot upgrades are disabled by limits.allow_upgrade';
    case 'state-sync':
      return c.stateSyncRefusal;
    default:
      return null;
  }
}

export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
