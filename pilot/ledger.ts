import type { Action, ActionResult } from '../protocol/index.js';
import type { StateStore } from './state.js';

export type Outcome = Pick<ActionResult, 'ok' | 'message' | 'txHash' | 'height'>;

/**
 * Executes each action id at most once, ever: the id is persisted BEFORE execution starts, so a
 * crash mid-action never re-runs it. The result is persisted and re-sent until acknowledged.
 */
export class ActionLedger {
  constructor(
    private readonly store: StateStore,
    private readonly now: () => number = Date.now,
  ) {}

  seen(id: string): boolean {
    return this.store.get().executed.includes(id);
  }

  /** Runs `handler` unless the id was seen or `refuse` gives a reason. Returns the result, or null if skipped. */
  async execute(
    action: Action,
    refuse: () => string | null,
    handler: () => Promise<Outcome>,
  ): Promise<ActionResult | null> {
    if (this.seen(action.id)) return null;
    await this.store.update((s) => {
      s.executed.push(action.id);
    });
    let outcome: Outcome;
    const reason = refuse();
    if (reason) outcome = { ok: false, message: `refused: ${reason}` };
    else {
      try {
        outcome = await handler();
      } catch (error) {
        outcome = { ok: false, message: (error as Error).message.slice(0, 2000) };
      }
    }
    const result: ActionResult = { id: action.id, type: action.type, finishedAt: this.now(), ...outcome };
    await this.store.update((s) => {
      s.results.push(result);
      if (s.results.length > 100) s.results = s.results.slice(-100);
    });
    return result;
  }

  /** Drops results the commander stored. */
  async acknowledge(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const acked = new Set(ids);
    await this.store.update((s) => {
      s.results = s.results.filter((r) => !acked.has(r.id));
    });
  }

  pending(): ActionResult[] {
    return this.store.get().results;
  }
}
