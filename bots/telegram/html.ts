import type { ChatButton, ChatMessage } from '../model.js';
import { clip, SEVERITY_MARK } from '../text.js';

/** Telegram's limit on `callback_data`. */
export const MAX_CALLBACK_DATA_BYTES = 64;
const BUTTONS_PER_ROW = 3;
/** Telegram takes 4096 characters per message; the table is what grows with the fleet. */
const PRE_MAX = 3000;

/** Escapes text for Telegram's HTML parse mode (only &, < and > are special; quotes too inside attributes). */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface InlineKeyboard {
  inline_keyboard: { text: string; callback_data: string }[][];
}

function callbackData(button: ChatButton): string {
  const bytes = Buffer.byteLength(button.id, 'utf8');
  if (bytes === 0 || bytes > MAX_CALLBACK_DATA_BYTES) {
    throw new Error(
      `button "${button.label}" has an id of ${bytes} bytes; Telegram's callback_data takes 1–${MAX_CALLBACK_DATA_BYTES}`,
    );
  }
  return button.id;
}

/** Telegram's limit on a callback query answer's alert text. */
const ALERT_MAX = 200;

/** A message as the plain text of an alert (answerCallbackQuery): its title and text, clipped. */
export function alertText(message: ChatMessage): string {
  const mark = message.severity ? `${SEVERITY_MARK[message.severity]} ` : '';
  return clip([`${mark}${message.title}`, message.text].filter(Boolean).join('\n'), ALERT_MAX);
}

/** Renders a chat message as Telegram HTML plus an inline keyboard whose callback_data are the button ids. */
export function renderTelegram(message: ChatMessage): { text: string; reply_markup?: InlineKeyboard } {
  const mark = message.severity ? `${SEVERITY_MARK[message.severity]} ` : '';
  const parts = [`<b>${mark}${escapeHtml(message.title)}</b>`];
  if (message.text) parts.push(escapeHtml(message.text));
  if (message.fields?.length) {
    parts.push(message.fields.map((f) => `<b>${escapeHtml(f.label)}:</b> ${escapeHtml(f.value)}`).join('\n'));
  }
  if (message.preformatted) parts.push(`<pre>${escapeHtml(clip(message.preformatted, PRE_MAX))}</pre>`);
  if (message.links?.length)
    parts.push(
      message.links.map((l) => `<a href="${escapeHtml(l.url)}">${escapeHtml(l.label)}</a>`).join(' · '),
    );
  if (message.context) parts.push(`<i>${escapeHtml(message.context)}</i>`);
  const text = parts.join('\n\n');
  if (!message.buttons?.length) return { text };
  const rows: InlineKeyboard['inline_keyboard'] = [];
  for (let i = 0; i < message.buttons.length; i += BUTTONS_PER_ROW) {
    rows.push(
      message.buttons
        .slice(i, i + BUTTONS_PER_ROW)
        .map((b) => ({ text: b.label, callback_data: callbackData(b) })),
    );
  }
  return { text, reply_markup: { inline_keyboard: rows } };
}
