import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HEADER_NODE,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  MAX_BODY_BYTES,
  type Report,
  signedHeaders,
} from '../../protocol/index.js';
import { sampleReport } from '../fixtures/report.js';
import {
  type TestCommander,
  enrollApproved,
  enrollRequest,
  httpEvent,
  makeCommander,
  parseResult,
  refusalSamples,
  reportEvent,
  sendReport,
  snapshotBesideRefusals,
  startDynalite,
} from './helpers.js';

let db: Awaited<ReturnType<typeof startDynalite>>;
let c: TestCommander;
let secret: string;
let otherSecret: string;
beforeAll(async () => {
  db = await startDynalite();
  c = await makeCommander(db.endpoint);
  secret = await enrollApproved(c, enrollRequest());
  otherSecret = await enrollApproved(
    c,
    enrollRequest({ name: 'val-b', claim: 'b'.repeat(64), cometNodeId: 'b'.repeat(40) }),
  );
  expect((await sendReport(c, secret, sampleReport({ seq: 5 }))).status).toBe(200);
});
afterAll(async () => {
  await db.close();
});

const report = (overrides: Partial<Report> = {}) => sampleReport({ seq: 6, ...overrides });

/** The table but the sampled refusals (checked on their own below). */
const tableState = () => snapshotBesideRefusals(c);
const READS = ['GetCommand', 'BatchGetCommand', 'QueryCommand', 'ScanCommand'];
const reads = () => READS.reduce((n, command) => n + (c.calls.byCommand.get(command) ?? 0), 0);
const callCount = () => [...c.calls.byCommand.values()].reduce((a, b) => a + b, 0);
const post = (body: string, headers: Record<string, string>) =>
  httpEvent('POST', '/v1/pilot/report', body, headers);

const cases: {
  name: string;
  status: number;
  error: RegExp;
  detail?: RegExp;
  event: () => ReturnType<typeof post>;
}[] = [
  {
    name: 'wrong signature (another node’s secret)',
    status: 401,
    error: /bad signature/,
    detail: /does not match/,
    event: () => reportEvent(c, otherSecret, report()),
  },
  {
    name: 'body altered after signing',
    status: 401,
    error: /bad signature/,
    event: () => {
      const e = reportEvent(c, secret, report());
      return { ...e, body: e.body!.replace('"seq":6', '"seq":7') };
    },
  },
  {
    name: 'stale timestamp',
    status: 401,
    error: /bad signature/,
    detail: /stale timestamp/,
    event: () => {
      const body = JSON.stringify(report());
      return post(body, signedHeaders('val-a', secret, c.clock.now() - 6 * 60_000, body));
    },
  },
  {
    name: 'missing signature headers',
    status: 401,
    error: /bad signature/,
    detail: /x-beam-timestamp/,
    event: () => post(JSON.stringify(report()), { [HEADER_NODE]: 'val-a' }),
  },
  {
    name: 'replayed seq',
    status: 409,
    error: /replayed report/,
    detail: /seq 5 is not above the last accepted 5/,
    event: () => reportEvent(c, secret, report({ seq: 5 })),
  },
  {
    name: 'unknown node',
    status: 401,
    error: /unknown node/,
    event: () => reportEvent(c, secret, report({ nodeId: 'ghost' })),
  },
  {
    name: 'oversize body',
    status: 413,
    error: /body too large/,
    event: () => {
      const body = JSON.stringify({ ...report(), pad: 'x'.repeat(MAX_BODY_BYTES) });
      return post(body, signedHeaders('val-a', secret, c.clock.now(), body));
    },
  },
  {
    name: 'malformed JSON',
    status: 400,
    error: /malformed JSON/,
    event: () => reportEvent(c, secret, report(), '{"nodeId": "val-a",'),
  },
  {
    name: 'schema violation',
    status: 400,
    error: /invalid report/,
    detail: /daemon\.peers/,
    event: () => {
      const r = report();
      return reportEvent(c, secret, r, JSON.stringify({ ...r, daemon: { ...r.daemon, peers: -1 } }));
    },
  },
  {
    name: 'unknown field',
    status: 400,
    error: /invalid report/,
    detail: /Unrecognized key/,
    event: () => reportEvent(c, secret, report(), JSON.stringify({ ...report(), extra: 1 })),
  },
  {
    name: 'body names another node than the header',
    status: 400,
    error: /node mismatch/,
    event: () => {
      const body = JSON.stringify(report({ nodeId: 'val-b' }));
      return post(body, signedHeaders('val-a', secret, c.clock.now(), body));
    },
  },
  {
    name: 'role differs from enrollment',
    status: 400,
    error: /registration mismatch/,
    event: () => reportEvent(c, secret, report({ role: 'sentry' })),
  },
];

describe('rejected reports', () => {
  for (const t of cases) {
    it(`${t.name}: ${t.status} with a clear reason, and the table is unchanged`, async () => {
      const before = await tableState();
      const { status, body } = parseResult(await c.http(t.event()));
      expect(status).toBe(t.status);
      expect(body.error).toMatch(t.error);
      if (t.detail) expect(body.detail).toMatch(t.detail);
      expect(await tableState()).toBe(before);
    });
  }

  it('answers unknown routes and methods with 404 / 405, and malformed enrollments with 400', async () => {
    expect(parseResult(await c.http(httpEvent('GET', '/nope')))).toMatchObject({ status: 404 });
    expect(parseResult(await c.http(httpEvent('GET', '/v1/pilot/report')))).toMatchObject({ status: 405 });
    const before = await tableState();
    const enroll = parseResult(
      await c.http(
        httpEvent('POST', '/v1/pilot/enroll', JSON.stringify({ ...enrollRequest(), claim: 'short' })),
      ),
    );
    expect(enroll).toMatchObject({ status: 400, body: { error: 'invalid enroll request' } });
    expect(enroll.body.detail).toMatch(/claim: use 64 lowercase hex/);
    expect(await tableState()).toBe(before);
  });

  it('refuses missing or malformed node, timestamp and signature headers before any store read', async () => {
    const body = JSON.stringify(report());
    const good = signedHeaders('val-a', secret, c.clock.now(), body);
    const { [HEADER_NODE]: _n, ...noNode } = good;
    const { [HEADER_TIMESTAMP]: _t, ...noTimestamp } = good;
    const malformed: Record<string, string>[] = [
      noNode,
      noTimestamp,
      { ...good, [HEADER_NODE]: '../etc/passwd' },
      { ...good, [HEADER_TIMESTAMP]: 'yesterday' },
      { ...good, [HEADER_SIGNATURE]: 'not-hex' },
      { ...good, [HEADER_SIGNATURE]: good[HEADER_SIGNATURE]!.slice(1) },
      { ...good, [HEADER_TIMESTAMP]: String(c.clock.now() - 3_600_000) }, // stale: no read either
    ];
    for (const headers of malformed) {
      const readsBefore = reads();
      const { status } = parseResult(await c.http(post(body, headers)));
      expect(status, JSON.stringify(headers)).toBe(401);
      expect(reads(), JSON.stringify(headers)).toBe(readsBefore);
    }
    // Their kinds' samples exist already (cases above): no store call at all.
    const callsBefore = callCount();
    for (const headers of malformed) await c.http(post(body, headers));
    expect(callCount()).toBe(callsBefore);
  });

  it('counts and samples anonymous refusals: one audit item per kind and minute with its count', async () => {
    const samples = await refusalSamples(c);
    expect(samples.map((s) => s.split(' ')[0])).toEqual(['bad-signature', 'malformed', 'unknown-node']);
    // A flood of unknown nodes costs reads, but not one write, within the minute.
    const putsBefore = c.calls.byCommand.get('PutCommand') ?? 0;
    for (let i = 0; i < 50; i++) {
      expect((await c.http(reportEvent(c, secret, report({ nodeId: `ghost-${i}` })))).statusCode).toBe(401);
    }
    expect(c.calls.byCommand.get('PutCommand') ?? 0).toBe(putsBefore);
    // Wrong enrollment tokens are their own kind.
    const wrong = JSON.stringify(enrollRequest({ name: 'intruder', enrollmentToken: 'x'.repeat(32) }));
    expect(parseResult(await c.http(httpEvent('POST', '/v1/pilot/enroll', wrong))).status).toBe(401);
    // After the minute, the next request writes every window's count.
    c.clock.advance(61_000);
    expect((await c.http(post('{}', { [HEADER_NODE]: 'val-a' }))).statusCode).toBe(401);
    const after = await refusalSamples(c);
    expect(after).toContain('bad-token ×1');
    expect(after.find((s) => s.startsWith('unknown-node'))).toBe(
      `unknown-node ×${Number(samples.find((s) => s.startsWith('unknown-node'))!.split('×')[1]) + 50}`,
    );
    expect(after.filter((s) => s.startsWith('malformed'))).toHaveLength(2); // a new minute, a new item
    const sample = (await c.store.listAudit(100)).find((e) => e.target === 'unknown-node')!;
    expect(sample).toMatchObject({ actor: 'anonymous', action: 'request-refused', outcome: 'denied' });
    expect(sample.detail).toMatch(
      /refused within a minute; the first: \/v1\/pilot\/report from 127\.0\.0\.1: unknown node/,
    );
  });

  it('still accepts the next good report', async () => {
    expect((await sendReport(c, secret, report())).status).toBe(200);
  });
});
