import * as z from 'zod';
import { ALERT_KINDS, type AlertKind, DEFAULT_PENDING_MS } from './kinds.js';

const Ms = z
  .number()
  .int()
  .min(0)
  .max(7 * 86_400_000, 'use at most 7 days (604800000 ms)');
const ChainId = z.string().regex(/^[a-zA-Z0-9._-]{1,64}$/, 'use a chain id such as cosmoshub-4');

/** Per-kind pending durations; a kind left out keeps its default (`DEFAULT_PENDING_MS`). */
const PendingMs = z.strictObject(
  Object.fromEntries(ALERT_KINDS.map((kind) => [kind, Ms.optional()])) as Record<
    AlertKind,
    z.ZodOptional<typeof Ms>
  >,
);

const Hour = z.number().int().min(0).max(23);

export const DigestSettings = z.strictObject({
  /** A daily summary per chain: signing uptime, misses, alerts, proposals voted, actions taken. */
  enabled: z.boolean().default(false),
  /** UTC hour at which each day's digest is posted (it covers the day before). */
  hourUtc: Hour.default(8),
});
export type DigestSettings = z.infer<typeof DigestSettings>;

export const AlertPolicy = z.strictObject({
  /** Re-notify an unacknowledged, unresolved critical alert this often; 0 disables. */
  renotifyCriticalMs: z
    .number()
    .int()
    .min(0)
    .default(30 * 60_000),
  renotifyWarningMs: z.number().int().min(0).default(0),
  /** UTC hours [start, end) during which informational alerts wait. */
  quietHours: z
    .strictObject({ startHour: z.number().int().min(0).max(23), endHour: z.number().int().min(0).max(23) })
    .nullable()
    .default(null),
  /** How long each kind's condition must hold before it alerts (`DEFAULT_PENDING_MS` otherwise). */
  pendingMs: PendingMs.prefault({}),
  /** Per chain: `chains.<chainId>.pendingMs.<kind>` over `pendingMs`, `digest` over `digest`. */
  chains: z
    .record(
      ChainId,
      z.strictObject({
        pendingMs: PendingMs.prefault({}),
        digest: z.strictObject({ enabled: z.boolean().optional(), hourUtc: Hour.optional() }).prefault({}),
      }),
    )
    .default({}),
  /** A pinned status message is edited at most this often for height alone (at once for anything else). */
  statusRefreshMs: z.number().int().min(5_000).max(3_600_000).default(60_000),
  digest: DigestSettings.prefault({}),
});
export type AlertPolicy = z.infer<typeof AlertPolicy>;

/** How long a kind's condition must hold on a chain before it alerts. */
export function pendingFor(policy: AlertPolicy, chainId: string, kind: AlertKind): number {
  return policy.chains[chainId]?.pendingMs[kind] ?? policy.pendingMs[kind] ?? DEFAULT_PENDING_MS[kind];
}

/** The digest settings of a chain. */
export function digestFor(policy: AlertPolicy, chainId: string): DigestSettings {
  const own = policy.chains[chainId]?.digest;
  return {
    enabled: own?.enabled ?? policy.digest.enabled,
    hourUtc: own?.hourUtc ?? policy.digest.hourUtc,
  };
}

const Secret = z.string().min(16, 'use the full secret (at least 16 characters)').max(256);

/**
 * Paging: alerts of `minSeverity` and above also go to PagerDuty (Events API v2, the alert key as
 * dedup key) and to a generic webhook. The routing key and secrets are never logged.
 */
export const PagingSettings = z.strictObject({
  minSeverity: z.enum(['warning', 'critical']).default('critical'),
  pagerduty: z
    .strictObject({
      /** The integration key of an Events API v2 integration on a PagerDuty service. */
      routingKey: z
        .string()
        .regex(/^[A-Za-z0-9]{32}$/, 'use the 32-character integration key of an Events API v2 integration'),
      eventsUrl: z.url().default('https://events.pagerduty.com/v2/enqueue'),
      /** Signing secrets of the v3 webhook subscription (two during a rotation); none: no webhook route. */
      webhookSecrets: z.array(Secret).max(2).default([]),
      /** `payload.source` prefix, e.g. the fleet name. */
      source: z.string().min(1).max(64).default('beam'),
    })
    .optional(),
  webhook: z
    .strictObject({
      /** Receives `{ action, key, severity, summary, source, chainId, nodeId, detail, at }` as JSON. */
      url: z.url(),
      /** With it, `x-beam-signature: v1=<hex HMAC-SHA256(secret, body)>`. */
      secret: Secret.optional(),
    })
    .optional(),
});
export type PagingSettings = z.infer<typeof PagingSettings>;
