import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplyRefused, sendReport } from '../../pilot/reporter.js';
import { HEADER_SIGNATURE, HEADER_TIMESTAMP, type ReportReply, replyHeaders } from '../../protocol/index.js';
import { sampleReport } from '../fixtures/report.js';
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS, fuzzParams, mutatedJson, Outcomes, recordFuzz } from './kit.js';

// Report replies through the pilot's own transport (pilot/reporter.ts) over real HTTP: a loopback
// commander signs each reply for the request it answers, then the headers and the body are mutated.
// The pilot returns a reply to its agent (which applies only what it returns) exactly when the reply
// reached it unchanged; every other reply throws, so nothing of it is applied.

const RUNS = Math.max(FUZZ_RUNS, 10_000);
const SECRET = '5a'.repeat(32);
const OTHER_SECRET = 'a5'.repeat(32);
const outcomes = new Outcomes('report replies (signature headers and body) at the pilot');

const genuineBody: ReportReply = {
  actions: [
    {
      id: 'cfg-1',
      issuedAt: 1,
      type: 'apply-config',
      version: 'v1',
      patch: { p2p: { pex: false } },
      restart: false,
    },
    { id: 'stop-1', issuedAt: 2, type: 'stop-daemon' },
  ],
  lease: { epoch: 3, holder: true, expiresAt: 2_000_000_000_000 },
  configVersion: 'v1',
  nextReportMs: 5000,
  commanderTime: 1_900_000_000_000,
  lastTickAt: null,
  ackedResults: ['r-1'],
};
const genuineText = JSON.stringify(genuineBody);

type HeaderMutation =
  | { kind: 'none' }
  | { kind: 'drop'; which: 'timestamp' | 'signature' | 'both' }
  | { kind: 'timestamp'; value: string }
  | { kind: 'shift'; ms: number }
  | { kind: 'flip'; at: number }
  | { kind: 'case' }
  | { kind: 'truncate'; at: number }
  | { kind: 'random-signature'; hex: string }
  | { kind: 'other-secret' }
  | { kind: 'other-request' }
  | { kind: 'other-body' }
  | { kind: 'garbage-signature'; value: string };

const headerMutation: fc.Arbitrary<HeaderMutation> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
  fc.record({ kind: fc.constant('drop' as const), which: fc.constantFrom('timestamp', 'signature', 'both') }),
  fc.record({ kind: fc.constant('timestamp' as const), value: fc.string({ maxLength: 20 }) }),
  fc.record({
    kind: fc.constant('shift' as const),
    ms: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -1e9, max: 1e9 })),
  }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(63) }),
  fc.constant({ kind: 'case' as const }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(63) }),
  fc.record({
    kind: fc.constant('random-signature' as const),
    hex: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }),
  }),
  fc.constant({ kind: 'other-secret' as const }),
  fc.constant({ kind: 'other-request' as const }),
  fc.constant({ kind: 'other-body' as const }),
  fc.record({ kind: fc.constant('garbage-signature' as const), value: fc.string({ maxLength: 80 }) }),
);

const bodyMutation: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(genuineText) },
  { weight: 4, arbitrary: mutatedJson(genuineBody).map((m) => m.text) },
  { weight: 1, arbitrary: fc.constantFrom(`${genuineText} `, ` ${genuineText}`, `${genuineText}\n`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
);

function mutateHeaders(m: HeaderMutation, requestSignature: string, body: string): Record<string, string> {
  const now = Date.now();
  const genuine = replyHeaders(SECRET, now, requestSignature, genuineText);
  const ts = genuine[HEADER_TIMESTAMP] as string;
  const sig = genuine[HEADER_SIGNATURE] as string;
  switch (m.kind) {
    case 'none':
      return genuine;
    case 'drop':
      if (m.which === 'both') return {};
      return m.which === 'timestamp' ? { [HEADER_SIGNATURE]: sig } : { [HEADER_TIMESTAMP]: ts };
    case 'timestamp':
      return { ...genuine, [HEADER_TIMESTAMP]: m.value };
    case 'shift':
      return { ...genuine, [HEADER_TIMESTAMP]: String(now + m.ms) };
    case 'flip': {
      const c = sig[m.at] === '0' ? '1' : '0';
      return { ...genuine, [HEADER_SIGNATURE]: sig.slice(0, m.at) + c + sig.slice(m.at + 1) };
    }
    case 'case':
      return { ...genuine, [HEADER_SIGNATURE]: sig.toUpperCase() };
    case 'truncate':
      return { ...genuine, [HEADER_SIGNATURE]: sig.slice(0, m.at) };
    case 'random-signature':
      return { ...genuine, [HEADER_SIGNATURE]: m.hex };
    case 'other-secret':
      return replyHeaders(OTHER_SECRET, now, requestSignature, body);
    case 'other-request':
      return replyHeaders(SECRET, now, 'f'.repeat(64), body);
    case 'other-body':
      return replyHeaders(SECRET, now, requestSignature, `${body}x`);
    case 'garbage-signature':
      return { ...genuine, [HEADER_SIGNATURE]: m.value };
  }
}

/** The next reply the loopback commander sends, given the request it answers. */
let answer: (request: IncomingHttpHeaders) => { headers: Record<string, string>; body: string };
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const reply = answer(req.headers);
      res.writeHead(200, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  recordFuzz(import.meta.filename, [outcomes]);
  await new Promise<void>((r) => server.close(() => r()));
});

/** Header values as HTTP delivers them: only visible ASCII survives, and surrounding spaces are trimmed. */
const deliverable = (headers: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(headers)
      .filter(([, v]) => /^[\x20-\x7e]*$/.test(v))
      .map(([k, v]) => [k, v.trim()]),
  );

describe('fuzzing signed report replies at the pilot', () => {
  it(
    'takes a reply only when it arrives exactly as signed for this request; refuses every other',
    async () => {
      const report = sampleReport({ seq: 1 });
      await fc.assert(
        fc.asyncProperty(headerMutation, bodyMutation, async (mutation, body) => {
          let sent: Record<string, string> = {};
          let genuine: Record<string, string> = {};
          answer = (request) => {
            const requestSignature = request[HEADER_SIGNATURE] as string;
            sent = deliverable(mutateHeaders(mutation, requestSignature, body));
            genuine = replyHeaders(SECRET, Number(sent[HEADER_TIMESTAMP]), requestSignature, genuineText);
            return { headers: sent, body };
          };
          let accepted: unknown = null;
          let refusal: Error | null = null;
          try {
            accepted = await sendReport(url, SECRET, report, 5000);
          } catch (error) {
            refusal = error as Error;
          }
          const intact =
            body === genuineText &&
            /^\d{1,16}$/.test(sent[HEADER_TIMESTAMP] ?? '') &&
            sent[HEADER_SIGNATURE] === genuine[HEADER_SIGNATURE] &&
            Math.abs(Number(sent[HEADER_TIMESTAMP]) - Date.now()) < 5 * 60_000;
          outcomes.add(intact ? 'accepted' : (refusal?.message.replace(/:.*$/s, '') ?? 'accepted'));
          if (intact) expect(accepted).toEqual(genuineBody);
          else {
            // Refused by the signature check, before the body is even parsed.
            expect(accepted, `${mutation.kind} ${body.slice(0, 80)}`).toBeNull();
            expect(refusal).toBeInstanceOf(ReplyRefused);
          }
        }),
        fuzzParams('report replies (signature headers and body) at the pilot', RUNS),
      );
      // Both sides of the property were reached: genuine replies taken, changed ones refused.
      expect(Object.keys(outcomes.counts).sort()).toEqual(['accepted', 'reply refused, nothing applied']);
    },
    Math.max(FUZZ_TIMEOUT_MS, 180_000),
  );
});
