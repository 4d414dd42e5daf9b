/** Renders bench results as a Markdown table (printed and written to bench/results/latest.md). */
import type { FailoverFigures } from '../test/commander/failover/faults.js';
import { type FunctionFigure, PILOT_GOALS } from './bundle.js';
import type { ModeFigures } from './failover.js';
import type { BenchResults } from './run.js';
import type { ReplacementBench } from './sentry-replacement.js';

const ms = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${v} ms`);
const yes = (ok: boolean) => (ok ? 'met' : '**not met**');
type Row = [string, string, string, string];

const FUNCTION_LABEL: Record<FunctionFigure['name'], string> = {
  pilot: 'pilot API',
  slack: 'Slack route',
  telegram: 'Telegram route',
  pagerduty: 'PagerDuty webhook',
  tick: 'tick',
};

export function renderTable(r: BenchResults): string {
  const rows: Row[] = [];
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
  for (const fn of f.bundle?.functions ?? []) {
    const pilot = fn.name === 'pilot';
    const kib = fn.bytes / 1024;
    const c = fn.coldStart;
    rows.push([
      `Lambda bundle: ${FUNCTION_LABEL[fn.name]}`,
      `${kib.toFixed(0)} KiB (${(fn.gzipBytes / 1024).toFixed(0)} KiB gzip)`,
      pilot ? `≤ ${PILOT_GOALS.bundleKiB} KiB: ${yes(kib <= PILOT_GOALS.bundleKiB)}` : '',
      `infra/bundle.ts (what CDK deploys), AWS SDK external; largest: ${fn.largest.map((l) => `${l.input} ${l.kib} KiB`).join(', ')}`,
    ]);
    rows.push([
      `Lambda cold init: ${FUNCTION_LABEL[fn.name]} (import to first answer)`,
      `${ms(c.importToFirstAnswerMs)} (import ${ms(c.importMs)}, first answer ${ms(c.firstAnswerMs)}; CPU ${ms(c.importToFirstAnswerCpuMs)}); process start to done ${ms(c.processToReadyMs)}`,
      pilot
        ? `≤ ${PILOT_GOALS.importToFirstAnswerMs} ms: ${yes(c.importToFirstAnswerMs <= PILOT_GOALS.importToFirstAnswerMs)}`
        : '',
      `median of ${c.runs} fresh processes, ${r.machine.node}; first answer: ${fn.firstRequest}`,
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
  if (f.signer) {
    const l = f.signer.latencyMs;
    rows.push([
      'Remote signer: sign request → response',
      `p50 ${ms(l.p50)}, p99 ${ms(l.p99)}, max ${ms(l.max)}; ${f.signer.refusedOrFailed} of ${f.signer.requests} refused or failed`,
      `p99 ≤ 5 ms: ${yes(l.p99 !== null && l.p99 <= 5 && f.signer.refusedOrFailed === 0)}`,
      f.signer.settings,
    ]);
  }
  for (const m of f.failover?.modes ?? []) rows.push(...failoverRows(m));
  if (f.replacement) rows.push(replacementRow(f.replacement));
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

/** Goals per key mode: docs/failover.md (signer mode), the design's ≤ 2-block switchover aim (file mode). */
function failoverRows(m: ModeFigures): Row[] {
  const { blocks1s, blocks6s } = m.shipped;
  const signer = m.keyMode === 'signer';
  const mode = `${m.keyMode} mode`;
  const p95 = (o: { p95: number | null }) => o.p95 ?? Number.POSITIVE_INFINITY;
  const missed = (o: FailoverFigures) => o.switchover.missedBlocks;
  const aim = signer ? 1 : 2;
  const noDouble = (o: FailoverFigures) => `no double sign: ${yes(o.doubleSigns === 0)}`;
  const fo = blocks6s.failover;
  const s = blocks6s.settings;
  const shippedUnder = `${blocks6s.schedules} seeded runs (seed ${blocks6s.seed}), 2 nodes; the settings Beam ships: ${settingsLine(s)}`;
  const soak = m.soak;
  return [
    [
      `Planned switchover, ${mode} (shipped settings)`,
      `missed blocks at 1 s blocks p50 ${missed(blocks1s).p50}, p95 ${missed(blocks1s).p95}; at 6 s blocks p50 ${missed(blocks6s).p50}, p95 ${missed(blocks6s).p95}; not recovered ${blocks1s.switchover.notRecovered + blocks6s.switchover.notRecovered}; double signs ${blocks1s.doubleSigns + blocks6s.doubleSigns}`,
      `p95 ≤ ${aim}: 1 s blocks ${yes(p95(missed(blocks1s)) <= aim)}, 6 s blocks ${yes(p95(missed(blocks6s)) <= aim)}${signer ? '' : ' (double_sign_check_height 4 alone costs 4, docs/failover.md)'}`,
      shippedUnder,
    ],
    [
      `Unplanned failover (power loss of the primary), ${mode} (shipped settings, 6 s blocks)`,
      `p50 ${fo.seconds.p50} s / ${fo.missedBlocks.p50} missed blocks; p95 ${fo.seconds.p95} s / ${fo.missedBlocks.p95} blocks; not recovered ${fo.notRecovered}; double signs ${blocks6s.doubleSigns}`,
      signer
        ? `p95 ≤ 30 s: ${yes(p95(fo.seconds) <= 30)}; ≤ 5 blocks: ${yes(p95(fo.missedBlocks) <= 5)}; ${noDouble(blocks6s)}`
        : noDouble(blocks6s),
      shippedUnder,
    ],
    [
      `Failover and switchover, ${mode} (simulator's fast settings, 1 s blocks)`,
      `unplanned p50 ${m.fast.failover.seconds.p50} s / ${m.fast.failover.missedBlocks.p50} blocks, p95 ${m.fast.failover.seconds.p95} s / ${m.fast.failover.missedBlocks.p95} blocks; switchover missed p50 ${missed(m.fast).p50}, p95 ${missed(m.fast).p95}; not recovered ${m.fast.failover.notRecovered + m.fast.switchover.notRecovered}; double signs ${m.fast.doubleSigns}`,
      noDouble(m.fast),
      `${m.fast.schedules} seeded runs, 2 nodes; ${settingsLine(m.fast.settings)}`,
    ],
    [
      `Chaos soak, ${mode} (randomized fault schedules)`,
      `${soak.schedules} schedules, ${soak.promotes} promotions: double signs ${soak.doubleSigns}, signing again after healing ${soak.schedules - soak.notSigningAgain}/${soak.schedules}`,
      `0 double signs, all recover: ${yes(soak.doubleSigns === 0 && soak.notSigningAgain === 0)}`,
      `seed ${soak.seed}, the fast settings; ${soak.twoNodes} with 2 nodes, ${soak.threeNodes} with 3; faults ${Object.entries(
        soak.faults,
      )
        .map(([k, v]) => `${k} ${v}${soak.struck[k] === undefined ? '' : ` (struck ${soak.struck[k]})`}`)
        .join(', ')}`,
    ],
  ];
}

/** The goal: what Beam takes beyond its replaceAfterMs wait (a policy, 10 min shipped). */
function replacementRow(b: ReplacementBench): Row {
  const sec = (v: number | null) => (v === null ? '–' : `${v} s`);
  const p = b.stepsP50;
  const c = b.settings;
  return [
    'Sentry replacement (kill → replacement serving peers at the tip)',
    `p50 ${b.totalS.p50} s (runs ${b.runs.map((r) => `${r.totalS} s`).join(', ')}) with replaceAfterMs ${b.replaceAfterMs / 1000} s; with the shipped ${b.shippedReplaceAfterMs / 60_000} min ≈ ${(b.shippedTotalS / 60).toFixed(1)} min. Steps, p50: termination ${sec(p.termination)}, launch ${sec(p.launch)}, enrollment ${sec(p.enrollment)} (binary installed ${sec(p.binaryInstall)} after launch, meanwhile), state-sync action ${sec(p.stateSyncAction)}, daemon started ${sec(p.daemonStart)}, snapshot restored ${sec(p.stateSync)}, catch-up ${sec(p.catchUp)}, dialled by the validators and at the tip ${sec(p.serving)}`,
    `≤ replaceAfterMs + ${b.goal.afterWaitS / 60} min: ${yes(b.goal.met)}`,
    `${b.runs.length} kill(s) of a sentry's machine; devnet with ${c.fleet}, ${c.blockTimeMs / 1000} s blocks, snapshots every ${c.snapshotInterval} blocks (the devnet restores only one at or above the trust height); EC2 emulation, the autoscaling group launching after ${c.replacementDelayMs / 1000} s (AWS's launch and boot not modelled); the shipped settings but replaceAfterMs: self-hosted tick every 15 s, reports ${c.reportIntervalMs / 1000} s, freshReportMs ${c.freshReportMs / 1000} s (termination = freshReportMs + replaceAfterMs + up to a tick); bundled pilots, daemons under cosmovisor, a ${c.binaryBytes}-byte binary from loopback (sha256 checked), state sync discovery 15 s`,
  ];
}

function settingsLine(s: FailoverFigures['settings']): string {
  const sec = (v: number) => `${v / 1000} s`;
  return `reports ${sec(s.reportIntervalMs)} (500 ms while a move runs), lease ${sec(s.leaseDurationMs)} renewed below ${sec(s.renewMarginMs)}, grace ${sec(s.graceMs)}, fence delay ${sec(s.pilotFenceDelayMs)}, silent after ${sec(s.silentAfterMs)}, N=${s.missedCommitsForFailover}, skew ${s.clockSkew}, report phases random`;
}
