import { KEYS, type Store, withRetry } from '../adapters/store/store.js';
import type { NodeRecord } from '../domain/registry.js';
import { peerOf } from './facts.js';
import { type SentryEvent, type SentryInput, type SentryOutput, decideSentryDefence } from './machine.js';
import { type SentryDefenceState, initialSentryDefenceState } from './state.js';

/** One item per fleet (`OPERATION / sentry-defence:<fleet>`): fleet-wide limits hold under one version. */
export const sentryStateKey = (fleet: string) => KEYS.operation(`sentry-defence:${fleet}`);

export interface StoredSentryState {
  state: SentryDefenceState;
  /** null while the item does not exist yet. */
  version: number | null;
}

/**
 * The stored state, or a fresh one that counts the registry's sentries as wired already (validators
 * got them through their generated config), so that starting sentry defence dials nothing.
 */
export async function loadSentryState(
  store: Store,
  fleet: string,
  nodes: readonly NodeRecord[] = [],
): Promise<StoredSentryState> {
  const item = await store.get<SentryDefenceState>(sentryStateKey(fleet));
  if (item) return { state: item.value, version: item.version };
  const wired: Record<string, string> = {};
  for (const n of nodes) {
    const peer = peerOf(n);
    if (n.role === 'sentry' && n.status === 'approved' && peer) wired[n.id] = peer;
  }
  return { state: initialSentryDefenceState(fleet, wired), version: null };
}

/** Conditional write: throws VersionConflict when another handler changed the state since `version`. */
export function saveSentryState(
  store: Store,
  state: SentryDefenceState,
  version: number | null,
): Promise<number> {
  return store.put(sentryStateKey(state.fleet), 'sentry-defence', state, version);
}

/**
 * Load → decide (one event, or several in order, e.g. a tick's sentry reports then the tick) →
 * conditional write, deciding again on a lost race; writes only when the state changed (a calm
 * sentry's report costs one read). Perform the returned effects only after this resolves: they
 * belong to the state that was written. The answer is the last event's that has one.
 */
export function decideAndSave(
  store: Store,
  fleet: string,
  event: SentryEvent | readonly SentryEvent[],
  now: number,
  input: SentryInput,
): Promise<SentryOutput> {
  const events: readonly SentryEvent[] = Array.isArray(event) ? event : [event as SentryEvent];
  return withRetry(async () => {
    const stored = await loadSentryState(store, fleet, input.nodes);
    const out: SentryOutput = { state: stored.state, effects: [], answer: null };
    for (const next of events) {
      const step = decideSentryDefence(out.state, next, now, input);
      out.state = step.state;
      out.effects.push(...step.effects);
      out.answer = step.answer ?? out.answer;
    }
    if (stored.version === null || !sameData(out.state, stored.state)) {
      await saveSentryState(store, out.state, stored.version);
    }
    return out;
  });
}

/** Deep equality of plain data, whatever the key order a store returns maps in. */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return (
    ka.length === kb.length &&
    ka.every((k) => sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}
