/**
 * Report latency and load against the self-hosted commander (bench/commander-child.ts) over loopback
 * HTTP: real signed reports, real enrollment, the store checked afterwards.
 */
import { Agent } from 'undici';
import { createDocClient, createDynamoClient } from '../commander/adapters/store/client.js';
import { Store } from '../commander/adapters/store/store.js';
import type { NodeRecord } from '../commander/domain/registry.js';
import { BENCH_TOKEN, type CommanderProcess, startCommander } from './commander-proc.js';
import { type Sample, SimPilot } from './sim-pilot.js';
import { pool, round, summarize } from './stats.js';

async function enrollPilots(c: CommanderProcess, agent: Agent, prefix: string, count: number) {
  const pilots = Array.from({ length: count }, (_, i) => new SimPilot(`${prefix}-${i}`, c.url, agent));
  await pool(pilots, 16, (p) => p.enroll(BENCH_TOKEN, (node) => c.request({ type: 'approve', node })));
  return pilots;
}

export interface LatencyFigure {
  reports: number;
  nodes: number;
  latencyMs: ReturnType<typeof summarize>;
  errors: number;
  storeCallsPerReport: number;
  settings: Record<string, unknown>;
}

/** Sequential signed reports over HTTP (one in flight), after a warm-up. */
export async function reportLatency(options: { nodes: number; reports: number }): Promise<LatencyFigure> {
  const c = await startCommander({ tick: '0 0 1 1 *' });
  const agent = new Agent({ keepAliveTimeout: 4_000, connections: 4 });
  try {
    const pilots = await enrollPilots(c, agent, 'lat', options.nodes);
    for (const p of pilots) await p.report(); // warm-up: first report per node
    const before = (await c.storeCalls()).calls;
    const samples: Sample[] = [];
    for (let i = 0; i < options.reports; i++) samples.push(await pilots[i % pilots.length]!.report());
    const calls = (await c.storeCalls()).calls - before;
    return {
      reports: options.reports,
      nodes: options.nodes,
      latencyMs: summarize(samples.map((s) => s.ms)),
      errors: samples.filter((s) => s.status !== 200).length,
      storeCallsPerReport: round(calls / options.reports, 3),
      settings: {
        server: 'beam self-hosted commander (serve()), embedded dynalite on disk, own Node process',
        client: 'undici keep-alive, one request in flight, loopback',
        measured: 'client-side round trip of POST /v1/pilot/report (HMAC signed, 200 expected)',
      },
    };
  } finally {
    await agent.close();
    await c.stop();
  }
}

export interface LoadFigure {
  pilots: number;
  durationS: number;
  reportIntervalMs: number;
  sent: number;
  accepted: number;
  throughputPerS: number;
  latencyMs: ReturnType<typeof summarize>;
  errors: number;
  errorsByStatus: Record<string, number>;
  lostReports: number;
  actionsQueued: number;
  actionsDelivered: number;
  actionsLost: number;
  actionsPendingAtEnd: number;
  storeCallsPerReport: number;
  enrollSeconds: number;
  settings: Record<string, unknown>;
}

/**
 * N pilots report every `intervalMs` (start times spread over one interval) for `durationMs`. While
 * they run, restart actions are queued for a sample of nodes, and the tick (every 5 s) queues config.
 * Afterwards each pilot reports until its results are acked, and the store is checked: every node's
 * reportCount and lastSeq match what its pilot had accepted, and every queued action was delivered.
 */
export async function load(options: {
  pilots: number;
  durationMs: number;
  intervalMs: number;
  log: (line: string) => void;
}): Promise<LoadFigure> {
  const c = await startCommander({ tick: '*/5 * * * * *', reportIntervalMs: options.intervalMs });
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 256, pipelining: 1 });
  try {
    const enrollStart = performance.now();
    const pilots = await enrollPilots(c, agent, `load${options.pilots}`, options.pilots);
    const enrollSeconds = (performance.now() - enrollStart) / 1000;
    options.log(`  ${options.pilots} pilots enrolled over HTTP in ${enrollSeconds.toFixed(1)} s`);
    const callsBefore = (await c.storeCalls()).calls;
    const samples: Sample[] = [];
    const start = Date.now();
    const end = start + options.durationMs;
    // Restart actions for every 10th node, queued while the load runs.
    const restartTargets = pilots.filter((_, i) => i % 10 === 0);
    const queued: { node: string; id: string }[] = [];
    const queueing = (async () => {
      await new Promise((r) => setTimeout(r, options.durationMs / 4));
      await pool(restartTargets, 4, async (p) => {
        queued.push({ node: p.id, id: await c.request<string>({ type: 'queue-restart', node: p.id }) });
      });
    })();
    await Promise.all(
      pilots.map(async (p, i) => {
        let next = start + Math.floor((i / pilots.length) * options.intervalMs);
        while (next < end) {
          const wait = next - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          samples.push(await p.report());
          next += options.intervalMs;
        }
      }),
    );
    await queueing;
    const durationS = (Date.now() - start) / 1000;
    const callsDuringLoad = (await c.storeCalls()).calls - callsBefore;
    // Drain: report until nothing is left unacknowledged (bounded), so the store can be compared.
    for (let round = 0; round < 3; round++) await pool(pilots, 32, (p) => p.report());

    const store = new Store(createDocClient(createDynamoClient({ endpoint: c.dynamodbEndpoint })), {
      tableName: c.tableName,
    });
    const nodes = new Map((await store.listNodes()).map((n) => [n.value.id, n.value as NodeRecord] as const));
    let lostReports = 0;
    let actionsQueued = 0;
    let actionsDelivered = 0;
    let actionsPendingAtEnd = 0;
    for (const p of pilots) {
      const node = nodes.get(p.id);
      if (!node || node.reportCount !== p.accepted || node.lastSeq !== p.seq) lostReports += 1;
      actionsPendingAtEnd += node?.actions.length ?? 1;
      // Every action the commander ever queued for this node: restarts we asked for, and its config.
      const expected = queued.filter((q) => q.node === p.id).map((q) => q.id);
      if (node?.desiredConfig) expected.push(`cfg-${p.id}-${node.desiredConfig.version}`);
      actionsQueued += expected.length;
      actionsDelivered += expected.filter((id) => p.executed.has(id) && p.acked.has(id)).length;
    }
    const byStatus: Record<string, number> = {};
    for (const s of samples) if (s.status !== 200) byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
    const errors = samples.filter((s) => s.status !== 200).length;
    return {
      pilots: options.pilots,
      durationS: round(durationS, 1),
      reportIntervalMs: options.intervalMs,
      sent: samples.length,
      accepted: samples.length - errors,
      throughputPerS: round((samples.length - errors) / durationS, 1),
      latencyMs: summarize(samples.map((s) => s.ms)),
      errors,
      errorsByStatus: byStatus,
      lostReports,
      actionsQueued,
      actionsDelivered,
      actionsLost: actionsQueued - actionsDelivered,
      actionsPendingAtEnd,
      storeCallsPerReport: round(callsDuringLoad / Math.max(1, samples.length), 3),
      enrollSeconds: round(enrollSeconds, 1),
      settings: {
        server:
          'self-hosted commander (serve()), embedded dynalite on disk, own Node process, tick every 5 s',
        pilots: 'simulated pilots in the bench process: sentries, real enrollment and HMAC-signed reports',
        actions: 'restart-daemon queued for every 10th node during the run, plus tick-generated configs',
        storeCallsPerReport:
          'all store calls of the commander during the run (ticks and queueing included) / reports',
      },
    };
  } finally {
    await agent.close();
    await c.stop();
  }
}
