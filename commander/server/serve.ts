import { mkdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import dynalite from 'dynalite';
import cron from 'node-cron';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { ConsoleTransport } from '../../bots/console.js';
import type { ChatTransport, InputHandler, Platform } from '../../bots/model.js';
import { describeZodError } from '../../protocol/index.js';
import { Ec2Config, createCloud } from '../adapters/ec2/config.js';
import { createDynamoClient } from '../adapters/store/client.js';
import { ensureTable } from '../adapters/store/table.js';
import type { CommanderDeps } from '../app/context.js';
import { failoverSettingsOf } from '../app/failover.js';
import { runTick } from '../app/tick.js';
import { chatSecretsFromEnv } from '../chat-env.js';
import { buildDeps } from '../deps.js';
import { commanderLogger } from '../handlers/chat-routes.js';
import { createHttpHandler } from '../handlers/routes.js';
import { CommanderSettings } from '../settings.js';
import { startChat } from './chat.js';
import { createLambdaServer } from './http-adapter.js';

/** The self-hosted commander's configuration: a TOML or JSON file, then command-line flags on top. */
export const ServeConfig = z.strictObject({
  /** host:port to listen on; port 0 picks a free one (printed at start). */
  listen: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, 'use host:port, e.g. 127.0.0.1:8080')
    .default('127.0.0.1:8080'),
  /** Where the embedded DynamoDB (dynalite) keeps its data; ignored with dynamodbEndpoint. */
  stateDir: z.string().min(1).default('.beam/commander'),
  /** Cron expression for the tick (node-cron; six fields allow seconds). */
  tick: z
    .string()
    .refine((t) => cron.validate(t), 'use a cron expression of 5 or 6 fields, e.g. */15 * * * * *')
    .default('*/15 * * * * *'),
  settings: CommanderSettings.omit({ tableName: true }).extend({ tableName: z.string().default('beam') }),
  /** EC2 for sentry defence (region, endpoint override, credentials); absent: no cloud operations. */
  ec2: Ec2Config.optional(),
});
export type ServeConfig = z.infer<typeof ServeConfig>;

export interface ServeFlags {
  config?: string;
  listen?: string;
  stateDir?: string;
  enrollmentToken?: string;
  autoApprove?: string;
  dynamodbEndpoint?: string;
  table?: string;
  tick?: string;
  reportIntervalMs?: string;
  chat?: string[];
  threshold?: string[];
}

function readConfigFile(path: string): Record<string, unknown> {
  const text = readFileSync(path, 'utf8');
  try {
    return path.endsWith('.json') ? JSON.parse(text) : parseToml(text);
  } catch (error) {
    throw new Error(`cannot parse ${path}: ${(error as Error).message}`);
  }
}

function numberFlag(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} ${value}: use a number`);
  return n;
}

/** Merges file, flags and BEAM_ENROLLMENT_TOKEN (so the token need not appear in the process list). */
export function loadServeConfig(
  flags: ServeFlags,
  env: Record<string, string | undefined> = process.env,
): ServeConfig {
  const file = flags.config ? readConfigFile(flags.config) : {};
  const settings = { ...((file.settings as Record<string, unknown>) ?? {}) };
  const fileThresholds = (settings.thresholds as Record<string, unknown>) ?? {};
  const thresholds: Record<string, unknown> = { ...fileThresholds };
  for (const pair of flags.threshold ?? []) {
    const [key, value] = pair.split('=');
    if (!key || value === undefined)
      throw new Error(`--threshold ${pair}: use name=value, e.g. silentIntervals=3`);
    thresholds[key] = numberFlag(`threshold ${key}`, value);
  }
  const token =
    flags.enrollmentToken ?? (settings.enrollmentToken as string | undefined) ?? env.BEAM_ENROLLMENT_TOKEN;
  const merged = {
    ...file,
    ...(flags.listen ? { listen: flags.listen } : {}),
    ...(flags.stateDir ? { stateDir: flags.stateDir } : {}),
    ...(flags.tick ? { tick: flags.tick } : {}),
    settings: {
      ...settings,
      thresholds,
      ...(token ? { enrollmentToken: token } : {}),
      ...(flags.table ? { tableName: flags.table } : {}),
      ...(flags.dynamodbEndpoint ? { dynamodbEndpoint: flags.dynamodbEndpoint } : {}),
      ...(flags.reportIntervalMs
        ? { reportIntervalMs: numberFlag('report-interval-ms', flags.reportIntervalMs) }
        : {}),
      ...(flags.autoApprove !== undefined
        ? {
            autoApprove: {
              ...((settings.autoApprove as object) ?? {}),
              roles: flags.autoApprove.split(',').filter(Boolean),
            },
          }
        : {}),
      ...(flags.chat?.length
        ? {
            chat: flags.chat.map((spec) => {
              const [platform, chat, minSeverity] = spec.split(':');
              return { platform, chat, ...(minSeverity ? { minSeverity } : {}) };
            }),
          }
        : {}),
    },
  };
  const parsed = ServeConfig.safeParse(merged);
  if (!parsed.success) {
    const hint = token
      ? ''
      : ' (give --enrollment-token, settings.enrollmentToken in the file, or BEAM_ENROLLMENT_TOKEN)';
    throw new Error(`invalid commander config: ${describeZodError(parsed.error)}${hint}`);
  }
  return parsed.data;
}

export interface RunningCommander {
  url: string;
  deps: CommanderDeps;
  /** ChatOps' input handler: feed it console lines and presses (see bots/console.ts startConsoleChat). */
  chat: InputHandler;
  close(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolvePromise(server.address() as AddressInfo));
  });
}

/** Starts the self-hosted commander: embedded or external DynamoDB, the HTTP handler, and the tick. */
export async function serve(
  config: ServeConfig,
  options: {
    transports?: Partial<Record<Platform, ChatTransport>>;
    /** Where Slack/Telegram credentials are read (SLACK_*, TELEGRAM_*); process.env by default. */
    env?: Record<string, string | undefined>;
  } = {},
): Promise<RunningCommander> {
  const chatSecrets = await chatSecretsFromEnv(options.env ?? process.env);
  // Failover timings that do not fit the report interval are refused before anything starts.
  failoverSettingsOf(config.settings);
  let db: Server | undefined;
  let endpoint = config.settings.dynamodbEndpoint;
  if (!endpoint) {
    const dir = resolve(config.stateDir, 'dynamodb');
    mkdirSync(dir, { recursive: true });
    db = dynalite({ path: join(dir), createTableMs: 0 });
    const address = await listen(db, '127.0.0.1', 0);
    endpoint = `http://127.0.0.1:${address.port}`;
  }
  const settings = CommanderSettings.parse({ ...config.settings, dynamodbEndpoint: endpoint });
  await ensureTable(createDynamoClient({ endpoint }), settings.tableName);
  // Console destinations print to stdout; chat work passes Slack and Telegram transports in.
  const cloud = config.ec2 ? createCloud(config.ec2) : undefined;
  // One table of transports: the notifier reads it, and startChat adds Slack and Telegram to it.
  const transports = { ...(options.transports ?? { console: new ConsoleTransport(process.stdout) }) };
  const deps = buildDeps(settings, { transports, cloud, log: commanderLogger(chatSecrets) });
  const chat = await startChat(deps, chatSecrets, transports);

  const server = createLambdaServer(createHttpHandler(deps, chat.routes));
  const [host, portText] = [
    config.listen.slice(0, config.listen.lastIndexOf(':')),
    config.listen.split(':').pop()!,
  ];
  const address = await listen(server, host, Number(portText));
  const url = `http://${host}:${address.port}`;

  let ticking = false;
  const task = cron.schedule(config.tick, async () => {
    if (ticking) return; // a slow tick is never overlapped by the next
    ticking = true;
    try {
      deps.log.info({ ...(await runTick(deps)) }, 'tick');
    } catch (error) {
      deps.log.error({ err: (error as Error).message }, 'tick failed');
    } finally {
      ticking = false;
    }
  });

  return {
    url,
    deps,
    chat: chat.handle,
    async close() {
      await task.stop();
      await chat.stop();
      cloud?.close();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
      if (db) await new Promise<void>((r) => db.close(() => r()));
    },
  };
}
