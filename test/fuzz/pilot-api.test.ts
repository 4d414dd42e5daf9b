import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EnrollRequest,
  HEADER_NODE,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  Report,
  signedHeaders,
} from '../../protocol/index.js';
import {
  enrollApproved,
  enrollRequest,
  httpEvent,
  makeCommander,
  isRefusalSample,
  sendReport,
  snapshotBesideRefusals,
  startDynalite,
  TOKEN,
  type TestCommander,
} from '../commander/helpers.js';
import { sampleReport } from '../fixtures/report.js';
import { FUZZ_TIMEOUT_MS, fuzzParams, hostileBody, Outcomes, recordFuzz } from './kit.js';

// The pilot API through the real HTTP handler on dynalite: every malformed or unauthenticated input
// is a 4xx with an error that says what is wrong, nothing is written, and nothing crashes.

const READS = new Set(['GetCommand', 'BatchGetCommand', 'QueryCommand', 'ScanCommand']);
const LAST_SEQ = 5;
let db: Awaited<ReturnType<typeof startDynalite>>;
let c: TestCommander;
let secret: string;
let otherSecret: string;
let before: string;
const outcomes = {
  report: new Outcomes('POST /v1/pilot/report'),
  enroll: new Outcomes('POST /v1/pilot/enroll'),
  routing: new Outcomes('any method and path'),
};

beforeAll(async () => {
  db = await startDynalite();
  c = await makeCommander(db.endpoint);
  secret = await enrollApproved(c, enrollRequest());
  otherSecret = await enrollApproved(
    c,
    enrollRequest({ name: 'val-b', claim: 'b'.repeat(64), cometNodeId: 'b'.repeat(40) }),
  );
  expect((await sendReport(c, secret, sampleReport({ seq: LAST_SEQ }))).status).toBe(200);
  const send = c.calls.send.bind(c.calls);
  c.calls.send = (command: { input?: { Item?: Record<string, unknown> } }) => {
    if (isRefusalSample(command.input?.Item)) refusalSampleWrites += 1;
    return send(command);
  };
  before = await snapshot(c);
});

afterAll(async () => {
  recordFuzz(import.meta.filename, Object.values(outcomes));
  await db?.close();
});

/**
 * Anonymous refusals are sampled into the audit, one item per kind and minute (app/refusals.ts): those
 * writes are the commander's bookkeeping of the attack, not something the attacker wrote.
 */
let refusalSampleWrites = 0;
const writes = () =>
  [...c.calls.byCommand.entries()].filter(([name]) => !READS.has(name)).reduce((a, [, n]) => a + n, 0) -
  refusalSampleWrites;
const snapshot = snapshotBesideRefusals;

/** Sends one event; checks the reply is a clear 4xx and that nothing was written. */
async function expectRejected(event: ReturnType<typeof httpEvent>, outcome: Outcomes) {
  const writesBefore = writes();
  const result = await c.http(event);
  const body = JSON.parse(result.body) as { error?: unknown; detail?: unknown };
  outcome.add(`${result.statusCode} ${String(body.error)}`);
  expect(result.statusCode, result.body).toBeGreaterThanOrEqual(400);
  expect(result.statusCode, result.body).toBeLessThan(500);
  expect(typeof body.error === 'string' && body.error.length > 0, result.body).toBe(true);
  // Schema rejections name the field: "daemon.peers: Too small ..." or "(root): ...".
  if (/^invalid /.test(String(body.error))) expect(String(body.detail)).toMatch(/^\S+: \S/);
  expect(writes(), `store written by a rejected request: ${result.body}`).toBe(writesBefore);
}

type HeaderKind = 'signed' | 'other-secret' | 'stale' | 'future' | 'other-node' | 'garbage' | 'none';
const headerKind = fc.oneof(
  { weight: 8, arbitrary: fc.constant<HeaderKind>('signed') },
  {
    weight: 1,
    arbitrary: fc.constantFrom<HeaderKind>('other-secret', 'stale', 'future', 'other-node', 'none'),
  },
  { weight: 1, arbitrary: fc.constant<HeaderKind>('garbage') },
);
const garbageHeaders = fc.dictionary(
  fc.constantFrom(HEADER_NODE, HEADER_TIMESTAMP, HEADER_SIGNATURE, 'content-type', 'X-Beam-Node'),
  fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('val-a', '', 'val-a\r\nx: 1', String(Date.now()))),
);

function headersFor(kind: HeaderKind, body: string, garbage: Record<string, string>): Record<string, string> {
  const now = c.clock.now();
  switch (kind) {
    case 'signed':
      return signedHeaders('val-a', secret, now, body);
    case 'other-secret':
      return signedHeaders('val-a', otherSecret, now, body);
    case 'stale':
      return signedHeaders('val-a', secret, now - 6 * 60_000, body);
    case 'future':
      return signedHeaders('val-a', secret, now + 6 * 60_000, body);
    case 'other-node':
      return signedHeaders('val-b', secret, now, body);
    case 'garbage':
      return garbage;
    case 'none':
      return {};
  }
}

/** What the commander must accept: a correctly signed, schema-valid, new report of this node. */
function acceptable(kind: HeaderKind, body: string): boolean {
  if (kind !== 'signed') return false;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return false;
  }
  const r = Report.safeParse(value);
  return (
    r.success &&
    r.data.nodeId === 'val-a' &&
    r.data.role === 'validator' &&
    r.data.chainId === 'beam-devnet-1' &&
    r.data.seq > LAST_SEQ
  );
}

describe('fuzzing the pilot API', () => {
  it(
    'report: malformed, unsigned, stale or replayed reports are 4xx with a reason and write nothing',
    async () => {
      // Valid reports, replays, and reports naming another node, role or chain, each mutated or not.
      const bases = [
        sampleReport({ seq: LAST_SEQ + 1 }),
        sampleReport({ seq: LAST_SEQ }),
        sampleReport({ seq: 1 }),
        sampleReport({ seq: LAST_SEQ + 1, nodeId: 'val-b' }),
        sampleReport({ seq: LAST_SEQ + 1, role: 'sentry' }),
        sampleReport({ seq: LAST_SEQ + 1, chainId: 'other-chain-1' }),
        sampleReport({ seq: Number.MAX_SAFE_INTEGER, results: [] }),
      ];
      const body = fc
        .constantFrom(...bases)
        .chain((b) =>
          fc.oneof(
            { weight: 1, arbitrary: fc.constant(JSON.stringify(b)) },
            { weight: 6, arbitrary: hostileBody(b) },
          ),
        );
      await fc.assert(
        fc.asyncProperty(
          body,
          headerKind,
          garbageHeaders,
          fc.boolean(),
          async (body, kind, garbage, base64) => {
            fc.pre(!acceptable(kind, body));
            const event = httpEvent('POST', '/v1/pilot/report', body, headersFor(kind, body, garbage));
            if (base64)
              Object.assign(event, { body: Buffer.from(body).toString('base64'), isBase64Encoded: true });
            await expectRejected(event, outcomes.report);
          },
        ),
        fuzzParams('POST /v1/pilot/report'),
      );
      expect(await snapshot(c)).toBe(before);
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'enroll: malformed requests and wrong tokens are 4xx with a reason and write nothing',
    async () => {
      // A newcomer (valid), the enrolled val-a again (already enrolled), val-a with another claim
      // (name taken), and wrong tokens; each mutated or not. Only a valid newcomer may be written.
      const newcomer = enrollRequest({
        name: 'newcomer',
        claim: 'd'.repeat(64),
        cometNodeId: 'd'.repeat(40),
      });
      const bases = [
        newcomer,
        enrollRequest(),
        enrollRequest({ claim: 'e'.repeat(64) }),
        { ...newcomer, enrollmentToken: `${TOKEN}-wrong` },
        { ...newcomer, enrollmentToken: TOKEN.slice(0, -1) },
      ];
      const body = fc
        .constantFrom(...bases)
        .chain((b) =>
          fc.oneof(
            { weight: 1, arbitrary: fc.constant(JSON.stringify(b)) },
            { weight: 6, arbitrary: hostileBody(b) },
          ),
        );
      await fc.assert(
        fc.asyncProperty(body, async (text) => {
          let value: unknown;
          try {
            value = JSON.parse(text);
          } catch {
            value = undefined;
          }
          const parsed = EnrollRequest.safeParse(value);
          // A valid request with the right token for a new name is an enrollment, not bad input.
          fc.pre(
            !parsed.success ||
              parsed.data.enrollmentToken !== TOKEN ||
              ['val-a', 'val-b'].includes(parsed.data.name),
          );
          await expectRejected(httpEvent('POST', '/v1/pilot/enroll', text), outcomes.enroll);
        }),
        fuzzParams('POST /v1/pilot/enroll'),
      );
      expect(await snapshot(c)).toBe(before);
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'routing: unknown paths and methods are 404/405 with a reason',
    async () => {
      const path = fc.oneof(
        fc.constantFrom(
          '/',
          '/v1/pilot',
          '/v1/pilot/report',
          '/v1/pilot/enroll',
          '/healthz',
          '/v1/pilot/report/',
          '/V1/PILOT/REPORT',
          '/v1//pilot/enroll',
          '/healthz/x',
        ),
        fc.webPath(),
        fc.string({ maxLength: 40 }).map((s) => `/${s}`),
      );
      const method = fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'post', 'TRACE');
      await fc.assert(
        fc.asyncProperty(method, path, fc.string({ maxLength: 100 }), async (m, p, body) => {
          fc.pre(!(m === 'GET' && p === '/healthz'));
          fc.pre(!(m === 'post' && ['/v1/pilot/report', '/v1/pilot/enroll'].includes(p)));
          await expectRejected(httpEvent(m, p, body), outcomes.routing);
        }),
        fuzzParams('any method and path'),
      );
      expect(await snapshot(c)).toBe(before);
    },
    FUZZ_TIMEOUT_MS,
  );
});
