/**
 * Both chat webhooks in one process, as the self-hosted server runs them: `POST /slack/events` and
 * `POST /telegram/webhook` feeding one ChatOps. In AWS each is a Lambda of its own (slack.ts,
 * telegram.ts), so that neither carries the other's libraries or secrets.
 */
import type { Logger as PinoLogger } from 'pino';
import type { SlackRoute } from '../../bots/slack/app.js';
import type { TelegramBot } from '../../bots/telegram/bot.js';
import type { CommanderDeps } from '../app/context.js';
import type { ChatSecrets } from '../chat-env.js';
import type { ChatOps } from '../chatops/chatops.js';
import { type ChatRouteOptions, chatLogger, chatRefusals, type TransportTable } from './chat-common.js';
import type { Route } from './router.js';
import { createSlackChatRoute } from './slack-route.js';
import { createTelegramChatBot } from './telegram-route.js';

export interface ChatRoutes {
  routes: Route[];
  /** The bots' logger: it redacts every chat secret. */
  logger: PinoLogger;
  slack?: SlackRoute;
  telegram?: TelegramBot;
}

/**
 * Builds the chat routes for the configured platforms and puts their transports into `transports`
 * (the Notifier's table), so the commander's own messages go out through the same clients. Slack's
 * route exists when a signing secret is configured (and needs `access.slack.teamId`); Telegram's
 * when a webhook secret is (the Telegram bot is built either way: without a webhook the self-hosted
 * server polls with it).
 */
export function createChatRoutes(
  deps: CommanderDeps,
  chatops: ChatOps,
  secrets: ChatSecrets,
  transports: TransportTable,
  options: ChatRouteOptions = {},
): ChatRoutes {
  const logger = chatLogger(secrets, options);
  const wiring = { logger, refusals: chatRefusals(deps), options };
  const out: ChatRoutes = { routes: [], logger };
  const { slack, telegram } = secrets;
  if (slack?.signingSecret) {
    const built = createSlackChatRoute(
      deps,
      chatops,
      { ...slack, signingSecret: slack.signingSecret },
      transports,
      wiring,
    );
    out.slack = built.slack;
    out.routes.push(built.route);
  }
  if (telegram) {
    const built = createTelegramChatBot(deps, chatops, telegram, transports, wiring);
    out.telegram = built.bot;
    if (built.route) out.routes.push(built.route);
  }
  return out;
}
