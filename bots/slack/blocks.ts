import type { ChatMessage } from '../model.js';
import { clip, SEVERITY_MARK } from '../text.js';

/** A Block Kit block, loosely typed: only what Beam renders. */
export type SlackBlock = Record<string, unknown>;

/** Slack mrkdwn needs only &, < and > escaped; everything else is shown as typed. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A URL inside `<url|label>`: escaped as text, and a `|` (which would end it) percent-encoded. */
function escapeLinkUrl(url: string): string {
  return escapeMrkdwn(url).replaceAll('|', '%7C');
}

/** Block Kit limits: header text 150 characters, section text 3000. */
const HEADER_MAX = 150;
const SECTION_MAX = 3000;

function headerText(message: ChatMessage): string {
  const mark = message.severity ? `${SEVERITY_MARK[message.severity]} ` : '';
  return clip(`${mark}${message.title}`, HEADER_MAX);
}

/** Renders a chat message as Block Kit; `text` is the notification fallback Slack also wants. */
export function renderSlack(message: ChatMessage): { text: string; blocks: SlackBlock[] } {
  const blocks: SlackBlock[] = [{ type: 'header', text: { type: 'plain_text', text: headerText(message) } }];
  if (message.text)
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: clip(escapeMrkdwn(message.text), SECTION_MAX) },
    });
  if (message.fields?.length) {
    // A section holds at most 10 fields.
    for (let i = 0; i < message.fields.length; i += 10) {
      blocks.push({
        type: 'section',
        fields: message.fields.slice(i, i + 10).map((f) => ({
          type: 'mrkdwn',
          text: `*${escapeMrkdwn(f.label)}*\n${escapeMrkdwn(f.value)}`,
        })),
      });
    }
  }
  if (message.preformatted) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: '```' + clip(escapeMrkdwn(message.preformatted), SECTION_MAX - 6) + '```',
      },
    });
  }
  if (message.links?.length) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: message.links.map((l) => `<${escapeLinkUrl(l.url)}|${escapeMrkdwn(l.label)}>`).join(' · '),
      },
    });
  }
  if (message.buttons?.length) {
    blocks.push({
      type: 'actions',
      elements: message.buttons.map((b) => ({
        type: 'button',
        // action_id must be unique within the message; the value carries the interaction id.
        action_id: `beam:${b.id}`,
        text: { type: 'plain_text', text: b.label },
        value: b.id,
        ...(b.style ? { style: b.style } : {}),
      })),
    });
  }
  if (message.context) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(message.context) }] });
  }
  return { text: headerText(message), blocks };
}
