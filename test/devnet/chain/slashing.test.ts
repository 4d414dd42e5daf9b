import {
  QuerySigningInfoRequest,
  QuerySigningInfoResponse,
  QuerySigningInfosRequest,
  QuerySigningInfosResponse,
} from 'cosmjs-types/cosmos/slashing/v1beta1/query';
import { QueryValidatorRequest, QueryValidatorResponse } from 'cosmjs-types/cosmos/staking/v1beta1/query';
import { BondStatus } from 'cosmjs-types/cosmos/staking/v1beta1/staking';
import { beforeEach, describe, expect, it } from 'vitest';
import { valconsAddress } from '../../../devnet/chain/index.js';
import { type Harness, conflictingVotes, setup } from './harness.js';

describe('devnet chain: slashing', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await setup({
      slashing: {
        signedBlocksWindow: 10,
        minSignedPerWindow: 0.5,
        downtimeJailMs: 5000,
        slashFractionDowntime: 0.01,
        slashFractionDoubleSign: 0.05,
      },
    });
    h.next();
  });

  const signingInfo = (cons: string) =>
    h.query(
      '/cosmos.slashing.v1beta1.Query/SigningInfo',
      QuerySigningInfoRequest,
      { consAddress: valconsAddress(cons, 'cosmos') },
      QuerySigningInfoResponse,
    ).valSigningInfo;
  const validator = (valoper: string) =>
    h.query(
      '/cosmos.staking.v1beta1.Query/Validator',
      QueryValidatorRequest,
      { validatorAddr: valoper },
      QueryValidatorResponse,
    ).validator;
  const unjail = (valoper: string) => ({
    typeUrl: '/cosmos.slashing.v1beta1.MsgUnjail',
    value: { validatorAddr: valoper },
  });

  it('counts missed blocks, then jails and slashes a validator that misses too many', async () => {
    for (let i = 0; i < 5; i++) h.next({ absent: [h.cons1] });
    expect(signingInfo(h.cons1).missedBlocksCounter).toBe(5n);
    expect(signingInfo(h.cons0).missedBlocksCounter).toBe(0n);
    // The window is 10 and at most 5 may be missed; jailing needs height > startHeight + window.
    while (!validator(h.valoper1).jailed) {
      expect(h.chain.height()).toBeLessThan(20);
      h.next({ absent: [h.cons1] });
    }
    expect(h.chain.height()).toBe(11);
    const v1 = validator(h.valoper1);
    expect(v1.tokens).toBe('49500000');
    expect(v1.status).toBe(BondStatus.BOND_STATUS_UNBONDING);
    const info = signingInfo(h.cons1);
    expect(info.missedBlocksCounter).toBe(0n);
    expect(Number(info.jailedUntil.seconds) * 1000).toBe(h.timeMs() + 5000);
    expect(h.chain.validatorSet(h.chain.height() + 1).map((v) => v.address)).toEqual([h.cons0]);
    // Still in the set of the jailing block's commit, but jailed: its miss is not tracked.
    h.next({ absent: [h.cons1] });
    expect(signingInfo(h.cons1).missedBlocksCounter).toBe(0n);

    const early = await h.deliver(h.val1, [unjail(h.valoper1)]);
    expect(early?.result).toMatchObject({ code: 4, codespace: 'slashing' });
    h.next({ advanceMs: 5000 });
    const late = await h.deliver(h.val1, [unjail(h.valoper1)]);
    expect(late?.result.code).toBe(0);
    h.next();
    expect(validator(h.valoper1)).toMatchObject({ jailed: false, status: BondStatus.BOND_STATUS_BONDED });
    expect(h.chain.validatorSet(h.chain.height() + 1).map((v) => v.address)).toContain(h.cons1);
    const { info: all } = h.query(
      '/cosmos.slashing.v1beta1.Query/SigningInfos',
      QuerySigningInfosRequest,
      {},
      QuerySigningInfosResponse,
    );
    expect(all).toHaveLength(2);
  });

  it('tombstones, slashes and jails forever on double-sign evidence, once', async () => {
    const evidence = [conflictingVotes(h.cons0, 1, h.timeMs())];
    h.next({ evidence });
    expect(signingInfo(h.cons0).tombstoned).toBe(true);
    expect(signingInfo(h.cons0).jailedUntil.seconds).toBe(253402300799n);
    expect(validator(h.valoper0)).toMatchObject({ jailed: true, tokens: '95000000' });
    h.next({ evidence });
    expect(validator(h.valoper0).tokens).toBe('95000000');
    expect(h.chain.validatorSet(h.chain.height() + 1).map((v) => v.address)).toEqual([h.cons1]);
    const result = await h.deliver(h.val0, [unjail(h.valoper0)]);
    expect(result?.result).toMatchObject({ code: 4, codespace: 'slashing' });
  });

  it('rejects an unjail of a validator that is not jailed', async () => {
    const result = await h.deliver(h.val0, [unjail(h.valoper0)]);
    expect(result?.result).toMatchObject({ code: 5, codespace: 'slashing' });
  });
});
