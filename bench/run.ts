/**
 * `npm run bench [-- --quick] [-- --only latency,load,...]`: measures Beam's figures on loopback and
 * writes bench/results/latest.json and latest.md (the table it prints).
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDynalite } from '../test/commander/helpers.js';
import { type BundleFigure, measureBundle } from './bundle.js';
import { type FailoverBench, measureFailover } from './failover.js';
import { type FuzzFigures, runFuzz } from './fuzz.js';
import { type SignerFigure, signerLatency } from './signer.js';
import { type LatencyFigure, type LoadFigure, load, reportLatency } from './load.js';
import { type PilotFootprint, pilotFootprint } from './pilot-footprint.js';
import { type ReplacementBench, measureSentryReplacement } from './sentry-replacement.js';
import { type FleetFigures, measureStorePath } from './store-path.js';
import { renderTable } from './table.js';

const SECTIONS = [
  'store',
  'latency',
  'load',
  'bundle',
  'pilot',
  'signer',
  'failover',
  'replacement',
  'fuzz',
] as const;
type Section = (typeof SECTIONS)[number];

export interface BenchResults {
  generatedAt: string;
  mode: 'full' | 'quick';
  durationS: number;
  machine: {
    cpus: number;
    cpuModel: string;
    node: string;
    platform: string;
    memGb: number;
    /** 1-minute load average at the start and the end: other work on the machine skews timings. */
    loadAvg: { start: number; end: number };
  };
  figures: {
    storePath?: FleetFigures;
    latency?: LatencyFigure;
    load?: LoadFigure[];
    bundle?: BundleFigure;
    pilot?: PilotFootprint[];
    signer?: SignerFigure;
    failover?: FailoverBench;
    replacement?: ReplacementBench;
    fuzz?: FuzzFigures;
  };
  errors: Record<string, string>;
}

async function main() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  const quick = values.quick ?? false;
  const only = values.only ? (values.only.split(',') as Section[]) : [...SECTIONS];
  for (const s of only)
    if (!SECTIONS.includes(s)) throw new Error(`--only ${s}: choose from ${SECTIONS.join(', ')}`);
  const seed = Number(values.seed ?? 20261201);
  const outDir = values.out ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const started = performance.now();
  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    durationS: 0,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      memGb: Math.round(os.totalmem() / 2 ** 30),
      loadAvg: { start: Number(os.loadavg()[0]!.toFixed(2)), end: 0 },
    },
    figures: {},
    errors: {},
  };
  const section = async (name: Section, what: string, fn: () => Promise<void>) => {
    if (!only.includes(name)) return;
    const t = performance.now();
    log(`${what}...`);
    try {
      await fn();
      log(`  done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    } catch (error) {
      results.errors[name] = (error as Error).stack ?? String(error);
      log(`  FAILED: ${(error as Error).message}`);
    }
  };

  await section('store', 'store calls per report and tick cost (in-process, dynalite)', async () => {
    const db = await startDynalite();
    try {
      results.figures.storePath = await measureStorePath({
        endpoint: db.endpoint,
        sizes: quick ? [10, 100] : [10, 100, 1000],
        storeCallSizes: quick ? [10, 100] : [10, 1000],
        reportsPerSize: quick ? 200 : 1000,
        steadyTicks: quick ? 3 : 5,
        log,
      });
    } finally {
      await db.close();
    }
  });
  await section('latency', 'report latency over HTTP (self-hosted commander)', async () => {
    results.figures.latency = await reportLatency({ nodes: 10, reports: quick ? 300 : 2000 });
  });
  await section('load', 'load: simulated pilots against the self-hosted commander', async () => {
    results.figures.load = [];
    for (const pilots of quick ? [100] : [100, 1000]) {
      results.figures.load.push(
        await load({ pilots, durationMs: quick ? 10_000 : 20_000, intervalMs: 5000, log }),
      );
    }
  });
  await section('bundle', 'Lambda bundle size and cold init', async () => {
    const db = await startDynalite();
    try {
      results.figures.bundle = await measureBundle({ endpoint: db.endpoint, runs: quick ? 3 : 7 });
    } finally {
      await db.close();
    }
  });
  await section('pilot', 'pilot idle footprint (real pilot processes on devnet)', async () => {
    results.figures.pilot = [];
    for (const node of ['sentry-1', 'val-a'] as const) {
      results.figures.pilot.push(
        await pilotFootprint({
          node,
          warmupMs: quick ? 5_000 : 10_000,
          sampleMs: quick ? 15_000 : 30_000,
          log,
        }),
      );
    }
  });
  await section('signer', 'remote signer latency (privval over a unix socket)', async () => {
    results.figures.signer = await signerLatency({ heights: quick ? 300 : 2000 });
  });
  await section('failover', 'failover figures and chaos soak (seeded fault schedules)', async () => {
    results.figures.failover = measureFailover({ schedules: quick ? 100 : 500, seed });
  });
  await section(
    'replacement',
    'sentry replacement end to end (devnet, EC2 emulation, real pilots)',
    async () => {
      results.figures.replacement = await measureSentryReplacement({ runs: quick ? 1 : 2, log });
    },
  );
  await section('fuzz', 'fuzzing (test/fuzz)', async () => {
    results.figures.fuzz = await runFuzz({ runs: quick ? 1000 : 10_000, seed, log });
  });

  results.durationS = Math.round((performance.now() - started) / 1000);
  results.machine.loadAvg.end = Number(os.loadavg()[0]!.toFixed(2));
  mkdirSync(outDir, { recursive: true });
  const table = renderTable(results);
  writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(outDir, 'latest.md'), table);
  process.stdout.write(`\n${table}`);
  for (const [name, error] of Object.entries(results.errors))
    process.stdout.write(`\n${name} failed: ${error}\n`);
  log(`wrote ${path.join(outDir, 'latest.json')} and latest.md`);
  process.exitCode = Object.keys(results.errors).length ? 1 : 0;
}

await main();
