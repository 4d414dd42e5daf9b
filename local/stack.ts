/**
 * The local stack: a devnet (one validator key on a primary and a standby node, sentries, funded
 * accounts, authz grants), the EC2 emulation, the self-hosted commander with embedded dynalite, and
 * one real `beam-pilot` process per node. Everything binds loopback addresses only.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ChatTransport, Platform } from '../bots/model.js';
import type { ServeConfig } from '../commander/server/serve.js';
import { CommanderApp } from '../commander/app/commander-app.js';
import type { Actor } from '../commander/app/context.js';
import { requestFailover } from '../commander/app/failover-ops.js';
import { listFailovers } from '../commander/app/failover.js';
import { isActive } from '../commander/failover/index.js';
import { type RunningCommander, serve } from '../commander/server/serve.js';
import { type Devnet, type DevnetNode, startDevnet } from '../devnet/index.js';
import { type Ec2Emulator, type Instance, startEc2Emulator } from '../devnet/ec2/emulator.js';
import { pilotConfigFor } from './pilot-config.js';
import { PilotProcess } from './pilot-process.js';
import { sweep } from './sweep.js';

/** The autoscaling group the emulated sentries belong to; terminating one starts a replacement. */
export const SENTRY_GROUP = 'beam-sentries';

export interface StackOptions {
  /** State directory (devnet homes, commander table, pilot state, logs). */
  dir: string;
  /** Wipe a previous stack's state in `dir` (without it, such a directory is refused). */
  reset?: boolean;
  blockTimeMs?: number;
  sentries?: number;
  /** First loopback port of the devnet nodes (p2p = base, rpc = base + 1 on each 127.0.0.x). */
  portBase?: number;
  /** Commander's host:port (port 0 picks a free one). */
  listen?: string;
  reportIntervalMs?: number;
  /** Chat transports the commander posts to (the console, Slack, Telegram). */
  transports?: Partial<Record<Platform, ChatTransport>>;
  /** Chat destinations: `platform:chat[:minSeverity]`, e.g. `console:console`. */
  chat?: { platform: Platform; chat: string }[];
  /** Extra commander settings merged over the local defaults (failover, sentry, governance, access...). */
  settings?: Record<string, unknown>;
  /** Progress lines while starting and stopping. */
  progress?: (line: string) => void;
}

export interface Stack {
  dir: string;
  devnet: Devnet;
  ec2: Ec2Emulator;
  commander: RunningCommander;
  pilots: Map<string, PilotProcess>;
  /** EC2 instance id of each node. */
  instances: Map<string, string>;
  /** Starts a pilot (and through it the daemon) for a node the devnet knows. */
  startPilot(nodeName: string): Promise<PilotProcess>;
  stop(): Promise<void>;
}

const MARKER = 'beam-local-stack';

/** Refuses a directory holding an earlier stack unless `reset`; the chain itself lives in memory. */
function prepareDir(dir: string, reset: boolean): void {
  const marker = path.join(dir, MARKER);
  if (existsSync(dir) && existsSync(marker)) {
    if (!reset)
      throw new Error(
        `${dir} holds an earlier local stack (its chain is gone with it): start with --reset to wipe it, or choose another --dir`,
      );
    rmSync(dir, { recursive: true, force: true });
  } else if (existsSync(dir) && reset) {
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  writeFileSync(marker, `${new Date().toISOString()}\n`);
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const dir = path.resolve(options.dir);
  const say = options.progress ?? (() => {});
  prepareDir(dir, options.reset ?? false);
  const reportIntervalMs = options.reportIntervalMs ?? 1000;
  const cleanups: (() => Promise<void>)[] = [];
  let stopping = false;
  const stopAll = async () => {
    stopping = true;
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    cleanups.length = 0;
  };

  // Pushed first, so it runs last: nothing started from the stack's folder outlives its stop.
  cleanups.push(async () => {
    const left = await sweep(dir);
    if (left.length > 0) say(`stopped ${left.length} process(es) still running from ${dir}`);
  });

  try {
    say('starting the devnet');
    const devnet = await startDevnet({
      dir: path.join(dir, 'devnet'),
      blockTimeMs: options.blockTimeMs ?? 1000,
      validators: 1,
      standby: 1,
      // Signer mode: each validator pilot is its daemon's remote signer; no daemon home holds the key.
      keyMode: 'signer',
      sentries: options.sentries ?? 3,
      ...(options.portBase ? { portBase: options.portBase } : {}),
      startNodes: false,
      // Pilots start the daemons; blocks begin once every node is linked (see below).
      startBlocks: false,
      // A window long enough that a failover's few missed blocks never jail the validator.
      params: { slashing: { signedBlocksWindow: 400 } },
      // Sentries snapshot often, so that a replacement state-syncs within seconds, not minutes.
      snapshotInterval: 20,
    });
    cleanups.push(() => devnet.stop());

    const token = randomBytes(24).toString('hex');
    const tokenFile = path.join(dir, 'enrollment-token');
    writeFileSync(tokenFile, token, { mode: 0o600 });
    const pilots = new Map<string, PilotProcess>();
    /** Sentries the autoscaling group launched as replacements: they start with no chain data. */
    const replacements = new Set<string>();
    const instances = new Map<string, string>();
    let commanderUrl = '';

    const startPilot = async (nodeName: string): Promise<PilotProcess> => {
      // A replacement instance launched while the stack stops gets no pilot behind the stop's back.
      if (stopping) throw new Error(`the local stack is stopping: no pilot for ${nodeName}`);
      const existing = pilots.get(nodeName);
      if (existing) {
        existing.start();
        return existing;
      }
      const instanceId = instances.get(nodeName);
      const role = devnet.info.nodes.find((n) => n.name === nodeName)?.role;
      const setup = await pilotConfigFor(devnet.info, nodeName, path.join(dir, 'pilots'), {
        commanderUrl,
        enrollmentTokenFile: tokenFile,
        reportIntervalMs,
        // Every daemon runs under cosmovisor, as operators run them: `chaos upgrade` switches binaries.
        cosmovisor: true,
        // Every node serves state sync; a replacement sentry waits for it rather than blocksync.
        serveStateSync: true,
        bootstrapStateSync: replacements.has(nodeName),
        // A sentry proves its instance through the emulated metadata service, as on EC2; a validator
        // waits for an operator's approval whatever it says.
        ...(instanceId && role === 'sentry' ? { imdsUrl: ec2.imdsUrl(instanceId) } : {}),
        ...(instanceId && role !== 'sentry' ? { instanceId } : {}),
        // The pilot's own cap on what auto-bond may delegate (nothing by default): 10,000 stake a day.
        extra: { limits: { max_delegate_per_action: '10000000000', max_delegate_per_day: '10000000000' } },
      });
      const pilot = new PilotProcess(
        nodeName,
        setup.file,
        setup.stateDir,
        path.join(dir, 'logs', `pilot-${nodeName}.log`),
        setup.config.upgrade.install_dir,
      );
      pilots.set(nodeName, pilot);
      pilot.start();
      return pilot;
    };

    say('starting the EC2 emulation');
    const ec2 = await startEc2Emulator({
      replacementDelayMs: 1000,
      // A terminated sentry's machine is gone: its pilot and daemon with it.
      onTerminate: async (instance: Instance) => {
        const name = nodeOf(instances, instance.instanceId);
        if (name) await pilots.get(name)?.crash();
      },
      // The autoscaling group's new machine: a new devnet sentry home on the instance's address, and
      // a pilot that proves the instance and enrolls it (the commander tags it beam:node).
      onReplacementLaunched: async (instance: Instance) => {
        const node: DevnetNode = devnet.addSentry(undefined, { start: false });
        replacements.add(node.name);
        instances.set(node.name, instance.instanceId);
        ec2.setPrivateIp(instance.instanceId, hostOf(node.p2pAddress));
        ec2.tagResource(instance.instanceId, { Name: node.name });
        await startPilot(node.name);
      },
    });
    cleanups.push(() => ec2.stop());
    for (const node of devnet.info.nodes) {
      const instance = ec2.addInstance({
        name: node.name,
        privateIp: hostOf(node.p2pAddress),
        // Beam acts only on sentries tagged as its own, of its fleet (sentry defence's default fleet);
        // `beam:node` it adds itself when it approves a sentry that proved its instance.
        tags: {
          'beam:role': node.role,
          'beam:managed': 'true',
          'beam:fleet': 'beam',
        },
        ...(node.role === 'sentry' ? { group: SENTRY_GROUP } : { autoPublicIp: false }),
      });
      instances.set(node.name, instance.instanceId);
    }

    say('starting the commander');
    const config: ServeConfig = {
      listen: options.listen ?? '127.0.0.1:0',
      stateDir: path.join(dir, 'commander'),
      tick: '* * * * * *',
      settings: {
        tableName: 'beam',
        enrollmentToken: token,
        reportIntervalMs,
        enrollRetryMs: 500,
        // Sentries that prove their instance join alone; validators wait for an approval (below).
        autoApprove: { roles: ['sentry'] },
        identity: { ec2: { accountId: ec2.accountId, certificate: ec2.identityCertificate } },
        chat: (options.chat ?? []).map((c) => ({ ...c, minSeverity: 'info' as const })),
        // A sentry here peers with the two validator nodes only. A pilot is silent after 10 s, as
        // failover counts silence: a second's report on a busy machine may well come 3 s late.
        thresholds: { minPeersWarn: 1, silentIntervals: 10 },
        // Sentry defence on a minute's scale instead of an hour's, so every step can be watched.
        sentry: {
          floodReportsToAct: 2,
          cooldownMs: 120_000,
          minHealthySentries: 1,
          freshReportMs: 5_000,
          replaceAfterMs: 15_000,
          cloudRetryBaseMs: 500,
          cloudRetryMaxMs: 5_000,
          pilotStepTimeoutMs: 60_000,
          replacementWaitMs: 120_000,
        },
        // Proposals here vote for minutes: reminders and auto-vote a minute before the end. The
        // validator account starts with 1e9 liquid: auto-bond acts once `chaos fund` tops it up.
        governance: {
          reminderOffsetsMs: [120_000],
          autoVote: { enabled: true, option: 'abstain', thresholdMs: 60_000, warnBeforeMs: 60_000 },
          autoBond: {
            enabled: true,
            threshold: '2000000000',
            feeReserve: '1000000',
            denom: devnet.info.denom,
            withdraw: false,
          },
        },
        ...options.settings,
      } as ServeConfig['settings'],
      // The emulation accepts any credentials; sentry defence rotates and replaces through it.
      ec2: {
        endpoint: ec2.url,
        region: ec2.region,
        accessKeyId: 'devnet',
        secretAccessKey: 'devnet',
        maxAttempts: 3,
      },
    };
    const commander = await serve(config, { transports: options.transports ?? {} });
    commanderUrl = commander.url;
    cleanups.push(() => commander.close());

    say('starting one pilot per node');
    cleanups.push(async () => {
      await Promise.all([...pilots.values()].map((p) => p.stop()));
    });
    for (const node of devnet.info.nodes) await startPilot(node.name);
    say('approving the validator nodes');
    await approveValidators(commander, devnet);
    await waitForNodes(devnet, NODE_BOOT_TIMEOUT_MS);
    devnet.hub.startProducing();
    say('promoting val-a: the first signer');
    await promoteFirstSigner(commander, devnet);

    return {
      dir,
      devnet,
      ec2,
      commander,
      pilots,
      instances,
      startPilot,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

const NODE_BOOT_TIMEOUT_MS = 60_000;
const LOCAL_STACK: Actor = { kind: 'cli', id: 'local-stack' };

/**
 * A new fleet has no signer: every pilot boots its daemon without the validator key (safe boot). The
 * stack does what an operator does once, `failover to <primary>`, as soon as the primary is running and
 * synced, then waits for the validator's first signature on chain.
 */
async function promoteFirstSigner(commander: RunningCommander, devnet: Devnet): Promise<void> {
  const validator = devnet.info.validators[0]!;
  const primary = devnet.info.nodes.find((n) => n.validator === validator.name)!.name;
  const deadline = Date.now() + NODE_BOOT_TIMEOUT_MS;
  let last = '';
  for (;;) {
    const answer = await requestFailover(commander.deps, { to: primary, actor: LOCAL_STACK });
    if (answer.accepted) break;
    last = answer.summary;
    if (Date.now() > deadline) throw new Error(`could not promote ${primary}: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const precommits = () =>
    devnet.hub
      .signatures({ address: validator.consensusAddress })
      .filter((r) => r.kind === 'precommit' && r.delivered).length;
  const start = precommits();
  while (precommits() <= start) {
    if (Date.now() > deadline) throw new Error(`${primary} was promoted but the validator does not sign`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // The first status people see must already show the signer: the operation is done once its
  // promote result is back, and the primary's next report says it holds the key.
  for (;;) {
    const ops = (await listFailovers(commander.deps.store)).map((f) => f.state.op);
    const report = (await commander.deps.store.getNode(primary))?.value.lastReport;
    if (!ops.some(isActive) && report?.custody?.holdsValidatorKey) return;
    if (Date.now() > deadline) throw new Error(`${primary} signs, but the commander does not see it yet`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Validators are never approved without a person: the stack does what an operator does once per
 * validator node, `approve <node>`, as each one's enrollment arrives.
 */
async function approveValidators(commander: RunningCommander, devnet: Devnet): Promise<void> {
  const app = new CommanderApp(commander.deps);
  const waiting = new Set(devnet.info.nodes.filter((n) => n.role === 'validator').map((n) => n.name));
  const deadline = Date.now() + NODE_BOOT_TIMEOUT_MS;
  while (waiting.size > 0) {
    for (const name of waiting) {
      const node = (await commander.deps.store.getNode(name))?.value;
      if (node?.status === 'pending') await app.approveNode(LOCAL_STACK, name);
      if (node && node.status !== 'pending') waiting.delete(name);
    }
    if (waiting.size === 0) return;
    if (Date.now() > deadline)
      throw new Error(`validators did not enroll: ${[...waiting].join(', ')} (see the pilot logs)`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Resolves once every devnet node's daemon (started by its pilot) is linked to the hub. */
async function waitForNodes(devnet: Devnet, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const names = devnet.info.nodes.map((n) => n.name);
  for (;;) {
    const linked = new Set(
      devnet.hub
        .nodes()
        .filter((n) => n.connected)
        .map((n) => n.name),
    );
    const missing = names.filter((name) => !linked.has(name));
    if (missing.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`nodes not up after ${timeoutMs} ms: ${missing.join(', ')} (see the pilot logs)`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const hostOf = (p2pAddress: string) => p2pAddress.slice(0, p2pAddress.lastIndexOf(':'));

function nodeOf(instances: Map<string, string>, instanceId: string): string | undefined {
  for (const [name, id] of instances) if (id === instanceId) return name;
  return undefined;
}
