/**
 * A replacement sentry bootstraps end to end, as on a new AWS instance: its home holds no chain data
 * and no chain binary. Its pilot installs the binary from a loopback HTTP server (the chain
 * registry's `?checksum=sha256:` URL), keeps the daemon down with its empty block store, and reports
 * that it waits; the self-hosted commander answers with `state-sync`, the trust height and hash from
 * the fleet's healthy nodes and their RPC as the light client's servers, the sentries that take
 * snapshots as peers; the daemon (under cosmovisor) restores a snapshot, blocksyncs to the tip and
 * serves peers, and the pilot turns [statesync] off. Nothing is copied from another node's data.
 *
 * The fleet: the devnet's validator node val-a (signer mode, never promoted: the 20 background
 * validators make the blocks) and two sentries, each with a real pilot that serves its RPC for state
 * sync (`daemon.state_sync_rpc_url`); the sentries take a snapshot every 100 blocks (app.toml).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningCommander } from '../../commander/server/serve.js';
import { cosmovisorPaths } from '../../devnet/binary.js';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import type { DevnetNode } from '../../devnet/info.js';
import { PilotProcess } from '../../local/pilot-process.js';
import { RecordingTransport } from '../commander/helpers.js';
import { approveOnEnrollment } from '../helpers/approve.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase, type PilotSetup, pilotConfigFor } from '../pilot/harness.js';
import { serveCommander } from './failover-kit.js';

process.env.BEAM_LOG_LEVEL ??= 'warn';
const TOKEN = 'e2e-bootstrap-enrollment-token-0';
const BLOCK_MS = 200;
/**
 * A snapshot lives two intervals (snapshot-keep-recent 2): 20 s here, more than the 15 s a state
 * sync spends discovering snapshots before it restores the one it chose.
 */
const SNAPSHOT_INTERVAL = 100;
const FLEET = ['val-a', 'sentry-1', 'sentry-2'];
const NEW = 'sentry-9';

let dir: string;
let devnet: Devnet;
let commander: RunningCommander;
let binaryServer: Server;
let binaryUrl: string;
let binarySha: string;
const binaryRequests: string[] = [];
const chat = new RecordingTransport('console');
const pilots = new Map<string, PilotProcess>();
const setups = new Map<string, PilotSetup>();
let fresh: DevnetNode;

const node = (name: string) => devnet.info.nodes.find((n) => n.name === name)!;
const record = async (name: string) => (await commander.deps.store.getNode(name))?.value;

async function rpc<T>(name: string, method: string): Promise<T> {
  const res = await fetch(`${node(name).rpcUrl}/${method}`, { signal: AbortSignal.timeout(2000) });
  return ((await res.json()) as { result: T }).result;
}

type Status = {
  node_info: { id: string };
  sync_info: { latest_block_height: string; earliest_block_height: string; catching_up: boolean };
};
const status = (name: string) => rpc<Status>(name, 'status');
const peerIds = async (name: string) =>
  (await rpc<{ peers: { node_info: { id: string } }[] }>(name, 'net_info')).peers.map((p) => p.node_info.id);

async function startPilot(name: string, setup: PilotSetup): Promise<void> {
  setups.set(name, setup);
  const pilot = new PilotProcess(
    name,
    setup.file,
    setup.stateDir,
    path.join(dir, `pilot-${name}.log`),
    setup.config.upgrade.install_dir,
  );
  pilots.set(name, pilot);
  pilot.start();
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'beam-e2e-bootstrap-'));
  devnet = await startDevnet({
    dir,
    blockTimeMs: BLOCK_MS,
    standby: 0,
    sentries: 2,
    startNodes: false,
    // Blocks begin once the fleet's daemons are linked: they follow the chain from genesis.
    startBlocks: false,
    portBase: await freePortBase(),
    reset: true,
    keyMode: 'signer',
    retainBlocks: 30,
    snapshotInterval: SNAPSHOT_INTERVAL,
  });
  commander = await serveCommander(
    dir,
    TOKEN,
    { keyMode: 'signer', reportIntervalMs: 500, mode: 'confirm' },
    chat,
  );
  const tokenFile = path.join(dir, 'enrollment-token');
  await fs.writeFile(tokenFile, TOKEN, { mode: 0o600 });
  for (const name of FLEET) {
    const setup = await pilotConfigFor(devnet.info, name, dir, {
      commanderUrl: commander.url,
      enrollmentTokenFile: tokenFile,
      serveStateSync: true,
    });
    await startPilot(name, setup);
  }
  await approveOnEnrollment(commander.deps, FLEET);
  await waitFor(
    () => FLEET.every((n) => devnet.hub.nodes().some((x) => x.name === n && x.connected)),
    'the fleet linked to the network',
  );
  devnet.hub.startProducing();

  // The binary a new machine downloads: the devnet daemon as every home has it, served over HTTP.
  const binary = await fs.readFile(cosmovisorPaths(node('sentry-1').home).genesisBin);
  binarySha = createHash('sha256').update(binary).digest('hex');
  binaryServer = createServer((req, res) => {
    binaryRequests.push(req.url ?? '');
    res.end(binary);
  });
  await new Promise<void>((r) => binaryServer.listen(0, '127.0.0.1', () => r()));
  binaryUrl = `http://127.0.0.1:${(binaryServer.address() as AddressInfo).port}/devnetd-v1.0.0-linux`;
}, 120_000);

afterAll(async () => {
  for (const p of pilots.values()) await p.stop(2_000);
  await commander?.close();
  await devnet?.stop();
  await new Promise<void>((r) => (binaryServer ? binaryServer.close(() => r()) : r()));
  if (!process.env.KEEP_E2E_DIR) await fs.rm(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
});

describe('a replacement sentry bootstraps from nothing', () => {
  it('the fleet serves state sync: healthy nodes report their RPC, block hash and snapshots', async () => {
    await waitFor(
      async () => {
        for (const name of FLEET) {
          const d = (await record(name))?.lastReport?.daemon;
          if (!d?.latestBlockHash || d.stateSyncRpcUrl !== node(name).rpcUrl || d.catchingUp !== false)
            return false;
        }
        return true;
      },
      'every fleet node reporting its RPC for state sync and its latest block hash',
      { timeoutMs: 30_000 },
    );
    expect((await record('sentry-1'))?.lastReport?.daemon.snapshotInterval).toBe(SNAPSHOT_INTERVAL);
    expect((await record('val-a'))?.lastReport?.daemon.snapshotInterval).toBe(0);
    // The chain is past what the network's nodes keep: an empty store cannot blocksync from genesis.
    await waitFor(() => devnet.hub.chain.height() > 40, 'the chain past the retained blocks', {
      timeoutMs: 30_000,
    });
  }, 60_000);

  it('a new instance installs the chain binary, waits for the trust, state-syncs and serves peers', async () => {
    fresh = devnet.addSentry(NEW, { start: false });
    const bin = cosmovisorPaths(fresh.home).genesisBin;
    // A new machine: no binary, no chain data, nothing copied from another node.
    await fs.rm(bin);
    await expect(fs.access(path.join(fresh.home, 'data', 'blockstore.db'))).rejects.toThrow();
    const setup = await pilotConfigFor(devnet.info, NEW, dir, {
      commanderUrl: commander.url,
      enrollmentTokenFile: path.join(dir, 'enrollment-token'),
      cosmovisor: true,
      serveStateSync: true,
      bootstrapStateSync: true,
      // As the chain registry writes codebase.binaries; the path is cosmovisor's genesis bin.
      extra: { daemon: { binary: { url: `${binaryUrl}?checksum=sha256:${binarySha}` } } },
    });
    expect(setup.config.bootstrap.state_sync).toBe(true);
    await startPilot(NEW, setup);
    await approveOnEnrollment(commander.deps, [NEW]);

    // The binary: downloaded once (without the registry's checksum parameter), verified, executable.
    await waitFor(async () => (await fs.stat(bin).catch(() => null))?.isFile(), 'the binary installed');
    expect(binaryRequests).toEqual(['/devnetd-v1.0.0-linux']);
    expect(
      createHash('sha256')
        .update(await fs.readFile(bin))
        .digest('hex'),
    ).toBe(binarySha);
    expect((await fs.stat(bin)).mode & 0o777).toBe(0o755);

    // Its report says it waits; the commander answers with the trust of the fleet's healthy nodes.
    await waitFor(
      async () => (await commander.deps.store.listAudit(200)).some((e) => e.action === 'state-sync'),
      'the state-sync action',
      { timeoutMs: 30_000 },
    );
    const audit = (await commander.deps.store.listAudit(200)).find(
      (e) => e.action === 'state-sync' && e.target === NEW,
    );
    expect(audit?.detail).toMatch(/trust height \d+ .* from (val-a|sentry-1|sentry-2); RPC servers/);
    expect(audit?.detail).toMatch(/snapshots from sentry-\d, sentry-\d/);
    // The daemon restores a snapshot and catches up; the pilot says so and turns state sync off.
    const result = await waitFor(
      async () => (await record(NEW))?.recentResults.find((r) => r.type === 'state-sync'),
      'the pilot to answer the state-sync action',
      { timeoutMs: 30_000 },
    );
    // The sentries take snapshots: they are its peers while it syncs.
    expect(result).toMatchObject({
      ok: true,
      message: expect.stringMatching(
        /^state sync from trust height \d+ .*; 2 snapshot peer\(s\) added; daemon started$/,
      ),
    });
    await waitFor(
      async () => (await record(NEW))?.lastReport?.bootstrap?.state === 'synced',
      'the new sentry state-synced and caught up',
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const synced = await status(NEW);
    expect(synced.sync_info.catching_up).toBe(false);
    expect(Number(synced.sync_info.latest_block_height)).toBeGreaterThanOrEqual(
      devnet.hub.chain.height() - 2,
    );
    // Its store starts at the snapshot it restored, not at genesis.
    const base = Number(synced.sync_info.earliest_block_height);
    expect(base).toBeGreaterThan(1);
    expect(base % SNAPSHOT_INTERVAL).toBe(0);
    const daemonLog = await fs.readFile(path.join(setup.stateDir, 'daemon.log'), 'utf8');
    expect(daemonLog).toMatch(new RegExp(`Snapshot restored.*height=${base}`));

    const config = parseToml(await fs.readFile(path.join(fresh.home, 'config', 'config.toml'), 'utf8')) as {
      statesync: Record<string, unknown>;
      p2p: Record<string, unknown>;
    };
    expect(config.statesync).toMatchObject({ enable: false, trust_period: '168h0m0s' });
    // Every healthy node of the fleet serves its RPC: a primary and two witnesses.
    expect(String(config.statesync.rpc_servers).split(',').sort()).toEqual(
      FLEET.map((n) => node(n).rpcUrl).sort(),
    );
    // The snapshot peers it was given are out of its config again; the validator Beam gives it stays.
    expect(String(config.p2p.persistent_peers)).not.toContain(node('sentry-1').cometNodeId);

    // It serves peers: the validator dials it (Beam's config for val-a lists it), it has peers.
    await waitFor(
      async () => (await peerIds('val-a')).includes(fresh.cometNodeId),
      'val-a peered with the new sentry',
      { timeoutMs: 30_000 },
    );
    expect((await peerIds(NEW)).length).toBeGreaterThan(0);
    const report = (await record(NEW))?.lastReport;
    expect(report?.daemon).toMatchObject({ running: true, catchingUp: false, stateSyncRpcUrl: fresh.rpcUrl });
    expect(report?.bootstrap).toMatchObject({ state: 'synced', trustHeight: expect.any(Number) });
    // No alert about it: it waited and synced as Beam expected (its health alerts were held).
    const alerts = (await commander.deps.store.listAlerts()).map((a) => a.value);
    const fired = alerts.filter((a) => a.nodeId === NEW && a.openedAt !== null);
    expect(fired.map((a) => `${a.key}: ${a.title} (${a.detail})`)).toEqual([]);
  }, 240_000);
});
