import type { CloudPort } from '../adapters/ec2/port.js';
import type { Store } from '../adapters/store/store.js';
import type { SentryEffect } from './effects.js';
import { performCloud } from './executor.js';
import type { SentryAnswer, SentryEvent, SentryInput } from './machine.js';
import { decideAndSave } from './persistence.js';

/** Rounds of cloud call → outcome → decision per event; retries beyond it wait for the next tick. */
const MAX_ROUNDS = 10;

export interface Settled {
  /** Every effect but the cloud calls (already performed), in decision order, to apply in that order. */
  effects: SentryEffect[];
  answer: SentryAnswer | null;
  /** Cloud calls performed. */
  cloudCalls: number;
}

/**
 * Decides an event (or several, in order) and carries out its cloud calls, feeding each outcome back as an event and saving
 * every decision before its effects are used. For the tick handler and chat commands; each call is
 * bounded by the adapter's own timeouts, and a crash anywhere leaves the operation due again.
 */
export async function decideAndSettle(
  store: Store,
  cloud: CloudPort,
  fleet: string,
  event: SentryEvent | readonly SentryEvent[],
  now: () => number,
  input: SentryInput,
): Promise<Settled> {
  const first = await decideAndSave(store, fleet, event, now(), input);
  const effects: SentryEffect[] = [];
  let cloudCalls = 0;
  let pending = first.effects;
  for (let round = 0; round < MAX_ROUNDS && pending.length > 0; round++) {
    const next: SentryEffect[] = [];
    for (const effect of pending) {
      if (effect.type !== 'cloud') {
        effects.push(effect);
        continue;
      }
      cloudCalls++;
      const outcome = await performCloud(cloud, fleet, effect.request);
      next.push(...(await decideAndSave(store, fleet, outcome, now(), input)).effects);
    }
    pending = next;
  }
  effects.push(...pending.filter((e) => e.type !== 'cloud'));
  return { effects, answer: first.answer, cloudCalls };
}
