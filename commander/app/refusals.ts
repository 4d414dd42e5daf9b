/**
 * Requests refused at a public route before anyone is known (bad signature, unknown node, wrong
 * token, malformed, a forged chat webhook) are counted and sampled, never written one item each: a
 * flood must not turn into as many table writes and log lines. Per kind and minute, the first refusal
 * is written at once (count 1, its detail as the sample) and logged; the rest are counted in memory,
 * and the count is written once more when the minute has passed (`settle`, which the routes call after
 * every request). At most two writes per kind and minute in a process, whatever the flood.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from './context.js';

export const REFUSAL_WINDOW_MS = 60_000;

/** One kind's refusals in one window, as written. */
export interface RefusalWindow {
  kind: string;
  /** Unique per kind, window and process: `<window start ISO>#refused:<kind>:<process>`. */
  key: string;
  startedAt: number;
  count: number;
  /** The first refusal's detail, the sample. */
  first: string;
}

/** Writes a window: a new item (`version` null) or the same item again at `version`. */
export type RefusalWrite = (window: RefusalWindow, version: number | null) => Promise<number>;

interface Open {
  window: RefusalWindow;
  /** The first write: its version (null if it failed). */
  written: Promise<number | null>;
  /** Counted since the first write. */
  dirty: boolean;
}

export class RefusalSampler {
  private readonly open = new Map<string, Open>();
  private readonly pending = new Set<Promise<unknown>>();
  /** Tells this process's items from another's written in the same minute. */
  private readonly instance = randomBytes(3).toString('hex');

  constructor(
    private readonly write: RefusalWrite,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly windowMs = REFUSAL_WINDOW_MS,
  ) {}

  /** Counts one refusal of `kind`; `detail` must hold nothing secret. Never throws, never waits. */
  record(kind: string, detail: string): void {
    const now = this.now();
    const current = this.open.get(kind);
    if (current && now < current.window.startedAt + this.windowMs) {
      current.window.count += 1;
      current.dirty = true;
      return;
    }
    if (current) this.close(kind, current);
    const window: RefusalWindow = {
      kind,
      key: `${new Date(now).toISOString()}#refused:${kind}:${this.instance}`,
      startedAt: now,
      count: 1,
      first: detail,
    };
    this.log.warn(
      { kind, detail },
      `request refused; more of this kind are counted for ${this.windowMs / 1000} s`,
    );
    this.open.set(kind, { window, written: this.track(this.write({ ...window }, null)), dirty: false });
  }

  /** Writes the count of every window that has passed, and waits for every write under way. */
  async settle(): Promise<void> {
    const now = this.now();
    for (const [kind, current] of this.open) {
      if (now >= current.window.startedAt + this.windowMs) this.close(kind, current);
    }
    await Promise.all([...this.pending]);
  }

  private close(kind: string, current: Open): void {
    this.open.delete(kind);
    if (!current.dirty) return;
    const { window } = current;
    this.log.warn({ kind, count: window.count }, `requests refused in ${this.windowMs / 1000} s`);
    this.track(
      current.written.then((version) => (version === null ? null : this.write({ ...window }, version))),
    );
  }

  /** A write that is waited for by `settle` and whose failure is logged, never thrown. */
  private track(write: Promise<number | null>): Promise<number | null> {
    const tracked = write.catch((error: unknown) => {
      this.log.error({ err: (error as Error).message }, 'writing a refusal sample failed');
      return null;
    });
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
    return tracked;
  }
}
