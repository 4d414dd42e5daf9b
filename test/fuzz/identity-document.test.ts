import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyIdentityDocument } from '../../commander/identity/document.js';
import { type Ec2Emulator, startEc2Emulator } from '../../devnet/ec2/emulator.js';
import { InstanceMetadata } from '../../devnet/ec2/imds.js';
import { fetchInstanceIdentity } from '../../pilot/identity.js';
import type { InstanceIdentity } from '../../protocol/index.js';
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS, fuzzParams, mutatedJson, Outcomes, recordFuzz } from './kit.js';

// The EC2 identity document check (commander/identity/document.ts): whatever a pilot sends as its
// document and signature, the check never throws, and it approves only the document AWS signed,
// byte for byte. Mutations: of the JSON (fields, types, extra keys), of its text, of the signature,
// and genuine documents signed with another key (a region's emulation the commander does not trust).

const RUNS = Math.max(FUZZ_RUNS, 10_000);
const outcomes = new Outcomes('EC2 instance identity document');
let ec2: Ec2Emulator;
let genuine: InstanceIdentity;
let trust: { certificate: string; accountId: string; region: string; maxAgeMs: number };
let now: number;
/** Signs any text as another region's metadata service would: a valid signature, untrusted key. */
let foreign: InstanceMetadata;

beforeAll(async () => {
  ec2 = await startEc2Emulator();
  const instance = ec2.addInstance({ privateIp: '10.0.1.1' });
  const { document, signature } = await fetchInstanceIdentity(ec2.imdsUrl(instance.instanceId), 2000);
  genuine = { document, signature };
  trust = {
    certificate: ec2.identityCertificate,
    accountId: ec2.accountId,
    region: ec2.region,
    maxAgeMs: 30 * 60_000,
  };
  now = Date.now();
  foreign = new InstanceMetadata({ accountId: ec2.accountId, region: ec2.region }, () => undefined);
  expect(verifyIdentityDocument(genuine, trust, now).ok).toBe(true);
});
afterAll(async () => {
  recordFuzz(import.meta.filename, [outcomes]);
  await ec2?.stop();
});

/** Character-level damage: flip, drop, insert or duplicate at a position. */
const damaged = (text: string) =>
  fc
    .tuple(
      fc.constantFrom('flip', 'drop', 'insert', 'dup'),
      fc.nat(),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }),
    )
    .map(([kind, at, extra]) => {
      const i = at % Math.max(1, text.length);
      if (kind === 'flip')
        return text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ 1) + text.slice(i + 1);
      if (kind === 'drop') return text.slice(0, i) + text.slice(i + 1);
      if (kind === 'insert') return text.slice(0, i) + extra + text.slice(i);
      return text + text.slice(i);
    });

describe('EC2 instance identity document verification', () => {
  it(
    `never throws, and approves nothing but the genuine document (${RUNS} inputs)`,
    () => {
      const base = () => JSON.parse(genuine.document) as object;
      const input: fc.Arbitrary<{ identity: InstanceIdentity; how: string }> = fc.oneof(
        mutatedJson(base()).map((m) => ({ identity: { ...genuine, document: m.text }, how: 'json' })),
        damaged(genuine.document).map((document) => ({ identity: { ...genuine, document }, how: 'text' })),
        damaged(genuine.signature).map((signature) => ({
          identity: { ...genuine, signature },
          how: 'signature',
        })),
        fc
          .oneof(
            mutatedJson(base()).map((m) => m.text),
            fc.constant(genuine.document),
          )
          .map((document) => ({
            identity: { document, signature: foreign.signature(document) },
            how: 'foreign key',
          })),
        fc
          .record({ document: fc.string({ maxLength: 300 }), signature: fc.base64String({ maxLength: 400 }) })
          .map((identity) => ({ identity, how: 'noise' })),
      );
      fc.assert(
        fc.property(input, fc.integer({ min: -3_600_000, max: 3_600_000 }), ({ identity, how }, skew) => {
          const result = verifyIdentityDocument(identity, trust, now + skew);
          outcomes.add(result.ok ? 'verified' : `refused (${how})`);
          if (!result.ok) {
            expect(result.reason.length).toBeGreaterThan(10);
            return;
          }
          // Only AWS's bytes verify: any accepted input is the genuine document itself.
          expect(identity.document).toBe(genuine.document);
          expect(identity.signature.replace(/\s+/g, '')).toBe(genuine.signature.replace(/\s+/g, ''));
        }),
        fuzzParams('EC2 instance identity document', RUNS),
      );
      expect(outcomes.runs).toBeGreaterThanOrEqual(10_000);
    },
    Math.max(FUZZ_TIMEOUT_MS, 120_000),
  );

  it('refuses what a different key signed, even a genuine document', () => {
    const result = verifyIdentityDocument(
      { document: genuine.document, signature: foreign.signature(genuine.document) },
      trust,
      now,
    );
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/signature does not verify/) });
  });
});
