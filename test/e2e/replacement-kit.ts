/**
 * A validator fleet whose sentries are instances of an EC2 autoscaling group (the loopback
 * emulation), as the sentry replacement end-to-end test and its bench figure run it: devnet nodes
 * under cosmovisor, the self-hosted commander (embedded dynalite) with sentry defence on the
 * emulation, one real pilot process per node, and a loopback HTTP server holding the chain binary.
 *
 * The group's new instance is a new machine: a devnet sentry home with no chain data and no chain
 * binary (`addSentry` with `start: false`, its genesis binary removed), and a pilot whose config
 * proves the instance (IMDSv2), names the binary by a chain-registry URL with its sha256
 * (`?checksum=sha256:`) and waits for state sync (`[bootstrap] state_sync = true`). Nothing of another
 * node's data is copied to it.
 *
 * `followReplacement` watches one kill to the replacement serving peers at the tip and returns when
 * each step happened.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import type { ChatTransport, Platform } from '../../bots/model.js';
import { type RunningCommander, ServeConfig, serve } from '../../commander/server/serve.js';
import type { CommanderSettingsInput } from '../../commander/settings.js';
import { cosmovisorPaths } from '../../devnet/binary.js';
import { type Ec2Emulator, type Instance, startEc2Emulator } from '../../devnet/ec2/emulator.js';
import { type Devnet, type DevnetNode, startDevnet } from '../../devnet/index.js';
import { pilotConfigFor } from '../../local/pilot-config.js';
import { PilotProcess } from '../../local/pilot-process.js';
import { approveOnEnrollment } from '../helpers/approve.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase } from '../pilot/harness.js';

/** The autoscaling group of the sentries, and their `beam:fleet` tag (sentry defence's default). */
export const SENTRY_GROUP = 'beam-sentries';
export const FLEET_TAG = 'beam';
const TOKEN = 'replacement-kit-enrollment-token-0';

export interface FleetOptions {
  dir: string;
  /** Block time of the measured part; the chain starts at `startBlockTimeMs` (default the same). */
  blockTimeMs: number;
  /**
   * Block time until the chain is past what the network's nodes keep (so a new node must state-sync):
   * fast blocks get there in seconds, then `blockTimeMs` applies.
   */
  startBlockTimeMs?: number;
  /** Standby validator nodes beside `val-a` (0 or 1). */
  standby: number;
  sentries: number;
  /** What the network's nodes keep and every home's `min-retain-blocks`. */
  retainBlocks: number;
  /** The sentries' app.toml `snapshot-interval` (snapshot-keep-recent 2). */
  snapshotInterval: number;
  /** The pilots' and the commander's report interval. */
  reportIntervalMs: number;
  /** The commander's tick (node-cron, six fields for seconds). */
  tick: string;
  /** Commander settings over the fleet's (token, identity, auto-approve of proven sentries). */
  settings?: Partial<CommanderSettingsInput>;
  /** How long the autoscaling group takes to launch a replacement after a termination. */
  replacementDelayMs: number;
  transports?: Partial<Record<Platform, ChatTransport>>;
  /** The bundled pilot (pilot/build.ts) every node runs as installed; without it, the source through tsx. */
  pilotBundle?: string;
}

export interface Termination {
  instanceId: string;
  node: string | undefined;
  at: number;
}

/** A machine the autoscaling group launched in place of a terminated one. */
export interface Launch {
  /** The devnet node (and Beam node) name its pilot enrolls as. */
  name: string;
  instanceId: string;
  /** The node whose instance it replaces. */
  replacedNode: string | undefined;
  at: number;
  node: DevnetNode;
  pilot: PilotProcess;
  /** Its pilot's local HTTP, `/status`. */
  statusUrl: string;
  stateDir: string;
  logFile: string;
  /** Where `[daemon.binary]` installs the chain binary (cosmovisor's genesis bin). */
  binaryPath: string;
  /** The sha256 its config names (the URL's `?checksum=sha256:`). */
  sha256: string;
}

export interface ReplacementFleet {
  dir: string;
  devnet: Devnet;
  ec2: Ec2Emulator;
  commander: RunningCommander;
  pilots: Map<string, PilotProcess>;
  /** EC2 instance id of each sentry. */
  instances: Map<string, string>;
  validators: string[];
  /** The chain binary on the loopback server: its URL (no checksum), sha256, and every request's path. */
  binary: { url: string; sha256: string; requests: string[] };
  /** The sha256 the next launched instance's config names: the right one unless a test sets another. */
  launchSha256: string;
  launches: Launch[];
  terminations: Termination[];
  /** Crashes a node's machine (pilot and daemon at once); returns when it happened. */
  kill(name: string): Promise<number>;
  logFile(name: string): string;
  stop(): Promise<void>;
}

const hostOf = (p2pAddress: string) => p2pAddress.slice(0, p2pAddress.lastIndexOf(':'));

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export async function startReplacementFleet(o: FleetOptions): Promise<ReplacementFleet> {
  const cleanups: (() => Promise<void>)[] = [];
  let stopping = false;
  const stop = async () => {
    stopping = true;
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    cleanups.length = 0;
  };
  try {
    await fs.mkdir(path.join(o.dir, 'logs'), { recursive: true });
    const devnet = await startDevnet({
      dir: path.join(o.dir, 'devnet'),
      blockTimeMs: o.startBlockTimeMs ?? o.blockTimeMs,
      validators: 1,
      standby: o.standby,
      sentries: o.sentries,
      keyMode: 'signer',
      startNodes: false,
      // Blocks begin once the fleet's daemons are linked: they follow the chain from genesis.
      startBlocks: false,
      portBase: await freePortBase(),
      reset: true,
      retainBlocks: o.retainBlocks,
      snapshotInterval: o.snapshotInterval,
      // The validator is never promoted here (the background validators make the blocks): no jailing.
      params: { slashing: { signedBlocksWindow: 100_000 } },
    });
    cleanups.push(() => devnet.stop());
    const validators = devnet.info.nodes.filter((n) => n.role === 'validator').map((n) => n.name);

    // The chain binary a new machine downloads: the devnet daemon as every home has it.
    const first = devnet.info.nodes[0]!;
    const bytes = await fs.readFile(cosmovisorPaths(first.home).genesisBin);
    const requests: string[] = [];
    const binaryServer: Server = createServer((req, res) => {
      requests.push(req.url ?? '');
      res.end(bytes);
    });
    await new Promise<void>((r) => binaryServer.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => binaryServer.close(() => r())));
    const binary = {
      url: `http://127.0.0.1:${(binaryServer.address() as AddressInfo).port}/devnetd-v1.0.0-linux-amd64`,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      requests,
    };

    const tokenFile = path.join(o.dir, 'enrollment-token');
    await fs.writeFile(tokenFile, TOKEN, { mode: 0o600 });
    const pilots = new Map<string, PilotProcess>();
    const instances = new Map<string, string>();
    const launches: Launch[] = [];
    const terminations: Termination[] = [];
    const logFile = (name: string) => path.join(o.dir, 'logs', `pilot-${name}.log`);
    let commanderUrl = '';
    let ec2: Ec2Emulator;

    const startPilot = async (
      name: string,
      extra: Record<string, Record<string, unknown>>,
      bootstrap: boolean,
    ): Promise<{ pilot: PilotProcess; stateDir: string }> => {
      if (stopping) throw new Error(`the fleet is stopping: no pilot for ${name}`);
      const instanceId = instances.get(name);
      const setup = await pilotConfigFor(devnet.info, name, path.join(o.dir, 'pilots'), {
        commanderUrl,
        enrollmentTokenFile: tokenFile,
        reportIntervalMs: o.reportIntervalMs,
        cosmovisor: true,
        serveStateSync: true,
        bootstrapStateSync: bootstrap,
        ...(instanceId ? { imdsUrl: ec2.imdsUrl(instanceId) } : {}),
        extra,
      });
      if (o.pilotBundle) {
        // As installed: the service runs <install_dir>/current/beam-pilot.mjs.
        const current = path.join(setup.config.upgrade.install_dir, 'current');
        await fs.mkdir(current, { recursive: true });
        await fs.copyFile(o.pilotBundle, path.join(current, 'beam-pilot.mjs'));
      }
      const pilot = new PilotProcess(
        name,
        setup.file,
        setup.stateDir,
        logFile(name),
        setup.config.upgrade.install_dir,
      );
      pilots.set(name, pilot);
      pilot.start();
      return { pilot, stateDir: setup.stateDir };
    };

    /** The autoscaling group's new machine: an empty home, the pilot's config, and the pilot. */
    const launch = async (instance: Instance, replaced: Instance) => {
      const at = Date.now();
      const node = devnet.addSentry(undefined, { start: false });
      const binaryPath = cosmovisorPaths(node.home).genesisBin;
      // No chain binary and no chain data: what the pilot finds on a new machine.
      await fs.rm(binaryPath);
      if (existsSync(path.join(node.home, 'data', 'blockstore.db')))
        throw new Error(`${node.home} holds chain data`);
      instances.set(node.name, instance.instanceId);
      ec2.setPrivateIp(instance.instanceId, hostOf(node.p2pAddress));
      ec2.tagResource(instance.instanceId, { Name: node.name });
      const sha256 = fleet.launchSha256;
      const port = await freePort();
      const { pilot, stateDir } = await startPilot(
        node.name,
        {
          // As the chain registry writes codebase.binaries; the path is cosmovisor's genesis bin.
          daemon: { binary: { url: `${binary.url}?checksum=sha256:${sha256}` } },
          http: { listen: `127.0.0.1:${port}` },
        },
        true,
      );
      const replacedNode = [...instances].find(([, id]) => id === replaced.instanceId)?.[0];
      launches.push({
        name: node.name,
        instanceId: instance.instanceId,
        replacedNode,
        at,
        node,
        pilot,
        statusUrl: `http://127.0.0.1:${port}/status`,
        stateDir,
        logFile: logFile(node.name),
        binaryPath,
        sha256,
      });
    };

    ec2 = await startEc2Emulator({
      replacementDelayMs: o.replacementDelayMs,
      // A terminated sentry's machine is gone: its pilot and daemon with it.
      onTerminate: async (instance) => {
        const name = [...instances].find(([, id]) => id === instance.instanceId)?.[0];
        terminations.push({ instanceId: instance.instanceId, node: name, at: Date.now() });
        if (name) await pilots.get(name)?.crash();
      },
      onReplacementLaunched: launch,
    });
    cleanups.push(() => ec2.stop());
    for (const node of devnet.info.nodes.filter((n) => n.role === 'sentry')) {
      const instance = ec2.addInstance({
        name: node.name,
        privateIp: hostOf(node.p2pAddress),
        group: SENTRY_GROUP,
        tags: { 'beam:role': 'sentry', 'beam:managed': 'true', 'beam:fleet': FLEET_TAG },
      });
      instances.set(node.name, instance.instanceId);
    }

    const commander = await serve(
      ServeConfig.parse({
        listen: '127.0.0.1:0',
        stateDir: path.join(o.dir, 'commander'),
        tick: o.tick,
        settings: {
          enrollmentToken: TOKEN,
          reportIntervalMs: o.reportIntervalMs,
          // Sentries that prove their instance join alone; validators wait for an approval.
          autoApprove: { roles: ['sentry'] },
          identity: { ec2: { accountId: ec2.accountId, certificate: ec2.identityCertificate } },
          chat: Object.keys(o.transports ?? {}).map((platform) => ({ platform, chat: 'ops' })),
          failover: { keyMode: 'signer', mode: 'confirm', reportIntervalMs: o.reportIntervalMs },
          ...o.settings,
        },
        ec2: {
          endpoint: ec2.url,
          region: ec2.region,
          accessKeyId: 'devnet',
          secretAccessKey: 'devnet',
          maxAttempts: 3,
        },
      }),
      { transports: o.transports ?? {} },
    );
    commanderUrl = commander.url;
    cleanups.push(() => commander.close());
    cleanups.push(async () => {
      await Promise.all([...pilots.values()].map((p) => p.stop(2_000)));
    });

    const fleet: ReplacementFleet = {
      dir: o.dir,
      devnet,
      ec2,
      commander,
      pilots,
      instances,
      validators,
      binary,
      launchSha256: binary.sha256,
      launches,
      terminations,
      kill: async (name) => {
        const at = Date.now();
        await pilots.get(name)!.crash();
        return at;
      },
      logFile,
      stop,
    };

    const stall = { validator: { stall_after_ms: Math.max(1500, 4 * o.blockTimeMs) } };
    for (const node of devnet.info.nodes)
      await startPilot(node.name, node.role === 'validator' ? stall : {}, false);
    await approveOnEnrollment(commander.deps, validators, 60_000);
    await waitFor(
      () => devnet.info.nodes.every((n) => devnet.hub.nodes().some((x) => x.name === n.name && x.connected)),
      'the fleet linked to the network',
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    devnet.hub.startProducing();
    return fleet;
  } catch (error) {
    await stop();
    throw error;
  }
}

async function rpc<T>(url: string, method: string): Promise<T> {
  const res = await fetch(`${url}/${method}`, { signal: AbortSignal.timeout(2000) });
  return ((await res.json()) as { result: T }).result;
}

export type CometStatus = {
  node_info: { id: string };
  sync_info: { latest_block_height: string; earliest_block_height: string; catching_up: boolean };
};
export const cometStatus = (node: DevnetNode) => rpc<CometStatus>(node.rpcUrl, 'status');
export type NetPeer = { node_info: { id: string }; is_outbound: boolean };
export const netPeers = async (node: DevnetNode) =>
  (await rpc<{ peers: NetPeer[] }>(node.rpcUrl, 'net_info')).peers;

export function nodeOf(fleet: ReplacementFleet, name: string): DevnetNode {
  const node = fleet.devnet.info.nodes.find((n) => n.name === name);
  if (!node) throw new Error(`no devnet node ${name}`);
  return node;
}

/** Waits until the chain is past what every node of the fleet keeps: a new node can only state-sync. */
export async function pastRetention(fleet: ReplacementFleet, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      for (const node of fleet.devnet.info.nodes) {
        if (!fleet.pilots.get(node.name)?.running) continue;
        const s = await cometStatus(node);
        if (Number(s.sync_info.earliest_block_height) <= 1) return false;
      }
      return true;
    },
    'every node of the fleet to have pruned the first block',
    { timeoutMs, intervalMs: 500 },
  );
}

/** When each step of one replacement happened (epoch ms; null: not seen). */
export interface ReplacementTimeline {
  victim: string;
  replacement: string;
  killedAt: number;
  /** The instance shutting down: the commander's TerminateInstances reached EC2. */
  terminatedAt: number;
  /** The group's new instance launched (its pilot starts). */
  launchedAt: number;
  /** Enrolled (instance proven) and, for a proven sentry, approved at once. */
  enrolledAt: number;
  approvedAt: number;
  /** The chain binary downloaded, checked and in place (the pilot's log). */
  binaryInstalledAt: number | null;
  /** The commander queued the state-sync action (its audit entry). */
  stateSyncActionAt: number;
  /** The pilot wrote [statesync] and started the daemon (the action's result). */
  daemonStartedAt: number;
  /** The daemon restored a snapshot (its log) at this height. */
  snapshotRestoredAt: number | null;
  snapshotHeight: number | null;
  /** The daemon switched from blocksync to consensus: caught up (its log). */
  caughtUpAt: number | null;
  /** The pilot reported `synced` (state sync switched off again). */
  syncedAt: number | null;
  /** Every validator node has the replacement among its peers. */
  dialledAt: number;
  /** Dialled by every validator, at the tip and not catching up: serving peers. */
  servingAt: number;
}

/** `I[2026-12-07|15:21:00.448] message ...` (CometBFT's log, the devnet's daemon) → its time and text. */
function cometLines(text: string): { at: number; line: string }[] {
  return text.split('\n').flatMap((line) => {
    const m = /^[IE]\[(\d{4}-\d\d-\d\d)\|(\d\d:\d\d:\d\d\.\d{3})\] (.*)$/.exec(line);
    return m ? [{ at: Date.parse(`${m[1]}T${m[2]}Z`), line: m[3]! }] : [];
  });
}

/** The pilot's pino lines whose message matches. */
async function pilotLogTime(file: string, pattern: RegExp): Promise<number | null> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    try {
      const entry = JSON.parse(line) as { time?: number; msg?: string };
      if (entry.msg && pattern.test(entry.msg) && typeof entry.time === 'number') return entry.time;
    } catch {
      // not a log line (a stack trace, a partial line)
    }
  }
  return null;
}

/**
 * Follows the replacement of `victim` (killed at `killedAt`) until the group's new instance serves
 * peers: every validator node peered with it, at the tip and not catching up.
 */
export async function followReplacement(
  fleet: ReplacementFleet,
  victim: string,
  killedAt: number,
  { timeoutMs, intervalMs = 200 }: { timeoutMs: number; intervalMs?: number },
): Promise<ReplacementTimeline> {
  const store = fleet.commander.deps.store;
  const deadline = Date.now() + timeoutMs;
  let launch: Launch | undefined;
  let stateSyncActionAt: number | null = null;
  let dialledAt: number | null = null;
  let servingAt: number | null = null;
  const peered = new Set<string>();
  let last = 'nothing yet';
  while (servingAt === null) {
    if (Date.now() > deadline)
      throw new Error(`the replacement of ${victim} did not serve peers within ${timeoutMs} ms (${last})`);
    await new Promise((r) => setTimeout(r, intervalMs));
    launch ??= fleet.launches.find((l) => l.replacedNode === victim);
    if (!launch) {
      last = fleet.terminations.some((t) => t.node === victim)
        ? 'terminated, not launched'
        : 'not terminated';
      continue;
    }
    if (stateSyncActionAt === null) {
      const entry = (await store.listAudit(100)).find(
        (e) => e.action === 'state-sync' && e.target === launch!.name,
      );
      stateSyncActionAt = entry?.at ?? null;
      last = `${launch.name} launched, no state-sync action yet`;
    }
    try {
      const id = launch.node.cometNodeId;
      for (const v of fleet.validators) {
        if (peered.has(v)) continue;
        const peers = await netPeers(nodeOf(fleet, v));
        if (peers.some((p) => p.node_info.id === id)) peered.add(v);
      }
      // Seen once the answers are in (the daemon's own log times may be later than a poll's start).
      if (peered.size === fleet.validators.length) dialledAt ??= Date.now();
      const s = await cometStatus(launch.node);
      const atTip =
        !s.sync_info.catching_up &&
        Number(s.sync_info.latest_block_height) >= fleet.devnet.hub.chain.height() - 1;
      last = `${launch.name} at ${s.sync_info.latest_block_height} (catching up ${s.sync_info.catching_up}), peered with ${[...peered].join(', ') || 'no validator'}`;
      if (dialledAt !== null && atTip) servingAt = Date.now();
    } catch {
      // its daemon does not answer yet
    }
  }
  const replacement = launch!;
  // The pilot reports `synced` once its daemon caught up (its next report, or the one after).
  const record = await waitFor(
    async () => {
      const r = (await store.getNode(replacement.name))?.value;
      return r?.lastReport?.bootstrap?.syncedAt ? r : null;
    },
    `${replacement.name} to report synced`,
    { timeoutMs: Math.max(10_000, deadline - Date.now()), intervalMs },
  );
  const result = record.recentResults.find((r) => r.type === 'state-sync' && r.ok);
  const daemonLog = await fs.readFile(path.join(replacement.stateDir, 'daemon.log'), 'utf8').catch(() => '');
  const lines = cometLines(daemonLog);
  const restored = lines.find((l) => l.line.startsWith('Snapshot restored'));
  const caughtUp = lines.find((l) => l.line.startsWith('Time to switch to consensus mode'));
  return {
    victim,
    replacement: replacement.name,
    killedAt,
    terminatedAt: fleet.terminations.find((t) => t.node === victim)!.at,
    launchedAt: replacement.at,
    enrolledAt: record.enrolledAt,
    approvedAt: record.decidedAt ?? record.enrolledAt,
    binaryInstalledAt: await pilotLogTime(replacement.logFile, /^installed .* verified/),
    stateSyncActionAt: stateSyncActionAt!,
    daemonStartedAt: result!.finishedAt,
    snapshotRestoredAt: restored?.at ?? null,
    snapshotHeight: restored ? Number(/height=(\d+)/.exec(restored.line)?.[1]) : null,
    caughtUpAt: caughtUp?.at ?? null,
    syncedAt: record.lastReport?.bootstrap?.syncedAt ?? null,
    dialledAt: dialledAt!,
    servingAt,
  };
}

/** The timeline as seconds after the kill, for a log line. */
export function describeTimeline(t: ReplacementTimeline): string {
  const s = (at: number | null) => (at === null ? '–' : `+${((at - t.killedAt) / 1000).toFixed(1)} s`);
  return [
    `${t.victim} killed → ${t.replacement}:`,
    `terminated ${s(t.terminatedAt)}, launched ${s(t.launchedAt)}, enrolled ${s(t.approvedAt)},`,
    `binary ${s(t.binaryInstalledAt)}, state-sync action ${s(t.stateSyncActionAt)}, daemon ${s(t.daemonStartedAt)},`,
    `snapshot ${t.snapshotHeight ?? '–'} restored ${s(t.snapshotRestoredAt)}, caught up ${s(t.caughtUpAt)},`,
    `synced ${s(t.syncedAt)}, dialled ${s(t.dialledAt)}, serving ${s(t.servingAt)}`,
  ].join(' ');
}
