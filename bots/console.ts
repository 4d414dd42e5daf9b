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
  for (const l of message.links ?? []) lines.push(`${l.label}: ${l.url}`);
  (message.buttons ?? []).forEach((b, i) => {
    lines.push(`  ${i + 1}) ${b.label}`);
  });
  if (message.context) lines.push(`-- ${message.context}`);
  return lines.join('\n');
}

/** Messages whose buttons stay pressable by number (older ones drop out). */
const KEPT_BUTTON_MESSAGES = 50;

/**
 * Prints messages to a stream and remembers the buttons of recent ones, so that a typed number can press
 * one: of the latest message with buttons, or of a message named by its number.
 */
export class ConsoleTransport implements ChatTransport {
  readonly platform = 'console' as const;
  private nextId = 1;
  private readonly withButtons = new Map<string, { ref: MessageRef; buttons: ChatButton[] }>();

  constructor(private readonly output: Writable) {}

  /** The latest message that offered buttons, and those buttons. */
  get latestButtons(): { ref: MessageRef; buttons: ChatButton[] } | undefined {
    return [...this.withButtons.values()].at(-1);
  }

  /** The buttons of message `messageId`, while it still offers them. */
  buttonsOf(messageId: string): { ref: MessageRef; buttons: ChatButton[] } | undefined {
    return this.withButtons.get(messageId);
  }

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
    this.withButtons.delete(ref.messageId);
    if (!message.buttons?.length) return;
    this.withButtons.set(ref.messageId, { ref, buttons: message.buttons });
    if (this.withButtons.size > KEPT_BUTTON_MESSAGES)
      this.withButtons.delete(this.withButtons.keys().next().value as string);
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

/**
 * Turns a typed line into an input: `2` (or `press 2`) presses button 2 of the latest message with
 * buttons; `press 12 2` (or `12.2`) presses button 2 of message [12]. Anything else is a command.
 */
export function consoleInput(
  line: string,
  transport: ConsoleTransport,
  base: { chat: string; user: string },
): ChatInput | string | undefined {
  const text = line.trim();
  if (!text) return undefined;
  const press = /^(?:press\s+)?(?:(\d+)(?:\s+|\.))?(\d+)$/i.exec(text);
  const common = { platform: 'console' as const, chat: base.chat, user: { id: base.user } };
  if (!press) return { kind: 'command', ...common, text };
  const [, messageId, choice] = press;
  const target = messageId === undefined ? transport.latestButtons : transport.buttonsOf(messageId);
  if (!target) {
    if (messageId !== undefined)
      return `message [${messageId}] has no buttons to press (only the last ${KEPT_BUTTON_MESSAGES} messages with buttons keep them)`;
    return 'no message with buttons to press';
  }
  const button = target.buttons[Number(choice) - 1];
  if (!button)
    return `no button ${choice} on message [${target.ref.messageId}]: choose 1–${target.buttons.length}`;
  return { kind: 'button', ...common, buttonId: button.id, message: target.ref };
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
