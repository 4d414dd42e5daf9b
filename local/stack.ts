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
import { type RunningCommander, serve } from '../commander/server/serve.js';
import { type Devnet, type DevnetNode, startDevnet } from '../devnet/index.js';
import { type Ec2Emulator, type Instance, startEc2Emulator } from '../devnet/ec2/emulator.js';
import { pilotConfigFor } from './pilot-config.js';
import { PilotProcess } from './pilot-process.js';

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
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    cleanups.length = 0;
  };

  try {
    say('starting the devnet');
    const devnet = await startDevnet({
      dir: path.join(dir, 'devnet'),
      blockTimeMs: options.blockTimeMs ?? 1000,
      validators: 1,
      standby: 1,
      sentries: options.sentries ?? 3,
      ...(options.portBase ? { portBase: options.portBase } : {}),
      startNodes: false,
    });
    cleanups.push(() => devnet.stop());

    const token = randomBytes(24).toString('hex');
    const tokenFile = path.join(dir, 'enrollment-token');
    writeFileSync(tokenFile, token, { mode: 0o600 });
    const pilots = new Map<string, PilotProcess>();
    const instances = new Map<string, string>();
    let commanderUrl = '';

    const startPilot = async (nodeName: string): Promise<PilotProcess> => {
      const existing = pilots.get(nodeName);
      if (existing) {
        existing.start();
        return existing;
      }
      const instanceId = instances.get(nodeName);
      const setup = await pilotConfigFor(devnet.info, nodeName, path.join(dir, 'pilots'), {
        commanderUrl,
        enrollmentTokenFile: tokenFile,
        reportIntervalMs,
        ...(instanceId ? { instanceId } : {}),
      });
      const pilot = new PilotProcess(
        nodeName,
        setup.file,
        setup.stateDir,
        path.join(dir, 'logs', `pilot-${nodeName}.log`),
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
      // The autoscaling group's new machine: a new devnet sentry home, and a pilot that enrolls it.
      onReplacementLaunched: async (instance: Instance) => {
        const node: DevnetNode = devnet.addSentry(undefined, { start: false });
        instances.set(node.name, instance.instanceId);
        ec2.tagResource(instance.instanceId, { Name: node.name, 'beam:node': node.name });
        await startPilot(node.name);
      },
    });
    cleanups.push(() => ec2.stop());
    for (const node of devnet.info.nodes) {
      const instance = ec2.addInstance({
        name: node.name,
        // Beam acts only on sentries tagged as its own, of its fleet (sentry defence's default fleet).
        tags: {
          'beam:node': node.name,
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
        autoApprove: { roles: ['validator', 'sentry'], requireInstanceId: false },
        chat: (options.chat ?? []).map((c) => ({ ...c, minSeverity: 'info' as const })),
        ...options.settings,
      } as ServeConfig['settings'],
      // The emulation accepts any credentials; sentry defence rotates and replaces through it.
      ec2: {
        endpoint: ec2.url,
        region: 'us-east-1',
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

function nodeOf(instances: Map<string, string>, instanceId: string): string | undefined {
  for (const [name, id] of instances) if (id === instanceId) return name;
  return undefined;
}
