/**
 * A chain upgrade end to end with real processes: a gov v1 MsgSoftwareUpgrade proposal passes
 * (the background validators vote yes), the chain halts at the plan height (7 background
 * validators held on the old binary, Beam's node on it too), the node logs UPGRADE NEEDED and
 * writes upgrade-info.json, cosmovisor switches `current` to the staged binary and restarts it,
 * the node reports the new version, and the chain resumes with Beam's validator deciding.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { QueryClient, createProtobufRpcClient } from '@cosmjs/stargate';
import { type CometClient, connectComet } from '@cosmjs/tendermint-rpc';
import { ServiceClientImpl } from 'cosmjs-types/cosmos/base/tendermint/v1beta1/query';
import { QueryClientImpl as UpgradeQuery } from 'cosmjs-types/cosmos/upgrade/v1beta1/query';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosmovisorPaths } from '../../devnet/binary.js';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase } from './ports.js';

const INFO = '{"binaries":{"linux/amd64":"https://example.com/devnetd-v2"}}';

describe('a chain upgrade through gov, the halt, cosmovisor and the new binary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devnet-upgrade-'));
  let devnet: Devnet;
  let comet: CometClient;
  let home: string;
  let rpcUrl: string;
  const height = () => devnet.hub.chain.height();
  const log = () => readFileSync(join(home, 'node.log'), 'utf8');
  const control = async (path: string, body: unknown) => {
    const res = await fetch(`${devnet.info.hub.controlUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };
  const abciInfo = async () =>
    ((await (await fetch(`${rpcUrl}/abci_info`)).json()) as { result: { response: { version: string } } })
      .result.response;

  beforeAll(async () => {
    devnet = await startDevnet({
      dir,
      blockTimeMs: 200,
      standby: 0,
      sentries: 0,
      startNodes: false,
      portBase: await freePortBase(1),
      // The node is down now and then (restarts): a long window keeps it unjailed.
      params: { slashing: { signedBlocksWindow: 1000 } },
    });
    const node = devnet.info.nodes[0]!;
    home = node.home;
    rpcUrl = node.rpcUrl;
    devnet.startNode('val-a', { cosmovisor: true });
    comet = await connectComet(
      await waitFor(async () => ((await fetch(`${rpcUrl}/health`)).ok ? rpcUrl : undefined), 'val-a rpc'),
    );
    const address = devnet.info.validators[0]!.consensusAddress;
    await waitFor(() => devnet.hub.signatures({ address }).some((r) => r.delivered), 'val-a signing', {
      timeoutMs: 20_000,
    });
  });
  afterAll(async () => {
    comet?.disconnect();
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lays out cosmovisor's folders in every home, the genesis binary current", async () => {
    const paths = cosmovisorPaths(home);
    expect(readlinkSync(paths.current)).toBe(join(home, 'cosmovisor', 'genesis'));
    expect(statSync(paths.genesisBin).mode & 0o111).not.toBe(0);
    const { stdout } = await promisify(execFile)(paths.currentBin, ['version']);
    expect(stdout.trim()).toBe('v1.0.0');
    expect((await abciInfo()).version).toBe('v1.0.0');
  });

  it('halts at the plan height until the node runs the upgrade, then resumes', async () => {
    const staged = devnet.stageUpgrade('val-a', 'v2', 'v2.0.0');
    expect(staged).toBe(cosmovisorPaths(home).upgradeBin('v2'));
    // 7 of 20 background validators stay on the old binary: the rest need Beam's 100 to pass 2/3.
    expect((await control('/background/hold', { count: 7 })).validators).toHaveLength(7);
    const planHeight = height() + 20;
    const { proposalId } = await control('/proposals', {
      title: 'Upgrade to v2',
      summary: 'devnetd v2.0.0',
      votingPeriodMs: 1000,
      upgrade: { name: 'v2', height: planHeight, info: INFO },
    });
    expect(proposalId).toBe('1');
    const upgrades = new UpgradeQuery(createProtobufRpcClient(QueryClient.withExtensions(comet)));
    const { plan } = await waitFor(async () => {
      const current = await upgrades.CurrentPlan({});
      return current.plan ? current : undefined;
    }, 'the plan scheduled');
    expect(plan).toMatchObject({ name: 'v2', height: BigInt(planHeight), info: INFO });

    await waitFor(
      () => log().includes(`UPGRADE "v2" NEEDED at height: ${planHeight}: ${INFO}`),
      'the halt logged',
    );
    expect(log()).toContain('CONSENSUS FAILURE!!!');
    expect(JSON.parse(readFileSync(join(home, 'data', 'upgrade-info.json'), 'utf8'))).toEqual({
      name: 'v2',
      time: '0001-01-01T00:00:00Z',
      height: planHeight,
      info: INFO,
    });
    // cosmovisor switches the binary and restarts the node, which then reports v2.
    await waitFor(
      async () => (await abciInfo().catch(() => ({ version: '' }))).version === 'v2.0.0',
      'v2 running',
      {
        timeoutMs: 20_000,
      },
    );
    expect(readlinkSync(cosmovisorPaths(home).current)).toBe(join(home, 'cosmovisor', 'upgrades', 'v2'));
    const service = new ServiceClientImpl(createProtobufRpcClient(QueryClient.withExtensions(comet)));
    expect((await service.GetNodeInfo({})).applicationVersion).toMatchObject({
      appName: 'devnetd',
      version: 'v2.0.0',
    });

    await waitFor(() => height() > planHeight + 2, 'the chain resumes', { timeoutMs: 20_000 });
    expect(log()).toContain(`applying upgrade "v2" at height: ${planHeight}`);
    // It waited for Beam's node: rounds failed at the plan height while the node restarted.
    expect(devnet.hub.chain.block(planHeight + 1)?.lastCommit?.round).toBeGreaterThan(0);
    expect((await upgrades.AppliedPlan({ name: 'v2' })).height).toBe(BigInt(planHeight));
    expect((await upgrades.CurrentPlan({})).plan).toBeUndefined();
    expect((await comet.status()).nodeInfo.protocolVersion.app).toBe(1);

    // The held validators switch once released, and sign again.
    const held = devnet.hub.background.list().filter((b) => b.held);
    expect(held.every((b) => b.version === 'v1.0.0')).toBe(true);
    await control('/background/release', {});
    await waitFor(() => {
      const commit = devnet.hub.chain.block(height())?.lastCommit;
      return commit?.signatures.every((s) => s?.blockIdFlag === 'commit');
    }, 'every validator signing');
  });

  it('keeps the upgraded binary when the node restarts without cosmovisor', async () => {
    await devnet.stopNode('val-a');
    devnet.startNode('val-a');
    await waitFor(
      async () => (await abciInfo().catch(() => ({ version: '' }))).version === 'v2.0.0',
      'v2 again',
    );
    const from = height();
    const address = devnet.info.validators[0]!.consensusAddress;
    await waitFor(
      () => devnet.hub.signatures({ address, fromHeight: from }).some((r) => r.delivered),
      'val-a signing',
    );
  });
});
