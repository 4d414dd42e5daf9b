import * as z from 'zod';
import { describeZodError, GoDuration } from '../../protocol/index.js';

const Ms = z.number().int().positive();
const Count = z.number().int().nonnegative();

/**
 * Commander-side flood thresholds, on top of the pilot's own `sockets.flooded` verdict (defence in
 * depth: a pilot with lax or broken thresholds still gets help). Unset means "not checked".
 */
export const FloodThresholds = z.strictObject({
  /** Inbound connections on the p2p port, all states. */
  inboundTotal: z.number().int().positive().optional(),
  /** Half-open inbound connections (`SYN_RECV`): a SYN flood. */
  synRecv: z.number().int().positive().optional(),
  /** Peers at or above this: the sentry's peer slots are saturated. */
  peersSaturated: z.number().int().positive().optional(),
});
export type FloodThresholds = z.infer<typeof FloodThresholds>;

/** Sentry defence policy: when to rotate a flooded sentry's IP, when to replace a dead one, and the limits. */
export const SentrySettings = z
  .strictObject({
    /** The fleet's `beam:fleet` tag on its sentry instances and Elastic IPs; also names the state item. */
    fleet: z
      .string()
      .regex(/^[a-zA-Z0-9_.:-]{1,64}$/, 'use 1-64 characters of [a-zA-Z0-9_.:-], the beam:fleet tag value')
      .default('beam'),
    /** Consecutive flooded reports before the commander acts. */
    floodReportsToAct: z.number().int().min(1).max(100).default(3),
    floodThresholds: FloodThresholds.prefault({}),
    /** After a rotation ends (done or failed), that sentry is not rotated again for this long. */
    cooldownMs: Count.default(30 * 60_000),
    /** Rotations and manual replacements never leave fewer healthy sentries than this. */
    minHealthySentries: Count.default(2),
    maxConcurrentRotations: z.number().int().min(1).default(1),
    /** A sentry silent or with its daemon down for longer than this is terminated and replaced. */
    replaceAfterMs: Ms.default(10 * 60_000),
    maxConcurrentReplacements: z.number().int().min(1).default(1),
    /** p2p port used for `external_address` when the node's registered address names none. */
    p2pPort: z.number().int().min(1).max(65535).default(26656),
    /** A sentry counts as healthy only with a report newer than this. */
    freshReportMs: Ms.default(15_000),
    /** First retry delay after a retryable cloud error; doubles per attempt up to `cloudRetryMaxMs`. */
    cloudRetryBaseMs: Count.default(5_000),
    cloudRetryMaxMs: Count.default(120_000),
    /** Cloud attempts per step before the operation fails. */
    cloudMaxAttempts: z.number().int().min(1).default(6),
    /** A cloud call with no result after this long is issued again (the executor may have died). */
    cloudCallTimeoutMs: Ms.default(120_000),
    /** A pilot step (stop, config and start) without its result after this long fails the operation. */
    pilotStepTimeoutMs: Ms.default(5 * 60_000),
    /** After a termination, how long to wait for the replacement to enroll before alerting. */
    replacementWaitMs: Ms.default(15 * 60_000),
    /** Finished operations kept in the state for status and chat. */
    keepFinishedOps: z.number().int().min(0).max(200).default(20),
    /**
     * The trust_period of state-sync actions (sentry/bootstrap.ts): CometBFT's default; keep it under
     * the chain's unbonding time (about 2/3 of it), as CometBFT advises.
     */
    stateSyncTrustPeriod: GoDuration.default('168h0m0s'),
    /** A node whose pilot failed or refused a state-sync action gets another after this long. */
    stateSyncRetryMs: Ms.default(5 * 60_000),
    /** How long a node's health alerts wait for its state sync (from when it started waiting). */
    stateSyncHoldMs: Ms.default(60 * 60_000),
  })
  .superRefine((s, ctx) => {
    if (s.cloudRetryMaxMs < s.cloudRetryBaseMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['cloudRetryMaxMs'],
        message: `must be at least cloudRetryBaseMs (${s.cloudRetryBaseMs} ms): raise cloudRetryMaxMs`,
      });
    }
    if (s.replaceAfterMs <= s.freshReportMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['replaceAfterMs'],
        message: `must exceed freshReportMs (${s.freshReportMs} ms), or one late report gets a sentry terminated: raise replaceAfterMs`,
      });
    }
  });
export type SentrySettings = z.output<typeof SentrySettings>;
export type SentrySettingsInput = z.input<typeof SentrySettings>;

/** Parses settings, filling defaults; throws one message naming every bad field and its fix. */
export function parseSentrySettings(input: unknown = {}): SentrySettings {
  const result = SentrySettings.safeParse(input);
  if (!result.success) throw new Error(`invalid sentry settings: ${describeZodError(result.error)}`);
  return result.data;
}
