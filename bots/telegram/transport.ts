import { Telegram } from 'telegraf';
import type { ChatMessage, ChatTransport, MessageRef } from '../model.js';
import { renderTelegram } from './html.js';

/** Sends and edits HTML messages through the Bot API (sendMessage / editMessageText). */
export class TelegramTransport implements ChatTransport {
  readonly platform = 'telegram' as const;

  constructor(private readonly telegram: Telegram) {}

  async post(chat: string, message: ChatMessage): Promise<MessageRef> {
    const { text, reply_markup } = renderTelegram(message);
    const sent = await this.telegram.sendMessage(chat, text, {
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
      ...(reply_markup ? { reply_markup } : {}),
    });
    return { platform: 'telegram', chat, messageId: String(sent.message_id) };
  }

  async update(ref: MessageRef, message: ChatMessage): Promise<void> {
    const { text, reply_markup } = renderTelegram(message);
    await this.telegram.editMessageText(ref.chat, Number(ref.messageId), undefined, text, {
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
      // Without buttons, an empty keyboard removes the old ones (e.g. a used confirmation).
      reply_markup: reply_markup ?? { inline_keyboard: [] },
    });
  }
}

/** A Telegram transport without a bot (no updates handled), for processes that only post. */
export function createTelegramTransport(options: { botToken: string; apiRoot?: string }): TelegramTransport {
  return new TelegramTransport(
    new Telegram(options.botToken, {
      webhookReply: false,
      ...(options.apiRoot ? { apiRoot: options.apiRoot } : {}),
    }),
  );
}
