import { describe, expect, it } from 'vitest';
import {
  Action,
  ConfigPatch,
  Report,
  describeZodError,
  parseOrThrow,
  signBody,
  signedHeaders,
  verifySignature,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
} from '../../protocol/index.js';
import { sampleReport } from '../fixtures/report.js';

const secret = 'ab'.repeat(32);

describe('request signing', () => {
  const body = JSON.stringify({ hello: 'world' });
  const now = 1_700_000_000_000;

  it('accepts a fresh, correct signature', () => {
    const headers = signedHeaders('val-a', secret, now, body);
    expect(
      verifySignature(secret, headers[HEADER_TIMESTAMP], headers[HEADER_SIGNATURE], body, now + 1000),
    ).toEqual({
      ok: true,
    });
  });

  it('rejects a changed body, another secret, and a stale timestamp', () => {
    const sig = signBody(secret, now, body);
    expect(verifySignature(secret, String(now), sig, `${body} `, now).ok).toBe(false);
    expect(verifySignature('cd'.repeat(32), String(now), sig, body, now).ok).toBe(false);
    const stale = verifySignature(secret, String(now), sig, body, now + 5 * 60 * 1000 + 1);
    expect(stale).toMatchObject({ ok: false, reason: expect.stringContaining('stale') });
  });

  it('names the malformed header', () => {
    expect(verifySignature(secret, 'soon', 'x', body, now)).toMatchObject({
      ok: false,
      reason: expect.stringContaining(HEADER_TIMESTAMP),
    });
    expect(verifySignature(secret, String(now), 'zz', body, now)).toMatchObject({
      ok: false,
      reason: expect.stringContaining(HEADER_SIGNATURE),
    });
  });
});

describe('schemas', () => {
  it('round-trips a report', () => {
    const report = sampleReport();
    expect(Report.parse(JSON.parse(JSON.stringify(report)))).toEqual(report);
  });

  it('names the field that is wrong', () => {
    const bad = { ...sampleReport(), seq: 0, nodeId: 'Val A' };
    const result = Report.safeParse(bad);
    expect(result.success).toBe(false);
    const text = describeZodError(result.error!);
    expect(text).toContain('seq');
    expect(text).toContain('nodeId');
  });

  it('rejects unknown keys so a typo is never silently ignored', () => {
    expect(() => parseOrThrow(ConfigPatch, { p2p: { pexx: true } }, 'config patch')).toThrow(/p2p/);
  });

  it('parses actions by type and applies defaults', () => {
    const action = Action.parse({
      id: 'a1',
      issuedAt: 1,
      type: 'apply-config',
      version: 'v1',
      patch: { p2p: { pex: false } },
    });
    expect(action).toMatchObject({ type: 'apply-config', restart: false });
    expect(
      Action.safeParse({ id: 'a2', issuedAt: 1, type: 'promote', epoch: 0, leaseExpiresAt: 1, minHeight: 1 })
        .success,
    ).toBe(false);
    expect(Action.safeParse({ id: 'a3', issuedAt: 1, type: 'format-disk' }).success).toBe(false);
  });
});
