import { accountFromAny } from '@cosmjs/stargate';
import { QueryAccountRequest, QueryAccountResponse } from 'cosmjs-types/cosmos/auth/v1beta1/query';
import { QueryTotalSupplyRequest, QueryTotalSupplyResponse } from 'cosmjs-types/cosmos/bank/v1beta1/query';
import { TxMsgData } from 'cosmjs-types/cosmos/base/abci/v1beta1/abci';
import { SimulateRequest, SimulateResponse } from 'cosmjs-types/cosmos/tx/v1beta1/service';
import { AuthInfo, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { beforeEach, describe, expect, it } from 'vitest';
import { type Harness, setup } from './harness.js';

const send = (from: string, to: string, amount: string) => ({
  typeUrl: '/cosmos.bank.v1beta1.MsgSend',
  value: { fromAddress: from, toAddress: to, amount: [{ denom: 'stake', amount }] },
});

describe('devnet chain: accounts, bank, ante', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await setup();
    h.next();
  });

  it('delivers a signed MsgSend, charges the fee, and indexes the tx with SDK events and TxMsgData', async () => {
    const before = h.balance(h.alice);
    const result = await h.deliver(h.alice, [send(h.alice, h.bob, '12345')], { gas: 200_000 });
    expect(result?.result.code).toBe(0);
    expect(h.balance(h.alice)).toBe(before - 12345n - 5000n);
    expect(h.balance(h.bob)).toBe(1000000000000n + 12345n);
    const types = result!.result.events.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['tx', 'message', 'transfer', 'coin_spent', 'coin_received']),
    );
    const action = result!.result.events.find(
      (e) => e.type === 'message' && e.attributes.some((a) => a.key === 'action'),
    );
    expect(action?.attributes).toEqual(
      expect.arrayContaining([
        { key: 'action', value: '/cosmos.bank.v1beta1.MsgSend', index: true },
        { key: 'sender', value: h.alice, index: true },
        { key: 'module', value: 'bank', index: true },
      ]),
    );
    expect(TxMsgData.decode(result!.result.data).msgResponses[0]?.typeUrl).toBe(
      '/cosmos.bank.v1beta1.MsgSendResponse',
    );
    expect(result!.result.gasUsed).toBeGreaterThan(0);
    expect(result!.result.gasUsed).toBeLessThanOrEqual(result!.result.gasWanted);
    expect(h.chain.searchTxs(`message.sender='${h.alice}'`)).toHaveLength(1);
    expect(h.chain.searchTxs(`tx.height=${result!.height}`)[0]?.hash).toEqual(result!.hash);
    const hex = Buffer.from(result!.hash).toString('hex').toUpperCase();
    expect(h.chain.searchTxs(`tx.hash='${hex}'`)).toHaveLength(1);
  });

  it('admits several txs from one account in a block by tracking the check-state sequence', async () => {
    for (const sequence of [0n, 1n, 2n]) {
      const tx = await h.sign(h.alice, [send(h.alice, h.bob, '1')], { sequence });
      expect(h.chain.checkTx(tx).code).toBe(0);
    }
    h.next();
    const txs = h.chain.searchTxs(`tx.height=${h.chain.height()}`);
    expect(txs.map((t) => t.result.code)).toEqual([0, 0, 0]);
    const { account } = h.query(
      '/cosmos.auth.v1beta1.Query/Account',
      QueryAccountRequest,
      { address: h.alice },
      QueryAccountResponse,
    );
    expect(accountFromAny(account!).sequence).toBe(3);
  });

  it('rejects a wrong signature, a wrong sequence, a low fee, a parse error and too little gas with the SDK codes', async () => {
    const wrongChain = h.chain.checkTx(
      await h.sign(h.alice, [send(h.alice, h.bob, '1')], { chainId: 'other-chain' }),
    );
    expect(wrongChain).toMatchObject({ code: 4, codespace: 'sdk' });
    expect(wrongChain.log).toBe(
      'signature verification failed; please verify account number (8), sequence (0) and chain-id (beam-test-1): unauthorized',
    );
    const wrongSeq = h.chain.checkTx(await h.sign(h.alice, [send(h.alice, h.bob, '1')], { sequence: 5n }));
    expect(wrongSeq).toMatchObject({
      code: 32,
      codespace: 'sdk',
      log: 'account sequence mismatch, expected 0, got 5: incorrect account sequence',
    });
    const lowFee = h.chain.checkTx(await h.sign(h.alice, [send(h.alice, h.bob, '1')], { feeAmount: '1' }));
    expect(lowFee).toMatchObject({ code: 13, codespace: 'sdk' });
    expect(lowFee.log).toContain('insufficient fees; got: 1stake required: 5000stake');
    expect(h.chain.checkTx(new Uint8Array([1, 2, 3]))).toMatchObject({ code: 2, codespace: 'sdk' });
    const longMemo = h.chain.checkTx(
      await h.sign(h.alice, [send(h.alice, h.bob, '1')], { memo: 'x'.repeat(300) }),
    );
    expect(longMemo).toMatchObject({ code: 12, codespace: 'sdk' });
    expect(h.chain.checkTx(await h.sign(h.alice, [send(h.alice, h.bob, '1')], { gas: 100 }))).toMatchObject({
      code: 11,
      codespace: 'sdk',
    });
    // Enough gas for the ante handler, not for the message: accepted, then out of gas in the block.
    const tx = await h.sign(h.alice, [send(h.alice, h.bob, '1')], { gas: 5000 });
    const check = h.chain.checkTx(tx);
    expect(check.code).toBe(0);
    h.next();
    expect(h.chain.txResult(check.hash)?.result).toMatchObject({ code: 11, codespace: 'sdk' });
  });

  it('rejects a send beyond the balance with insufficient funds in the block', async () => {
    const result = await h.deliver(h.alice, [send(h.alice, h.bob, '999999999999999')]);
    expect(result?.result).toMatchObject({ code: 5, codespace: 'sdk' });
    expect(result?.result.log).toMatch(/^failed to execute message; message index: 0: spendable balance/);
  });

  it('answers Account with NotFound (code 22) for an unknown address, as cosmjs expects', () => {
    const unknown = 'cosmos1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnrql8a';
    const result = h.chain.query(
      '/cosmos.auth.v1beta1.Query/Account',
      QueryAccountRequest.encode({ address: unknown }).finish(),
    );
    expect(result).toMatchObject({ code: 22, codespace: 'sdk' });
    expect(result.log).toMatch(/rpc error: code = NotFound/);
    expect(h.chain.query('/cosmos.nothing.v1.Query/X', new Uint8Array())).toMatchObject({
      code: 6,
      codespace: 'sdk',
    });
  });

  it('simulates a tx with an empty signature and returns gas without changing state', async () => {
    const signed = TxRaw.decode(await h.sign(h.alice, [send(h.alice, h.bob, '7')]));
    const authInfo = AuthInfo.decode(signed.authInfoBytes);
    const unsigned = TxRaw.encode({
      ...signed,
      authInfoBytes: AuthInfo.encode({
        ...authInfo,
        fee: { amount: [], gasLimit: 0n, payer: '', granter: '' },
      }).finish(),
      signatures: [new Uint8Array()],
    }).finish();
    const result = h.chain.query(
      '/cosmos.tx.v1beta1.Service/Simulate',
      SimulateRequest.encode({ txBytes: unsigned }).finish(),
    );
    expect(result.code).toBe(0);
    const response = SimulateResponse.decode(result.value);
    expect(response.gasInfo!.gasUsed).toBeGreaterThan(30_000n);
    expect(response.result!.msgResponses[0]?.typeUrl).toBe('/cosmos.bank.v1beta1.MsgSendResponse');
    expect(h.balance(h.bob)).toBe(1000000000000n);
  });

  it('mints block rewards and conserves supply', async () => {
    const supply = () =>
      h.query('/cosmos.bank.v1beta1.Query/TotalSupply', QueryTotalSupplyRequest, {}, QueryTotalSupplyResponse)
        .supply;
    const start = BigInt(supply()[0]!.amount);
    h.next();
    h.next();
    expect(BigInt(supply()[0]!.amount)).toBe(start + 2_000_000n);
    h.chain.fund(h.bob, [{ denom: 'uatom', amount: '5' }]);
    expect(h.balance(h.bob, 'uatom')).toBe(5n);
  });
});
