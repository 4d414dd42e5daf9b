/** End-block validator set update: bonded = not jailed, power ≥ 1, top maxValidators by power. */
import { sha256 } from '@cosmjs/crypto';
import { moduleToModule } from './bank.js';
import { powerReduction } from './codec.js';
import type { Ctx } from './context.js';
import { onValidatorBonded } from './slashing.js';
import { unbondingTimeMs } from './staking.js';
import { BOND_STATUS, MODULES, type State, type ValidatorState } from './state.js';
import type { ValidatorSetEntry } from './types.js';

export function votingPower(validator: ValidatorState): bigint {
  return validator.tokens / powerReduction;
}

function electValidators(state: State): ValidatorState[] {
  return [...state.validators.values()]
    .filter((v) => !v.jailed && votingPower(v) > 0n)
    .sort((a, b) => {
      const diff = votingPower(b) - votingPower(a);
      if (diff !== 0n) return diff > 0n ? 1 : -1;
      return a.operator < b.operator ? -1 : 1;
    })
    .slice(0, state.params.maxValidators);
}

/** Moves stake between the bonded and not-bonded pools as validators enter or leave the set. */
export function updateValidatorSet(ctx: Ctx): ValidatorSetEntry[] {
  const { state } = ctx;
  const elected = electValidators(state);
  const bonded = new Set(elected.map((v) => v.operator));
  for (const validator of state.validators.values()) {
    const coins = new Map([[state.params.denom, validator.tokens]]);
    if (bonded.has(validator.operator) && validator.status !== BOND_STATUS.bonded) {
      moduleToModule(ctx, MODULES.notBondedPool, MODULES.bondedPool, coins);
      validator.status = BOND_STATUS.bonded;
      onValidatorBonded(ctx, validator);
    } else if (!bonded.has(validator.operator) && validator.status === BOND_STATUS.bonded) {
      moduleToModule(ctx, MODULES.bondedPool, MODULES.notBondedPool, coins);
      validator.status = BOND_STATUS.unbonding;
      validator.unbondingHeight = ctx.height;
      validator.unbondingTimeMs = ctx.timeMs + unbondingTimeMs(state);
    }
  }
  return elected.map((v) => ({
    address: v.consAddress,
    pubkey: v.consensusPubkey,
    votingPower: Number(votingPower(v)),
    proposerPriority: 0,
  }));
}

/** CometBFT-style validators hash (deterministic, not Merkle). */
export function validatorsHash(set: ValidatorSetEntry[]): Uint8Array {
  return sha256(new TextEncoder().encode(set.map((v) => `${v.address}:${v.votingPower}`).join(',')));
}
