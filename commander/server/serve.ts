import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cron from 'node-cron';
import { parse as parseToml } from 'smol-toml';
import * as z from 'zod';
import { ConsoleTransport } from '../../bots/console.js';
import type { ChatTransport, InputHandler, Platform } from '../../bots/model.js';
import { describeZodError } from '../../protocol/index.js';
import { Ec2Config, createCloud } from '../adapters/ec2/config.js';
import { FileKeys } from '../adapters/secrets/file-keys.js';
import { withRegistryChains } from '../app/chain-registry.js';
import type { CommanderDeps } from '../app/context.js';
import { failoverSettingsOf } from '../app/failover.js';
import { runTick } from '../app/tick.js';
import { chatSecretsFromEnv } from '../chat-env.js';
import { PublicUrl, setUpTelegram } from '../chat-setup.js';
import { buildDeps } from '../deps.js';
import { commanderLogger } from '../handlers/chat-common.js';
import { createHttpHandler } from '../handlers/routes.js';
import { CommanderMetrics } from '../metrics/prometheus.js';
import { tickWithFigures, timedReports } from '../metrics/observe.js';
import { CommanderSettings } from '../settings.js';
import { startChat } from './chat.js';
import { openDynamo } from './dynamo.js';
import { createLambdaServer, listen } from './http-adapter.js';

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
  /**
   * The https URL Slack and Telegram reach this commander at (a reverse proxy's): with it and
   * TELEGRAM_WEBHOOK_SECRET, the Telegram webhook is set at start.
   */
  publicUrl: PublicUrl.optional(),
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
  publicUrl?: string;
}

export function readConfigFile(path: string): Record<string, unknown> {
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
    ...(flags.publicUrl ? { publicUrl: flags.publicUrl } : {}),
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

/** Without `settings.secrets`, node secrets are sealed with `<stateDir>/node-secrets.key`, created once. */
function defaultSecretsKey(stateDir: string): { keyFile: string } {
  mkdirSync(resolve(stateDir), { recursive: true, mode: 0o700 });
  const keyFile = join(resolve(stateDir), 'node-secrets.key');
  FileKeys.createFile(keyFile);
  return { keyFile };
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
  const db = await openDynamo(config.stateDir, config.settings.dynamodbEndpoint, config.settings.tableName);
  // The chains added with `beam-commander chain add` fill in their settings (the bond denom).
  const settings = await withRegistryChains(
    CommanderSettings.parse({
      ...config.settings,
      dynamodbEndpoint: db.endpoint,
      secrets: config.settings.secrets ?? defaultSecretsKey(config.stateDir),
    }),
  );
  // Console destinations print to stdout; chat work passes Slack and Telegram transports in.
  const cloud = config.ec2 ? createCloud(config.ec2) : undefined;
  // One table of transports: the notifier reads it, and startChat adds Slack and Telegram to it.
  const transports = { ...(options.transports ?? { console: new ConsoleTransport(process.stdout) }) };
  const deps = buildDeps(settings, { transports, cloud, log: commanderLogger(chatSecrets) });
  // The command menu always; the webhook when Telegram comes by webhook and the public URL is known.
  const telegram = chatSecrets.telegram;
  if (telegram) await setUpTelegram(telegram, telegram.webhookSecret ? config.publicUrl : undefined);
  const chat = await startChat(deps, chatSecrets, transports);

  const metrics = new CommanderMetrics(deps.calls);
  const server = createLambdaServer(
    timedReports(createHttpHandler(deps, [...chat.routes, metrics.route()]), (seconds, status) =>
      metrics.observeReport(seconds, status),
    ),
  );
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
      const summary = await tickWithFigures(
        deps,
        () => runTick(deps),
        (figures, at, ms) => metrics.observeTick(figures, at, ms),
      );
      deps.log.info({ ...summary }, 'tick');
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
      await db.close();
    },
  };
}
