/**
 * Failover figures and the chaos soak, from the failover fault simulator
 * (test/commander/failover/faults.ts: the real decideFailover with the report path's semantics,
 * simulated pilots, daemons and a chain that records every signature).
 */
import { parseFailoverSettings } from '../commander/failover/index.js';
import { type FailoverFigures, failoverFigures, runSchedules } from '../test/commander/failover/faults.js';

export interface SoakSummary {
  schedules: number;
  seed: number;
  twoNodes: number;
  threeNodes: number;
  faults: Record<string, number>;
  promotes: number;
  doubleSigns: number;
  doubleSignSeeds: number[];
  notSigningAgain: number;
  notSigningAgainSeeds: number[];
  seconds: number;
  reproduce: string;
}

export interface FailoverBench {
  /** The simulator's fast settings (1 s reports and blocks). */
  fast: FailoverFigures;
  /** The commander's default failover settings (5 s reports) on a chain with 6 s blocks. */
  defaults: FailoverFigures;
  soak: SoakSummary;
}

export function measureFailover(options: { schedules: number; seed: number }): FailoverBench {
  const fast = failoverFigures({ schedules: options.schedules, seed: options.seed });
  const { declineHoldMs: _unused, ...defaultSettings } = parseFailoverSettings({ mode: 'auto' });
  const defaults = failoverFigures({
    schedules: options.schedules,
    seed: options.seed,
    blockMs: 6_000,
    settings: defaultSettings,
  });
  const started = performance.now();
  const results = runSchedules(options.schedules, options.seed);
  const faults: Record<string, number> = {};
  for (const r of results) for (const f of r.faults) faults[f.kind] = (faults[f.kind] ?? 0) + 1;
  const doubleSigned = results.filter((r) => r.doubleSigns.length > 0);
  const stuck = results.filter((r) => !r.signingAgain);
  return {
    fast,
    defaults,
    soak: {
      schedules: results.length,
      seed: options.seed,
      twoNodes: results.filter((r) => r.nodes === 2).length,
      threeNodes: results.filter((r) => r.nodes === 3).length,
      faults,
      promotes: results.reduce((a, r) => a + r.promotes, 0),
      doubleSigns: results.reduce((a, r) => a + r.doubleSigns.length, 0),
      doubleSignSeeds: doubleSigned.map((r) => r.seed),
      notSigningAgain: stuck.length,
      notSigningAgainSeeds: stuck.map((r) => r.seed),
      seconds: Math.round((performance.now() - started) / 1000),
      reproduce: `FAILOVER_SEED=<seed> FAILOVER_SCHEDULES=1 npx vitest run test/commander/failover/schedules.test.ts`,
    },
  };
}
