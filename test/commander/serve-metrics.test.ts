/**
 * The self-hosted commander as Prometheus and CloudWatch see it, configured from the chain registry:
 * `chain add` with two real chain.json files, then `serve` with no chain settings of its own; a
 * validator reports, the cron tick runs, and /metrics serves what the shipped dashboard and rules
 * use. The Lambda export (EMF lines) is checked on the same commander's figures.
 */
import { explorerLinks, explorerOf } from '../../commander/domain/explorer.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePolicy } from '../../commander/governance/settings.js';
import type { CountingSender } from '../../commander/adapters/store/client.js';
import { chainCommand } from '../../commander/cli-chain.js';
import { runTick } from '../../commander/app/tick.js';
import { createHttpHandler } from '../../commander/handlers/routes.js';
import { ReportEmf, TickEmf } from '../../commander/metrics/emf.js';
import { tickWithFigures, timedReports } from '../../commander/metrics/observe.js';
import { type RunningCommander, ServeConfig, serve } from '../../commander/server/serve.js';
import { type Report, signedHeaders } from '../../protocol/index.js';
import { sampleReport } from '../fixtures/report.js';
import { waitFor } from '../helpers/wait.js';
import { expectServes } from '../ops/refs.js';
import { enrollRequest, httpEvent, OPERATOR, TOKEN } from './helpers.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/chain-registry');
const VALIDATOR = 'B'.repeat(40);
const stateDir = mkdtempSync(join(tmpdir(), 'beam-serve-metrics-'));
let running: RunningCommander;
/** The store's call counter, which the Lambda entry points hand to the EMF writers (buildDeps makes it). */
const calls = () => (running.deps as typeof running.deps & { calls: CountingSender }).calls;
let secret: string;
let seq = 0;

function report(): Report {
  const now = Date.now();
  return sampleReport({
    chainId: 'cosmoshub-4',
    seq: ++seq,
    sentAt: now,
    daemon: { ...sampleReport().daemon, latestBlockTime: now - 500, consensusAddress: VALIDATOR },
    chain: {
      validatorAddress: VALIDATOR,
      operatorAddress: null,
      recentCommits: [{ height: 9, signed: true, at: now - 1000 }],
      signingInfo: null,
      validator: null,
      networkSignedShare: 1,
      balances: [],
      rewards: [],
      commission: [],
      proposals: [],
      grants: null,
      errors: [],
    },
  });
}

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${running.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const sendReport = (r: Report) => {
  const body = JSON.stringify(r);
  return post('/v1/pilot/report', body, signedHeaders(r.nodeId, secret, Date.now(), body));
};

beforeAll(async () => {
  process.env.BEAM_LOG_LEVEL = 'warn';
  const printed: string[] = [];
  for (const chain of ['cosmoshub', 'osmosis'])
    await chainCommand('add', join(FIXTURES, `${chain}.json`), { stateDir }, (l) => printed.push(l));
  expect(printed.join('\n')).toMatch(/^added cosmoshub-4 \(Cosmos Hub\): prefix cosmos, staking uatom/m);
  running = await serve(
    ServeConfig.parse({
      listen: '127.0.0.1:0',
      stateDir,
      tick: '* * * * * *',
      settings: { enrollmentToken: TOKEN },
    }),
    { transports: {}, env: {} },
  );
  const request = JSON.stringify(enrollRequest({ chainId: 'cosmoshub-4' }));
  expect((await post('/v1/pilot/enroll', request)).body.status).toBe('pending');
  const { CommanderApp } = await import('../../commander/app/commander-app.js');
  await new CommanderApp(running.deps).approveNode(OPERATOR, 'val-a');
  secret = (await post('/v1/pilot/enroll', request)).body.secret as string;
  expect((await sendReport(report())).status).toBe(200);
});

afterAll(async () => {
  await running?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('a commander configured from the chain registry', () => {
  it('takes each chain’s bond denom from its registry facts, with no chain settings of its own', async () => {
    const governance = running.deps.settings.governance;
    expect(resolvePolicy(governance, 'cosmoshub-4').autoBond.denom).toBe('uatom');
    expect(resolvePolicy(governance, 'osmosis-1').autoBond.denom).toBe('uosmo');
    // And its explorer: the registry's transaction page, Mintscan's validator page filled in.
    const osmosis = explorerOf(running.deps.settings.explorers, 'osmosis-1');
    expect(explorerLinks(osmosis, { tx: 'AA', validator: 'osmovaloper1x' })).toEqual([
      { url: 'https://www.mintscan.io/osmosis/txs/AA', label: 'transaction' },
      { url: 'https://www.mintscan.io/osmosis/validators/osmovaloper1x', label: 'validator' },
    ]);
    // chain list reaches the table through the running serve that holds it.
    const listed: string[] = [];
    await chainCommand('list', undefined, { stateDir }, (l) => listed.push(l));
    expect(listed.join('\n')).toContain(
      'osmosis-1 (Osmosis): prefix osmo, staking uosmo, gas price 0.025uosmo',
    );
    expect(listed.join('\n')).toContain('binaries: v15.2.0, linux/amd64, linux/arm64');
  });
});

describe('GET /metrics of the self-hosted commander', () => {
  it('serves every metric the shipped dashboard and alert rules use, with its labels', async () => {
    const text = await waitFor(
      async () => {
        const body = await (await fetch(`${running.url}/metrics`)).text();
        return /^beam_commander_failover_phase\{/m.test(body) ? body : null;
      },
      'a tick’s figures on /metrics',
      { timeoutMs: 10_000 },
    );
    expect(expectServes('commander', text).length).toBeGreaterThan(5);
    expect(text).toMatch(
      /^beam_commander_nodes\{chain="cosmoshub-4",role="validator",state="(healthy|warning|critical)"\} 1$/m,
    );
    expect(text).toMatch(
      /^beam_commander_failover_phase\{chain="cosmoshub-4",validator="B{40}",phase="idle"\} 1$/m,
    );
    expect(text).toMatch(/^beam_commander_report_duration_seconds_count\{status="200"\} [1-9]/m);
    expect(text).toMatch(/^beam_commander_store_errors_total 0$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });
});

describe('the same figures as CloudWatch EMF lines (Lambda)', () => {
  /** Each metric a directive declares is a number (or numbers) at the root, in namespace Beam. */
  function parseEmf(line: string) {
    const doc = JSON.parse(line) as Record<string, unknown> & {
      _aws: {
        Timestamp: number;
        CloudWatchMetrics: {
          Namespace: string;
          Dimensions: string[][];
          Metrics: { Name: string; Unit: string }[];
        }[];
      };
    };
    const [directive] = doc._aws.CloudWatchMetrics;
    expect(directive?.Namespace).toBe('Beam');
    for (const dims of directive!.Dimensions) for (const d of dims) expect(typeof doc[d]).toBe('string');
    for (const m of directive!.Metrics) {
      const value = doc[m.Name];
      const values = Array.isArray(value) ? value : [value];
      expect(
        values.every((v) => typeof v === 'number'),
        `${m.Name} is numeric`,
      ).toBe(true);
    }
    return doc;
  }

  it('writes one line per tick with the fleet figures', async () => {
    const lines: string[] = [];
    const emf = new TickEmf(calls(), (l) => lines.push(l));
    const deps = running.deps;
    await tickWithFigures(
      deps,
      () => runTick(deps),
      (f, at, ms) => emf.tick(f, at, ms),
    );
    expect(lines).toHaveLength(1);
    const doc = parseEmf(lines[0]!);
    expect(doc['Nodes.validator.healthy'] as number).toBeGreaterThanOrEqual(0);
    expect(
      (['healthy', 'warning', 'critical'] as const).reduce(
        (n, s) => n + (doc[`Nodes.validator.${s}`] as number),
        0,
      ),
    ).toBe(1);
    expect(doc).toMatchObject({
      event: 'tick',
      FailoversInProgress: 0,
      StoreErrors: 0,
      'AlertsOpen.critical': expect.any(Number),
    });
    expect(doc.failover).toEqual([{ chain: 'cosmoshub-4', validator: VALIDATOR, phase: 'idle' }]);
  });

  it('writes report latencies as one line per batch', async () => {
    const lines: string[] = [];
    let now = 0;
    const batch = new ReportEmf(
      calls(),
      (l) => lines.push(l),
      () => now,
      10_000,
    );
    const handle = timedReports(createHttpHandler(running.deps), (s, status) => batch.observe(s, status));
    const send = async () => {
      const r = report();
      const body = JSON.stringify(r);
      return handle(
        httpEvent('POST', '/v1/pilot/report', body, signedHeaders(r.nodeId, secret, Date.now(), body)),
      );
    };
    expect((await send()).statusCode).toBe(200);
    expect(lines).toHaveLength(0); // the batch is young
    now = 10_000;
    expect((await send()).statusCode).toBe(200);
    expect(lines).toHaveLength(1);
    const doc = parseEmf(lines[0]!);
    expect(doc).toMatchObject({ event: 'reports', Reports: 2, ReportServerErrors: 0, statuses: { 200: 2 } });
    expect(doc.ReportDuration).toHaveLength(2);
  });
});
