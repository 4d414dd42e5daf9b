/** In-process implementations of the chatops stores, for the console and single-process self-hosting. */
import type { MessageRef, Platform } from '../../bots/model.js';
import type { AuditEntry, AuditLog, InteractionStore, StoredInteraction, SubjectRefs } from './ports.js';

export class MemoryInteractionStore implements InteractionStore {
  private readonly items = new Map<string, { interaction: StoredInteraction; consumed: boolean }>();

  async save(interaction: StoredInteraction): Promise<void> {
    this.items.set(interaction.id, { interaction: structuredClone(interaction), consumed: false });
  }

  async load(id: string, now: number): Promise<StoredInteraction | undefined> {
    const item = this.items.get(id);
    if (!item || item.consumed || item.interaction.expiresAt <= now) return undefined;
    return structuredClone(item.interaction);
  }

  async consume(id: string, now: number): Promise<StoredInteraction | undefined> {
    // Check and mark in one synchronous step: no other call can interleave.
    const item = this.items.get(id);
    if (!item || item.consumed || item.interaction.expiresAt <= now) return undefined;
    item.consumed = true;
    return structuredClone(item.interaction);
  }
}

export class MemorySubjectRefs implements SubjectRefs {
  private readonly refs = new Map<string, MessageRef>();

  async get(subject: string, platform: Platform, chat: string): Promise<MessageRef | undefined> {
    return this.refs.get(`${subject}\u0000${platform}\u0000${chat}`);
  }

  async set(subject: string, ref: MessageRef): Promise<void> {
    this.refs.set(`${subject}\u0000${ref.platform}\u0000${ref.chat}`, ref);
  }
}

export class MemoryAuditLog implements AuditLog {
  readonly entries: AuditEntry[] = [];

  async record(entry: AuditEntry): Promise<void> {
    this.entries.push(entry);
  }

  async list(limit: number): Promise<AuditEntry[]> {
    return this.entries.slice(-limit).reverse();
  }
}
