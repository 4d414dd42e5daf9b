import { Decimal } from '@cosmjs/math';
import {
  QueryDelegationRewardsRequest,
  QueryDelegationRewardsResponse,
  QueryDelegationTotalRewardsRequest,
  QueryDelegationTotalRewardsResponse,
  QueryValidatorCommissionRequest,
  QueryValidatorCommissionResponse,
  QueryValidatorOutstandingRewardsRequest,
  QueryValidatorOutstandingRewardsResponse,
} from 'cosmjs-types/cosmos/distribution/v1beta1/query';
import {
  QueryDelegationRequest,
  QueryDelegationResponse,
  QueryDelegatorUnbondingDelegationsRequest,
  QueryDelegatorUnbondingDelegationsResponse,
  QueryPoolRequest,
  QueryPoolResponse,
  QueryValidatorsRequest,
  QueryValidatorsResponse,
} from 'cosmjs-types/cosmos/staking/v1beta1/query';
import { beforeEach, describe, expect, it } from 'vitest';
import { type Harness, setup } from './harness.js';

const coin = (amount: string) => ({ denom: 'stake', amount });

describe('devnet chain: staking and distribution', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await setup({ unbondingTimeMs: 3000 });
    h.next();
  });

  const delegation = (delegator: string, validator: string) =>
    h.query(
      '/cosmos.staking.v1beta1.Query/Delegation',
      QueryDelegationRequest,
      { delegatorAddr: delegator, validatorAddr: validator },
      QueryDelegationResponse,
    ).delegationResponse!;
  const rewards = (delegator: string, validator: string) =>
    h.query(
      '/cosmos.distribution.v1beta1.Query/DelegationRewards',
      QueryDelegationRewardsRequest,
      { delegatorAddress: delegator, validatorAddress: validator },
      QueryDelegationRewardsResponse,
    ).rewards;
  const commission = (validator: string) =>
    h.query(
      '/cosmos.distribution.v1beta1.Query/ValidatorCommission',
      QueryValidatorCommissionRequest,
      { validatorAddress: validator },
      QueryValidatorCommissionResponse,
    ).commission.commission;

  it('lists validators with SDK decimal wire formats and filters by status', () => {
    const { validators } = h.query(
      '/cosmos.staking.v1beta1.Query/Validators',
      QueryValidatorsRequest,
      { status: 'BOND_STATUS_BONDED' },
      QueryValidatorsResponse,
    );
    expect(validators.map((v) => v.operatorAddress).sort()).toEqual([h.valoper0, h.valoper1].sort());
    const v0 = validators.find((v) => v.operatorAddress === h.valoper0)!;
    expect(Decimal.fromAtomics(v0.commission.commissionRates.rate, 18).toString()).toBe('0.1');
    expect(v0.tokens).toBe('100000000');
    expect(Decimal.fromAtomics(v0.delegatorShares, 18).toString()).toBe('100000000');
    expect(v0.consensusPubkey?.typeUrl).toBe('/cosmos.crypto.ed25519.PubKey');
    const unbonded = h.query(
      '/cosmos.staking.v1beta1.Query/Validators',
      QueryValidatorsRequest,
      { status: 'BOND_STATUS_UNBONDED' },
      QueryValidatorsResponse,
    );
    expect(unbonded.validators).toEqual([]);
  });

  it('delegates, raises the validator power, and pays rewards and commission pro rata', async () => {
    const result = await h.deliver(h.alice, [
      {
        typeUrl: '/cosmos.staking.v1beta1.MsgDelegate',
        value: { delegatorAddress: h.alice, validatorAddress: h.valoper0, amount: coin('100000000') },
      },
    ]);
    expect(result?.result.code).toBe(0);
    expect(result?.result.events.find((e) => e.type === 'delegate')?.attributes).toEqual(
      expect.arrayContaining([{ key: 'amount', value: '100000000stake', index: true }]),
    );
    expect(delegation(h.alice, h.valoper0).balance).toEqual(coin('100000000'));
    expect(h.chain.validatorSet(h.chain.height() + 1).find((v) => v.address === h.cons0)?.votingPower).toBe(
      200,
    );

    h.next();
    const atomics = (list: { amount: string }[]) => BigInt(list[0]?.amount ?? '0');
    const aliceBefore = atomics(rewards(h.alice, h.valoper0));
    const commissionBefore = atomics(commission(h.valoper0));
    h.next();
    // One block signed by both validators (power 200 + 50): v0 takes 4/5 of the 1 000 000 reward,
    // keeps 10% as commission, and val0 and alice (equal shares) get 45% each.
    const aliceGain = atomics(rewards(h.alice, h.valoper0)) - aliceBefore;
    const commissionGain = atomics(commission(h.valoper0)) - commissionBefore;
    expect(aliceGain).toBe(360_000n * 10n ** 18n);
    expect(commissionGain).toBe(80_000n * 10n ** 18n);

    const outstanding = h.query(
      '/cosmos.distribution.v1beta1.Query/ValidatorOutstandingRewards',
      QueryValidatorOutstandingRewardsRequest,
      { validatorAddress: h.valoper0 },
      QueryValidatorOutstandingRewardsResponse,
    ).rewards.rewards;
    expect(BigInt(outstanding[0]!.amount)).toBeGreaterThan(
      BigInt(rewards(h.alice, h.valoper0)[0]!.amount) * 2n,
    );
    const total = h.query(
      '/cosmos.distribution.v1beta1.Query/DelegationTotalRewards',
      QueryDelegationTotalRewardsRequest,
      { delegatorAddress: h.alice },
      QueryDelegationTotalRewardsResponse,
    );
    expect(total.rewards).toHaveLength(1);

    const before = h.balance(h.alice);
    const withdrawable = BigInt(rewards(h.alice, h.valoper0)[0]!.amount) / 10n ** 18n;
    const withdraw = await h.deliver(h.alice, [
      {
        typeUrl: '/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward',
        value: { delegatorAddress: h.alice, validatorAddress: h.valoper0 },
      },
    ]);
    expect(withdraw?.result.code).toBe(0);
    // The fee is 5000; rewards accrued in the withdrawal block itself are included too.
    expect(h.balance(h.alice)).toBeGreaterThanOrEqual(before - 5000n + withdrawable);

    const opBefore = h.balance(h.val0);
    const commissionResult = await h.deliver(h.val0, [
      {
        typeUrl: '/cosmos.distribution.v1beta1.MsgWithdrawValidatorCommission',
        value: { validatorAddress: h.valoper0 },
      },
    ]);
    expect(commissionResult?.result.code).toBe(0);
    expect(h.balance(h.val0)).toBeGreaterThan(opBefore);
  });

  it('undelegates into an unbonding entry that pays out after the unbonding time', async () => {
    const before = h.balance(h.alice);
    await h.deliver(h.alice, [
      {
        typeUrl: '/cosmos.staking.v1beta1.MsgDelegate',
        value: { delegatorAddress: h.alice, validatorAddress: h.valoper1, amount: coin('20000000') },
      },
    ]);
    const undelegate = await h.deliver(h.alice, [
      {
        typeUrl: '/cosmos.staking.v1beta1.MsgUndelegate',
        value: { delegatorAddress: h.alice, validatorAddress: h.valoper1, amount: coin('20000000') },
      },
    ]);
    expect(undelegate?.result.code).toBe(0);
    const pending = h.query(
      '/cosmos.staking.v1beta1.Query/DelegatorUnbondingDelegations',
      QueryDelegatorUnbondingDelegationsRequest,
      { delegatorAddr: h.alice },
      QueryDelegatorUnbondingDelegationsResponse,
    ).unbondingResponses;
    expect(pending[0]?.entries[0]?.balance).toBe('20000000');
    expect(
      h.chain.query(
        '/cosmos.staking.v1beta1.Query/Delegation',
        QueryDelegationRequest.encode({ delegatorAddr: h.alice, validatorAddr: h.valoper1 }).finish(),
      ).code,
    ).toBe(22);
    const pool = () =>
      h.query('/cosmos.staking.v1beta1.Query/Pool', QueryPoolRequest, {}, QueryPoolResponse).pool;
    expect(pool().notBondedTokens).toBe('20000000');
    for (let i = 0; i < 3; i++) h.next();
    expect(pool().notBondedTokens).toBe('0');
    // Back to the start minus two fees, plus the rewards withdrawn on undelegation.
    expect(h.balance(h.alice)).toBeGreaterThanOrEqual(before - 10000n);
  });

  it('redelegates stake from one validator to another at once', async () => {
    await h.deliver(h.alice, [
      {
        typeUrl: '/cosmos.staking.v1beta1.MsgDelegate',
        value: { delegatorAddress: h.alice, validatorAddress: h.valoper0, amount: coin('5000000') },
      },
    ]);
    const result = await h.deliver(h.alice, [
      {
        typeUrl: '/cosmos.staking.v1beta1.MsgBeginRedelegate',
        value: {
          delegatorAddress: h.alice,
          validatorSrcAddress: h.valoper0,
          validatorDstAddress: h.valoper1,
          amount: coin('2000000'),
        },
      },
    ]);
    expect(result?.result.code).toBe(0);
    expect(delegation(h.alice, h.valoper0).balance).toEqual(coin('3000000'));
    expect(delegation(h.alice, h.valoper1).balance).toEqual(coin('2000000'));
    const same = await h.deliver(h.alice, [
      {
        typeUrl: '/cosmos.staking.v1beta1.MsgBeginRedelegate',
        value: {
          delegatorAddress: h.alice,
          validatorSrcAddress: h.valoper1,
          validatorDstAddress: h.valoper1,
          amount: coin('1'),
        },
      },
    ]);
    expect(same?.result).toMatchObject({ code: 10, codespace: 'staking' });
  });

  it('rejects a delegation to an unknown validator with the staking error', async () => {
    const result = await h.deliver(h.alice, [
      {
        typeUrl: '/cosmos.staking.v1beta1.MsgDelegate',
        value: {
          delegatorAddress: h.alice,
          validatorAddress: 'cosmosvaloper1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqkh6mvu',
          amount: coin('1'),
        },
      },
    ]);
    expect(result?.result).toMatchObject({ code: 3, codespace: 'staking' });
  });
});
