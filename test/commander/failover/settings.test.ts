import { describe, expect, it } from 'vitest';
import { parseFailoverSettings } from '../../../commander/failover/index.js';

describe('failover settings', () => {
  it('defaults to signer mode, whose fencing is a refusal to sign: a short lease and grace', () => {
    const s = parseFailoverSettings();
    expect(s).toMatchObject({
      keyMode: 'signer',
      reportIntervalMs: 5_000,
      leaseDurationMs: 13_000,
      renewMarginMs: 10_000,
      graceMs: 5_000,
      pilotFenceDelayMs: 1_000,
      maxClockSkewMs: 2_000,
      silentAfterMs: 10_000,
      missedCommitsForFailover: 3,
      mode: 'confirm',
    });
    expect(s.graceMs).toBeGreaterThan(s.pilotFenceDelayMs + s.maxClockSkewMs);
    // A long report interval stretches what depends on it.
    expect(parseFailoverSettings({ reportIntervalMs: 20_000 })).toMatchObject({
      renewMarginMs: 40_000,
      leaseDurationMs: 43_000,
      silentAfterMs: 40_000,
      chainHaltAfterMs: 60_000,
    });
  });

  it('fills file-mode defaults that satisfy the timing inequality', () => {
    const s = parseFailoverSettings({ keyMode: 'file' });
    expect(s).toMatchObject({
      keyMode: 'file',
      reportIntervalMs: 5_000,
      leaseDurationMs: 30_000,
      renewMarginMs: 20_000,
      graceMs: 30_000,
      pilotFenceDelayMs: 20_000,
      maxClockSkewMs: 5_000,
      silentAfterMs: 15_000,
      missedCommitsForFailover: 3,
      mode: 'confirm',
    });
    expect(s.graceMs).toBeGreaterThan(s.pilotFenceDelayMs + s.maxClockSkewMs);
    expect(s.autoApproveAfterMs).toBeUndefined();
  });

  it('refuses a grace period that does not cover fencing delay plus clock skew, naming the fix', () => {
    expect(() => parseFailoverSettings({ keyMode: 'file', graceMs: 25_000 })).toThrow(
      'invalid failover settings: graceMs: must exceed pilotFenceDelayMs + maxClockSkewMs (25000 ms): raise graceMs to at least 25001',
    );
    expect(() => parseFailoverSettings({ keyMode: 'file', maxClockSkewMs: 12_000 })).toThrow(
      /graceMs: must exceed/,
    );
    expect(() => parseFailoverSettings({ keyMode: 'file', graceMs: 25_001 })).not.toThrow();
    expect(() => parseFailoverSettings({ graceMs: 3_000 })).toThrow(
      /graceMs: must exceed pilotFenceDelayMs \+ maxClockSkewMs \(3000 ms\)/,
    );
    expect(() => parseFailoverSettings({ keyMode: 'hsm' })).toThrow(/keyMode/);
  });

  it('refuses renewal and silence windows that one lost report would break', () => {
    expect(() => parseFailoverSettings({ renewMarginMs: 8_000 })).toThrow(
      /renewMarginMs: must be at least 2 × reportIntervalMs \(10000 ms\)/,
    );
    expect(() => parseFailoverSettings({ renewMarginMs: 40_000, leaseDurationMs: 30_000 })).toThrow(
      /renewMarginMs: must not exceed leaseDurationMs/,
    );
    expect(() => parseFailoverSettings({ silentAfterMs: 6_000 })).toThrow(/silentAfterMs: must be at least/);
    expect(() => parseFailoverSettings({ chainHaltAfterMs: 6_000 })).toThrow(
      /chainHaltAfterMs: must be at least/,
    );
  });

  it('rejects bad types and ranges per field, and auto-approve outside confirm mode', () => {
    expect(() => parseFailoverSettings({ missedCommitsForFailover: 0 })).toThrow(/missedCommitsForFailover/);
    expect(() => parseFailoverSettings({ mode: 'yolo' })).toThrow(/mode/);
    expect(() => parseFailoverSettings({ leaseDurationMs: '30s' })).toThrow(/leaseDurationMs/);
    expect(() => parseFailoverSettings({ mode: 'auto', autoApproveAfterMs: 60_000 })).toThrow(
      /autoApproveAfterMs: only applies in confirm mode/,
    );
    expect(parseFailoverSettings({ autoApproveAfterMs: 60_000 }).autoApproveAfterMs).toBe(60_000);
    // A misspelt key must not silently fall back to a default.
    expect(() => parseFailoverSettings({ graceMS: 60_000 })).toThrow(/graceMS/);
  });
});
