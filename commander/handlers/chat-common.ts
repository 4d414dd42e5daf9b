/**
 * What every chat-facing process shares, without Bolt or Telegraf (the pilot API and tick Lambdas
 * import this and must stay small): the redacting loggers, chat credentials in Lambda, post-only
 * transports, and the sampled audit of refused webhook requests.
 */
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';
import type { Deduper } from '../../bots/dedupe.js';
import { createBotLogger } from '../../bots/log.js';
import type { ChatTransport, Platform } from '../../bots/model.js';
import { createSlackTransport } from '../../bots/slack/transport.js';
import { createTelegramTransport } from '../../bots/telegram/transport.js';
import { StoreChatAudit } from '../adapters/store/chatops.js';
import type { CommanderDeps } from '../app/context.js';
import { RefusalSampler } from '../app/refusals.js';
import { type ChatEnvOptions, type ChatSecrets, chatSecretsFromEnv, secretValues } from '../chat-env.js';

/** Chat transports by platform; the Notifier holds the same record, so transports added here reach it. */
export type TransportTable = Partial<Record<Platform, ChatTransport>>;

export interface ChatRouteOptions {
  /** Where the bots' (redacting) logger writes; stdout by default. Tests capture it. */
  logDestination?: DestinationStream;
  logLevel?: string;
  /** Delivery keys shared across processes; the table by default. */
  dedupe?: Deduper;
  /** Retries of Bolt's own Web API calls (0 in tests). */
  slackRetries?: number;
  /** How long a Slack listener waits for ChatOps before answering Slack (2.5 s by default). */
  slackBudgetMs?: number;
}

/** The bots' logger for these secrets (on stderr): any secret value is replaced in every line. */
export function chatLogger(
  secrets: ChatSecrets,
  options: ChatRouteOptions = {},
  name = 'beam-chat',
): PinoLogger {
  return createBotLogger({
    secrets: secretValues(secrets),
    name,
    level: options.logLevel ?? process.env.BEAM_LOG_LEVEL ?? 'info',
    destination: options.logDestination ?? pino.destination(2),
  });
}

/**
 * The commander's own logger (deps.log) where chat credentials exist: delivery failures are logged
 * with the client's error message, and a Bot API URL in such a message embeds the bot token.
 */
export function commanderLogger(secrets: ChatSecrets, options: ChatRouteOptions = {}): PinoLogger {
  return chatLogger(secrets, options, 'beam-commander');
}

/**
 * Chat for a Lambda: credentials read leniently (a chat problem is logged and leaves that platform
 * out; the pilot API and the tick must keep running) and the commander's redacting logger.
 */
export async function lambdaChat(
  env: Record<string, string | undefined>,
  options: ChatRouteOptions & Pick<ChatEnvOptions, 'slackPostOnly'> = {},
): Promise<{ secrets: ChatSecrets; log: PinoLogger }> {
  const problems: string[] = [];
  const secrets = await chatSecretsFromEnv(env, {
    onProblem: (p) => problems.push(p),
    ...(options.slackPostOnly ? { slackPostOnly: true } : {}),
  });
  const log = commanderLogger(secrets, options);
  for (const problem of problems) log.error({ problem }, 'chat disabled in part: fix the environment');
  return { secrets, log };
}

/** Post-only transports (over fetch, no Bolt or Telegraf) for every platform with a bot token. */
export function createChatTransports(secrets: ChatSecrets): TransportTable {
  const { slack, telegram } = secrets;
  const transports: TransportTable = {};
  if (slack) {
    transports.slack = createSlackTransport({
      botToken: slack.botToken,
      ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}),
    });
  }
  if (telegram) {
    transports.telegram = createTelegramTransport({
      botToken: telegram.botToken,
      ...(telegram.apiRoot ? { apiRoot: telegram.apiRoot } : {}),
    });
  }
  return transports;
}

export interface ChatRefusals {
  /** Counts one refused request; never throws, never waits. */
  record(platform: Platform, reason: string): void;
  /** Writes what is due; the routes call it before they answer. */
  settle(): Promise<void>;
}

/**
 * Refused webhook requests (unsigned, forged, wrong secret, another workspace…), sampled into the
 * chat audit per platform, reason and minute (app/refusals.ts): `audit` in chat lists them.
 */
export function chatRefusals(deps: CommanderDeps): ChatRefusals {
  const audit = new StoreChatAudit(deps.store);
  const sampler = new RefusalSampler(
    (window, version) => {
      const [platform, reason] = window.kind.split(':', 2) as [Platform, string];
      return audit.put(
        window.key,
        {
          at: window.startedAt,
          platform,
          chat: '-',
          userId: '-',
          action: 'webhook request',
          allowed: false,
          reason,
          count: window.count,
        },
        version,
      );
    },
    deps.log,
    deps.now,
  );
  return {
    record: (platform, reason) => sampler.record(`${platform}:${reason}`, reason),
    settle: () => sampler.settle(),
  };
}
