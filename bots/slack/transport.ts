import type { ChatMessage, ChatTransport, MessageRef } from '../model.js';
import { renderSlack } from './blocks.js';
import { SlackWebApi } from './web-api.js';

/** Posts and updates Block Kit messages through Slack's Web API (chat.postMessage / chat.update). */
export class SlackTransport implements ChatTransport {
  readonly platform = 'slack' as const;

  constructor(private readonly api: SlackWebApi) {}

  async post(chat: string, message: ChatMessage): Promise<MessageRef> {
    const posted = await this.api.postMessage({ channel: chat, ...renderSlack(message) });
    return { platform: 'slack', chat: posted.channel, messageId: posted.ts };
  }

  async update(ref: MessageRef, message: ChatMessage): Promise<void> {
    await this.api.update({ channel: ref.chat, ts: ref.messageId, ...renderSlack(message) });
  }
}

/** A Slack transport on the bot token: no Bolt app, so processes that only post stay small. */
export function createSlackTransport(options: {
  botToken: string;
  /** Web API base URL (with a trailing slash); tests point it at a loopback fake. */
  slackApiUrl?: string;
}): SlackTransport {
  return new SlackTransport(
    new SlackWebApi({
      botToken: options.botToken,
      ...(options.slackApiUrl ? { apiUrl: options.slackApiUrl } : {}),
    }),
  );
}
