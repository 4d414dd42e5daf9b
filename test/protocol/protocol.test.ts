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
  PeerAddress,
  p2pAddressProblem,
  peerAddressProblem,
  replyHeaders,
  verifyReply,
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

describe('reply signing', () => {
  const body = JSON.stringify({ actions: [] });
  const now = 1_700_000_000_000;
  const request = signedHeaders('val-a', secret, now, '{"seq":1}')[HEADER_SIGNATURE]!;

  it('binds a reply to the request it answers', () => {
    const headers = replyHeaders(secret, now, request, body);
    const check = (sig: string, reqSig = request, text = body) =>
      verifyReply(secret, headers[HEADER_TIMESTAMP], sig, reqSig, text, now + 1000);
    expect(check(headers[HEADER_SIGNATURE]!)).toEqual({ ok: true });
    expect(check(headers[HEADER_SIGNATURE]!, 'f'.repeat(64))).toMatchObject({ ok: false });
    expect(check(headers[HEADER_SIGNATURE]!, request, `${body} `)).toMatchObject({ ok: false });
    // A reply's MAC never passes as a request's, nor a request's as a reply's.
    expect(verifySignature(secret, headers[HEADER_TIMESTAMP], headers[HEADER_SIGNATURE], body, now).ok).toBe(
      false,
    );
    expect(check(signBody(secret, now, body))).toMatchObject({ ok: false });
    expect(
      verifyReply(secret, String(now), headers[HEADER_SIGNATURE], request, body, now + 6 * 60_000),
    ).toMatchObject({
      reason: 'stale timestamp: more than 300 s from pilot time',
    });
  });
});

describe('p2p addresses', () => {
  it('takes IPv4, bracketed IPv6 and DNS hosts with a port 1-65535', () => {
    for (const ok of [
      '203.0.113.9:26656',
      '[2001:db8::9]:1',
      'sentry-1.example.com:65535',
      'localhost:26656',
    ])
      expect(p2pAddressProblem(ok), ok).toBeNull();
    expect(PeerAddress.safeParse(`${'a'.repeat(40)}@[::1]:26656`).success).toBe(true);
  });

  it('refuses anything CometBFT would not, saying what to write', () => {
    const cases: [string, RegExp][] = [
      ['203.0.113.9:26656 x', /space or control character/],
      ['203.0.113.9:99999', /port "99999" is not a port: use a number from 1 to 65535/],
      ['203.0.113.9:0', /port "0"/],
      ['203.0.113.9:026656', /port "026656"/],
      ['203.0.113.9', /missing :port/],
      ['256.1.1.1:1', /not an IPv4 address/],
      ['2001:db8::9:26656', /IPv6 host goes in brackets/],
      ['[fe80::1%eth0]:1', /not a bracketed IPv6 address/],
      ['-bad.example.com:1', /not a DNS name/],
      ['a,b.example.com:1', /not a DNS name/],
      ['x\u0000y:1', /control character/],
    ];
    for (const [address, problem] of cases) expect(p2pAddressProblem(address), address).toMatch(problem);
    expect(peerAddressProblem(`${'A'.repeat(40)}@1.2.3.4:1`)).toMatch(/40 lowercase hex node id/);
    expect(peerAddressProblem(`${'a'.repeat(40)}@1.2.3.4:1,${'b'.repeat(40)}@1.2.3.5:1`)).not.toBeNull();
  });
});
