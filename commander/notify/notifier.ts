import { z } from 'zod';
import type { ChatMessage, ChatTransport, MessageRef, Platform, Severity } from '../../bots/model.js';
import { severityRank } from '../domain/alerts.js';
import { type Store, withRetry } from '../adapters/store/store.js';

export const ChatRoute = z.strictObject({
  platform: z.enum(['slack', 'telegram', 'console']),
  chat: z.string().min(1).max(128),
  /** Least severity this destination wants to hear about. */
  minSeverity: z.enum(['info', 'warning', 'critical']).default('info'),
});
export type ChatRoute = z.infer<typeof ChatRoute>;

/** How the commander talks to people about a subject (an alert, a node, a failover). */
export interface ChatPort {
  /** A new message for each routed destination (a first notice or a reminder). */
  post(subject: string, message: ChatMessage): Promise<void>;
  /** Updates the subject's last messages in place; posts where a destination has none yet. */
  update(subject: string, message: ChatMessage): Promise<void>;
}

export interface NotifierLog {
  warn(obj: object, msg: string): void;
}

/**
 * Routes messages by severity to chat destinations and remembers, per subject, the message posted in
 * each one (in the store), so later changes edit the same message instead of adding noise.
 */
export class Notifier implements ChatPort {
  constructor(
    private readonly store: Store,
    private readonly transports: Partial<Record<Platform, ChatTransport>>,
    private readonly routes: readonly ChatRoute[],
    private readonly log: NotifierLog,
  ) {}

  private routed(severity: Severity | undefined): ChatRoute[] {
    const rank = severityRank(severity ?? 'info');
    // An 'ok' (resolved) message reaches only destinations that already hold the subject's message.
    return this.routes.filter((r) => severity !== 'ok' && rank >= severityRank(r.minSeverity));
  }

  async post(subject: string, message: ChatMessage): Promise<void> {
    await this.deliver(subject, message, false);
  }

  async update(subject: string, message: ChatMessage): Promise<void> {
    await this.deliver(subject, message, true);
  }

  private async deliver(subject: string, message: ChatMessage, inPlace: boolean): Promise<void> {
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
        if (inPlace && ref) await transport.update(ref, message);
        else next.set(id, await transport.post(route.chat, message));
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
