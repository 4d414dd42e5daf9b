import { webApi } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { ChatMessage, ChatTransport, MessageRef } from '../model.js';
import { renderSlack } from './blocks.js';
import { slackLogger } from './logger.js';

/** Posts and updates Block Kit messages through Slack's Web API (chat.postMessage / chat.update). */
export class SlackTransport implements ChatTransport {
  readonly platform = 'slack' as const;

  constructor(private readonly client: WebClient) {}

  async post(chat: string, message: ChatMessage): Promise<MessageRef> {
    const result = await this.client.chat.postMessage({ channel: chat, ...renderSlack(message) });
    if (!result.ts) throw new Error(`chat.postMessage to ${chat} returned no ts`);
    return { platform: 'slack', chat: result.channel ?? chat, messageId: result.ts };
  }

  async update(ref: MessageRef, message: ChatMessage): Promise<void> {
    await this.client.chat.update({ channel: ref.chat, ts: ref.messageId, ...renderSlack(message) });
  }
}

/** A Slack transport without a Bolt app, for processes that only post (e.g. a scheduled tick). */
export function createSlackTransport(options: {
  botToken: string;
  logger: Logger;
  /** Web API base URL (with a trailing slash); tests point it at a loopback fake. */
  slackApiUrl?: string;
  retries?: number;
}): SlackTransport {
  const client = new webApi.WebClient(options.botToken, {
    logger: slackLogger(options.logger),
    ...(options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {}),
    ...(options.retries !== undefined ? { retryConfig: { retries: options.retries } } : {}),
  });
  return new SlackTransport(client);
}
