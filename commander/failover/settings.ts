import * as z from 'zod';
import { describeZodError, KeyMode } from '../../protocol/index.js';

const Ms = z.number().int().positive();

/**
 * Timing defaults per key mode, stretched where a long report interval needs it. The derivation is
 * in docs/failover.md: in signer mode the old signer refuses at lease expiry by its own clock, so the
 * fencing delay is the time a signature already decided takes to leave (well under a second) and the
 * lease can be short; in file mode the pilot has to stop a possibly hung daemon first.
 */
export function timingDefaults(keyMode: KeyMode, reportIntervalMs: number) {
  const i = reportIntervalMs;
  if (keyMode === 'file') {
    return {
      silentAfterMs: Math.max(15_000, 3 * i),
      chainHaltAfterMs: Math.max(30_000, 3 * i),
      renewMarginMs: Math.max(20_000, 2 * i),
      leaseDurationMs: Math.max(30_000, 3 * i),
      pilotFenceDelayMs: 20_000,
      maxClockSkewMs: 5_000,
      graceMs: 30_000,
    };
  }
  // Signer mode: the lease outlives one lost report (2 intervals + the pilot's 2 s fence margin + a
  // reply's latency). The pilot's deadline runs on its monotonic clock from the report's send time,
  // so the skew left is its own wall clock stepping between a saved lease and a restart.
  return {
    silentAfterMs: Math.max(10_000, 2 * i),
    chainHaltAfterMs: Math.max(30_000, 3 * i),
    renewMarginMs: Math.max(10_000, 2 * i),
    leaseDurationMs: Math.max(13_000, 2 * i + 3_000),
    pilotFenceDelayMs: 1_000,
    maxClockSkewMs: 2_000,
    graceMs: 5_000,
  };
}

/**
 * Failover timing and policy. Defaults suit 5 s reports on a chain with blocks every few seconds.
 * The cross-field checks are the safety argument in numbers: a setting that breaks one is refused,
 * never clamped, so that a typo cannot silently weaken "never double-sign".
 */
const Schema = z
  .strictObject({
    /**
     * Who signs: `signer` (each validator's pilot is its daemon's remote signer; a failover moves
     * the signature), `file` (a promote copies the key file and restarts the daemon), `external`
     * (Horcrux, TMKMS: Beam never touches keys or fails over; it watches and alerts).
     */
    keyMode: KeyMode.default('signer'),
    /** How often pilots report. */
    reportIntervalMs: z.number().int().min(500).max(300_000).default(5_000),
    /** How long a grant lets the holder sign without hearing from the commander again. */
    leaseDurationMs: Ms,
    /** A healthy holder's lease is extended when less than this remains. */
    renewMarginMs: Ms,
    /** Added after lease expiry before the lease may move without a demote result. */
    graceMs: Ms,
    /**
     * Worst case, by the pilot's own clock, from lease expiry until no new signature leaves the node.
     * Signer mode: a signature decided just before expiry is persisted and sent (≪ 1 s). File mode,
     * the pilot's defaults with a hung daemon: 3 guard checks × (250 ms + 3 s RPC timeout) + 10 s
     * `stop_timeout_ms` − 2 s `fence_margin_ms` ≈ 18 s.
     */
    pilotFenceDelayMs: Ms,
    /** Largest difference between the pilot's idea of the lease deadline and the commander's. */
    maxClockSkewMs: z.number().int().nonnegative(),
    /** A node with no report for this long is silent. */
    silentAfterMs: Ms,
    /** A node whose height has not moved for this long sees a halted (or stalled) chain. */
    chainHaltAfterMs: Ms,
    /**
     * A new holder (adopted or promoted) is renewed without its signature, and not taken as failing
     * while its daemon loads (no RPC answer, height still), for this long.
     */
    startupGraceMs: Ms.default(60_000),
    /** N: the validator's signature must be absent from the last N commits before a standby is promoted. */
    missedCommitsForFailover: z.number().int().min(1).max(20).default(3),
    /** `confirm`: ask people in chat first; `auto`: fail over at once. */
    mode: z.enum(['confirm', 'auto']).default('confirm'),
    /** After a person pressed [Not now], Beam does not propose the same failover again for this long. */
    declineHoldMs: Ms.default(900_000),
    /** In confirm mode, proceed on our own when nobody answered within this time. */
    autoApproveAfterMs: Ms.optional(),
  })
  .superRefine((s, ctx) => {
    const fence = s.pilotFenceDelayMs + s.maxClockSkewMs;
    if (s.graceMs <= fence) {
      ctx.addIssue({
        code: 'custom',
        path: ['graceMs'],
        message: `must exceed pilotFenceDelayMs + maxClockSkewMs (${fence} ms): raise graceMs to at least ${fence + 1} or lower the other two`,
      });
    }
    if (s.renewMarginMs > s.leaseDurationMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['renewMarginMs'],
        message: `must not exceed leaseDurationMs (${s.leaseDurationMs} ms): lower renewMarginMs`,
      });
    }
    if (s.renewMarginMs < 2 * s.reportIntervalMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['renewMarginMs'],
        message: `must be at least 2 × reportIntervalMs (${2 * s.reportIntervalMs} ms) so one lost report does not expire a healthy lease: raise renewMarginMs`,
      });
    }
    if (s.silentAfterMs < 2 * s.reportIntervalMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['silentAfterMs'],
        message: `must be at least 2 × reportIntervalMs (${2 * s.reportIntervalMs} ms): raise silentAfterMs`,
      });
    }
    if (s.chainHaltAfterMs < 2 * s.reportIntervalMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['chainHaltAfterMs'],
        message: `must be at least 2 × reportIntervalMs (${2 * s.reportIntervalMs} ms): raise chainHaltAfterMs`,
      });
    }
    if (s.autoApproveAfterMs !== undefined && s.mode !== 'confirm') {
      ctx.addIssue({
        code: 'custom',
        path: ['autoApproveAfterMs'],
        message: 'only applies in confirm mode: remove it or set mode to confirm',
      });
    }
  });
/** The settings with the timing defaults of their key mode and report interval filled in first. */
export const FailoverSettings = z.preprocess((raw) => {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const r = raw as { keyMode?: unknown; reportIntervalMs?: unknown };
  const mode = KeyMode.safeParse(r.keyMode ?? 'signer');
  const interval = typeof r.reportIntervalMs === 'number' ? r.reportIntervalMs : 5_000;
  return mode.success ? { ...timingDefaults(mode.data, interval), ...raw } : raw;
}, Schema);
export type FailoverSettings = z.output<typeof Schema>;
type TimingKey = keyof ReturnType<typeof timingDefaults>;
/** What an operator writes: any timing left out takes its key mode's default. */
export type FailoverSettingsInput = Omit<z.input<typeof Schema>, TimingKey> &
  Partial<Pick<z.input<typeof Schema>, TimingKey>>;

/** Parses settings, filling defaults; throws one message naming every bad field and its fix. */
export function parseFailoverSettings(input: unknown = {}): FailoverSettings {
  const result = FailoverSettings.safeParse(input);
  if (!result.success) throw new Error(`invalid failover settings: ${describeZodError(result.error)}`);
  return result.data;
}
