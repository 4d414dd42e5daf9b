/**
 * Failover figures and the chaos soak for each key mode, side by side, from the failover fault
 * simulator (test/commander/failover/faults.ts: the real decideFailover with the report path's
 * semantics, simulated pilots, daemons and a chain that records every signature).
 */
import { parseFailoverSettings } from '../commander/failover/index.js';
import {
  FAULT_SETTINGS,
  type FailoverFigures,
  failoverFigures,
  runSchedules,
} from '../test/commander/failover/faults.js';
import { KEY_MODES, type SimKeyMode } from '../test/commander/failover/sim.js';

/** Randomized fault schedules per key mode in the chaos soak. */
const SOAK_SCHEDULES = 1_000;

export interface SoakSummary {
  schedules: number;
  seed: number;
  twoNodes: number;
  threeNodes: number;
  faults: Record<string, number>;
  /** Of those, how many found the moment that makes them bite (e.g. a SIGSTOP with a signature in flight). */
  struck: Record<string, number>;
  promotes: number;
  doubleSigns: number;
  doubleSignSeeds: number[];
  notSigningAgain: number;
  notSigningAgainSeeds: number[];
  seconds: number;
  reproduce: string;
}

export interface ModeFigures {
  keyMode: SimKeyMode;
  /** The settings Beam ships for this key mode (`parseFailoverSettings({ keyMode, mode: 'auto' })`, 5 s reports). */
  shipped: { blocks1s: FailoverFigures; blocks6s: FailoverFigures };
  /** The simulator's fast settings (1 s reports and blocks), which the soak runs with. */
  fast: FailoverFigures;
  soak: SoakSummary;
}

export interface FailoverBench {
  modes: ModeFigures[];
}

export function measureFailover(options: {
  schedules: number;
  seed: number;
  soakSchedules?: number;
}): FailoverBench {
  return { modes: KEY_MODES.map((keyMode) => measureMode(keyMode, options)) };
}

function measureMode(
  keyMode: SimKeyMode,
  options: { schedules: number; seed: number; soakSchedules?: number },
): ModeFigures {
  const { schedules, seed } = options;
  const settings = parseFailoverSettings({ keyMode, mode: 'auto' });
  const shipped = (blockMs: number) => failoverFigures({ schedules, seed, blockMs, settings });
  return {
    keyMode,
    shipped: { blocks1s: shipped(1_000), blocks6s: shipped(6_000) },
    fast: failoverFigures({ schedules, seed, settings: FAULT_SETTINGS[keyMode] }),
    soak: soak(keyMode, options.soakSchedules ?? SOAK_SCHEDULES, seed),
  };
}

function soak(keyMode: SimKeyMode, schedules: number, seed: number): SoakSummary {
  const started = performance.now();
  const results = runSchedules(schedules, seed, [keyMode]);
  const faults: Record<string, number> = {};
  const struck: Record<string, number> = {};
  for (const r of results) {
    for (const f of r.faults) faults[f.kind] = (faults[f.kind] ?? 0) + 1;
    for (const [kind, n] of Object.entries(r.struck)) struck[kind] = (struck[kind] ?? 0) + n;
  }
  const doubleSigned = results.filter((r) => r.doubleSigns.length > 0);
  const stuck = results.filter((r) => !r.signingAgain);
  return {
    schedules: results.length,
    seed,
    twoNodes: results.filter((r) => r.nodes === 2).length,
    threeNodes: results.filter((r) => r.nodes === 3).length,
    faults,
    struck,
    promotes: results.reduce((a, r) => a + r.promotes, 0),
    doubleSigns: results.reduce((a, r) => a + r.doubleSigns.length, 0),
    doubleSignSeeds: doubleSigned.map((r) => r.seed),
    notSigningAgain: stuck.length,
    notSigningAgainSeeds: stuck.map((r) => r.seed),
    seconds: Math.round((performance.now() - started) / 1000),
    reproduce: `FAILOVER_SEED=<seed> FAILOVER_SCHEDULES=1 npx vitest run test/commander/failover/schedules.test.ts`,
  };
}
