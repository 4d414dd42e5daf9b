/**
 * A sentry is killed and its replacement bootstraps from nothing, end to end on the devnet and the
 * EC2 emulation, as on AWS: the sentries are instances of an autoscaling group, each pilot proving
 * its instance through the emulated IMDSv2. The dead sentry's pilot falls silent, the commander's
 * sentry defence terminates its instance, and the group launches a new one: a home with no chain data
 * and no chain binary (nothing copied from another node), and a pilot whose config names the binary
 * by a chain-registry URL on a loopback HTTP server (`?checksum=sha256:`) and waits for state sync.
 * The pilot enrolls (approved on its proof), installs and checks the binary, keeps the daemon down
 * with its empty block store and says it waits; the commander answers with `state-sync`: the trust
 * height and hash from the fleet's healthy nodes, their RPC as the light client's servers, the
 * sentries that take snapshots as peers. The daemon (under cosmovisor) restores a snapshot, blocksyncs
 * to the tip, and both validator nodes dial it without a restart.
 *
 * Then a replacement whose configured sha256 is wrong: its pilot downloads the file, refuses it
 * (nothing written at the binary's path), keeps the daemon down and says why, in its status, in its
 * answer to the state-sync action, and (through the commander) in chat.
 *
 * The fleet: val-a and val-b (signer mode, never promoted: the 20 background validators make the
 * blocks) and two sentries that take a snapshot every 40 blocks (10 s: a snapshot lives 20 s, more
 * than the 15 s a state sync spends discovering them), on a chain past what every node keeps.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestReplacement } from '../../commander/app/sentry-ops.js';
import { loadSentryState, type ReplacementOp } from '../../commander/sentry/index.js';
import { RecordingTransport } from '../commander/helpers.js';
import { waitFor } from '../helpers/wait.js';
import {
  cometStatus,
  describeTimeline,
  followReplacement,
  netPeers,
  nodeOf,
  pastRetention,
  type ReplacementFleet,
  SENTRY_GROUP,
  startReplacementFleet,
} from './replacement-kit.js';

process.env.BEAM_LOG_LEVEL ??= 'warn';
const SNAPSHOT_INTERVAL = 40;
const VALIDATORS = ['val-a', 'val-b'];

let dir: string;
let fleet: ReplacementFleet;
const chat = new RecordingTransport('console');

const store = () => fleet.commander.deps.store;
const record = async (name: string) => (await store().getNode(name))?.value;
const node = (name: string) => nodeOf(fleet, name);
const configToml = async (name: string) =>
  parseToml(await fs.readFile(path.join(node(name).home, 'config', 'config.toml'), 'utf8')) as {
    statesync: Record<string, unknown>;
    p2p: Record<string, unknown>;
  };
const replacementOps = async (node: string) =>
  Object.values((await loadSentryState(store(), 'beam')).state.ops).filter(
    (op): op is ReplacementOp => op.kind === 'replacement' && op.node === node,
  );

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'beam-e2e-bootstrap-'));
  fleet = await startReplacementFleet({
    dir,
    blockTimeMs: 250,
    standby: 1,
    sentries: 2,
    retainBlocks: 30,
    snapshotInterval: SNAPSHOT_INTERVAL,
    reportIntervalMs: 500,
    tick: '* * * * * *',
    replacementDelayMs: 200,
    transports: { console: chat },
    settings: {
      enrollRetryMs: 200,
      // Sentry defence on a few seconds' scale: a sentry silent for 3 s + 4 s is replaced.
      sentry: {
        minHealthySentries: 1,
        freshReportMs: 3_000,
        replaceAfterMs: 4_000,
        cloudRetryBaseMs: 200,
        cloudRetryMaxMs: 1_000,
        pilotStepTimeoutMs: 30_000,
        replacementWaitMs: 60_000,
      },
      // Reports every 500 ms: the default 3 silent intervals (1.5 s) would call a pilot on a loaded
      // machine silent now and then, an alert of this test's pace, not of the replacement.
      thresholds: { silentIntervals: 10 },
      // A state sync that cannot go on is told at once, not after the minute a real fleet waits.
      alerts: { pendingMs: { 'state-sync-blocked': 500 } },
    },
  });
}, 90_000);

afterAll(async () => {
  await fleet?.stop();
  if (!process.env.KEEP_E2E_DIR) await fs.rm(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
});

describe('a killed sentry is replaced by a new machine that bootstraps from nothing', () => {
  it('the fleet serves state sync, and the sentries proved their instances', async () => {
    await waitFor(
      async () => {
        for (const n of fleet.devnet.info.nodes) {
          const d = (await record(n.name))?.lastReport?.daemon;
          if (!d?.latestBlockHash || d.stateSyncRpcUrl !== n.rpcUrl || d.catchingUp !== false) return false;
        }
        return true;
      },
      'every node reporting its RPC for state sync and its latest block hash',
      { timeoutMs: 30_000 },
    );
    expect((await record('sentry-1'))?.lastReport?.daemon.snapshotInterval).toBe(SNAPSHOT_INTERVAL);
    expect((await record('val-a'))?.lastReport?.daemon.snapshotInterval).toBe(0);
    for (const name of ['sentry-1', 'sentry-2']) {
      expect(await record(name)).toMatchObject({
        status: 'approved',
        decidedBy: 'auto-approve policy',
        instanceId: fleet.instances.get(name),
      });
      expect(fleet.ec2.instance(fleet.instances.get(name)!).tags['beam:node']).toBe(name);
    }
    // The chain is past what any node keeps: an empty store cannot blocksync from genesis.
    await pastRetention(fleet, 40_000);
  }, 60_000);

  it('the killed sentry is terminated; its replacement installs the binary, state-syncs and is dialled', async () => {
    const daemonPids = VALIDATORS.map((v) => fleet.pilots.get(v)!.daemonPid());
    const deadInstance = fleet.instances.get('sentry-1')!;
    const deadPeer = node('sentry-1').cometNodeId;
    const killedAt = await fleet.kill('sentry-1');
    const t = await followReplacement(fleet, 'sentry-1', killedAt, { timeoutMs: 90_000 });
    console.log(describeTimeline(t));
    const name = t.replacement;
    const launch = fleet.launches.find((l) => l.name === name)!;

    // Sentry defence: the silent sentry replaced by the commander; EC2 terminated it, the group launched one.
    const [op] = await replacementOps('sentry-1');
    expect(op).toMatchObject({ phase: 'done', requestedBy: 'commander', replacement: name });
    expect(op!.reason).toMatch(/pilot silent/);
    expect(fleet.ec2.instance(deadInstance).state).toBe('terminated');
    const instance = fleet.ec2.instance(launch.instanceId);
    expect(instance).toMatchObject({ state: 'running', group: SENTRY_GROUP });
    expect(instance.tags['beam:node']).toBe(name);
    expect(await store().getNode('sentry-1')).toBeNull();
    // The new machine proved its instance (IMDSv2) and joined without a person.
    expect(await record(name)).toMatchObject({
      role: 'sentry',
      status: 'approved',
      decidedBy: 'auto-approve policy',
      instanceId: launch.instanceId,
      identity: { kind: 'ec2', instanceId: launch.instanceId },
    });

    // The binary: downloaded once (without the registry's checksum parameter), verified, executable.
    expect(fleet.binary.requests).toEqual([new URL(fleet.binary.url).pathname]);
    const installed = await fs.readFile(launch.binaryPath);
    expect(createHash('sha256').update(installed).digest('hex')).toBe(fleet.binary.sha256);
    expect((await fs.stat(launch.binaryPath)).mode & 0o777).toBe(0o755);
    expect(t.binaryInstalledAt).not.toBeNull();

    // The state-sync action: from the commander, its trust from the fleet's healthy nodes, never
    // from the dead sentry; the sentry that takes snapshots as the peer to restore from.
    const audit = (await store().listAudit(300)).find((e) => e.action === 'state-sync' && e.target === name);
    expect(audit).toMatchObject({ actor: 'commander', outcome: 'ok' });
    // Up to three healthy nodes serve RPC for it (all three unless one's report came late): never
    // the dead sentry, and the one that takes snapshots first (the light client's primary).
    const servers = /RPC servers ([^;]+);/.exec(audit!.detail ?? '')?.[1]?.split(', ') ?? [];
    expect(servers[0]).toBe('sentry-2');
    expect(servers.length).toBeGreaterThanOrEqual(2);
    expect(['sentry-2', 'val-a', 'val-b']).toEqual(expect.arrayContaining(servers));
    expect(audit!.detail).toMatch(
      /^state-sync-\S+: trust height \d+ \([0-9A-F]{12}…\) from (val-a|val-b|sentry-2);/,
    );
    expect(audit!.detail).toMatch(/snapshots from sentry-2$/);
    const trustHeight = Number(/trust height (\d+)/.exec(audit!.detail!)![1]);
    const result = (await record(name))!.recentResults.find((r) => r.type === 'state-sync');
    expect(result?.ok).toBe(true);
    expect(result!.message).toMatch(
      new RegExp(
        `^state sync from trust height ${trustHeight} .*; 1 snapshot peer\\(s\\) added; daemon started$`,
      ),
    );

    // It restored a snapshot (its store starts there, not at genesis), caught up and serves.
    const synced = await cometStatus(launch.node);
    const base = Number(synced.sync_info.earliest_block_height);
    expect(base).toBe(t.snapshotHeight);
    expect(base).toBeGreaterThan(1);
    expect(base % SNAPSHOT_INTERVAL).toBe(0);
    expect(base).toBeGreaterThanOrEqual(trustHeight);
    expect(synced.sync_info.catching_up).toBe(false);
    expect(Number(synced.sync_info.latest_block_height)).toBeGreaterThanOrEqual(
      fleet.devnet.hub.chain.height() - 2,
    );
    const daemonLog = await fs.readFile(path.join(launch.stateDir, 'daemon.log'), 'utf8');
    expect(daemonLog).toMatch(/Applied snapshot chunk/);
    expect(daemonLog).toMatch(new RegExp(`Snapshot restored.*height=${base}`));
    await waitFor(async () => (await record(name))?.lastReport?.bootstrap?.state === 'synced', 'synced', {
      timeoutMs: 10_000,
    });
    const config = await configToml(name);
    expect(config.statesync).toMatchObject({
      enable: false,
      trust_height: trustHeight,
      trust_period: '168h0m0s',
    });
    expect(String(config.statesync.rpc_servers).split(',')).toEqual(servers.map((n) => node(n).rpcUrl));
    // The snapshot peer it was given is out of its config again.
    expect(String(config.p2p.persistent_peers)).not.toContain(node('sentry-2').cometNodeId);

    // The validators dialled it, without a restart: Beam's config for each names it instead of the
    // dead sentry, and their pilots pushed it to the running daemon (`dial-peers`).
    const id = launch.node.cometNodeId;
    for (const v of VALIDATORS) {
      expect((await netPeers(node(v))).map((p) => p.node_info.id)).toContain(id);
      await waitFor(
        async () => {
          const peers = String((await configToml(v)).p2p.persistent_peers);
          return peers.includes(`${id}@`) && !peers.includes(`${deadPeer}@`);
        },
        `${v} config.toml to list ${name} instead of sentry-1`,
        { timeoutMs: 10_000 },
      );
      const dialled = await waitFor(
        async () => {
          const validator = (await record(v))!;
          const version = validator.desiredConfig?.version;
          if (!validator.desiredConfig?.patch.p2p?.persistent_peers?.some((p) => p.startsWith(`${id}@`)))
            return undefined;
          return validator.recentResults.find((r) => r.id === `dial-${v}-${version}`);
        },
        `the dial-peers result of ${v} for the config naming ${name}`,
        { timeoutMs: 10_000 },
      );
      expect(dialled.ok).toBe(true);
    }
    expect(VALIDATORS.map((v) => fleet.pilots.get(v)!.daemonPid())).toEqual(daemonPids);

    // The steps happened in this order (the bench times them: npm run bench -- --only replacement).
    // The action's time is its tick's start, which may precede the enrollment that tick saw.
    const steps = {
      killed: t.killedAt,
      terminated: t.terminatedAt,
      launched: t.launchedAt,
      approved: t.approvedAt,
      daemonStarted: t.daemonStartedAt,
      snapshotRestored: t.snapshotRestoredAt!,
      caughtUp: t.caughtUpAt!,
      serving: t.servingAt,
    };
    const order = Object.entries(steps).sort(([, a], [, b]) => a - b);
    expect(order.map(([k]) => k)).toEqual(Object.keys(steps));
    expect(t.stateSyncActionAt).toBeLessThan(t.daemonStartedAt);
    expect(t.binaryInstalledAt!).toBeLessThan(t.daemonStartedAt);
    // No alert about it: it waited and synced as Beam expected (its health alerts were held).
    const fired = (await store().listAlerts())
      .map((a) => a.value)
      .filter((a) => a.nodeId === name && a.openedAt !== null);
    expect(fired.map((a) => `${a.key}: ${a.title} (${a.detail})`)).toEqual([]);
  }, 120_000);

  it('a replacement whose configured sha256 is wrong installs nothing and keeps its daemon down, saying why', async () => {
    const wrong = createHash('sha256').update('not the devnet binary').digest('hex');
    fleet.launchSha256 = wrong;
    // An operator's `replace sentry-2` this time: the same termination and launch, without the wait.
    const answer = await requestReplacement(fleet.commander.deps, {
      sentry: 'sentry-2',
      actor: { kind: 'cli', id: 'e2e' },
    });
    expect(answer, answer.summary).toMatchObject({ accepted: true });
    const launch = await waitFor(
      () => fleet.launches.find((l) => l.replacedNode === 'sentry-2'),
      'the replacement of sentry-2 launched',
      { timeoutMs: 20_000 },
    );
    const name = launch.name;
    const refusal = new RegExp(
      `has sha256 ${fleet.binary.sha256}, not the configured ${wrong} \\(\\[daemon\\.binary\\] sha256\\): nothing installed at ${launch.binaryPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
    );

    // The pilot fetched the file, found another sha256 and wrote nothing at the binary's path.
    const status = await waitFor(
      async () => {
        const s = (await (await fetch(launch.statusUrl)).json()) as { daemonHeld: string | null };
        return s.daemonHeld?.startsWith('the chain binary is not installed:') ? s : null;
      },
      'its pilot to hold the daemon for the refused binary',
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(status.daemonHeld).toMatch(refusal);
    expect(fleet.binary.requests.filter((r) => r === new URL(fleet.binary.url).pathname)).toHaveLength(2);
    await expect(fs.access(launch.binaryPath)).rejects.toThrow();
    expect(await fs.readdir(path.dirname(launch.binaryPath))).toEqual([]);
    expect(await fs.readFile(launch.logFile, 'utf8')).toMatch(refusal);

    // The commander's state-sync action is refused for it; the alert and chat say why.
    const result = await waitFor(
      async () => (await record(name))?.recentResults.find((r) => r.type === 'state-sync'),
      'its pilot to answer the state-sync action',
      { timeoutMs: 20_000 },
    );
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/^refused: the chain binary is not installed: /);
    expect(result.message).toMatch(refusal);
    const alert = await waitFor(
      async () => {
        const a = (await store().getAlert(`node:${name}:state-sync-blocked`))?.value;
        return a?.state === 'open' ? a : null;
      },
      'the state-sync-blocked alert',
      { timeoutMs: 15_000 },
    );
    expect(alert.detail).toMatch(refusal);
    const posted = await waitFor(
      () => chat.posts.find((p) => p.message.title === `${name} cannot state-sync`),
      'the alert in chat',
      { timeoutMs: 10_000 },
    );
    expect(JSON.stringify(posted.message)).toContain(wrong);

    // The daemon was never started: nothing on the chain's network, no pid, the report says so.
    const report = (await record(name))?.lastReport;
    expect(report?.daemon).toMatchObject({ running: false, desired: 'running' });
    expect(report?.bootstrap?.state).toBe('awaiting-state-sync');
    expect(launch.pilot.daemonPid()).toBeNull();
    expect(fleet.devnet.hub.nodes().some((n) => n.name === name)).toBe(false);
    // Another instance would fare no better: Beam does not replace a sentry waiting for state sync.
    expect(await replacementOps(name)).toEqual([]);
    expect(fleet.launches).toHaveLength(2);
  }, 60_000);
});
