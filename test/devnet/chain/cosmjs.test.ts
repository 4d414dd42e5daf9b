/**
 * The chain's query answers as cosmjs reads them: @cosmjs/stargate's QueryClient extensions and
 * cosmjs-types' gov v1 QueryClientImpl, over an in-process ABCI query transport.
 */
import { encodeSecp256k1Pubkey } from '@cosmjs/amino';
import { Decimal } from '@cosmjs/math';
import {
  QueryClient,
  accountFromAny,
  createProtobufRpcClient,
  setupAuthExtension,
  setupAuthzExtension,
  setupBankExtension,
  setupDistributionExtension,
  setupSlashingExtension,
  setupStakingExtension,
  setupTxExtension,
} from '@cosmjs/stargate';
import type { CometClient } from '@cosmjs/tendermint-rpc';
import { QueryClientImpl as GovQuery } from 'cosmjs-types/cosmos/gov/v1/query';
import { MsgSend } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { beforeAll, describe, expect, it } from 'vitest';
import { valconsAddress } from '../../../devnet/chain/index.js';
import { type Harness, setup } from './harness.js';

function cosmjsClient(h: Harness) {
  const transport = {
    abciQuery: async ({ path, data }: { path: string; data: Uint8Array }) => {
      const r = h.chain.query(path, data);
      return {
        code: r.code,
        codespace: r.codespace,
        log: r.log,
        value: r.value,
        height: r.height,
        key: new Uint8Array(),
        index: 0,
      };
    },
  } as unknown as CometClient;
  const query = QueryClient.withExtensions(
    transport,
    setupAuthExtension,
    setupBankExtension,
    setupStakingExtension,
    setupDistributionExtension,
    setupSlashingExtension,
    setupAuthzExtension,
    setupTxExtension,
  );
  return { query, gov: new GovQuery(createProtobufRpcClient(query)) };
}

describe('devnet chain: queries through cosmjs clients', () => {
  let h: Harness;
  let client: ReturnType<typeof cosmjsClient>;
  beforeAll(async () => {
    h = await setup();
    h.next();
    await h.deliver(h.alice, [
      {
        typeUrl: '/cosmos.staking.v1beta1.MsgDelegate',
        value: {
          delegatorAddress: h.alice,
          validatorAddress: h.valoper0,
          amount: { denom: 'stake', amount: '1000000' },
        },
      },
    ]);
    h.next();
    client = cosmjsClient(h);
  });

  it('reads accounts and balances, and signals NotFound the way StargateClient.getAccount expects', async () => {
    const account = accountFromAny((await client.query.auth.account(h.alice))!);
    expect(account).toMatchObject({ address: h.alice, sequence: 1 });
    expect(account.pubkey).not.toBeNull();
    await expect(client.query.auth.account('cosmos1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnrql8a')).rejects.toThrow(
      /rpc error: code = NotFound/,
    );
    expect((await client.query.bank.balance(h.bob, 'stake')).amount).toBe('1000000000000');
    expect((await client.query.bank.allBalances(h.bob)).map((c) => c.denom)).toEqual(['stake']);
  });

  it('reads staking, distribution and slashing state with SDK decimals', async () => {
    const { validator } = await client.query.staking.validator(h.valoper0);
    expect(Decimal.fromAtomics(validator.commission.commissionRates.rate, 18).toString()).toBe('0.1');
    const { validators } = await client.query.staking.validators('BOND_STATUS_BONDED');
    expect(validators).toHaveLength(2);
    const { delegationResponse } = await client.query.staking.delegation(h.alice, h.valoper0);
    expect(delegationResponse?.balance.amount).toBe('1000000');
    const { rewards } = await client.query.distribution.delegationRewards(h.alice, h.valoper0);
    expect(Decimal.fromAtomics(rewards[0]!.amount, 18).isGreaterThan(Decimal.zero(18))).toBe(true);
    const { commission } = await client.query.distribution.validatorCommission(h.valoper0);
    expect(commission?.commission.length).toBe(1);
    const info = await client.query.slashing.signingInfo(valconsAddress(h.cons0, 'cosmos'));
    expect(info.valSigningInfo.tombstoned).toBe(false);
    const params = await client.query.slashing.params();
    expect(params.params.signedBlocksWindow).toBe(20n);
  });

  it('reads gov v1 through cosmjs-types QueryClientImpl and authz grants through cosmjs', async () => {
    const id = h.chain.submitProposal({
      title: 'Hello',
      summary: 'World',
      proposer: h.alice,
      nowMs: h.timeMs(),
    });
    const { proposal } = await client.gov.Proposal({ proposalId: BigInt(id) });
    expect(proposal).toMatchObject({ title: 'Hello', summary: 'World', status: 2 });
    const { proposals } = await client.gov.Proposals({ proposalStatus: 2, voter: '', depositor: '' });
    expect(proposals).toHaveLength(1);
    const grants = await client.query.authz.granteeGrants(h.bob);
    expect(grants.grants).toEqual([]);
  });

  it('simulates the way SigningStargateClient does for "auto" fees', async () => {
    const [account] = await h.wallet.getAccounts();
    const msg = {
      typeUrl: '/cosmos.bank.v1beta1.MsgSend',
      value: MsgSend.encode({
        fromAddress: account!.address,
        toAddress: h.bob,
        amount: [{ denom: 'stake', amount: '1' }],
      }).finish(),
    };
    const { gasInfo } = await client.query.tx.simulate([msg], '', encodeSecp256k1Pubkey(account!.pubkey), 0);
    expect(gasInfo!.gasUsed).toBeGreaterThan(0n);
  });
});
