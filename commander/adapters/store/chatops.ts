import type { Deduper } from '../../../bots/dedupe.js';
import type { MessageRef, Platform } from '../../../bots/model.js';
import type {
  AuditEntry as ChatAuditEntry,
  AuditLog,
  InteractionStore,
  StoredInteraction,
  SubjectRefs,
} from '../../chatops/ports.js';
import { KEYS, type Store, VersionConflict, withRetry } from './store.js';

const DAY_MS = 86_400_000;

/** Button interactions in the table; expiry is both a TTL and an explicit check against `now`. */
export class StoreInteractions implements InteractionStore {
  constructor(private readonly store: Store) {}

  async save(interaction: StoredInteraction): Promise<void> {
    await this.store.put(
      KEYS.interaction(interaction.id),
      'interaction',
      { interaction, consumed: false },
      null,
      interaction.expiresAt,
    );
  }

  async load(id: string, now: number): Promise<StoredInteraction | undefined> {
    const item = await this.store.get<{ interaction: StoredInteraction; consumed: boolean }>(
      KEYS.interaction(id),
    );
    if (!item || item.value.consumed || item.value.interaction.expiresAt <= now) return undefined;
    return item.value.interaction;
  }

  /** Exactly one of concurrent callers wins: the conditional write on `version` decides. */
  async consume(id: string, now: number): Promise<StoredInteraction | undefined> {
    for (;;) {
      const item = await this.store.get<{ interaction: StoredInteraction; consumed: boolean }>(
        KEYS.interaction(id),
      );
      if (!item || item.value.consumed || item.value.interaction.expiresAt <= now) return undefined;
      try {
        await this.store.put(
          KEYS.interaction(id),
          'interaction',
          { ...item.value, consumed: true },
          item.version,
          item.value.interaction.expiresAt,
        );
        return item.value.interaction;
      } catch (error) {
        if (!(error instanceof VersionConflict)) throw error;
      }
    }
  }
}

/** The same per-subject message refs the notifier keeps, so chat replies and alerts share them. */
export class StoreSubjectRefs implements SubjectRefs {
  constructor(private readonly store: Store) {}

  async get(subject: string, platform: Platform, chat: string): Promise<MessageRef | undefined> {
    const item = await this.store.getMessageRefs(subject);
    return item?.value.refs.find((r) => r.platform === platform && r.chat === chat);
  }

  async set(subject: string, ref: MessageRef): Promise<void> {
    await withRetry(async () => {
      const item = await this.store.getMessageRefs(subject);
      const refs = (item?.value.refs ?? []).filter(
        (r) => !(r.platform === ref.platform && r.chat === ref.chat),
      );
      await this.store.putMessageRefs({ subject, refs: [...refs, ref] }, item?.version ?? null);
    });
  }
}

/** Chat commands and clicks as typed, newest first; kept 90 days next to the application audit. */
export class StoreChatAudit implements AuditLog {
  constructor(private readonly store: Store) {}

  async record(entry: ChatAuditEntry): Promise<void> {
    const sk = `${new Date(entry.at).toISOString()}#${Math.random().toString(36).slice(2, 10)}`;
    await this.put(sk, entry, null);
  }

  /** An entry under a key of the caller's (which sorts by time), rewritten as it grows (`expected`). */
  put(sk: string, entry: ChatAuditEntry, expected: number | null): Promise<number> {
    return this.store.put({ pk: 'CHATAUDIT', sk }, 'chat-audit', entry, expected, entry.at + 90 * DAY_MS);
  }

  async list(limit: number): Promise<ChatAuditEntry[]> {
    return (await this.store.query<ChatAuditEntry>('CHATAUDIT', { limit, newestFirst: true })).map(
      (i) => i.value,
    );
  }
}

/**
 * Delivery keys (Slack retries, Telegram update ids) shared by every Lambda instance: the first
 * conditional create wins, a redelivery finds the item. Kept an hour, well past the platforms' retries.
 */
export class StoreDeduper implements Deduper {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
    private readonly keepMs = 3_600_000,
  ) {}

  async seen(key: string): Promise<boolean> {
    try {
      await this.store.put({ pk: 'DELIVERY', sk: key }, 'delivery', {}, null, this.now() + this.keepMs);
      return false;
    } catch (error) {
      if (error instanceof VersionConflict) return true;
      throw error;
    }
  }
}
