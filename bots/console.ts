import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { deliverReplies } from './deliver.js';
import type { ChatButton, ChatInput, ChatMessage, ChatTransport, InputHandler, MessageRef } from './model.js';

/** Renders a chat message as plain terminal text; buttons as numbered choices. */
export function renderConsole(message: ChatMessage, messageId: string): string {
  const lines = [`[${messageId}] ${message.severity ? `(${message.severity}) ` : ''}${message.title}`];
  if (message.text) lines.push(message.text);
  for (const f of message.fields ?? []) lines.push(`  ${f.label}: ${f.value}`);
  if (message.preformatted) lines.push(message.preformatted);
  if (message.link) lines.push(`${message.link.label}: ${message.link.url}`);
  (message.buttons ?? []).forEach((b, i) => {
    lines.push(`  ${i + 1}) ${b.label}`);
  });
  if (message.context) lines.push(`-- ${message.context}`);
  return lines.join('\n');
}

/** Prints messages to a stream and remembers the latest one with buttons, so a typed number can press one. */
export class ConsoleTransport implements ChatTransport {
  readonly platform = 'console' as const;
  private nextId = 1;
  /** The latest message that offered buttons, and those buttons. */
  latestButtons: { ref: MessageRef; buttons: ChatButton[] } | undefined;

  constructor(private readonly output: Writable) {}

  async post(chat: string, message: ChatMessage): Promise<MessageRef> {
    const ref: MessageRef = { platform: 'console', chat, messageId: String(this.nextId++) };
    this.print(`${renderConsole(message, ref.messageId)}\n`);
    this.remember(ref, message);
    return ref;
  }

  async update(ref: MessageRef, message: ChatMessage): Promise<void> {
    this.print(`updated: ${renderConsole(message, ref.messageId)}\n`);
    this.remember(ref, message);
  }

  print(text: string): void {
    this.output.write(text);
  }

  private remember(ref: MessageRef, message: ChatMessage): void {
    if (message.buttons?.length) this.latestButtons = { ref, buttons: message.buttons };
    else if (this.latestButtons?.ref.messageId === ref.messageId) this.latestButtons = undefined;
  }
}

export interface ConsoleChatOptions {
  input: Readable;
  output: Writable;
  /** The console user's id, as the permission config names it. */
  user: string;
  /** The chat id the console posts to. */
  chat?: string;
  prompt?: string;
}

/** Turns a typed line into an input: `2` or `press 2` presses a button of the latest message with buttons. */
export function consoleInput(
  line: string,
  transport: ConsoleTransport,
  base: { chat: string; user: string },
): ChatInput | string | undefined {
  const text = line.trim();
  if (!text) return undefined;
  const press = /^(?:press\s+)?(\d+)$/i.exec(text);
  const common = { platform: 'console' as const, chat: base.chat, user: { id: base.user } };
  if (!press) return { kind: 'command', ...common, text };
  const latest = transport.latestButtons;
  const button = latest?.buttons[Number(press[1]) - 1];
  if (!latest || !button) {
    return latest
      ? `no button ${press[1]}: choose 1–${latest.buttons.length}`
      : 'no message with buttons to press';
  }
  return { kind: 'button', ...common, buttonId: button.id, message: latest.ref };
}

/**
 * A terminal chat for the local stack: one line in, messages out; lines are handled one at a time, in
 * order. `transport` lets the commander post to the console too; `done` resolves when the input ends.
 */
export function startConsoleChat(
  options: ConsoleChatOptions,
  onInput: InputHandler,
): { transport: ConsoleTransport; done: Promise<void> } {
  const transport = new ConsoleTransport(options.output);
  const base = { chat: options.chat ?? 'console', user: options.user };
  const prompt = options.prompt ?? '';
  const lines = createInterface({
    input: options.input,
    crlfDelay: Number.POSITIVE_INFINITY,
    terminal: false,
  });
  const run = async () => {
    if (prompt) transport.print(prompt);
    for await (const line of lines) {
      const input = consoleInput(line, transport, base);
      if (typeof input === 'string') transport.print(`${input}\n`);
      else if (input) {
        try {
          await deliverReplies(input, await onInput(input), transport);
        } catch (error) {
          transport.print(`error: ${error instanceof Error ? error.message : String(error)}\n`);
        }
      }
      if (prompt) transport.print(prompt);
    }
  };
  return { transport, done: run() };
}
