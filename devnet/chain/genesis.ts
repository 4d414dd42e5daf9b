/** Genesis: funded accounts, validators with their self-delegation, and the first validator set. */
import { ensureAccount, fundAccount } from './bank.js';
import { coinsFrom, consensusAddress, decFrom, moduleAddress, rebech } from './codec.js';
import { makeCtx, valoperPrefix } from './context.js';
import { delegate } from './staking.js';
import { BOND_STATUS, MODULES, type State } from './state.js';
import type { Genesis, ValidatorSetEntry } from './types.js';
import { updateValidatorSet } from './valset.js';

export function initState(genesis: Genesis): { state: State; firstSet: ValidatorSetEntry[] } {
  const state: State = {
    params: genesis.params,
    height: 0,
    timeMs: genesis.genesisTimeMs,
    accounts: new Map(),
    nextAccountNumber: 0n,
    balances: new Map(),
    validators: new Map(),
    delegations: new Map(),
    unbondings: [],
    signingInfos: new Map(),
    proposals: new Map(),
    nextProposalId: 1n,
    votes: new Map(),
    deposits: new Map(),
    grants: new Map(),
    upgrade: { plan: null, done: new Map(), appVersion: 0 },
  };
  // Module accounts exist from genesis, so account numbers never depend on when fees first arrive.
  for (const name of Object.values(MODULES))
    ensureAccount(state, moduleAddress(name, genesis.params.bech32Prefix));
  for (const account of genesis.accounts) fundAccount(state, account.address, coinsFrom(account.coins));
  const ctx = makeCtx(state, 0, genesis.genesisTimeMs);
  for (const v of genesis.validators) {
    if (!state.accounts.has(v.operatorAccount)) {
      throw new Error(
        `genesis validator ${v.moniker}: operatorAccount ${v.operatorAccount} is not a genesis account`,
      );
    }
    if (v.consensusPubkey.length !== 32) {
      throw new Error(`genesis validator ${v.moniker}: consensusPubkey must be a 32-byte ed25519 key`);
    }
    const operator = rebech(v.operatorAccount, valoperPrefix(state));
    const validator = {
      operator,
      account: v.operatorAccount,
      moniker: v.moniker,
      consensusPubkey: v.consensusPubkey,
      consAddress: consensusAddress(v.consensusPubkey),
      tokens: 0n,
      shares: 0n,
      commissionRate: decFrom(v.commissionRate),
      status: BOND_STATUS.unbonded,
      jailed: false,
      unbondingHeight: 0,
      unbondingTimeMs: 0,
      commission: new Map(),
    };
    state.validators.set(operator, validator);
    delegate(ctx, v.operatorAccount, validator, BigInt(v.selfDelegation));
  }
  return { state, firstSet: updateValidatorSet(ctx) };
}
