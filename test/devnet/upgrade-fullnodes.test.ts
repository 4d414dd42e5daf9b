/**
 * Every node meets x/upgrade's pre-blocker, as a Cosmos full node does, not only the validator
 * nodes asked to sign: a sentry and a standby validator node (file mode: its own key, no validator
 * of the set) halt at the plan height with the validator (UPGRADE NEEDED, CONSENSUS FAILURE,
 * upgrade-info.json; their view frozen below the height, RPC answering), cosmovisor switches them,
 * and they follow the chain past the upgrade. In blocksync the pre-blocker's error panics the
 * process (exit 2) below the plan height (with cosmovisor: switched, and it syncs on); a binary
 * updated before the trigger stops at the first block after the plan was scheduled; a state-synced
 * node on the old binary stops at its first block after the snapshot (wrong app version).
 */
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosmovisorPaths, linkCurrent } from '../../devnet/binary.js';
import { type Devnet, type DevnetNode, readUpgradeInfo, startDevnet } from '../../devnet/index.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase } from './ports.js';

const INFO = '{"binaries":{"linux/amd64":"https://example.com/devnetd-v2"}}';
const NEEDED = (height: number) => `UPGRADE "v2" NEEDED at height: ${height}: ${INFO}`;
/** Snapshots of the sentries, for the state-synced node. */
const INTERVAL = 20;

interface Status {
  latest: number;
  catchingUp: boolean;
}

describe('full nodes at an upgrade: the pre-blocker on every block a node executes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devnet-upgrade-full-'));
  let devnet: Devnet;
  let planHeight = 0;
  const height = () => devnet.hub.chain.height();
  const node = (name: string): DevnetNode => {
    const n = devnet.info.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  };
  const log = (name: string) => readFileSync(join(node(name).home, 'node.log'), 'utf8');
  const upgradeInfo = (name: string) => readUpgradeInfo(cosmovisorPaths(node(name).home).upgradeInfo);
  const rpc = async <T>(name: string, path: string): Promise<T> => {
    const body = (await (
      await fetch(`${node(name).rpcUrl}/${path}`, { signal: AbortSignal.timeout(2_000) })
    ).json()) as { result: T };
    return body.result;
  };
  const status = async (name: string): Promise<Status> => {
    const r = await rpc<{ sync_info: { latest_block_height: string; catching_up: boolean } }>(name, 'status');
    return { latest: Number(r.sync_info.latest_block_height), catchingUp: r.sync_info.catching_up };
  };
  const version = async (name: string) =>
    (await rpc<{ response: { version: string } }>(name, 'abci_info').catch(() => null))?.response.version;
  const summary = (name: string) => devnet.hub.nodes().find((n) => n.name === name);
  const control = async (path: string, body: unknown) => {
    const res = await fetch(`${devnet.info.hub.controlUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };
  const storeOf = (name: string) =>
    JSON.parse(readFileSync(join(node(name).home, 'data', 'blockstore.db', 'store.json'), 'utf8')) as {
      base: number;
      height: number;
    };
  const blockHash = (h: number) => Buffer.from(devnet.hub.chain.block(h)!.hash).toString('hex').toUpperCase();

  beforeAll(async () => {
    devnet = await startDevnet({
      dir,
      blockTimeMs: 200,
      standby: 1,
      sentries: 1,
      keyMode: 'file',
      startNodes: false,
      grants: false,
      snapshotInterval: INTERVAL,
      portBase: await freePortBase(8),
      // Beam's node is down now and then (restarts): a long window keeps it unjailed.
      params: { slashing: { signedBlocksWindow: 1000 } },
    });
    expect(node('val-b')).toMatchObject({ role: 'validator', signing: false });
    for (const name of ['val-b', 'sentry-1']) devnet.stageUpgrade(name, 'v2', 'v2.0.0');
    // Beam's validator runs its daemon directly: it halts at the plan height and stays there, and
    // the chain with it (7 background validators held), until the test switches it.
    devnet.startNode('val-a');
    devnet.startNode('val-b', { cosmovisor: true });
    devnet.startNode('sentry-1');
    for (const name of ['val-a', 'val-b', 'sentry-1'])
      await waitFor(
        async () => !(await status(name).catch(() => ({ catchingUp: true }))).catchingUp,
        `${name} in consensus`,
        { timeoutMs: 30_000 },
      );
    const address = devnet.info.validators[0]!.consensusAddress;
    await waitFor(() => devnet.hub.signatures({ address }).some((r) => r.delivered), 'val-a signing', {
      timeoutMs: 20_000,
    });
  }, 90_000);
  afterAll(async () => {
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a sentry and a standby validator node halt at the plan height with the validator, switch under cosmovisor and follow the chain', async () => {
    expect((await control('/background/hold', { count: 7 })).validators).toHaveLength(7);
    planHeight = height() + 30;
    await control('/proposals', {
      title: 'Upgrade to v2',
      summary: 'devnetd v2.0.0',
      votingPeriodMs: 1000,
      upgrade: { name: 'v2', height: planHeight, info: INFO },
    });
    const scheduled = await waitFor(
      () => devnet.hub.chain.upgradeHistory().find((c) => c.status.plan?.name === 'v2')?.height,
      'the plan scheduled',
    );

    // A binary updated before the trigger: a new sentry on v2 blocksyncs from genesis and stops at
    // the first block after the plan was scheduled, as CometBFT's blocksync panics.
    devnet.addSentry('early', { start: false });
    devnet.stageUpgrade('early', 'v2', 'v2.0.0');
    linkCurrent(node('early').home, cosmovisorPaths(node('early').home).upgradeDir('v2'));
    devnet.startNode('early');
    expect(await devnet.node('early').waitExit()).toBe(2);
    const beforeTrigger =
      'BINARY UPDATED BEFORE TRIGGER! UPGRADE "v2" - in binary but not executed on chain. Downgrade your binary';
    expect(log('early')).toContain(beforeTrigger);
    expect(log('early')).toContain(
      `panic: Failed to process committed block (${scheduled}:${blockHash(scheduled)}): ${beforeTrigger}`,
    );
    expect(storeOf('early')).toEqual({ base: 1, height: scheduled - 1 });
    expect(upgradeInfo('early')).toBeNull();

    // The sentry (its daemon run directly) halts at the plan height: the pre-blocker's lines,
    // upgrade-info.json for cosmovisor, consensus stopped, RPC up with its view below the height.
    await waitFor(() => log('sentry-1').includes(NEEDED(planHeight)), 'the sentry halted', {
      timeoutMs: 30_000,
    });
    expect(log('sentry-1')).toMatch(/CONSENSUS FAILURE!!! +module=consensus height=\d+/);
    expect(log('val-a')).toContain(NEEDED(planHeight));
    expect(upgradeInfo('sentry-1')).toEqual({ name: 'v2', height: planHeight, info: INFO });
    expect(
      JSON.parse(readFileSync(cosmovisorPaths(node('sentry-1').home).upgradeInfo, 'utf8')),
    ).toMatchObject({
      time: '0001-01-01T00:00:00Z',
    });
    await waitFor(() => summary('sentry-1')?.halted, 'the hub seeing the sentry halted');
    // The chain waits for Beam's validator: a few rounds pass, the sentry's view stays below the plan.
    const frozen = Date.now();
    await waitFor(() => Date.now() - frozen > 1_000, 'a few rounds');
    expect(height()).toBe(planHeight - 1);
    expect(await status('sentry-1')).toEqual({ latest: planHeight - 1, catchingUp: false });
    expect(await version('sentry-1')).toBe('v1.0.0');
    expect(summary('sentry-1')).toMatchObject({ halted: true, viewHeight: planHeight - 1 });
    expect(storeOf('sentry-1').height).toBe(planHeight - 1);

    // The standby validator node, a full node here, halted too, and cosmovisor switched it.
    await waitFor(async () => (await version('val-b')) === 'v2.0.0', 'val-b on v2 under cosmovisor', {
      timeoutMs: 20_000,
    });
    const standby = log('val-b');
    expect(standby).toContain(NEEDED(planHeight));
    expect(standby.indexOf('CONSENSUS FAILURE!!!')).toBeGreaterThan(standby.indexOf(NEEDED(planHeight)));
    expect(standby.indexOf('upgrade detected, relaunching')).toBeGreaterThan(
      standby.indexOf('CONSENSUS FAILURE!!!'),
    );
    expect(upgradeInfo('val-b')).toEqual({ name: 'v2', height: planHeight, info: INFO });
    expect(readlinkSync(cosmovisorPaths(node('val-b').home).current)).toBe(
      join(node('val-b').home, 'cosmovisor', 'upgrades', 'v2'),
    );
    expect(await status('val-b')).toEqual({ latest: planHeight - 1, catchingUp: false });

    // The sentry under cosmovisor now: it switches before starting (upgrade-info.json names v2).
    await devnet.stopNode('sentry-1');
    devnet.startNode('sentry-1', { cosmovisor: true });
    await waitFor(async () => (await version('sentry-1')) === 'v2.0.0', 'the sentry on v2');
    expect(await status('sentry-1')).toEqual({ latest: planHeight - 1, catchingUp: false });
    expect(height()).toBe(planHeight - 1);

    // Beam's validator switches: the chain resumes, and both full nodes follow it on v2.
    devnet.stageUpgrade('val-a', 'v2', 'v2.0.0');
    await devnet.stopNode('val-a');
    devnet.startNode('val-a', { cosmovisor: true });
    await waitFor(() => height() > planHeight + 3, 'the chain past the upgrade', { timeoutMs: 30_000 });
    for (const name of ['sentry-1', 'val-b']) {
      await waitFor(async () => (await status(name)).latest > planHeight + 3, `${name} following`);
      expect((await status(name)).catchingUp).toBe(false);
      expect(log(name)).toContain(`applying upgrade "v2" at height: ${planHeight}`);
      expect(summary(name)).toMatchObject({ halted: false, version: 'v2.0.0' });
    }
    await control('/background/release', {});
  }, 120_000);

  it('a node blocksyncing across the plan height on the old binary panics there; under cosmovisor it switches and syncs on', async () => {
    // Its daemon run directly: the process ends (CometBFT's blocksync panic), its store below the plan.
    devnet.addSentry('late-1');
    expect(await devnet.node('late-1').waitExit()).toBe(2);
    const lines = log('late-1');
    expect(lines).toContain(NEEDED(planHeight));
    expect(lines).toMatch(/error in proxyAppConn\.FinalizeBlock +module=state/);
    expect(lines).toContain(
      `panic: Failed to process committed block (${planHeight}:${blockHash(planHeight)}): ${NEEDED(planHeight)}`,
    );
    expect(upgradeInfo('late-1')).toEqual({ name: 'v2', height: planHeight, info: INFO });
    expect(storeOf('late-1')).toEqual({ base: 1, height: planHeight - 1 });

    // Under cosmovisor with the new binary staged: the daemon's exit names the upgrade, cosmovisor
    // switches and the new binary applies the plan height's block and syncs on to the tip.
    devnet.addSentry('late-2', { start: false });
    devnet.stageUpgrade('late-2', 'v2', 'v2.0.0');
    devnet.startNode('late-2', { cosmovisor: true });
    await waitFor(
      async () => {
        const s = await status('late-2').catch(() => null);
        return s && !s.catchingUp && s.latest >= height() - 1;
      },
      'late-2 at the tip',
      { timeoutMs: 30_000 },
    );
    const synced = log('late-2');
    expect(synced).toContain(`panic: Failed to process committed block (${planHeight}:`);
    // Whichever cosmovisor sees first: the daemon's exit, or upgrade-info.json on its poll.
    expect(synced).toMatch(
      /daemon exited with an upgrade pending +module=cosmovisor upgrade=v2 code=2|daemon shutting down in an attempt to restart +module=cosmovisor upgrade=v2/,
    );
    expect(synced.indexOf('upgrade detected, relaunching')).toBeGreaterThan(synced.indexOf('panic:'));
    expect(synced).toContain(`applying upgrade "v2" at height: ${planHeight}`);
    expect(await version('late-2')).toBe('v2.0.0');
    expect(devnet.node('late-2').running).toBe(true);
  }, 60_000);

  it('a node state-synced past the upgrade on the old binary stops at its first block: wrong app version', async () => {
    // A snapshot of the sentry's above the plan height, its next two headers served.
    await waitFor(() => height() > planHeight + 2 * INTERVAL + 2, 'snapshots past the upgrade', {
      timeoutMs: 30_000,
    });
    const tip = (await status('sentry-1')).latest;
    const trustHeight = Math.floor((tip - 2) / INTERVAL) * INTERVAL;
    expect(trustHeight).toBeGreaterThan(planHeight);
    const commit = await rpc<{ signed_header: { commit: { block_id: { hash: string } } } }>(
      'sentry-1',
      `commit?height=${trustHeight}`,
    );
    devnet.addSentry('synced', { start: false });
    const path = join(node('synced').home, 'config', 'config.toml');
    let toml = readFileSync(path, 'utf8').replace(
      /^persistent_peers = ".*"$/m,
      `persistent_peers = "${node('sentry-1').cometNodeId}@${node('sentry-1').p2pAddress}"`,
    );
    const statesync = {
      enable: 'true',
      rpc_servers: `"${node('sentry-1').rpcUrl},${node('val-b').rpcUrl}"`,
      trust_height: String(trustHeight),
      trust_hash: `"${commit.signed_header.commit.block_id.hash}"`,
      discovery_time: '"5s"',
    };
    for (const [key, value] of Object.entries(statesync))
      toml = toml.replace(new RegExp(`^${key} = .*$`, 'm'), `${key} = ${value}`);
    writeFileSync(path, toml);
    devnet.startNode('synced');
    expect(await devnet.node('synced').waitExit()).toBe(2);
    const restored = Number(/Snapshot restored +module=statesync height=(\d+) /.exec(log('synced'))?.[1]);
    expect(restored).toBeGreaterThanOrEqual(trustHeight);
    const wrong = 'wrong app version 1, upgrade handler is missing for v2 upgrade plan';
    expect(log('synced')).toContain(
      `panic: Failed to process committed block (${restored + 1}:${blockHash(restored + 1)}): ${wrong}`,
    );
    expect(storeOf('synced')).toEqual({ base: restored, height: restored });
    // No upgrade is needed: nothing for cosmovisor.
    expect(existsSync(cosmovisorPaths(node('synced').home).upgradeInfo)).toBe(false);
  }, 60_000);
});
