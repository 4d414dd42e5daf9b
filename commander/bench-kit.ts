import { createHash, randomBytes } from 'node:crypto';
import type { ChatTransport, Platform } from '../bots/model.js';
import { type Report, type Role, signedHeaders } from '../protocol/index.js';
import { createDynamoClient } from './adapters/store/client.js';
import { ensureTable } from './adapters/store/table.js';
import { CommanderApp } from './app/commander-app.js';
import type { Logger } from './app/context.js';
import { handleEnroll, handleReport } from './app/pilot-api.js';
import { buildDeps } from './deps.js';
import { CommanderSettings, type CommanderSettingsInput } from './settings.js';

export interface BenchNode {
  id: string;
  secret: string;
  seq: number;
  role: Role;
  chainId: string;
}

/** What `npm run bench` needs: a commander on a fresh table with N enrolled, approved nodes. */
export interface BenchFleet {
  deps: ReturnType<typeof buildDeps>;
  app: CommanderApp;
  nodes: BenchNode[];
}

const quiet: Logger = { info() {}, warn() {}, error() {} };

/** A fleet as operators run it: chains of a primary and a standby validator behind three sentries. */
const CHAIN_SIZE = 5;

export async function createBenchFleet(options: {
  endpoint: string;
  nodes: number;
  settings?: Partial<CommanderSettingsInput>;
  transports?: Partial<Record<Platform, ChatTransport>>;
}): Promise<BenchFleet> {
  const settings = CommanderSettings.parse({
    tableName: `bench-${randomBytes(6).toString('hex')}`,
    enrollmentToken: 'bench-enrollment-token-0000',
    dynamodbEndpoint: options.endpoint,
    ...options.settings,
  });
  await ensureTable(createDynamoClient({ endpoint: options.endpoint }), settings.tableName);
  const deps = buildDeps(settings, {
    log: quiet,
    ...(options.transports ? { transports: options.transports } : {}),
  });
  const app = new CommanderApp(deps);
  const nodes: BenchNode[] = [];
  for (let i = 0; i < options.nodes; i++) {
    const id = `bench-${i}`;
    const claim = createHash('sha256').update(id).digest('hex');
    const role: Role = i % CHAIN_SIZE < 2 ? 'validator' : 'sentry';
    const chainId = `bench-${Math.floor(i / CHAIN_SIZE) + 1}`;
    const request = {
      enrollmentToken: settings.enrollmentToken,
      name: id,
      role,
      chainId,
      pilotVersion: 'bench',
      claim,
      cometNodeId: createHash('sha1').update(id).digest('hex'),
      p2pAddress: `10.1.${Math.floor(i / 250)}.${i % 250}:26656`,
      instanceId: null,
    };
    await handleEnroll(deps, { headers: {}, body: JSON.stringify(request) });
    await app.approveNode({ kind: 'system', id: 'bench' }, id);
    const reply = await handleEnroll(deps, { headers: {}, body: JSON.stringify(request) });
    if (!('secret' in reply.body))
      throw new Error(`bench node ${id} got no secret: ${JSON.stringify(reply.body)}`);
    nodes.push({ id, secret: reply.body.secret as string, seq: 0, role, chainId });
  }
  return { deps, app, nodes };
}

export interface ReportRun {
  reports: number;
  latenciesMs: number[];
  storeCalls: number;
  storeCallsPerReport: number;
  failures: number;
}

/** Sends `count` signed reports over the fleet (`concurrency` at a time) through the real report handler. */
export async function handleReports(
  fleet: BenchFleet,
  count: number,
  makeReport: (node: BenchNode) => Report,
  concurrency = 1,
): Promise<ReportRun> {
  const latenciesMs: number[] = [];
  let failures = 0;
  const before = fleet.deps.calls.calls;
  let sent = 0;
  // Each worker owns a disjoint slice of the fleet: like real pilots, no node has two reports in flight.
  const workers = Math.max(1, Math.min(concurrency, fleet.nodes.length));
  const worker = async (w: number) => {
    const own = fleet.nodes.filter((_, i) => i % workers === w);
    for (let turn = 0; sent < count; turn++) {
      sent++;
      const node = own[turn % own.length]!;
      node.seq += 1;
      const body = JSON.stringify(makeReport(node));
      const started = performance.now();
      const reply = await handleReport(fleet.deps, {
        headers: signedHeaders(node.id, node.secret, fleet.deps.now(), body),
        body,
      });
      latenciesMs.push(performance.now() - started);
      if (reply.status !== 200) failures++;
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  const storeCalls = fleet.deps.calls.calls - before;
  return { reports: count, latenciesMs, storeCalls, storeCallsPerReport: storeCalls / count, failures };
}
