/**
 * `POST /telegram/webhook`: the secret-token header checked, updates fed to ChatOps through Telegraf.
 * The Telegram Lambda and the self-hosted server (chat-routes.ts, which may poll instead) build it here.
 */
import type { Logger as PinoLogger } from 'pino';
import { createTelegramBot, type TelegramBot } from '../../bots/telegram/bot.js';
import { StoreDeduper } from '../adapters/store/chatops.js';
import type { CommanderDeps } from '../app/context.js';
import type { TelegramSecrets } from '../chat-env.js';
import type { ChatOps } from '../chatops/chatops.js';
import type { ChatRefusals, ChatRouteOptions, TransportTable } from './chat-common.js';
import type { Route } from './router.js';

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

/**
 * The Telegram bot, with its webhook route when a webhook secret is configured (without one the
 * self-hosted server polls with the bot); its transport goes into `transports`. Refused requests are
 * sampled into the chat audit, written before the response leaves.
 */
export function createTelegramChatBot(
  deps: CommanderDeps,
  chatops: ChatOps,
  telegram: TelegramSecrets,
  transports: TransportTable,
  wiring: { logger: PinoLogger; refusals: ChatRefusals; options?: ChatRouteOptions },
): { bot: TelegramBot; route?: Route } {
  const { logger, refusals, options = {} } = wiring;
  const bot = createTelegramBot(
    {
      botToken: telegram.botToken,
      ...(telegram.username
        ? { botInfo: telegramBotInfo({ ...telegram, username: telegram.username }) }
        : {}),
      logger,
      dedupe: options.dedupe ?? new StoreDeduper(deps.store, deps.now),
      ...(telegram.apiRoot ? { apiRoot: telegram.apiRoot } : {}),
      ...(telegram.webhookSecret ? { webhookSecret: telegram.webhookSecret } : {}),
      onRejected: (r) => refusals.record('telegram', r.reason),
    },
    chatops.handle,
  );
  transports.telegram = bot.transport;
  if (!telegram.webhookSecret) return { bot };
  return {
    bot,
    route: {
      method: 'POST',
      path: '/telegram/webhook',
      handle: async (r) => {
        const res = await bot.webhook({ headers: r.headers, body: r.body, isBase64Encoded: false });
        await refusals.settle();
        return { statusCode: res.status, headers: res.headers, body: res.body };
      },
    },
  };
}
