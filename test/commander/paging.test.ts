/**
 * Paging end to end, through the console chat and a loopback PagerDuty: a critical alert pages
 * (trigger, the alert key as dedup key), [Acknowledge] in the console acknowledges the page, an
 * acknowledge in PagerDuty (its signed v3 webhook) acknowledges the alert, and recovery resolves.
 * The generic webhook hears the same, signed. No secret ever reaches a log line.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsoleChat } from '../../bots/console.js';
import type { Report } from '../../protocol/index.js';
import { createDynamoClient } from '../../commander/adapters/store/client.js';
import { ensureTable } from '../../commander/adapters/store/table.js';
import { createChatOps } from '../../commander/app/chatops-factory.js';
import { CommanderApp } from '../../commander/app/commander-app.js';
import { runTick } from '../../commander/app/tick.js';
import { buildDeps } from '../../commander/deps.js';
import { createHttpHandler } from '../../commander/handlers/routes.js';
import { CommanderSettings } from '../../commander/settings.js';
import { sampleReport } from '../fixtures/report.js';
import { waitFor } from '../helpers/wait.js';
import {
  FakeClock,
  TOKEN,
  type TestCommander,
  enrollApproved,
  enrollRequest,
  httpEvent,
  parseResult,
  sendReport,
  startDynalite,
} from './helpers.js';

const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdefABCDEF';
const PD_WEBHOOK_SECRET = `pd-${randomBytes(16).toString('hex')}`;
const HOOK_SECRET = `hook-${randomBytes(16).toString('hex')}`;

interface PdEvent {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key: string;
  payload?: { summary: string; severity: string; source: string; timestamp: string };
}

/** PagerDuty's Events API v2 on loopback: checks each request's shape, answers 202 (or fails on demand). */
class FakePagerDuty {
  readonly events: PdEvent[] = [];
  readonly hooks: { body: Record<string, unknown>; signed: boolean }[] = [];
  readonly refused: string[] = [];
  failNext = 0;
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer(async (req, res) => {
      const body = await read(req);
      if (req.url === '/hook') {
        const expected = `v1=${createHmac('sha256', HOOK_SECRET).update(body).digest('hex')}`;
        this.hooks.push({ body: JSON.parse(body), signed: req.headers['x-beam-signature'] === expected });
        res.writeHead(200).end();
        return;
      }
      const problem = this.check(req, body);
      if (problem) {
        this.refused.push(problem);
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'invalid event' }));
        return;
      }
      if (this.failNext > 0) {
        this.failNext--;
        res.writeHead(500).end();
        return;
      }
      const event = JSON.parse(body) as PdEvent;
      this.events.push(event);
      res
        .writeHead(202, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: event.dedup_key }));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Why PagerDuty would refuse this request, or null (docs: Events API v2, Send an Alert Event). */
  private check(req: IncomingMessage, body: string): string | null {
    if (req.method !== 'POST' || req.url !== '/v2/enqueue') return `${req.method} ${req.url}`;
    if (!req.headers['content-type']?.startsWith('application/json')) return 'content-type';
    const e = JSON.parse(body) as Partial<PdEvent>;
    if (e.routing_key !== ROUTING_KEY) return 'routing_key';
    if (!['trigger', 'acknowledge', 'resolve'].includes(e.event_action ?? '')) return 'event_action';
    if (typeof e.dedup_key !== 'string' || e.dedup_key.length === 0 || e.dedup_key.length > 255)
      return 'dedup_key';
    if (e.event_action === 'trigger') {
      const p = e.payload;
      if (!p || typeof p.summary !== 'string' || p.summary.length === 0 || p.summary.length > 1024)
        return 'payload.summary';
      if (!['critical', 'error', 'warning', 'info'].includes(p.severity)) return 'payload.severity';
      if (typeof p.source !== 'string' || p.source.length === 0) return 'payload.source';
    } else if (e.payload !== undefined) return 'payload on acknowledge/resolve';
    return null;
  }

  actions(key: string): string[] {
    return this.events.filter((e) => e.dedup_key === key).map((e) => e.event_action);
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => resolve(body));
  });
}

let db: Awaited<ReturnType<typeof startDynalite>>;
const pd = new FakePagerDuty();
beforeAll(async () => {
  db = await startDynalite();
  await pd.start();
});
afterAll(async () => {
  await pd.close();
  await db.close();
});

describe('paging through PagerDuty and a webhook', () => {
  it('triggers, acknowledges both ways and resolves, with the alert key as dedup key', async () => {
    const clock = new FakeClock();
    const settings = CommanderSettings.parse({
      tableName: `t-${randomBytes(6).toString('hex')}`,
      dynamodbEndpoint: db.endpoint,
      enrollmentToken: TOKEN,
      reportIntervalMs: 5000,
      chat: [{ platform: 'console', chat: 'console' }],
      access: { console: { users: { operator: 'admin' }, chats: ['console'] } },
      paging: {
        pagerduty: {
          routingKey: ROUTING_KEY,
          eventsUrl: `${pd.url}/v2/enqueue`,
          webhookSecrets: [PD_WEBHOOK_SECRET],
        },
        webhook: { url: `${pd.url}/hook`, secret: HOOK_SECRET },
      },
    });
    await ensureTable(createDynamoClient({ endpoint: db.endpoint }), settings.tableName);
    // The console chat, as `npm start` runs it: typed lines in, the commander's messages out.
    const input = new PassThrough();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (chunk: Buffer) => {
      printed += chunk.toString('utf8');
    });
    const logged: string[] = [];
    const log = {
      info: (o: object, m: string) => logged.push(JSON.stringify(o) + m),
      warn: (o: object, m: string) => logged.push(JSON.stringify(o) + m),
      error: (o: object, m: string) => logged.push(JSON.stringify(o) + m),
    };
    let handle: ReturnType<typeof createChatOps>['handle'] = async () => [];
    const chat = startConsoleChat({ input, output, user: 'operator' }, (i) => handle(i));
    const deps = buildDeps(settings, { transports: { console: chat.transport }, now: clock.now, log });
    handle = createChatOps(deps).handle;
    const c = {
      deps,
      clock,
      http: createHttpHandler(deps),
      app: new CommanderApp(deps),
    } as unknown as TestCommander;
    const printedSince = (from: number) => printed.slice(from);

    const secrets = new Map<string, string>();
    for (const [name, claim] of [
      ['val-a', 'a'],
      ['val-b', 'b'],
    ] as const)
      secrets.set(
        name,
        await enrollApproved(
          c,
          enrollRequest({ name, claim: claim.repeat(64), cometNodeId: claim.repeat(40) }),
        ),
      );
    const seq = new Map<string, number>();
    const report = (name: string): Report => {
      seq.set(name, (seq.get(name) ?? 0) + 1);
      const base = sampleReport({ nodeId: name, seq: seq.get(name)!, sentAt: clock.now() });
      return { ...base, daemon: { ...base.daemon, latestBlockTime: clock.now() - 1000 } };
    };
    const both = async () => {
      for (const name of ['val-a', 'val-b']) await sendReport(c, secrets.get(name)!, report(name));
    };
    await both();
    await runTick(deps); // healthy once: the start-up grace is over

    // val-a falls silent: a critical alert, paged once, told in the console with its buttons.
    clock.advance(20_000);
    await sendReport(c, secrets.get('val-b')!, report('val-b'));
    const mark = printed.length;
    await runTick(deps);
    const A = 'node:val-a:pilot-silent';
    await waitFor(
      () => /\[\d+\] \(critical\) val-a: pilot silent[\s\S]*1\) Acknowledge/.test(printedSince(mark)),
      'the alert in the console',
    );
    expect(pd.actions(A)).toEqual(['trigger']);
    expect(pd.events[0]).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: A,
      payload: { summary: 'val-a: pilot silent', severity: 'critical', source: 'beam/beam-devnet-1/val-a' },
    });
    expect(pd.hooks.map((h) => [h.body.action, h.body.key, h.signed])).toEqual([['trigger', A, true]]);
    await runTick(deps);
    expect(pd.actions(A)).toEqual(['trigger']); // once per episode

    // [Acknowledge] in the console acknowledges the page.
    const before = printed.length;
    input.write('1\n');
    await waitFor(() => pd.actions(A).length === 2, 'the acknowledge in PagerDuty');
    expect(pd.actions(A)).toEqual(['trigger', 'acknowledge']);
    await waitFor(() => /acknowledged by console:operator/.test(printedSince(before)), 'the edited message');

    // val-b falls silent too; someone acknowledges it in PagerDuty: its signed webhook acknowledges it here.
    clock.advance(20_000);
    await runTick(deps);
    const B = 'node:val-b:pilot-silent';
    expect(pd.actions(B)).toEqual(['trigger']);
    const delivery = JSON.stringify({
      event: {
        id: '5ac64822-4adc-4fda-ade0-410becf0de4f',
        event_type: 'incident.acknowledged',
        resource_type: 'incident',
        occurred_at: new Date(clock.now()).toISOString(),
        agent: { id: 'PLH1HKV', summary: 'Alice', type: 'user_reference' },
        client: null,
        data: { id: 'PGR0VU2', type: 'incident', status: 'acknowledged', incident_key: B, title: 'val-b' },
      },
    });
    const sign = (secret: string) => `v1=${createHmac('sha256', secret).update(delivery).digest('hex')}`;
    const forged = await c.http(
      httpEvent('POST', '/pagerduty/webhook', delivery, {
        'x-pagerduty-signature': sign('not-the-secret-0123456789'),
      }),
    );
    expect(forged.statusCode).toBe(401);
    expect((await deps.store.getAlert(B))?.value.acknowledgedBy).toBeNull();
    const fromPd = parseResult(
      await c.http(
        httpEvent('POST', '/pagerduty/webhook', delivery, {
          // Two signatures while PagerDuty rotates the secret: one good one is enough.
          'x-pagerduty-signature': `${sign('old-secret-0123456789abcdef')},${sign(PD_WEBHOOK_SECRET)}`,
        }),
      ),
    );
    expect(fromPd).toEqual({ status: 200, body: { ok: true, detail: 'acknowledged' } });
    expect((await deps.store.getAlert(B))?.value).toMatchObject({
      acknowledgedBy: 'pagerduty:Alice',
      paged: 'acknowledged',
    });
    await waitFor(() => /acknowledged by pagerduty:Alice/.test(printed), 'the message edited from PagerDuty');
    await runTick(deps);
    expect(pd.actions(B)).toEqual(['trigger']); // PagerDuty is not told what it told us

    // Both come back: each page resolves; one failed delivery is sent again by the next tick.
    pd.failNext = 1;
    clock.advance(1000);
    await both();
    await runTick(deps);
    await runTick(deps);
    expect(pd.actions(A)).toEqual(['trigger', 'acknowledge', 'resolve']);
    expect(pd.actions(B)).toEqual(['trigger', 'resolve']);
    // The webhook hears each event at least once (the retry goes to every pager): receivers dedup by key and action.
    const resolves = pd.hooks.filter((h) => h.body.action === 'resolve');
    expect(new Set(resolves.map((h) => h.body.key))).toEqual(new Set([A, B]));
    expect(resolves.every((h) => h.signed)).toBe(true);
    expect(pd.refused).toEqual([]);
    expect(logged.some((l) => l.includes('paging failed'))).toBe(true);
    for (const secret of [ROUTING_KEY, PD_WEBHOOK_SECRET, HOOK_SECRET, pd.url])
      expect(logged.filter((l) => l.includes(secret))).toEqual([]);
    input.end();
    await chat.done;
  });
});
