import { z } from 'zod';
import { describeZodError } from '../../protocol/index.js';

const Ms = z.number().int().positive();

/**
 * Failover timing and policy. Defaults suit 5 s reports on a chain with blocks every few seconds.
 * The cross-field checks are the safety argument in numbers: a setting that breaks one is refused,
 * never clamped, so that a typo cannot silently weaken "never double-sign".
 */
export const FailoverSettings = z
  .strictObject({
    /** How often pilots report. */
    reportIntervalMs: z.number().int().min(500).max(300_000).default(5_000),
    /** How long a grant lets the holder sign without hearing from the commander again. */
    leaseDurationMs: Ms.default(30_000),
    /** A healthy holder's lease is extended when less than this remains. */
    renewMarginMs: Ms.default(20_000),
    /** Added after lease expiry before the lease may move without a demote result. */
    graceMs: Ms.default(30_000),
    /**
     * Worst case, by the pilot's own clock, from lease expiry until its daemon has stopped signing.
     * The pilot's defaults with a hung daemon: 3 guard checks × (250 ms + 3 s RPC timeout) + 10 s
     * `stop_timeout_ms` − 2 s `fence_margin_ms` ≈ 18 s.
     */
    pilotFenceDelayMs: Ms.default(20_000),
    /** Largest difference between the pilot's idea of the lease deadline and the commander's. */
    maxClockSkewMs: z.number().int().nonnegative().default(5_000),
    /** A node with no report for this long is silent. */
    silentAfterMs: Ms.default(15_000),
    /** A node whose height has not moved for this long sees a halted (or stalled) chain. */
    chainHaltAfterMs: Ms.default(30_000),
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
export type FailoverSettings = z.output<typeof FailoverSettings>;
export type FailoverSettingsInput = z.input<typeof FailoverSettings>;

/** Parses settings, filling defaults; throws one message naming every bad field and its fix. */
export function parseFailoverSettings(input: unknown = {}): FailoverSettings {
  const result = FailoverSettings.safeParse(input);
  if (!result.success) throw new Error(`invalid failover settings: ${describeZodError(result.error)}`);
  return result.data;
}
