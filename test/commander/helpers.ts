import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import type { ChatMessage, ChatTransport, MessageRef, Platform } from '../../bots/model.js';
import { type EnrollRequest, type Report, signedHeaders } from '../../protocol/index.js';
import { createDynamoClient } from '../../commander/adapters/store/client.js';
import { ensureTable } from '../../commander/adapters/store/table.js';
import { CommanderApp } from '../../commander/app/commander-app.js';
import type { Actor } from '../../commander/app/context.js';
import { buildDeps } from '../../commander/deps.js';
import type { HttpEventV2, HttpResultV2 } from '../../commander/handlers/lambda-types.js';
import { createHttpHandler } from '../../commander/handlers/routes.js';
import { CommanderSettings, type CommanderSettingsInput } from '../../commander/settings.js';

export const TOKEN = 'fleet-token-0123456789abcdef';
export const OPERATOR: Actor = { kind: 'slack', id: 'U123', name: 'alice' };
export const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);

/** An in-memory dynalite on loopback; one per test file. */
export async function startDynalite(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server: Server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Records what the commander posts and updates, per message id. */
export class RecordingTransport implements ChatTransport {
  readonly posts: { ref: MessageRef; message: ChatMessage }[] = [];
  readonly updates: { ref: MessageRef; message: ChatMessage }[] = [];
  private next = 1;
  constructor(readonly platform: Platform = 'console') {}

  async post(chat: string, message: ChatMessage): Promise<MessageRef> {
    const ref = { platform: this.platform, chat, messageId: String(this.next++) };
    this.posts.push({ ref, message });
    return ref;
  }

  async update(ref: MessageRef, message: ChatMessage): Promise<void> {
    this.updates.push({ ref, message });
  }
}

export class FakeClock {
  constructor(public t = T0) {}
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

const silentLog = { info() {}, warn() {}, error() {} };

/** A commander on its own fresh table, with a fake clock and a recording console transport. */
export async function makeCommander(endpoint: string, overrides: Partial<CommanderSettingsInput> = {}) {
  const clock = new FakeClock();
  const settings = CommanderSettings.parse({
    tableName: `t-${randomBytes(6).toString('hex')}`,
    dynamodbEndpoint: endpoint,
    enrollmentToken: TOKEN,
    reportIntervalMs: 5000,
    chat: [{ platform: 'console', chat: 'ops' }],
    ...overrides,
  });
  await ensureTable(createDynamoClient({ endpoint }), settings.tableName);
  const transport = new RecordingTransport('console');
  const deps = buildDeps(settings, { transports: { console: transport }, now: clock.now, log: silentLog });
  const http = createHttpHandler(deps);
  return { deps, clock, transport, http, app: new CommanderApp(deps), store: deps.store, calls: deps.calls };
}
export type TestCommander = Awaited<ReturnType<typeof makeCommander>>;

export function httpEvent(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): HttpEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...headers },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
    requestContext: { http: { method, path, sourceIp: '127.0.0.1' }, requestId: 'r', timeEpoch: 0 },
  };
}

export function parseResult(result: HttpResultV2): { status: number; body: Record<string, unknown> } {
  return { status: result.statusCode, body: JSON.parse(result.body) };
}

export function enrollRequest(overrides: Partial<EnrollRequest> = {}): EnrollRequest {
  return {
    enrollmentToken: TOKEN,
    name: 'val-a',
    role: 'validator',
    chainId: 'beam-devnet-1',
    pilotVersion: '0.1.0',
    claim: 'c'.repeat(64),
    cometNodeId: 'a'.repeat(40),
    p2pAddress: '10.0.0.1:26656',
    instanceId: null,
    ...overrides,
  };
}

export async function enroll(c: TestCommander, request: EnrollRequest) {
  return parseResult(await c.http(httpEvent('POST', '/v1/pilot/enroll', JSON.stringify(request))));
}

/** Enrolls, approves (unless auto-approved) and collects the node's secret. */
export async function enrollApproved(c: TestCommander, request: EnrollRequest): Promise<string> {
  const first = await enroll(c, request);
  if (first.body.status === 'pending') await c.app.approveNode(OPERATOR, request.name);
  const second = await enroll(c, request);
  if (second.body.status !== 'approved') throw new Error(`not approved: ${JSON.stringify(second.body)}`);
  return second.body.secret as string;
}

/** A signed report event, timestamped by the commander's clock. */
export function reportEvent(
  c: TestCommander,
  secret: string,
  report: Report,
  rawBody = JSON.stringify(report),
) {
  return httpEvent(
    'POST',
    '/v1/pilot/report',
    rawBody,
    signedHeaders(report.nodeId, secret, c.clock.now(), rawBody),
  );
}

export async function sendReport(c: TestCommander, secret: string, report: Report) {
  return parseResult(await c.http(reportEvent(c, secret, report)));
}

/** The whole table, sorted, for before/after comparisons. */
export async function snapshot(c: TestCommander): Promise<string> {
  const items = await c.store.scanAll();
  return JSON.stringify(items.map((i) => JSON.stringify(i)).sort());
}

/** A sampled refusal of anonymous requests (commander/app/refusals.ts): the record of an attack. */
export const isRefusalSample = (item: Record<string, unknown> | undefined): boolean =>
  item?.pk === 'AUDIT' && item.action === 'request-refused';

/** The table without the sampled refusals, sorted: what a refused request must leave unchanged. */
export async function snapshotBesideRefusals(c: TestCommander): Promise<string> {
  const items = (await c.store.scanAll()).filter((i) => !isRefusalSample(i));
  return JSON.stringify(items.map((i) => JSON.stringify(i)).sort());
}

/** The sampled refusals as `kind ×count`, sorted. */
export async function refusalSamples(c: TestCommander): Promise<string[]> {
  return (await c.store.scanAll())
    .filter(isRefusalSample)
    .map((i) => `${i.target} ×${i.count}`)
    .sort();
}
