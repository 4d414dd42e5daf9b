import { Telegram } from 'telegraf';

export interface BotCommand {
  /** 1-32 of a-z, 0-9 and _, as Telegram allows in a command name. */
  command: string;
  /** 1-256 characters. */
  description: string;
}

export interface TelegramSetup {
  botToken: string;
  /** Bot API root; tests point it at a loopback fake. */
  apiRoot?: string;
  /** The menu Telegram clients show when people type `/`. */
  commands: readonly BotCommand[];
  /** A webhook deployment: where updates go, and the secret each carries (checked by createTelegramBot). */
  webhook?: { url: string; secretToken: string };
}

/** The updates the bot handles (bots/telegram/bot.ts): others are never sent. */
const ALLOWED_UPDATES = ['message', 'callback_query'] as const;

/** Tells Telegram the bot's command menu (setMyCommands) and, for a webhook, its URL and secret token (setWebhook). */
export async function setUpTelegramBot(o: TelegramSetup): Promise<void> {
  const telegram = new Telegram(o.botToken, {
    webhookReply: false,
    ...(o.apiRoot ? { apiRoot: o.apiRoot } : {}),
  });
  await telegram.setMyCommands(o.commands);
  if (o.webhook) {
    await telegram.setWebhook(o.webhook.url, {
      secret_token: o.webhook.secretToken,
      allowed_updates: [...ALLOWED_UPDATES],
    });
  }
}
