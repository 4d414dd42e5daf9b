import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionLedger } from '../../pilot/ledger.js';
import { takeActions } from '../../pilot/reply-actions.js';
import { StateStore } from '../../pilot/state.js';
import { type Action, ActionResult, parseAction } from '../../protocol/index.js';
import {
  FUZZ_RUNS,
  FUZZ_TIMEOUT_MS,
  fuzzParams,
  mutatedJson,
  nastyValue,
  Outcomes,
  recordFuzz,
} from './kit.js';

// A reply's actions as the pilot takes them (pilot/reply-actions.ts), with its real ledger on disk:
// arrays of valid actions, mutated ones, bad peer addresses and junk. Nothing throws; every valid
// action with a new id runs exactly once, in order; every invalid one with a usable id is answered
// as refused, naming the field, and never runs; one without a usable id is only logged.

const RUNS = Math.max(FUZZ_RUNS, 10_000);
const outcomes = new Outcomes('report reply actions at the pilot');
const PEER = `${'ab'.repeat(20)}@203.0.113.9:26656`;

const id = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,12}$/);
const issuedAt = fc.integer({ min: 1, max: 2 ** 40 });
const valid: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ id, issuedAt, type: fc.constantFrom('restart-daemon', 'stop-daemon', 'start-daemon') }),
  fc.record({
    id,
    issuedAt,
    type: fc.constant('apply-config'),
    version: fc.constant('v1'),
    patch: fc.constant({ p2p: { persistent_peers: [PEER], external_address: '198.51.100.4:26656' } }),
    restart: fc.boolean(),
  }),
  fc.record({
    id,
    issuedAt,
    type: fc.constant('dial-peers'),
    peers: fc.array(fc.constantFrom(PEER, `${'cd'.repeat(20)}@[2001:db8::9]:26656`), {
      minLength: 1,
      maxLength: 3,
    }),
    persistent: fc.boolean(),
    unconditional: fc.boolean(),
    private: fc.boolean(),
  }),
  fc.record({
    id,
    issuedAt,
    type: fc.constant('promote'),
    epoch: fc.integer({ min: 1, max: 99 }),
    leaseExpiresAt: issuedAt,
    minHeight: fc.nat(),
  }),
  fc.record({ id, issuedAt, type: fc.constant('demote'), epoch: fc.integer({ min: 1, max: 99 }) }),
  fc.record({
    id,
    issuedAt,
    type: fc.constant('vote'),
    proposalId: fc.constant('7'),
    option: fc.constant('yes'),
  }),
  fc.record({ id, issuedAt, type: fc.constant('withdraw-rewards'), commission: fc.boolean() }),
) as fc.Arbitrary<Action>;

/** One element of a reply's `actions`: valid, structurally mutated, a bad peer address, or junk. */
const element: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: valid },
  { weight: 4, arbitrary: valid.chain((a) => mutatedJson(a).map((m) => m.value)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(valid, fc.constantFrom('203.0.113.9:26656 x', '203.0.113.9:99999', '[::1', 'a@b:1', ''))
      .map(([a, address]) => ({ ...a, type: 'dial-peers', peers: [`${'ef'.repeat(20)}@${address}`] })),
  },
  { weight: 1, arbitrary: nastyValue },
);

let root: string;
beforeAll(async () => {
  const shm = await fs.stat('/dev/shm').then(
    (s) => s.isDirectory(),
    () => false,
  );
  root = await fs.mkdtemp(path.join(shm ? '/dev/shm' : os.tmpdir(), 'beam-fuzz-actions-'));
});
afterAll(async () => {
  recordFuzz(import.meta.filename, [outcomes]);
  await fs.rm(root, { recursive: true, force: true });
});

describe('fuzzing the actions of a report reply at the pilot', () => {
  it(
    'never throws; runs each good action once, in order; refuses each bad one alone, naming the field',
    async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(element, { maxLength: 8 }), async (raw) => {
          const ledger = new ActionLedger(await StateStore.open(path.join(root, String(n++))));
          const ran: Action[] = [];
          const warnings: string[] = [];
          const taken = await takeActions(
            raw,
            ledger,
            (action) =>
              ledger.execute(
                action,
                () => null,
                async () => {
                  ran.push(action);
                  return { ok: true, message: 'ran' };
                },
              ),
            { warn: (_obj, msg) => warnings.push(msg) },
          );

          // What should have happened, element by element: a model of "each id once, bad ones refused".
          const seen = new Set<string>();
          const expectRan: Action[] = [];
          const expectRefused: string[] = [];
          let expectIgnored = 0;
          for (const item of raw) {
            const parsed = parseAction(item);
            if (parsed.ok) {
              if (!seen.has(parsed.action.id)) expectRan.push(parsed.action);
              seen.add(parsed.action.id);
            } else if (parsed.id === null) {
              expectIgnored++;
            } else {
              if (!seen.has(parsed.id)) expectRefused.push(parsed.id);
              seen.add(parsed.id);
            }
          }
          const bad = expectRefused.length + expectIgnored;
          outcomes.add(
            raw.length === 0
              ? 'empty'
              : bad === 0
                ? 'all run'
                : expectRan.length
                  ? 'some refused'
                  : 'all refused',
          );
          expect(ran).toEqual(expectRan);
          expect(taken.map((t) => t.action)).toEqual(
            raw.flatMap((r) => {
              const p = parseAction(r);
              return p.ok ? [p.action] : [];
            }),
          );
          const results = ledger.pending();
          for (const result of results) expect(ActionResult.safeParse(result).success).toBe(true);
          const refused = results.filter((r) => !r.ok);
          expect(refused.map((r) => r.id)).toEqual(expectRefused);
          for (const r of refused) expect(r.message).toMatch(/^refused: invalid action: \S*: \S/);
          expect(results.filter((r) => r.ok).map((r) => r.id)).toEqual(expectRan.map((a) => a.id));
          expect(warnings.filter((w) => w.startsWith('invalid action without a usable id'))).toHaveLength(
            expectIgnored,
          );
        }),
        fuzzParams('report reply actions at the pilot', RUNS),
      );
    },
    Math.max(FUZZ_TIMEOUT_MS, 300_000),
  );
});
