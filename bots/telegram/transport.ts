import type { ChatMessage, ChatTransport, MessageRef } from '../model.js';
import { TelegramBotApi } from './bot-api.js';
import { renderTelegram } from './html.js';

/** Sends and edits HTML messages through the Bot API (sendMessage / editMessageText). */
export class TelegramTransport implements ChatTransport {
  readonly platform = 'telegram' as const;

  constructor(private readonly api: TelegramBotApi) {}

  async post(chat: string, message: ChatMessage): Promise<MessageRef> {
    const { text, reply_markup } = renderTelegram(message);
    const sent = await this.api.sendMessage({
      chat_id: chat,
      text,
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
      ...(reply_markup ? { reply_markup } : {}),
    });
    return { platform: 'telegram', chat, messageId: String(sent.message_id) };
  }

  async update(ref: MessageRef, message: ChatMessage): Promise<void> {
    const { text, reply_markup } = renderTelegram(message);
    await this.api.editMessageText({
      chat_id: ref.chat,
      message_id: Number(ref.messageId),
      text,
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
      // Without buttons, an empty keyboard removes the old ones (e.g. a used confirmation).
      reply_markup: reply_markup ?? { inline_keyboard: [] },
    });
  }
}

/** A Telegram transport on the bot token: no Telegraf, so processes that only post stay small. */
export function createTelegramTransport(options: { botToken: string; apiRoot?: string }): TelegramTransport {
  return new TelegramTransport(new TelegramBotApi(options));
}
