import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import type {
  ChatButton,
  ChatMessage,
  ChatTransport,
  MessageRef,
  Platform,
  Severity,
} from '../../bots/model.js';
import { StoreInteractions } from '../adapters/store/chatops.js';
import { type Store, withRetry } from '../adapters/store/store.js';
import type { InteractionStore } from '../chatops/ports.js';
import { severityRank } from '../alerting/alerts.js';

export const ChatRoute = z.strictObject({
  platform: z.enum(['slack', 'telegram', 'console']),
  chat: z.string().min(1).max(128),
  /** Least severity this destination wants to hear about. */
  minSeverity: z.enum(['info', 'warning', 'critical']).default('info'),
});
export type ChatRoute = z.infer<typeof ChatRoute>;

/**
 * A button the commander offers with a message. `command` is a line of the chat command language
 * (e.g. `confirm-failover op-12`); pressing the button runs it through chatops with the presser's
 * permissions, once: the first accepted press consumes it for that chat.
 */
export interface ChatAction {
  label: string;
  command: string;
  style?: 'primary' | 'danger';
}

/** How the commander talks to people about a subject (an alert, a node, a failover). */
export interface ChatPort {
  /** A new message for each routed destination (a first notice or a reminder). */
  post(subject: string, message: ChatMessage, actions?: ChatAction[]): Promise<void>;
  /**
   * Updates the subject's last messages in place; posts where a destination has none yet. Without
   * `actions`, buttons the commander offered earlier disappear from the message.
   */
  update(subject: string, message: ChatMessage, actions?: ChatAction[]): Promise<void>;
  /**
   * Edits the subject's messages where they exist and posts nothing: a change people made (an ack,
   * a mute) to a message they may never have been shown, the pinned status message.
   */
  edit(subject: string, message: ChatMessage, actions?: ChatAction[]): Promise<void>;
}

/** How long a commander-offered button stays valid unless configured otherwise. */
export const DEFAULT_ACTION_TTL_MS = 24 * 3_600_000;

export interface NotifierOptions {
  now?: () => number;
  /** How long the buttons of one message stay valid (24 h by default). */
  actionTtlMs?: number;
  /** Where button interactions are kept; the store's INTERACTION items by default. */
  interactions?: InteractionStore;
  /** Short random interaction ids (8 base64url characters by default). */
  newId?: () => string;
}

export interface NotifierLog {
  warn(obj: object, msg: string): void;
}

/**
 * Routes messages by severity to chat destinations and remembers, per subject, the message posted in
 * each one (in the store), so later changes edit the same message instead of adding noise.
 */
export class Notifier implements ChatPort {
  private readonly now: () => number;
  private readonly actionTtlMs: number;
  private readonly interactions: InteractionStore;
  private readonly newId: () => string;

  constructor(
    private readonly store: Store,
    private readonly transports: Partial<Record<Platform, ChatTransport>>,
    private readonly routes: readonly ChatRoute[],
    private readonly log: NotifierLog,
    options: NotifierOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.actionTtlMs = options.actionTtlMs ?? DEFAULT_ACTION_TTL_MS;
    this.interactions = options.interactions ?? new StoreInteractions(store);
    this.newId = options.newId ?? (() => randomBytes(6).toString('base64url'));
  }

  private routed(severity: Severity | undefined): ChatRoute[] {
    const rank = severityRank(severity ?? 'info');
    // An 'ok' (resolved) message reaches only destinations that already hold the subject's message.
    return this.routes.filter((r) => severity !== 'ok' && rank >= severityRank(r.minSeverity));
  }

  async post(subject: string, message: ChatMessage, actions?: ChatAction[]): Promise<void> {
    await this.deliver(subject, message, false, actions ?? []);
  }

  async update(subject: string, message: ChatMessage, actions?: ChatAction[]): Promise<void> {
    await this.deliver(subject, message, true, actions ?? []);
  }

  async edit(subject: string, message: ChatMessage, actions?: ChatAction[]): Promise<void> {
    const refs = (await this.store.getMessageRefs(subject))?.value.refs ?? [];
    for (const ref of refs) {
      try {
        const transport = this.transports[ref.platform];
        if (!transport) throw new Error(`no ${ref.platform} transport`);
        await transport.update(ref, await this.withButtons(ref.chat, message, actions ?? []));
      } catch (error) {
        this.log.warn({ platform: ref.platform, err: (error as Error).message }, 'chat edit failed');
      }
    }
  }

  /**
   * Mints one act-once interaction for this chat (choices `0`, `1`, … are the actions' command lines)
   * and returns the message with its buttons added (`<id>:<index>`, well under Telegram's 64 bytes).
   */
  private async withButtons(chat: string, message: ChatMessage, actions: ChatAction[]): Promise<ChatMessage> {
    if (actions.length === 0) return message;
    const now = this.now();
    const id = this.newId();
    await this.interactions.save({
      id,
      choices: Object.fromEntries(actions.map((a, i) => [String(i), a.command])),
      actOnce: true,
      chat,
      createdAt: now,
      expiresAt: now + this.actionTtlMs,
    });
    const buttons: ChatButton[] = actions.map((a, i) => ({
      id: `${id}:${i}`,
      label: a.label,
      ...(a.style ? { style: a.style } : {}),
    }));
    return { ...message, buttons: [...(message.buttons ?? []), ...buttons] };
  }

  private async deliver(
    subject: string,
    message: ChatMessage,
    inPlace: boolean,
    actions: ChatAction[],
  ): Promise<void> {
    const stored = await this.store.getMessageRefs(subject);
    const refs = new Map((stored?.value.refs ?? []).map((r) => [`${r.platform}:${r.chat}`, r]));
    const next = new Map(refs);
    const targets = new Map(this.routed(message.severity).map((r) => [`${r.platform}:${r.chat}`, r]));
    if (inPlace)
      for (const [id, ref] of refs)
        targets.set(id, { platform: ref.platform, chat: ref.chat, minSeverity: 'info' });

    for (const [id, route] of targets) {
      const transport = this.transports[route.platform];
      if (!transport) {
        this.log.warn({ platform: route.platform }, 'no chat transport for a configured destination');
        continue;
      }
      try {
        const ref = refs.get(id);
        const shown = await this.withButtons(route.chat, message, actions);
        if (inPlace && ref) await transport.update(ref, shown);
        else next.set(id, await transport.post(route.chat, shown));
      } catch (error) {
        // One failing destination must not keep the others, or the decision that led here, from happening.
        this.log.warn(
          { platform: route.platform, chat: route.chat, err: (error as Error).message },
          'chat delivery failed',
        );
      }
    }
    if (sameRefs(refs, next)) return;
    await withRetry(async () => {
      const current = await this.store.getMessageRefs(subject);
      const merged = new Map((current?.value.refs ?? []).map((r) => [`${r.platform}:${r.chat}`, r]));
      for (const [id, ref] of next) merged.set(id, ref);
      await this.store.putMessageRefs({ subject, refs: [...merged.values()] }, current?.version ?? null);
    });
  }
}

function sameRefs(a: Map<string, MessageRef>, b: Map<string, MessageRef>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, ref] of a) if (b.get(id)?.messageId !== ref.messageId) return false;
  return true;
}
