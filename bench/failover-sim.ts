/**
 * Failover figures from the failover simulator (test/commander/failover/sim.ts: the real
 * decideFailover state machine driving simulated pilots and a block-producing chain), over seeded
 * schedules: each schedule picks a fault, when it strikes, clock skews and block phase.
 */
import fc from 'fast-check';
import { parseFailoverSettings, type FailoverSettingsInput } from '../commander/failover/index.js';
import { Sim } from '../test/commander/failover/sim.js';
import { quantile, round } from './stats.js';

type Fault = 'power-loss' | 'daemon-crash' | 'pilot-and-daemon-partitioned';

interface Schedule {
  fault: Fault;
  steadyMs: number;
  skews: number[];
  phaseMs: number;
}

const scheduleArb = fc.record({
  fault: fc.constantFrom<Fault>('power-loss', 'daemon-crash', 'pilot-and-daemon-partitioned'),
  steadyMs: fc.integer({ min: 20_000, max: 90_000 }),
  skews: fc.array(fc.integer({ min: -5_000, max: 5_000 }), { minLength: 2, maxLength: 2 }),
  phaseMs: fc.integer({ min: 0, max: 5_900 }),
});

function newSim(settings: FailoverSettingsInput, blockMs: number, s: Schedule): Sim {
  const sim = new Sim(['val-a', 'val-b'], { settings });
  sim.blockMs = blockMs;
  sim.node('val-a').skewMs = s.skews[0]!;
  sim.node('val-b').skewMs = s.skews[1]!;
  sim.run(Math.floor(s.phaseMs / 100) * 100);
  return sim;
}

/** Blocks after `from` until (excluding) the first block signed by `signer`; and that block's time. */
function recovery(sim: Sim, from: number, signer: string) {
  const after = sim.blocks.filter((b) => b.at > from);
  const first = after.findIndex((b) => b.signers.includes(signer));
  if (first < 0) return null;
  return { missed: after.slice(0, first).filter((b) => b.signers.length === 0).length, at: after[first]!.at };
}

export interface FailoverFigures {
  source: string;
  schedules: number;
  seed: number;
  failover: {
    runs: number;
    seconds: { p50: number | null; p95: number | null; max: number | null };
    missedBlocks: { p50: number | null; p95: number | null; max: number | null };
    byFault: Record<string, { runs: number; p50Seconds: number | null; p95Seconds: number | null }>;
    notRecovered: number;
  };
  switchover: {
    runs: number;
    refusedRequests: number;
    missedBlocks: { p50: number | null; p95: number | null; max: number | null };
    notRecovered: number;
  };
  doubleSigns: number;
  settings: Record<string, unknown>;
}

export function simulateFailover(options: {
  schedules: number;
  seed: number;
  blockMs: number;
}): FailoverFigures {
  const settings: FailoverSettingsInput = { mode: 'auto' };
  const parsed = parseFailoverSettings(settings);
  const schedules = fc.sample(scheduleArb, { numRuns: options.schedules, seed: options.seed });
  const seconds: number[] = [];
  const missed: number[] = [];
  const switchMissed: number[] = [];
  let notRecovered = 0;
  let switchNotRecovered = 0;
  let doubleSigns = 0;
  let switchRefusals = 0;
  const secondsByFault: Record<string, number[]> = {};
  for (const s of schedules) {
    // Unplanned: the fault strikes the primary after a steady period.
    const sim = newSim(settings, options.blockMs, s);
    sim.run(s.steadyMs);
    const a = sim.node('val-a');
    if (s.fault === 'power-loss') Object.assign(a, { pilotUp: false, daemonOk: false, running: false });
    else if (s.fault === 'daemon-crash') Object.assign(a, { daemonOk: false, running: false });
    else Object.assign(a, { reachesCommander: false, fenceOnlyIfNotSigning: false });
    const at = sim.now;
    try {
      sim.runUntil(() => recovery(sim, at, 'val-b') !== null, 300_000, 'val-b signing');
      const r = recovery(sim, at, 'val-b')!;
      seconds.push((r.at - at) / 1000);
      secondsByFault[s.fault] = [...(secondsByFault[s.fault] ?? []), (r.at - at) / 1000];
      missed.push(r.missed);
    } catch {
      notRecovered++;
    }
    doubleSigns += sim.doubleSigns().length;

    // Planned: a switchover requested after the same steady period.
    const planned = newSim(settings, options.blockMs, s);
    planned.run(s.steadyMs);
    // An operator whose request is refused (e.g. the standby has not seen a new block since its
    // previous report) asks again a second later; refusals are counted.
    let requested = planned.now;
    for (let attempt = 0; attempt < 30; attempt++) {
      requested = planned.now;
      const out = planned.apply({ type: 'request-switchover', actor: 'bench' });
      if (!out.effects.some((e) => e.type === 'notice' && /refused/i.test(e.text))) break;
      switchRefusals++;
      planned.run(1_000);
    }
    try {
      planned.runUntil(() => recovery(planned, requested, 'val-b') !== null, 120_000, 'val-b signing');
      switchMissed.push(recovery(planned, requested, 'val-b')!.missed);
    } catch {
      switchNotRecovered++;
    }
    doubleSigns += planned.doubleSigns().length;
  }
  const q = (xs: number[]) => ({
    p50: quantile(xs, 0.5),
    p95: quantile(xs, 0.95),
    max: xs.length ? Math.max(...xs) : null,
  });
  const qs = q(seconds);
  return {
    source:
      'bench/failover-sim.ts over test/commander/failover/sim.ts (decideFailover, simulated pilots and chain)',
    schedules: options.schedules,
    seed: options.seed,
    failover: {
      runs: seconds.length,
      seconds: {
        p50: qs.p50 === null ? null : round(qs.p50, 1),
        p95: qs.p95 === null ? null : round(qs.p95, 1),
        max: qs.max === null ? null : round(qs.max, 1),
      },
      missedBlocks: q(missed),
      byFault: Object.fromEntries(
        Object.entries(secondsByFault).map(([fault, xs]) => [
          fault,
          { runs: xs.length, p50Seconds: quantile(xs, 0.5), p95Seconds: quantile(xs, 0.95) },
        ]),
      ),
      notRecovered,
    },
    switchover: {
      runs: switchMissed.length,
      refusedRequests: switchRefusals,
      missedBlocks: q(switchMissed),
      notRecovered: switchNotRecovered,
    },
    doubleSigns,
    settings: {
      mode: 'auto',
      blockMs: options.blockMs,
      reportIntervalMs: parsed.reportIntervalMs,
      leaseDurationMs: parsed.leaseDurationMs,
      renewMarginMs: parsed.renewMarginMs,
      graceMs: parsed.graceMs,
      pilotFenceDelayMs: parsed.pilotFenceDelayMs,
      maxClockSkewMs: parsed.maxClockSkewMs,
      silentAfterMs: parsed.silentAfterMs,
      missedCommitsForFailover: parsed.missedCommitsForFailover,
      clockSkew: '±5 s per pilot',
      faults:
        'power loss (pilot + daemon), daemon crash under a live pilot, primary cut off from the commander',
      failoverTime: 'fault → first block signed by the standby',
    },
  };
}
