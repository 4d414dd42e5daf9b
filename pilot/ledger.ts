import type { Action, ActionResult } from '../protocol/index.js';
import type { ExecutedIds, PilotState, StateStore } from './state.js';

export type Outcome = Pick<ActionResult, 'ok' | 'message' | 'txHash' | 'height'>;

/**
 * Executed ids the ledger keeps by name. Below the oldest of them it keeps only a watermark: a few
 * bytes cover every id ever run, where a list of ids would either grow for ever or forget.
 */
export const RECENT_IDS = 1000;

/** Ids in their order: by issue time, then by id for ids issued in the same millisecond. */
const byOrder = (a: [string, number], b: [string, number]) =>
  a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/**
 * Adds an id; past RECENT_IDS the oldest leave and the watermark rises to them. Invariant: every id
 * ever recorded is in `recent` or was issued at or before `watermark`.
 */
function remember(ids: ExecutedIds, id: string, issuedAt: number): void {
  ids.recent.push([id, issuedAt]);
  if (ids.recent.length <= RECENT_IDS) return;
  ids.recent.sort(byOrder);
  const evicted = ids.recent.splice(0, ids.recent.length - RECENT_IDS);
  ids.watermark = Math.max(ids.watermark ?? 0, evicted.at(-1)![1]);
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Executes each action id at most once, ever: the id is persisted BEFORE execution starts, so a
 * crash mid-action never re-runs it. The result is persisted and re-sent until acknowledged.
 * Actions are ordered by `issuedAt`; one issued at or before the watermark that is not among the
 * recent ids may have run long ago, so it is refused, never run.
 */
export class ActionLedger {
  constructor(
    private readonly store: StateStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** The id ran (or was refused) here and is still remembered by name. */
  seen(id: string): boolean {
    return this.store.get().executed.recent.some(([known]) => known === id);
  }

  /** Runs `handler` unless the id was seen, is too old to tell, or `refuse` gives a reason. Returns the result, or null if skipped. */
  async execute(
    action: Action,
    refuse: () => string | null,
    handler: () => Promise<Outcome>,
  ): Promise<ActionResult | null> {
    if (this.seen(action.id)) return null;
    const reason = this.staleness(action.issuedAt) ?? refuse();
    if (reason) return this.answer(action.id, action.type, action.issuedAt, `refused: ${reason}`);
    await this.store.update((s) => remember(s.executed, action.id, action.issuedAt));
    let outcome: Outcome;
    try {
      outcome = await handler();
    } catch (error) {
      outcome = { ok: false, message: (error as Error).message.slice(0, 2000) };
    }
    return this.keep({ id: action.id, type: action.type, finishedAt: this.now(), ...outcome });
  }

  /** Answers an action the pilot could not parse, under its id, once: refused, nothing run. */
  async refuseInvalid(id: string, type: string, issuedAt: number | null, reason: string) {
    if (this.seen(id)) return null;
    return this.answer(id, type, issuedAt ?? 0, `refused: ${reason}`);
  }

  private staleness(issuedAt: number): string | null {
    const { watermark } = this.store.get().executed;
    return watermark !== null && issuedAt <= watermark
      ? `issued at ${iso(issuedAt)}, at or before this pilot's action watermark (${iso(watermark)}): older ids are no longer remembered one by one, so it may have run already; issue it again under a new id`
      : null;
  }

  /** A refusal: nothing runs, so the id and its result are written together. */
  private answer(id: string, type: string, issuedAt: number, message: string): Promise<ActionResult> {
    const result: ActionResult = {
      id,
      type,
      ok: false,
      finishedAt: this.now(),
      message: message.slice(0, 2000),
    };
    return this.keep(result, (s) => remember(s.executed, id, issuedAt));
  }

  private async keep(result: ActionResult, also?: (s: PilotState) => void): Promise<ActionResult> {
    await this.store.update((s) => {
      also?.(s);
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
