/** Renders bench results as a Markdown table (printed and written to bench/results/latest.md). */
import type { BenchResults } from './run.js';

const ms = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${v} ms`);
const yes = (ok: boolean) => (ok ? 'met' : '**not met**');

export function renderTable(r: BenchResults): string {
  const rows: [string, string, string, string][] = [];
  const f = r.figures;
  if (f.latency) {
    const l = f.latency;
    rows.push([
      'Report handling latency (HTTP, self-hosted on dynalite)',
      `p50 ${ms(l.latencyMs.p50)}, p99 ${ms(l.latencyMs.p99)}; ${l.errors} errors`,
      '',
      `${l.reports} signed reports over ${l.nodes} nodes, one in flight, loopback`,
    ]);
  }
  if (f.storePath) {
    for (const s of f.storePath.storeCalls) {
      rows.push([
        `Store calls per report (${s.nodes} nodes)`,
        `${s.storeCallsPerReport} (${Object.entries(s.byCommand)
          .map(([k, v]) => `${k.replace(/Command$/, '')} ${v}`)
          .join(', ')})`,
        `≤ 3: ${yes(s.storeCallsPerReport <= 3)}`,
        `${s.reports} reports through handleReport, CountingSender`,
      ]);
    }
    for (const t of f.storePath.tick) {
      rows.push([
        `Tick cost (${t.nodes} nodes)`,
        `steady ${t.steady.ms} ms / ${t.steady.storeCalls} store calls; first ${t.first.ms} ms / ${t.first.storeCalls} calls (${t.first.configsQueued} configs queued)`,
        '',
        `runTick in-process on dynalite; steady = median of ${t.steady.ticks} ticks`,
      ]);
    }
  }
  for (const l of f.load ?? []) {
    rows.push([
      `Load: ${l.pilots} pilots every ${l.reportIntervalMs / 1000} s`,
      `${l.throughputPerS} reports/s, p50 ${ms(l.latencyMs.p50)}, p99 ${ms(l.latencyMs.p99)}, ${l.errors} errors; lost reports ${l.lostReports}, actions delivered ${l.actionsDelivered}/${l.actionsQueued}`,
      `no loss: ${yes(l.lostReports === 0 && l.actionsLost === 0 && l.errors === 0)}`,
      `${l.durationS} s, ${l.sent} reports, ${l.storeCallsPerReport} store calls/report incl. ticks; store checked after`,
    ]);
  }
  if (f.bundle) {
    const b = f.bundle;
    rows.push([
      'Lambda http bundle',
      `${(b.http.bytes / 1024).toFixed(0)} KiB (${(b.http.gzipBytes / 1024).toFixed(0)} KiB gzip); tick ${(b.tick.bytes / 1024).toFixed(0)} KiB`,
      '',
      'infra/bundle.ts (what CDK deploys), AWS SDK external',
    ]);
    rows.push([
      'Lambda http cold init (fresh Node process)',
      `import ${ms(b.coldStart.importMs)}, first invoke ${ms(b.coldStart.firstInvokeMs)}, first store request ${ms(b.coldStart.firstStoreRequestMs)}; process start to done ${ms(b.coldStart.processToReadyMs)}`,
      '',
      `median of ${b.coldStart.runs} processes, ${r.machine.node}`,
    ]);
  }
  for (const p of f.pilot ?? []) {
    rows.push([
      `Pilot idle footprint (${p.role})`,
      `RSS ${p.rssMb.mean} MB (max ${p.rssMb.max}), CPU ${p.cpuPercentOfCore} % of a core`,
      `RSS < 80 MB, CPU < 1 %: ${yes(p.goal.met)}`,
      `bundled pilot (${p.settings.config}), devnet node, 5 s reports, ${p.sampleSeconds} s sample (${p.reportsDuringSample} reports)`,
    ]);
  }
  if (f.failover) {
    const { fast, defaults, soak } = f.failover;
    for (const [label, o] of [
      ['simulator settings', fast],
      ['default settings', defaults],
    ] as const) {
      const s = o.settings;
      const under = `${o.schedules} seeded schedules (seed ${o.seed}), power loss of the primary; reports ${s.reportIntervalMs / 1000} s, blocks ${s.blockMs / 1000} s, lease ${s.leaseDurationMs / 1000} s, grace ${s.graceMs / 1000} s, fence delay ${s.pilotFenceDelayMs / 1000} s, N=${s.missedCommitsForFailover}, skew ±5 s`;
      rows.push([
        `Unplanned failover (${label})`,
        `p50 ${o.failover.seconds.p50} s / ${o.failover.missedBlocks.p50} missed blocks; p95 ${o.failover.seconds.p95} s / ${o.failover.missedBlocks.p95} blocks; not recovered ${o.failover.notRecovered}; double signs ${o.doubleSigns}`,
        `no double sign: ${yes(o.doubleSigns === 0)}`,
        under,
      ]);
      rows.push([
        `Planned switchover (${label})`,
        `missed blocks p50 ${o.switchover.missedBlocks.p50}, p95 ${o.switchover.missedBlocks.p95}; not recovered ${o.switchover.notRecovered}`,
        `aim ≤ 2: ${yes((o.switchover.missedBlocks.p95 ?? 99) <= 2)} (double_sign_check_height 4 alone costs 4, docs/failover.md)`,
        `same schedules, blocks ${s.blockMs / 1000} s`,
      ]);
    }
    rows.push([
      'Chaos soak (randomized fault schedules)',
      `${soak.schedules} schedules, ${soak.promotes} promotions: double signs ${soak.doubleSigns}, signing again after healing ${soak.schedules - soak.notSigningAgain}/${soak.schedules}`,
      `0 double signs, all recover: ${yes(soak.doubleSigns === 0 && soak.notSigningAgain === 0)}`,
      `seed ${soak.seed}; ${soak.twoNodes} with 2 nodes, ${soak.threeNodes} with 3; faults ${Object.entries(
        soak.faults,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    ]);
  }
  if (f.fuzz) {
    const z = f.fuzz;
    rows.push([
      'Fuzzing',
      `${z.totalInputs} generated inputs over ${z.routes.length} routes, ${z.failedFiles ? '**failures**' : 'no property violated'}`,
      `≥ 10,000 per route: ${yes(z.routes.every((x) => x.runs >= 10_000))}`,
      `seed ${z.seed}; ${z.routes.map((x) => `${x.route} ${x.runs}`).join(', ')}`,
    ]);
  }
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    `Beam bench (${r.mode}), ${r.generatedAt}, ${r.machine.cpus} × ${r.machine.cpuModel}, Node ${r.machine.node}, ${r.durationS} s, load average ${r.machine.loadAvg.start} → ${r.machine.loadAvg.end}`,
    '',
    '| Figure | Result | Goal | Measured under |',
    '| --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row.map(esc).join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}
