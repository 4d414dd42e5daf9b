import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { Telegraf } from 'telegraf';
import type { Update, UserFromGetMe } from 'telegraf/types';
import * as z from 'zod';
import { type Deduper, memoryDeduper } from '../dedupe.js';
import { deliverReplies } from '../deliver.js';
import type { ChatInput, ChatMessage, InputHandler } from '../model.js';
import type { HttpRequest, HttpResponse } from '../http.js';
import { alertText } from './html.js';
import { createTelegramTransport, type TelegramTransport } from './transport.js';

export interface TelegramBotOptions {
  botToken: string;
  /** The bot's own `getMe` answer, preset so that no cold start calls getMe (without it, one call per process). */
  botInfo?: UserFromGetMe;
  logger: Logger;
  /** Bot API root; tests point it at a loopback fake. */
  apiRoot?: string;
  /** The `secret_token` given to setWebhook; required for the webhook route. */
  webhookSecret?: string;
  /** Told about every refused webhook request, for the audit log. */
  onRejected?: (rejection: { reason: 'missing secret' | 'wrong secret' | 'unparseable' }) => void;
  /** Remembers update ids so that Telegram's redeliveries are handled once. */
  dedupe?: Deduper;
}

/** The fields Beam relies on before Telegraf sees an update. */
const UpdateEnvelope = z.looseObject({ update_id: z.number().int().nonnegative() });

/** Compares secrets in constant time whatever their lengths (hashing equalizes them). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Splits `/cmd@bot args` into Beam's command text: `/status` → `status`, `/beam status` → `status`,
 * `/start` → `help`.
 * Returns undefined for commands addressed to another bot.
 */
export function commandText(text: string, botUsername: string): string | undefined {
  const match = /^\/([A-Za-z0-9_-]+)(?:@([A-Za-z0-9_]+))?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!match) return undefined;
  const [, command, addressee, rest = ''] = match;
  if (addressee && addressee.toLowerCase() !== botUsername.toLowerCase()) return undefined;
  // Telegram command names cannot contain '-', so `/rotate_ip` means `rotate-ip`.
  const name = command!.toLowerCase().replace(/_/g, '-');
  if (name === 'beam') return rest.trim();
  // Telegram clients send `/start` when a chat with the bot opens.
  return name === 'start' ? 'help' : `${name} ${rest}`.trim();
}

export interface TelegramBot {
  /** Handles `POST /telegram/webhook`: checks the secret-token header, then the update. Always 200 once verified. */
  webhook(request: HttpRequest): Promise<HttpResponse>;
  /** Long polling for self-hosted and local use (it deletes the webhook: use a bot token of its own). */
  startPolling(): Promise<void>;
  stop(): Promise<void>;
  transport: TelegramTransport;
  bot: Telegraf;
}

export function createTelegramBot(options: TelegramBotOptions, onInput: InputHandler): TelegramBot {
  const { logger } = options;
  const dedupe = options.dedupe ?? memoryDeduper();
  const bot = new Telegraf(options.botToken, {
    telegram: { webhookReply: false, ...(options.apiRoot ? { apiRoot: options.apiRoot } : {}) },
  });
  if (options.botInfo) bot.botInfo = options.botInfo;
  const transport = createTelegramTransport({
    botToken: options.botToken,
    ...(options.apiRoot ? { apiRoot: options.apiRoot } : {}),
  });

  // Telegraf's default handler rethrows, and Telegram would redeliver the update forever.
  bot.catch((error, ctx) => {
    logger.error({ err: error, updateId: ctx.update.update_id }, 'telegram: handling an update failed');
  });

  bot.use(async (ctx, next) => {
    if (await dedupe.seen(`telegram:${ctx.update.update_id}`)) {
      logger.info({ updateId: ctx.update.update_id }, 'telegram: duplicate update ignored');
      return;
    }
    await next();
  });

  const dispatch = async (input: ChatInput, replyPrivately: (message: ChatMessage) => Promise<void>) =>
    deliverReplies(input, await onInput(input), transport, replyPrivately);

  bot.on('text', async (ctx) => {
    const text = commandText(ctx.message.text, ctx.botInfo.username);
    if (text === undefined) return;
    const user = String(ctx.from.id);
    // Refusals and errors go to the person's private chat with the bot, never to the group: a
    // stranger cannot make the bot talk in the group. Telegram lets a bot write only to users who
    // started a chat with it; anyone else gets no answer, and the log says so.
    const replyPrivately = async (message: ChatMessage) => {
      await transport.post(user, message).catch((error: unknown) => {
        logger.info({ err: (error as Error).message, user }, 'telegram: private answer not delivered');
      });
    };
    await dispatch(
      {
        kind: 'command',
        platform: 'telegram',
        chat: String(ctx.chat.id),
        user: { id: user, name: ctx.from.username ?? ctx.from.first_name },
        text,
      },
      replyPrivately,
    );
  });

  bot.on('callback_query', async (ctx) => {
    const query = ctx.callbackQuery;
    const message = query.message;
    // A private answer to a press is an alert only the presser sees (answerCallbackQuery).
    let alert: string | undefined;
    try {
      if (!('data' in query) || !message) return;
      const chat = String(message.chat.id);
      await dispatch(
        {
          kind: 'button',
          platform: 'telegram',
          chat,
          user: { id: String(query.from.id), name: query.from.username ?? query.from.first_name },
          buttonId: query.data,
          message: { platform: 'telegram', chat, messageId: String(message.message_id) },
        },
        async (m) => {
          alert = alertText(m);
        },
      );
    } finally {
      // Answered whatever happened, so the client stops its spinner.
      await (alert === undefined ? ctx.answerCbQuery() : ctx.answerCbQuery(alert, { show_alert: true }));
    }
  });

  const refuse = (
    status: number,
    reason: 'missing secret' | 'wrong secret' | 'unparseable',
  ): HttpResponse => {
    logger.warn({ reason }, 'telegram: webhook request refused');
    options.onRejected?.({ reason });
    return { status, headers: {}, body: '' };
  };

  let polling: Promise<void> | undefined;

  return {
    bot,
    transport,
    async webhook(request) {
      if (!options.webhookSecret)
        throw new Error('telegram webhook needs webhookSecret (the setWebhook secret_token)');
      const key = Object.keys(request.headers).find(
        (k) => k.toLowerCase() === 'x-telegram-bot-api-secret-token',
      );
      const given = key === undefined ? undefined : request.headers[key];
      if (!given) return refuse(401, 'missing secret');
      if (!sameSecret(given, options.webhookSecret)) return refuse(401, 'wrong secret');
      const raw =
        request.body !== undefined && request.isBase64Encoded
          ? Buffer.from(request.body, 'base64').toString('utf8')
          : (request.body ?? '');
      let update: Update;
      try {
        update = UpdateEnvelope.parse(JSON.parse(raw)) as unknown as Update;
      } catch {
        return refuse(400, 'unparseable');
      }
      // Errors are logged by bot.catch; Telegram always gets 200 so it does not redeliver.
      await bot.handleUpdate(update);
      return { status: 200, headers: {}, body: '' };
    },
    async startPolling() {
      let started!: () => void;
      const launched = new Promise<void>((resolve) => {
        started = resolve;
      });
      polling = bot
        .launch({ dropPendingUpdates: false }, () => started())
        .catch((error: unknown) => {
          logger.error({ err: error }, 'telegram: polling stopped');
        });
      await Promise.race([launched, polling]);
    },
    async stop() {
      if (polling) {
        bot.stop('beam stop');
        await polling;
        polling = undefined;
      }
    },
  };
}
