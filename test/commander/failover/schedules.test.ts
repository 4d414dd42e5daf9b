import { describe, expect, it } from 'vitest';
import { failoverFigures, runSchedules } from './faults.js';

const SEED = Number(process.env.FAILOVER_SEED ?? 20261201);
const SCHEDULES = Number(process.env.FAILOVER_SCHEDULES ?? 50);

describe('failover under randomized fault schedules', () => {
  it(`never double-signs, and signs again once faults heal (${SCHEDULES} schedules)`, () => {
    console.log(
      `failover fault schedules: seed ${SEED}, ${SCHEDULES} schedules (replay one with FAILOVER_SEED=<seed> FAILOVER_SCHEDULES=1)`,
    );
    const results = runSchedules(SCHEDULES, SEED);
    const unsafe = results.filter((r) => r.doubleSigns.length > 0);
    const stuck = results.filter((r) => !r.signingAgain);
    for (const r of [...unsafe, ...stuck]) {
      console.log(
        `seed ${r.seed}: ${r.nodes} nodes, double-signed heights [${r.doubleSigns.join(', ')}], signing again: ${r.signingAgain}, faults ${JSON.stringify(r.faults)}`,
      );
    }
    expect(unsafe.map((r) => r.seed)).toEqual([]);
    expect(stuck.map((r) => r.seed)).toEqual([]);
    // The schedules must exercise failovers, or the invariant says little.
    expect(results.filter((r) => r.promotes > 0).length).toBeGreaterThan(SCHEDULES / 5);
  }, 120_000);

  it('failover figures for the bench: unplanned failover and switchover over seeded schedules', () => {
    const figures = failoverFigures({ schedules: 10, seed: SEED });
    expect(figures.doubleSigns).toBe(0);
    expect(figures.failover.notRecovered).toBe(0);
    expect(figures.switchover.notRecovered).toBe(0);
    expect(figures.failover.seconds.p50).toBeGreaterThan(0);
    // Silence (3 s) + lease (≤ 10 s) + grace (10 s) + promotion bound the unplanned failover.
    expect(figures.failover.seconds.p95).toBeLessThanOrEqual(30);
    expect(figures.switchover.missedBlocks.p95).toBeLessThanOrEqual(8);
  });
});
