/**
 * The chat webhooks: `POST /slack/events` (Bolt's AwsLambdaReceiver verifies the signature) and
 * `POST /telegram/webhook` (secret-token header), both feeding one ChatOps. The same routes run in
 * Lambda and in the self-hosted server.
 */
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';
import type { Deduper } from '../../bots/dedupe.js';
import { createBotLogger } from '../../bots/log.js';
import type { ChatTransport, Platform } from '../../bots/model.js';
import { createSlackRoute, type SlackRoute } from '../../bots/slack/app.js';
import { createSlackTransport } from '../../bots/slack/transport.js';
import { createTelegramBot, type TelegramBot } from '../../bots/telegram/bot.js';
import { createTelegramTransport } from '../../bots/telegram/transport.js';
import { StoreDeduper } from '../adapters/store/chatops.js';
import type { CommanderDeps } from '../app/context.js';
import type { ChatSecrets, SlackSecrets, TelegramSecrets } from '../chat-env.js';
import { chatSecretsFromEnv, secretValues } from '../chat-env.js';
import type { ChatOps } from '../chatops/chatops.js';
import type { Route } from './router.js';

/** Chat transports by platform; the Notifier holds the same record, so transports added here reach it. */
export type TransportTable = Partial<Record<Platform, ChatTransport>>;

export interface ChatRouteOptions {
  /** Where the bots' (redacting) logger writes; stdout by default. Tests capture it. */
  logDestination?: DestinationStream;
  logLevel?: string;
  /** Delivery keys shared across processes; the table by default. */
  dedupe?: Deduper;
  /** Slack's Web API retries (0 in tests). */
  slackRetries?: number;
  /** How long a Slack listener waits for ChatOps before answering Slack (2.5 s by default). */
  slackBudgetMs?: number;
}

export interface ChatRoutes {
  routes: Route[];
  /** The bots' logger: it redacts every chat secret. */
  logger: PinoLogger;
  slack?: SlackRoute;
  telegram?: TelegramBot;
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
  options: ChatRouteOptions = {},
): Promise<{ secrets: ChatSecrets; log: PinoLogger }> {
  const problems: string[] = [];
  const secrets = await chatSecretsFromEnv(env, { onProblem: (p) => problems.push(p) });
  const log = commanderLogger(secrets, options);
  for (const problem of problems) log.error({ problem }, 'chat disabled in part: fix the environment');
  return { secrets, log };
}

/** Telegram's botInfo, preset from configuration (the bot id is the token's numeric prefix). */
export function telegramBotInfo(telegram: TelegramSecrets & { username: string }) {
  return {
    id: Number(telegram.botToken.split(':')[0]),
    is_bot: true as const,
    first_name: telegram.username,
    username: telegram.username,
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
  };
}

export function slackAppOptions(
  slack: SlackSecrets,
  logger: PinoLogger,
  dedupe: Deduper,
  o: ChatRouteOptions,
) {
  return {
    botToken: slack.botToken,
    ...(slack.botId && slack.botUserId ? { botId: slack.botId, botUserId: slack.botUserId } : {}),
    logger,
    dedupe,
    ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}),
    ...(o.slackRetries !== undefined ? { retries: o.slackRetries } : {}),
    ...(o.slackBudgetMs !== undefined ? { budgetMs: o.slackBudgetMs } : {}),
  };
}

/**
 * Builds the chat routes for the configured platforms and puts their transports into `transports`
 * (the Notifier's table), so the commander's own messages go out through the same clients. Slack's
 * route exists when a signing secret is configured; Telegram's when a webhook secret is (the Telegram
 * bot is built either way: without a webhook the self-hosted server polls with it).
 */
export function createChatRoutes(
  deps: CommanderDeps,
  chatops: ChatOps,
  secrets: ChatSecrets,
  transports: TransportTable,
  options: ChatRouteOptions = {},
): ChatRoutes {
  const logger = chatLogger(secrets, options);
  const dedupe = options.dedupe ?? new StoreDeduper(deps.store, deps.now);
  const rejected = (platform: Platform, reason: string) => {
    chatops.recordRejectedRequest(platform, reason).catch((error: unknown) => {
      logger.error({ err: (error as Error).message, platform }, 'auditing a refused request failed');
    });
  };
  const routes: Route[] = [];
  const out: ChatRoutes = { routes, logger };

  const { slack, telegram } = secrets;
  if (slack?.signingSecret) {
    const route = createSlackRoute(
      {
        ...slackAppOptions(slack, logger, dedupe, options),
        signingSecret: slack.signingSecret,
        onRejected: (r) => rejected('slack', r.reason),
      },
      chatops.handle,
    );
    transports.slack = route.transport;
    out.slack = route;
    routes.push({
      method: 'POST',
      path: '/slack/events',
      // The router has decoded a base64 body as UTF-8 already.
      handle: async (r) => {
        const res = await route.handle({ headers: r.headers, body: r.body, isBase64Encoded: false });
        return { statusCode: res.status, headers: res.headers, body: res.body };
      },
    });
  }

  if (telegram) {
    const bot = createTelegramBot(
      {
        botToken: telegram.botToken,
        ...(telegram.username
          ? { botInfo: telegramBotInfo({ ...telegram, username: telegram.username }) }
          : {}),
        logger,
        dedupe,
        ...(telegram.apiRoot ? { apiRoot: telegram.apiRoot } : {}),
        ...(telegram.webhookSecret ? { webhookSecret: telegram.webhookSecret } : {}),
        onRejected: (r) => rejected('telegram', r.reason),
      },
      chatops.handle,
    );
    transports.telegram = bot.transport;
    out.telegram = bot;
    if (telegram.webhookSecret) {
      routes.push({
        method: 'POST',
        path: '/telegram/webhook',
        handle: async (r) => {
          const res = await bot.webhook({ headers: r.headers, body: r.body, isBase64Encoded: false });
          return { statusCode: res.status, headers: res.headers, body: res.body };
        },
      });
    }
  }
  return out;
}

/** Transports for a process that posts but takes no chat input (the scheduled tick in Lambda). */
export function createChatTransports(secrets: ChatSecrets, options: ChatRouteOptions = {}): TransportTable {
  const { slack, telegram } = secrets;
  const transports: TransportTable = {};
  if (slack) {
    transports.slack = createSlackTransport({
      botToken: slack.botToken,
      logger: chatLogger(secrets, options),
      ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}),
      ...(options.slackRetries !== undefined ? { retries: options.slackRetries } : {}),
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
