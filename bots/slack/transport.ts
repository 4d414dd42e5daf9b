import type { WebClient } from '@slack/web-api';
import type { ChatMessage, ChatTransport, MessageRef } from '../model.js';
import { renderSlack } from './blocks.js';

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
