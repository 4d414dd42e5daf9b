/**
 * The local stack's terminal: `chaos ...` lines go to the simulated world, every other line to the
 * commander's chat command language, exactly as a Slack or Telegram message would.
 */
import type { ChatInput, ChatReply, InputHandler } from '../bots/model.js';
import { parseChaos, runChaos } from './chaos.js';
import type { Stack } from './stack.js';

/** Wraps the commander's chat handler so that console `chaos` lines act on the stack instead. */
export function withChaos(stack: Stack, chat: InputHandler): InputHandler {
  return async (input: ChatInput): Promise<ChatReply[] | undefined> => {
    if (input.kind !== 'command') return chat(input);
    const words = input.text.trim().split(/\s+/);
    if (words[0] !== 'chaos') return chat(input);
    const parsed = parseChaos(words.slice(1));
    if (!parsed.ok) return [{ message: { title: 'chaos', severity: 'warning', text: parsed.error } }];
    try {
      return [{ message: { title: 'chaos', text: await runChaos(stack, parsed.command) } }];
    } catch (error) {
      return [{ message: { title: 'chaos failed', severity: 'warning', text: (error as Error).message } }];
    }
  };
}
