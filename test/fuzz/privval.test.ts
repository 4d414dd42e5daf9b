import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BinaryWriter } from 'cosmjs-types/binary';
import type { BlockID, Proposal, Vote } from 'cosmjs-types/tendermint/types/types';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proposalSignBytes, voteSignBytes } from '../../cometbft/canonical.js';
import {
  decodeMessage,
  encodeMessage,
  frameMessage,
  MAX_FRAME_BYTES,
  type PrivvalMessage,
} from '../../cometbft/privval.js';
import { RemoteSigner } from '../../pilot/signer/remote-signer.js';
import { SignState } from '../../pilot/signer/sign-state.js';
import { type DaemonConn, FakeDaemon } from '../pilot/signer/daemon.js';
import { CHAIN, testKey, verifies } from '../pilot/signer/helpers.js';
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS, fuzzParams, Outcomes, recordFuzz } from './kit.js';

// Malformed privval traffic from a hostile or broken daemon, over a real unix socket, to a real
// RemoteSigner whose gate lets it sign: it never crashes, answers exactly the well-formed requests
// that come before anything malformed (each signature checked), and closes the connection on the rest.

const RUNS = process.env.FUZZ_RUNS ? FUZZ_RUNS : 10_000;
const key = testKey();
const outcome = new Outcomes('remote signer ← privval frames');
let dir: string;
let daemon: FakeDaemon;
let signer: RemoteSigner;
let conn: DaemonConn | null = null;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fuzz-privval-'));
  const sock = path.join(dir, 'pv.sock');
  daemon = await FakeDaemon.listen(sock);
  signer = new RemoteSigner({
    laddr: `unix://${sock}`,
    chainId: CHAIN,
    key,
    state: SignState.open(path.join(dir, 'priv_validator_state.json')),
    gate: () => null,
    log: { info: () => {}, warn: () => {} },
    // Redial at once: thousands of inputs each close the connection.
    redialMs: { min: 0, max: 0 },
  });
  signer.start();
});

afterAll(async () => {
  recordFuzz(import.meta.filename, [outcome]);
  await signer.stop();
  await daemon.close();
  await fs.rm(dir, { recursive: true, force: true });
});

// ---- generators -------------------------------------------------------------------------------

const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };
const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const bytes = (maxLength: number) => fc.uint8Array({ maxLength });
const height = fc.oneof(fc.bigInt(1n, 1000n), fc.bigInt(INT64));
const round = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer(INT32));
const chainId = fc.oneof({ weight: 4, arbitrary: fc.constant(CHAIN) }, fc.string({ maxLength: 20 }));
const hash = fc.oneof(
  fc.constant(new Uint8Array()),
  fc.uint8Array({ minLength: 32, maxLength: 32 }),
  bytes(40),
);
const blockId: fc.Arbitrary<BlockID> = fc.record({
  hash,
  partSetHeader: fc.record({
    total: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
    hash,
  }),
});
const timestamp = fc.record({
  seconds: fc.oneof(fc.bigInt(1_700_000_000n, 1_900_000_000n), fc.bigInt(INT64)),
  nanos: fc.oneof(fc.integer({ min: 0, max: 999_999_999 }), fc.integer(INT32)),
});
const msgType = fc.oneof(fc.constantFrom(0, 1, 2, 32), fc.integer(INT32));
const vote: fc.Arbitrary<Vote> = fc.record({
  type: msgType,
  height,
  round,
  blockId,
  timestamp,
  validatorAddress: bytes(24),
  validatorIndex: fc.integer(INT32),
  signature: bytes(64),
  extension: bytes(64),
  extensionSignature: bytes(64),
});
const proposal: fc.Arbitrary<Proposal> = fc.record({
  type: msgType,
  height,
  round,
  polRound: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.integer(INT32)),
  blockId,
  timestamp,
  signature: bytes(64),
});
const request: fc.Arbitrary<PrivvalMessage> = fc.oneof(
  fc.constant({ type: 'pingRequest' as const }),
  fc.record({ type: fc.constant('pubKeyRequest' as const), chainId }),
  fc.record({
    type: fc.constant('signVoteRequest' as const),
    vote,
    chainId,
    skipExtensionSigning: fc.boolean(),
  }),
  fc.record({ type: fc.constant('signProposalRequest' as const), proposal, chainId }),
);
const error = fc.option(fc.record({ code: fc.integer(INT32), description: fc.string({ maxLength: 30 }) }));
const response: fc.Arbitrary<PrivvalMessage> = fc.oneof(
  fc.constant({ type: 'pingResponse' as const }),
  fc.record({ type: fc.constant('pubKeyResponse' as const), pubKey: fc.option(bytes(32)), error }),
  fc.record({ type: fc.constant('signedVoteResponse' as const), vote, error }),
  fc.record({ type: fc.constant('signedProposalResponse' as const), proposal, error }),
);

const frame = (body: Uint8Array) => BinaryWriter.create().bytes(body).finish();
const uvarint = (n: bigint) => {
  const out: number[] = [];
  for (; n >= 0x80n; n >>= 7n) out.push(Number(n & 0x7fn) | 0x80);
  out.push(Number(n));
  return Uint8Array.from(out);
};
/** A protobuf field with a payload of the given wire type. */
const field = (num: number, wire: number, payload: Uint8Array) => {
  const w = BinaryWriter.create().uint32(((num << 3) | wire) >>> 0);
  if (wire === 0) w.uint64(BigInt(payload.length * 1_000_003));
  else if (wire === 2) w.bytes(payload);
  else if (wire === 1) w.fixed64(123n);
  else if (wire === 5) w.fixed32(7);
  return w.finish();
};

/** Bytes the daemon sends; `complete` when they are whole frames (else the daemon hangs up after them). */
interface Input {
  kind: string;
  bytes: Uint8Array;
  complete: boolean;
}
const whole = (kind: string) => (b: Uint8Array) => ({ kind, bytes: frame(b), complete: true });
const partial = (kind: string) => (b: Uint8Array) => ({ kind, bytes: b, complete: false });

const mutation = fc.record({
  op: fc.constantFrom('flip', 'set', 'insert', 'delete'),
  at: fc.nat(),
  value: fc.integer({ min: 0, max: 255 }),
});
function mutate(body: Uint8Array, ops: { op: string; at: number; value: number }[]): Uint8Array {
  const b = Array.from(body);
  for (const { op, at, value } of ops) {
    const i = b.length === 0 ? 0 : at % b.length;
    if (op === 'flip' && b.length) b[i] = (b[i] as number) ^ (1 << (value % 8));
    else if (op === 'set' && b.length) b[i] = value;
    else if (op === 'insert') b.splice(i, 0, value);
    else if (op === 'delete') b.splice(i, 1);
  }
  return Uint8Array.from(b);
}

const completeInput: fc.Arbitrary<Input> = fc.oneof(
  bytes(200).map(whole('random body')),
  fc
    .tuple(fc.integer({ min: 9, max: 2 ** 29 - 1 }), fc.constantFrom(0, 1, 2, 5), bytes(40))
    .map(([n, w, p]) => field(n, w, p))
    .map(whole('unknown oneof field')),
  fc
    .tuple(fc.integer({ min: 1, max: 8 }), fc.constantFrom(0, 1, 3, 4, 5, 6, 7), bytes(20))
    .map(([n, w, p]) => field(n, w, p))
    .map(whole('wrong wire type')),
  fc
    .tuple(request, fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([m, ops]) => mutate(encodeMessage(m), ops))
    .map(whole('mutated request')),
  request.map((m) => encodeMessage(m)).map(whole('request with extreme fields')),
  response.map((m) => encodeMessage(m)).map(whole('response sent as a request')),
);

const input: fc.Arbitrary<Input> = fc.oneof(
  { weight: 6, arbitrary: completeInput },
  {
    weight: 2,
    arbitrary: fc
      .array(completeInput, { minLength: 2, maxLength: 5 })
      .map((all) => ({ kind: 'batch', bytes: Buffer.concat(all.map((i) => i.bytes)), complete: true })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(request, fc.nat())
      .map(([m, cut]) => {
        const f = frameMessage(m);
        return f.subarray(0, 1 + (cut % (f.length - 1)));
      })
      .map(partial('truncated frame')),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.bigInt(BigInt(MAX_FRAME_BYTES) + 1n, 2n ** 64n - 1n), bytes(30))
      .map(([n, rest]) => Buffer.concat([uvarint(n), rest]))
      .map(partial('oversized length prefix')),
  },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.integer({ min: 0x80, max: 0x80 }), { minLength: 10, maxLength: 12 })
      .map((b) => Uint8Array.from(b))
      .map(partial('length prefix not a uvarint')),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(request, fc.uint8Array({ minLength: 1, maxLength: 40 }))
      .map(([m, junk]) => Buffer.concat([frameMessage(m), junk]))
      .map(partial('garbage after a valid frame')),
  },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 100 }).map(partial('random bytes')) },
);

// ---- the oracle -------------------------------------------------------------------------------

const REQUESTS = new Set(['pingRequest', 'pubKeyRequest', 'signVoteRequest', 'signProposalRequest']);

/** A frame's length prefix at `at`: 'bad' when FrameReader refuses it, 'short' when it is cut off. */
function header(b: Uint8Array, at: number): { start: number; length: number } | 'bad' | 'short' {
  let length = 0;
  for (let i = 0; i < 10; i++) {
    if (at + i >= b.length) return 'short';
    const byte = b[at + i] as number;
    length += (byte & 0x7f) * 2 ** (7 * i);
    if (length > MAX_FRAME_BYTES) return 'bad';
    if (byte < 0x80) return { start: at + i + 1, length };
  }
  return 'bad';
}

/**
 * What the signer may answer: the well-formed requests before the first malformed piece. A bad
 * length prefix anywhere in the same read makes FrameReader throw before any frame is handled, so
 * then fewer may be answered (`exact` false).
 */
function expected(b: Uint8Array): { requests: PrivvalMessage[]; clean: boolean; exact: boolean } {
  const frames: Uint8Array[] = [];
  let end: 'clean' | 'bad' | 'short' = 'clean';
  for (let at = 0; at < b.length; ) {
    const h = header(b, at);
    if (h === 'bad' || h === 'short' || h.start + h.length > b.length) {
      end = h === 'bad' ? 'bad' : 'short';
      break;
    }
    frames.push(b.subarray(h.start, h.start + h.length));
    at = h.start + h.length;
  }
  const exact = end !== 'bad';
  const requests: PrivvalMessage[] = [];
  for (const f of frames) {
    let m: PrivvalMessage;
    try {
      m = decodeMessage(f);
    } catch {
      return { requests, clean: false, exact };
    }
    if (!REQUESTS.has(m.type)) return { requests, clean: false, exact };
    requests.push(m);
  }
  return { requests, clean: end === 'clean', exact };
}

/** Checks one reply against its request; returns whether it carries a signature. */
function check(req: PrivvalMessage, reply: PrivvalMessage): boolean {
  switch (req.type) {
    case 'pingRequest':
      expect(reply.type).toBe('pingResponse');
      return false;
    case 'pubKeyRequest':
      expect(reply).toEqual(
        req.chainId === CHAIN
          ? { type: 'pubKeyResponse', pubKey: key.pubKey, error: null }
          : { type: 'pubKeyResponse', pubKey: null, error: expect.objectContaining({ code: 1 }) },
      );
      return false;
    case 'signVoteRequest': {
      if (reply.type !== 'signedVoteResponse') throw new Error(`${reply.type} answers ${req.type}`);
      if (reply.error) {
        expect(reply.vote.signature).toHaveLength(0);
        expect(reply.vote.extensionSignature).toHaveLength(0);
        return false;
      }
      expect(req.chainId).toBe(CHAIN);
      // The vote as asked, but for its signatures and (on a re-sign) the stored timestamp.
      const { signature, timestamp: _t, extensionSignature: _e, ...rest } = reply.vote;
      const { signature: _s, timestamp: _rt, extensionSignature: _re, ...asked } = req.vote;
      expect(rest).toEqual(asked);
      expect(verifies(key.pubKey, voteSignBytes(CHAIN, reply.vote), signature)).toBe(true);
      return true;
    }
    case 'signProposalRequest': {
      if (reply.type !== 'signedProposalResponse') throw new Error(`${reply.type} answers ${req.type}`);
      if (reply.error) {
        expect(reply.proposal.signature).toHaveLength(0);
        return false;
      }
      expect(req.chainId).toBe(CHAIN);
      expect(reply.proposal.height).toBe(req.proposal.height);
      expect(reply.proposal.blockId).toEqual(req.proposal.blockId);
      expect(verifies(key.pubKey, proposalSignBytes(CHAIN, reply.proposal), reply.proposal.signature)).toBe(
        true,
      );
      return true;
    }
    default:
      throw new Error(`not a request: ${req.type}`);
  }
}

/** Sends one input and collects the replies until the ping sent after it comes back, or the close. */
async function exchange(
  i: Input,
  plan: ReturnType<typeof expected>,
): Promise<{ replies: PrivvalMessage[]; closed: boolean }> {
  if (!conn || conn.closed) conn = await daemon.connection();
  const c = conn;
  c.send(i.bytes);
  if (i.complete) c.send(frameMessage({ type: 'pingRequest' }));
  else c.socket.end();
  const replies: PrivvalMessage[] = [];
  for (;;) {
    const m = await c.next();
    if (!m) return { replies, closed: true };
    replies.push(m);
    if (i.complete && plan.clean && replies.length === plan.requests.length + 1) {
      expect(replies.pop()).toEqual({ type: 'pingResponse' });
      return { replies, closed: false };
    }
  }
}

describe('fuzz: the remote signer fed malformed privval frames', () => {
  it(
    'never crashes, signs only well-formed requests, and closes the connection on anything else',
    async () => {
      await fc.assert(
        fc.asyncProperty(input, async (i) => {
          const plan = expected(i.bytes);
          const { replies, closed } = await exchange(i, plan);
          // A clean run of whole frames keeps the connection; anything malformed or cut short closes it.
          expect(closed).toBe(!(i.complete && plan.clean));
          if (plan.exact) expect(replies).toHaveLength(plan.requests.length);
          else expect(replies.length).toBeLessThanOrEqual(plan.requests.length);
          let signed = false;
          replies.forEach((reply, n) => {
            signed = check(plan.requests[n] as PrivvalMessage, reply) || signed;
          });
          outcome.add(signed ? 'answered, with a signature' : closed ? 'connection closed' : 'answered');
        }),
        fuzzParams('remote signer ← privval frames', RUNS),
      );
      // Still serving.
      if (!conn || conn.closed) conn = await daemon.connection();
      expect(await conn.request({ type: 'pingRequest' })).toEqual({ type: 'pingResponse' });
      expect(outcome.counts['connection closed']).toBeGreaterThan(RUNS / 2);
    },
    FUZZ_TIMEOUT_MS,
  );
});
