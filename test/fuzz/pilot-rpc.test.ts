import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import * as z from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectCommits, collectDaemon } from '../../pilot/facts.js';
import { CometRpc } from '../../pilot/rpc.js';
import { ChainFacts, DaemonFacts, describeZodError } from '../../protocol/index.js';
import { FUZZ_TIMEOUT_MS, fuzzParams, mutatedJson, Outcomes, recordFuzz } from './kit.js';

// The pilot's collectors fed malformed CometBFT JSON-RPC replies from a loopback server: they never
// throw, and whatever they gather still passes the report schema (a hostile or broken daemon must
// not make the pilot's reports unsendable).

const ADDR = 'A'.repeat(40);
const T = '2026-12-01T10:00:00.123456789Z';
const envelope = (result: unknown) => ({ jsonrpc: '2.0', id: -1, result });
const VALID: Record<string, unknown> = {
  status: envelope({
    node_info: { id: 'a'.repeat(40), moniker: 'val-a', version: '0.38.12', network: 'beam-devnet-1' },
    sync_info: { latest_block_height: '120', latest_block_time: T, catching_up: false },
    validator_info: { address: ADDR, voting_power: '100', pub_key: { type: 'tendermint/PubKeyEd25519' } },
  }),
  net_info: envelope({ listening: true, n_peers: '3', peers: [] }),
  commit: envelope({
    signed_header: {
      header: { height: '120', time: T, chain_id: 'beam-devnet-1' },
      commit: {
        height: '120',
        round: 0,
        signatures: [
          { block_id_flag: 2, validator_address: ADDR, timestamp: T, signature: 'c2ln' },
          { block_id_flag: 1, validator_address: '', timestamp: '0001-01-01T00:00:00Z', signature: null },
        ],
      },
    },
    canonical: true,
  }),
  validators: envelope({
    block_height: '120',
    validators: [{ address: ADDR, voting_power: '100', proposer_priority: '0' }],
    count: '1',
    total: '1',
  }),
};
const METHODS = Object.keys(VALID);

type Reply = { status: number; contentType: string; body: string } | { hangup: true };
/** One reply per RPC method for the current input. */
let replies: Record<string, Reply> = {};
let server: Server;
let url: string;
const outcome = new Outcomes('pilot collectors ← daemon JSON-RPC');

beforeAll(async () => {
  server = createServer((req, res) => {
    const method = new URL(req.url ?? '/', 'http://x').pathname.slice(1);
    const reply = replies[method] ?? { status: 404, contentType: 'text/plain', body: 'no such method' };
    if ('hangup' in reply) {
      req.socket.destroy();
      return;
    }
    res.writeHead(reply.status, { 'content-type': reply.contentType });
    res.end(reply.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  recordFuzz(import.meta.filename, [outcome]);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A reply for one method: valid, mutated JSON, a JSON-RPC error, or HTTP-level garbage. */
const replyFor = (method: string): fc.Arbitrary<Reply> =>
  fc.oneof(
    {
      weight: 2,
      arbitrary: fc.constant({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify(VALID[method]),
      }),
    },
    {
      weight: 8,
      arbitrary: mutatedJson(VALID[method]).map((m) => ({
        status: 200,
        contentType: 'application/json',
        body: m.text,
      })),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        status: fc.constantFrom(200, 500),
        contentType: fc.constant('application/json'),
        body: fc
          .record({ code: fc.integer(), message: fc.string(), data: fc.oneof(fc.string(), fc.jsonValue()) })
          .map((error) => JSON.stringify({ jsonrpc: '2.0', id: -1, error })),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.record({
          status: fc.constantFrom(200, 404, 500, 502),
          contentType: fc.constantFrom('text/html', 'application/json', 'text/plain'),
          body: fc.oneof(
            fc.constantFrom('', '<html>bad gateway</html>', 'null', '[]', '{"result":null}'),
            fc.string(),
          ),
        }),
        fc.constant({ hangup: true as const }),
      ),
    },
  );

const BASE = { running: true, desired: 'running' as const, restarts: 0 };
const Commits = z.object({
  recentCommits: ChainFacts.shape.recentCommits,
  networkSignedShare: z.number().min(0).max(1).nullable(),
});

describe('fuzzing the daemon RPC replies the pilot consumes', () => {
  it(
    'collectDaemon and collectCommits never throw and always yield report-valid facts',
    async () => {
      const rpc = new CometRpc(url, 2000);
      await fc.assert(
        fc.asyncProperty(
          fc.record(
            Object.fromEntries(METHODS.map((m) => [m, replyFor(m)])) as Record<string, fc.Arbitrary<Reply>>,
          ),
          fc.integer({ min: 1, max: 5 }),
          async (r, n) => {
            replies = r;
            const daemon = await collectDaemon(rpc, BASE);
            const checked = DaemonFacts.safeParse(daemon);
            expect(
              checked.error ? describeZodError(checked.error) : 'ok',
              `daemon facts ${JSON.stringify(daemon)} break the report schema`,
            ).toBe('ok');
            const commits = await collectCommits(rpc, daemon.height ?? 120, n, ADDR);
            const c = Commits.safeParse(commits);
            expect(
              c.error ? describeZodError(c.error) : 'ok',
              `commit facts ${JSON.stringify(commits)} break the report schema`,
            ).toBe('ok');
            outcome.add(
              daemon.rpcReachable
                ? `status ok, ${commits.recentCommits.length ? 'commits' : 'no commits'}`
                : 'status unreadable',
            );
          },
        ),
        fuzzParams('pilot collectors ← daemon JSON-RPC'),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
