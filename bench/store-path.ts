/**
 * In-process measurements of the report path and the tick against dynalite: store calls per report
 * (counted by the store's CountingSender) and tick cost by fleet size.
 */
import type { BenchFleet } from '../commander/bench-kit.js';
import { createBenchFleet, handleReports } from '../commander/bench-kit.js';
import { runTick } from '../commander/app/tick.js';
import type { Report, Role } from '../protocol/index.js';
import { sampleReport } from '../test/fixtures/report.js';
import { round, summarize, timed } from './stats.js';

/** A healthy report for a bench node at the commander's clock. */
export function benchReport(
  node: { id: string; seq: number; role: Role; chainId: string },
  now = Date.now(),
): Report {
  return sampleReport({
    nodeId: node.id,
    seq: node.seq,
    sentAt: now,
    role: node.role,
    chainId: node.chainId,
    daemon: { ...sampleReport().daemon, latestBlockTime: now, moniker: node.id },
  });
}

export interface StoreCallsFigure {
  nodes: number;
  reports: number;
  storeCalls: number;
  storeCallsPerReport: number;
  byCommand: Record<string, number>;
  failures: number;
  inProcessLatencyMs: ReturnType<typeof summarize>;
}

export interface TickFigure {
  nodes: number;
  /** The first tick after every node reported: it queues a generated config for each node. */
  first: { ms: number; storeCalls: number; configsQueued: number };
  /** Median of the following ticks on a converged fleet. */
  steady: { ms: number; storeCalls: number; ticks: number };
}

export async function storeCallsPerReport(fleet: BenchFleet, reports: number): Promise<StoreCallsFigure> {
  const before = new Map(fleet.deps.calls.byCommand);
  const run = await handleReports(fleet, reports, (n) => benchReport(n, fleet.deps.now()), 1);
  const byCommand: Record<string, number> = {};
  for (const [name, count] of fleet.deps.calls.byCommand) {
    const delta = count - (before.get(name) ?? 0);
    if (delta) byCommand[name] = round(delta / reports, 3);
  }
  return {
    nodes: fleet.nodes.length,
    reports: run.reports,
    storeCalls: run.storeCalls,
    storeCallsPerReport: round(run.storeCallsPerReport, 3),
    byCommand,
    failures: run.failures,
    inProcessLatencyMs: summarize(run.latenciesMs),
  };
}

export async function tickCost(fleet: BenchFleet, steadyTicks: number): Promise<TickFigure> {
  // Every node reports once, so the tick evaluates live nodes (not just enrolled ones).
  const warm = await handleReports(fleet, fleet.nodes.length, (n) => benchReport(n, fleet.deps.now()), 4);
  if (warm.failures) throw new Error(`${warm.failures} warm-up reports failed`);
  const measure = async () => {
    const before = fleet.deps.calls.calls;
    const { value, ms } = await timed(() => runTick(fleet.deps));
    return { ms, storeCalls: fleet.deps.calls.calls - before, summary: value };
  };
  const first = await measure();
  const steady: { ms: number; storeCalls: number }[] = [];
  for (let i = 0; i < steadyTicks; i++) steady.push(await measure());
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  return {
    nodes: fleet.nodes.length,
    first: {
      ms: round(first.ms, 1),
      storeCalls: first.storeCalls,
      configsQueued: first.summary.configsQueued,
    },
    steady: {
      ms: round(median(steady.map((s) => s.ms)), 1),
      storeCalls: median(steady.map((s) => s.storeCalls)),
      ticks: steadyTicks,
    },
  };
}

export interface FleetFigures {
  storeCalls: StoreCallsFigure[];
  tick: TickFigure[];
  settings: Record<string, unknown>;
}

/** Builds one fleet per size on a fresh table; measures tick cost for each, store calls where asked. */
export async function measureStorePath(options: {
  endpoint: string;
  sizes: number[];
  storeCallSizes: number[];
  reportsPerSize: number;
  steadyTicks: number;
  log: (line: string) => void;
}): Promise<FleetFigures> {
  const storeCalls: StoreCallsFigure[] = [];
  const tick: TickFigure[] = [];
  for (const size of options.sizes) {
    const { value: fleet, ms } = await timed(() =>
      createBenchFleet({ endpoint: options.endpoint, nodes: size }),
    );
    options.log(`  fleet of ${size} enrolled and approved in ${(ms / 1000).toFixed(1)} s`);
    tick.push(await tickCost(fleet, options.steadyTicks));
    if (options.storeCallSizes.includes(size))
      storeCalls.push(await storeCallsPerReport(fleet, options.reportsPerSize));
  }
  return {
    storeCalls,
    tick,
    settings: {
      engine: 'dynalite (in memory, loopback)',
      path: 'handleReport / runTick in-process, store calls counted by CountingSender',
      fleet: 'chains of 2 validators and 3 sentries, all approved; one report per node before the tick',
      reportsPerSize: options.reportsPerSize,
    },
  };
}
