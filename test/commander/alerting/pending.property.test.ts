/**
 * Property: over random report sequences, an alert fires if and only if its condition held, unheld,
 * for its pending duration (a hold restarts the count when it ends); it is told once per firing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AlertPolicy } from '../../../commander/alerting/settings.js';
import { AlertingRun, CHAIN, T0, fleetNode } from './kit.js';

const KEY = 'node:sentry-1:low-peers';

// On a 2.5 s grid, so that a condition often holds for exactly its pending time.
const GRID = 2500;
/** True with this probability. */
const often = (p: number) => fc.integer({ min: 0, max: 99 }).map((n) => n < p * 100);
const step = fc.record({
  dt: fc.integer({ min: 1, max: 6 }).map((n) => n * GRID),
  low: often(0.8),
  held: often(0.2),
});

describe('pending before firing', () => {
  it('fires exactly when the condition has held for its duration', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 24 }).map((n) => n * GRID),
        fc.array(step, { minLength: 1, maxLength: 60 }),
        (pending, steps) => {
          const run = new AlertingRun(AlertPolicy.parse({ pendingMs: { 'low-peers': pending } }));
          const nodes = (t: number, low: boolean) => [
            fleetNode('val-a', 'validator', t),
            fleetNode('sentry-1', 'sentry', t, { peers: low ? 1 : 3 }),
          ];
          let t = T0;
          run.tick(nodes(t, false), t); // healthy once: the start-up grace is over
          // The model: since when the condition counts (null: not true, or held).
          let since: number | null = null;
          let open = false;
          let firings = 0;
          for (const s of steps) {
            t += s.dt;
            if (!s.low) {
              since = null;
              open = false;
            } else if (!open) {
              since = s.held ? null : (since ?? t);
              if (since !== null && t - since >= pending) {
                open = true;
                firings++;
              }
            }
            const holds = s.held ? [{ by: 'rot-sentry-1-1', chainId: CHAIN, nodeId: 'sentry-1' }] : [];
            run.tick(nodes(t, s.low), t, { holds });
            expect(run.alerts.get(KEY)?.state === 'open').toBe(open);
          }
          expect(run.posts()).toHaveLength(firings);
        },
      ),
      { numRuns: 300, seed: 20261207 },
    );
  });
});
