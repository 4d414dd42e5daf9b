/**
 * The devnet through public clients only: cosmjs Stargate clients over a node's CometBFT RPC,
 * gov v1, x/upgrade and the node's version through cosmjs-types' query clients, authz MsgExec,
 * rejected txs, the control API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toBech32 } from '@cosmjs/encoding';
import { DirectSecp256k1HdWallet, type EncodeObject } from '@cosmjs/proto-signing';
import {
  BroadcastTxError,
  GasPrice,
  QueryClient,
  SigningStargateClient,
  StargateClient,
  createProtobufRpcClient,
  setupSlashingExtension,
  setupStakingExtension,
} from '@cosmjs/stargate';
import { BlockIdFlag, type CometClient, connectComet } from '@cosmjs/tendermint-rpc';
import { ServiceClientImpl } from 'cosmjs-types/cosmos/base/tendermint/v1beta1/query';
import { MsgExec } from 'cosmjs-types/cosmos/authz/v1beta1/tx';
import { QueryClientImpl as GovV1Query } from 'cosmjs-types/cosmos/gov/v1/query';
import { MsgVote } from 'cosmjs-types/cosmos/gov/v1/tx';
import { VoteOption } from 'cosmjs-types/cosmos/gov/v1/gov';
import { MsgDelegate } from 'cosmjs-types/cosmos/staking/v1beta1/tx';
import { TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { QueryClientImpl as UpgradeQuery } from 'cosmjs-types/cosmos/upgrade/v1beta1/query';
import { MsgSoftwareUpgrade } from 'cosmjs-types/cosmos/upgrade/v1beta1/tx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Devnet, readDevnetInfo, startDevnet } from '../../devnet/index.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase } from './ports.js';

const CLIENT_OPTIONS = {
  broadcastPollIntervalMs: 100,
  broadcastTimeoutMs: 20_000,
  gasPrice: GasPrice.fromString('0.025stake'),
};

describe('devnet through cosmjs clients', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devnet-clients-'));
  let devnet: Devnet;
  let comet: CometClient;
  let client: StargateClient;
  let rpcUrl: string;
  const signers: SigningStargateClient[] = [];
  const account = (name: string) => {
    const a = devnet.info.accounts.find((x) => x.name === name);
    if (!a) throw new Error(`no account ${name}`);
    return a;
  };
  const signer = async (mnemonic: string) => {
    const wallet = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic);
    const [acc] = await wallet.getAccounts();
    const c = await SigningStargateClient.connectWithSigner(rpcUrl, wallet, CLIENT_OPTIONS);
    signers.push(c);
    return { client: c, address: acc?.address ?? '' };
  };
  const control = async (path: string, body?: unknown) => {
    const res = await fetch(`${devnet.info.hub.controlUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    devnet = await startDevnet({
      dir,
      blockTimeMs: 250,
      standby: 0,
      sentries: 1,
      portBase: await freePortBase(3),
      params: { gov: { votingPeriodMs: 2000 } },
    });
    rpcUrl = devnet.info.nodes.find((n) => n.name === 'sentry-1')?.rpcUrl ?? '';
    comet = await connectComet(rpcUrl);
    await waitFor(async () => (await comet.status()).syncInfo.latestBlockHeight >= 3, 'blocks', {
      timeoutMs: 20_000,
    });
    client = StargateClient.create(comet);
  });
  afterAll(async () => {
    for (const s of signers) s.disconnect();
    client?.disconnect();
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves CometBFT status, blocks with signed commits, and the validator set with its priorities', async () => {
    const status = await comet.status();
    expect(status.nodeInfo.version).toBe('0.38.12');
    expect(status.nodeInfo.network).toBe('beam-devnet-1');
    const height = status.syncInfo.latestBlockHeight;
    const block = await comet.block(height);
    const flags = block.block.lastCommit?.signatures.map((s) => s.blockIdFlag) ?? [];
    expect(flags).toHaveLength(21);
    expect(flags.filter((f) => f === BlockIdFlag.Commit).length).toBeGreaterThan(14);
    const vals = await comet.validators({});
    expect(vals.total).toBe(21);
    const addresses = vals.validators.map((v) => Buffer.from(v.address).toString('hex').toUpperCase());
    expect(addresses).toContain(devnet.info.validators[0]?.consensusAddress);
    expect(new Set(addresses)).toEqual(
      new Set([
        devnet.info.validators[0]?.consensusAddress,
        ...devnet.info.background.map((b) => b.consensusAddress),
      ]),
    );
    // CometBFT centres the priorities on zero.
    expect(Math.abs(vals.validators.reduce((sum, v) => sum + (v.proposerPriority ?? 0), 0))).toBeLessThan(21);
    const info = (await (await fetch(`${rpcUrl}/abci_info`)).json()) as {
      result: { response: Record<string, string> };
    };
    expect(info.result.response).toMatchObject({ data: 'devnet', version: 'v1.0.0', app_version: '0' });
    const service = new ServiceClientImpl(createProtobufRpcClient(QueryClient.withExtensions(comet)));
    const nodeInfo = await service.GetNodeInfo({});
    expect(nodeInfo.defaultNodeInfo?.moniker).toBe('sentry-1');
    expect(nodeInfo.applicationVersion).toMatchObject({ appName: 'devnetd', version: 'v1.0.0' });
  });

  it('reads balances, staking and slashing signing info', async () => {
    expect((await client.getBalance(account('alice').address, 'stake')).amount).toBe('10000000000');
    const q = QueryClient.withExtensions(comet, setupStakingExtension, setupSlashingExtension);
    const val = devnet.info.validators[0];
    if (!val) throw new Error('no validator');
    const { validator } = await q.staking.validator(val.operatorAddress);
    expect(validator.description?.moniker).toBe(val.moniker);
    const valcons = toBech32('cosmosvalcons', fromHex(val.consensusAddress));
    const info = await q.slashing.signingInfo(valcons);
    expect(info.valSigningInfo.tombstoned).toBe(false);
  });

  it('sends, delegates and withdraws rewards', async () => {
    const alice = await signer(account('alice').mnemonic);
    const bob = account('bob').address;
    const sent = await alice.client.sendTokens(
      alice.address,
      bob,
      [{ denom: 'stake', amount: '12345' }],
      'auto',
    );
    expect(sent.code).toBe(0);
    expect((await client.getBalance(bob, 'stake')).amount).toBe('10000012345');
    // CometBFT's URI form: quoted strings, 0x-hex bytes.
    const byHash = (await (await fetch(`${rpcUrl}/tx?hash=0x${sent.transactionHash}`)).json()) as {
      result: { height: string };
    };
    expect(byHash.result.height).toBe(String(sent.height));
    const search = (await (await fetch(`${rpcUrl}/tx_search?query="tx.height=${sent.height}"`)).json()) as {
      result: { total_count: string; txs: { hash: string }[] };
    };
    expect(search.result.txs.map((t) => t.hash)).toContain(sent.transactionHash);
    const operator = devnet.info.validators[0]?.operatorAddress ?? '';
    expect(
      (
        await alice.client.delegateTokens(
          alice.address,
          operator,
          { denom: 'stake', amount: '5000000' },
          'auto',
        )
      ).code,
    ).toBe(0);
    const delegation = await client.getDelegation(alice.address, operator);
    expect(delegation?.amount).toBe('5000000');
    await waitFor(async () => (await client.getHeight()) > sent.height + 2, 'rewards accrue');
    expect((await alice.client.withdrawRewards(alice.address, operator, 'auto')).code).toBe(0);
  });

  it('submits a proposal through the control API and reads gov v1 votes', async () => {
    const { status, body } = await control('/proposals', {
      title: 'Upgrade',
      summary: 'A test proposal',
      votingPeriodMs: 60_000,
    });
    expect(status).toBe(200);
    const proposalId = BigInt(String(body.proposalId));
    const gov = new GovV1Query(createProtobufRpcClient(QueryClient.withExtensions(comet)));
    const { proposal } = await gov.Proposal({ proposalId });
    expect(proposal?.title).toBe('Upgrade');
    const alice = await signer(account('alice').mnemonic);
    const vote: EncodeObject = {
      typeUrl: '/cosmos.gov.v1.MsgVote',
      value: MsgVote.fromPartial({ proposalId, voter: alice.address, option: VoteOption.VOTE_OPTION_YES }),
    };
    expect((await alice.client.signAndBroadcast(alice.address, [vote], 'auto')).code).toBe(0);
    const { vote: onChain } = await gov.Vote({ proposalId, voter: alice.address });
    expect(onChain?.options[0]?.option).toBe(VoteOption.VOTE_OPTION_YES);

    // The hot key votes and delegates for the validator's account through the launcher's grants.
    const val = devnet.info.validators[0];
    if (!val) throw new Error('no validator');
    const hot = await signer(account('hot').mnemonic);
    const exec = (msgs: EncodeObject[]): EncodeObject => ({
      typeUrl: '/cosmos.authz.v1beta1.MsgExec',
      value: MsgExec.fromPartial({
        grantee: hot.address,
        msgs: msgs.map((m) => hot.client.registry.encodeAsAny(m)),
      }),
    });
    const granterVote: EncodeObject = {
      typeUrl: '/cosmos.gov.v1.MsgVote',
      value: MsgVote.fromPartial({
        proposalId,
        voter: val.accountAddress,
        option: VoteOption.VOTE_OPTION_NO,
      }),
    };
    expect((await hot.client.signAndBroadcast(hot.address, [exec([granterVote])], 'auto')).code).toBe(0);
    expect((await gov.Vote({ proposalId, voter: val.accountAddress })).vote?.options[0]?.option).toBe(
      VoteOption.VOTE_OPTION_NO,
    );
    const granterDelegate: EncodeObject = {
      typeUrl: '/cosmos.staking.v1beta1.MsgDelegate',
      value: MsgDelegate.fromPartial({
        delegatorAddress: val.accountAddress,
        validatorAddress: val.operatorAddress,
        amount: { denom: 'stake', amount: '1000' },
      }),
    };
    expect((await hot.client.signAndBroadcast(hot.address, [exec([granterDelegate])], 'auto')).code).toBe(0);

    // Bob holds no grant: his MsgExec fails in the block with a real error code.
    const bob = await signer(account('bob').mnemonic);
    const unauthorized: EncodeObject = {
      typeUrl: '/cosmos.authz.v1beta1.MsgExec',
      value: MsgExec.fromPartial({
        grantee: bob.address,
        msgs: [bob.client.registry.encodeAsAny(granterVote)],
      }),
    };
    const rejected = await bob.client.signAndBroadcast(bob.address, [unauthorized], {
      amount: [{ denom: 'stake', amount: '10000' }],
      gas: '400000',
    });
    expect(rejected.code).not.toBe(0);
    expect(rejected.rawLog).toMatch(/authoriz/i);
  });

  it('schedules a software upgrade through a gov v1 proposal sent as a tx, read back through x/upgrade', async () => {
    const alice = await signer(account('alice').mnemonic);
    const upgrades = new UpgradeQuery(createProtobufRpcClient(QueryClient.withExtensions(comet)));
    const authority = (await upgrades.Authority({})).address;
    const planHeight = BigInt((await client.getHeight()) + 100_000);
    const proposal: EncodeObject = {
      typeUrl: '/cosmos.gov.v1.MsgSubmitProposal',
      value: {
        messages: [
          {
            typeUrl: '/cosmos.upgrade.v1beta1.MsgSoftwareUpgrade',
            value: MsgSoftwareUpgrade.encode(
              MsgSoftwareUpgrade.fromPartial({
                authority,
                plan: { name: 'v9', height: planHeight, info: 'later' },
              }),
            ).finish(),
          },
        ],
        initialDeposit: [{ denom: 'stake', amount: '10000000' }],
        proposer: alice.address,
        metadata: '',
        title: 'Upgrade to v9',
        summary: 'A plan far ahead',
        expedited: false,
      },
    };
    const submitted = await alice.client.signAndBroadcast(alice.address, [proposal], 'auto');
    expect(submitted.code, submitted.rawLog).toBe(0);
    // The background validators (95 % of the power) vote yes: it passes when voting ends.
    const plan = await waitFor(async () => (await upgrades.CurrentPlan({})).plan, 'the plan', {
      timeoutMs: 20_000,
    });
    expect(plan).toMatchObject({ name: 'v9', height: planHeight, info: 'later' });
    expect((await upgrades.AppliedPlan({ name: 'v9' })).height).toBe(0n);
  });

  it('rejects a wrong signature and a wrong sequence at broadcast', async () => {
    const alice = await signer(account('alice').mnemonic);
    const msgs: EncodeObject[] = [
      {
        typeUrl: '/cosmos.bank.v1beta1.MsgSend',
        value: {
          fromAddress: alice.address,
          toAddress: account('bob').address,
          amount: [{ denom: 'stake', amount: '1' }],
        },
      },
    ];
    const fee = { amount: [{ denom: 'stake', amount: '5000' }], gas: '200000' };
    const acc = await client.getAccount(alice.address);
    if (!acc) throw new Error('alice has no account');
    const signerData = { accountNumber: acc.accountNumber, sequence: acc.sequence, chainId: 'beam-devnet-1' };

    const good = await alice.client.sign(alice.address, msgs, fee, '', signerData);
    const badSig = TxRaw.encode({
      ...good,
      signatures: [Uint8Array.from(good.signatures[0] ?? [], (b, i) => (i === 0 ? b ^ 1 : b))],
    }).finish();
    const sigError = await alice.client.broadcastTx(badSig).catch((e: unknown) => e);
    expect(sigError).toBeInstanceOf(BroadcastTxError);
    expect((sigError as BroadcastTxError).code).toBe(4);

    const wrongSeq = await alice.client.sign(alice.address, msgs, fee, '', {
      ...signerData,
      sequence: acc.sequence + 5,
    });
    const seqError = await alice.client.broadcastTx(TxRaw.encode(wrongSeq).finish()).catch((e: unknown) => e);
    expect(seqError).toBeInstanceOf(BroadcastTxError);
    expect((seqError as BroadcastTxError).code).toBe(32);
  });

  it('control API funds, creates accounts and rejects bad bodies with the field named', async () => {
    const created = await control('/accounts', { name: 'carol', amount: '777' });
    expect(created.status).toBe(200);
    const carol = String(created.body.address);
    expect((await client.getBalance(carol, 'stake')).amount).toBe('777');
    expect((await control('/fund', { address: carol, amount: '23' })).status).toBe(200);
    expect((await client.getBalance(carol, 'stake')).amount).toBe('800');
    const bad = await control('/fund', { address: carol, amount: 'lots' });
    expect(bad.status).toBe(400);
    expect(String(bad.body.error)).toMatch(/^amount: /);
    const badAddress = await control('/fund', { address: 'nope', amount: '1' });
    expect(badAddress.status).toBe(400);
    expect(String(badAddress.body.error)).toMatch(/address/);
    expect((await control('/nodes/nosuch/partition', {})).status).toBe(404);
  });

  it('adds a sentry at runtime that validators can dial', async () => {
    const added = devnet.addSentry();
    expect(added.name).toBe('sentry-2');
    expect(readDevnetInfo(dir).nodes.map((n) => n.name)).toContain('sentry-2');
    const sentry2 = await connectComet(
      await waitFor(
        async () => ((await fetch(`${added.rpcUrl}/health`)).ok ? added.rpcUrl : undefined),
        'sentry-2 up',
      ),
    );
    try {
      // No chain data: it blocksyncs from genesis (the chain is within the peers' retained blocks).
      await waitFor(async () => {
        const { syncInfo } = await sentry2.status();
        return !syncInfo.catchingUp && syncInfo.latestBlockHeight > 1;
      }, 'sentry-2 caught up');
      const valRpc = devnet.info.nodes.find((n) => n.name === 'val-a')?.rpcUrl ?? '';
      const body = {
        jsonrpc: '2.0',
        id: 1,
        method: 'dial_peers',
        params: { peers: [`${added.cometNodeId}@${added.p2pAddress}`], persistent: true },
      };
      await fetch(valRpc, { method: 'POST', body: JSON.stringify(body) });
      await waitFor(async () => {
        const net = (await (await fetch(`${valRpc}/net_info`)).json()) as {
          result: { peers: { node_info: { id: string } }[] };
        };
        return net.result.peers.some((p) => p.node_info.id === added.cometNodeId);
      }, 'val-a peers with the new sentry');
    } finally {
      sentry2.disconnect();
    }
  });
});
