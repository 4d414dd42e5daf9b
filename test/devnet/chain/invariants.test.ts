/** Bookkeeping invariants over a run of mixed txs, misses and slashing: coins are conserved and pools match stake. */
import { sha256 } from '@cosmjs/crypto';
import { toBech32 } from '@cosmjs/encoding';
import { QueryTotalSupplyRequest, QueryTotalSupplyResponse } from 'cosmjs-types/cosmos/bank/v1beta1/query';
import {
  QueryValidatorOutstandingRewardsRequest,
  QueryValidatorOutstandingRewardsResponse,
} from 'cosmjs-types/cosmos/distribution/v1beta1/query';
import {
  QueryPoolRequest,
  QueryPoolResponse,
  QueryValidatorsRequest,
  QueryValidatorsResponse,
} from 'cosmjs-types/cosmos/staking/v1beta1/query';
import { describe, expect, it } from 'vitest';
import { conflictingVotes, setup } from './harness.js';

const moduleAccount = (name: string) =>
  toBech32('cosmos', sha256(new TextEncoder().encode(name)).slice(0, 20));

describe('devnet chain: invariants', () => {
  it('conserves supply and keeps the pools and the distribution module in step with the books', async () => {
    const h = await setup({
      unbondingTimeMs: 2000,
      slashing: {
        signedBlocksWindow: 6,
        minSignedPerWindow: 0.5,
        downtimeJailMs: 1000,
        slashFractionDowntime: 0.1,
        slashFractionDoubleSign: 0.2,
      },
    });
    h.next();
    const supply = () =>
      BigInt(
        h.query(
          '/cosmos.bank.v1beta1.Query/TotalSupply',
          QueryTotalSupplyRequest,
          {},
          QueryTotalSupplyResponse,
        ).supply[0]!.amount,
      );
    const delegate = (who: string, validator: string, amount: string, type = 'MsgDelegate') => ({
      typeUrl: `/cosmos.staking.v1beta1.${type}`,
      value: { delegatorAddress: who, validatorAddress: validator, amount: { denom: 'stake', amount } },
    });
    const withdraw = (who: string, validator: string) => ({
      typeUrl: '/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward',
      value: { delegatorAddress: who, validatorAddress: validator },
    });

    const start = supply();
    const startHeight = h.chain.height();
    await h.deliver(h.alice, [delegate(h.alice, h.valoper1, '30000000')]);
    await h.deliver(h.bob, [delegate(h.bob, h.valoper1, '7000001')]);
    for (let i = 0; i < 10; i++) h.next({ absent: [h.cons1] });
    await h.deliver(h.alice, [
      withdraw(h.alice, h.valoper1),
      delegate(h.alice, h.valoper1, '1234567', 'MsgUndelegate'),
    ]);
    h.next({ evidence: [conflictingVotes(h.cons0, 2, h.timeMs())] });
    await h.deliver(h.bob, [withdraw(h.bob, h.valoper1)]);
    for (let i = 0; i < 4; i++) h.next();

    const { validators } = h.query(
      '/cosmos.staking.v1beta1.Query/Validators',
      QueryValidatorsRequest,
      { status: '' },
      QueryValidatorsResponse,
    );
    // Both validators were slashed: the burns are exactly the missing stake.
    const slashed =
      150_000_000n + 37_000_001n - 1_234_567n - validators.reduce((s, v) => s + BigInt(v.tokens), 0n);
    expect(slashed).toBeGreaterThan(0n);
    const minted = BigInt(h.chain.height() - startHeight) * 1_000_000n;
    expect(supply()).toBe(start + minted - slashed);

    const pool = h.query('/cosmos.staking.v1beta1.Query/Pool', QueryPoolRequest, {}, QueryPoolResponse).pool;
    expect(h.balance(moduleAccount('bonded_tokens_pool'))).toBe(BigInt(pool.bondedTokens));
    expect(h.balance(moduleAccount('not_bonded_tokens_pool'))).toBe(BigInt(pool.notBondedTokens));
    // The undelegation has matured and been paid out, so the pools hold exactly the validators' stake.
    expect(BigInt(pool.bondedTokens) + BigInt(pool.notBondedTokens)).toBe(
      validators.reduce((s, v) => s + BigInt(v.tokens), 0n),
    );

    // Everything owed as rewards or commission is covered by the distribution module's coins.
    const owed = validators.reduce((sum, v) => {
      const rewards = h.query(
        '/cosmos.distribution.v1beta1.Query/ValidatorOutstandingRewards',
        QueryValidatorOutstandingRewardsRequest,
        { validatorAddress: v.operatorAddress },
        QueryValidatorOutstandingRewardsResponse,
      ).rewards.rewards;
      return sum + BigInt(rewards[0]?.amount ?? '0');
    }, 0n);
    const held = h.balance(moduleAccount('distribution')) * 10n ** 18n;
    expect(held).toBeGreaterThanOrEqual(owed);
    expect(held - owed).toBeLessThan(10n ** 18n * 10n);
  });
});
