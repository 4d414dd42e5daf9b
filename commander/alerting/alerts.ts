import { z } from 'zod';
import type { Finding, FindingSeverity } from './health.js';

/** An alert as stored; one per stable key, reused when the same problem comes back. */
export interface AlertRecord {
  key: string;
  nodeId: string;
  chainId: string;
  severity: FindingSeverity;
  title: string;
  detail: string;
  state: 'open' | 'resolved';
  openedAt: number;
  /** Last time people were told (null: not yet, e.g. deferred by quiet hours or a mute). */
  lastNotifiedAt: number | null;
  notifications: number;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  mutedUntil: number | null;
  mutedBy: string | null;
  resolvedAt: number | null;
}

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
});
export type AlertPolicy = z.infer<typeof AlertPolicy>;

/** What people should be told: a new message, a reminder, or an in-place update of the alert's message. */
export type AlertNotice =
  | { kind: 'opened' | 'reminder'; alert: AlertRecord }
  | { kind: 'resolved' | 'changed'; alert: AlertRecord };

export interface AlertDecision {
  /** Alerts whose stored state must change (written with conditional writes). */
  changed: AlertRecord[];
  notices: AlertNotice[];
}

export function inQuietHours(policy: AlertPolicy, now: number): boolean {
  const q = policy.quietHours;
  if (!q) return false;
  const hour = new Date(now).getUTCHours();
  return q.startHour <= q.endHour
    ? hour >= q.startHour && hour < q.endHour
    : hour >= q.startHour || hour < q.endHour;
}

function silenced(alert: AlertRecord, policy: AlertPolicy, now: number): boolean {
  if (alert.mutedUntil !== null && alert.mutedUntil > now) return true;
  return alert.severity === 'info' && inQuietHours(policy, now);
}

function reminderDue(alert: AlertRecord, policy: AlertPolicy, now: number): boolean {
  if (alert.acknowledgedBy !== null || alert.lastNotifiedAt === null) return false;
  const every =
    alert.severity === 'critical'
      ? policy.renotifyCriticalMs
      : alert.severity === 'warning'
        ? policy.renotifyWarningMs
        : 0;
  return every > 0 && now - alert.lastNotifiedAt >= every;
}

function notified(alert: AlertRecord, now: number): AlertRecord {
  return { ...alert, lastNotifiedAt: now, notifications: alert.notifications + 1 };
}

/**
 * Reconciles stored alerts with this tick's findings: opens new ones, re-notifies per policy, and
 * resolves those whose problem is gone. Deduplicates by key only, never by text.
 */
export function reconcileAlerts(
  alerts: readonly AlertRecord[],
  findings: readonly Finding[],
  policy: AlertPolicy,
  now: number,
): AlertDecision {
  const byKey = new Map(alerts.map((a) => [a.key, a]));
  const found = new Map(findings.map((f) => [f.key, f]));
  const changed: AlertRecord[] = [];
  const notices: AlertNotice[] = [];

  for (const finding of found.values()) {
    const prior = byKey.get(finding.key);
    if (!prior || prior.state === 'resolved') {
      let alert: AlertRecord = {
        ...finding,
        state: 'open',
        openedAt: now,
        lastNotifiedAt: null,
        notifications: 0,
        acknowledgedBy: null,
        acknowledgedAt: null,
        // A mute outlives resolution: a flapping problem stays quiet until the mute ends.
        mutedUntil: prior?.mutedUntil && prior.mutedUntil > now ? prior.mutedUntil : null,
        mutedBy: prior?.mutedUntil && prior.mutedUntil > now ? prior.mutedBy : null,
        resolvedAt: null,
      };
      if (!silenced(alert, policy, now)) {
        alert = notified(alert, now);
        notices.push({ kind: 'opened', alert });
      }
      changed.push(alert);
      continue;
    }
    const escalated = severityRank(finding.severity) > severityRank(prior.severity);
    let alert: AlertRecord = {
      ...prior,
      severity: finding.severity,
      title: finding.title,
      detail: finding.detail,
    };
    if (silenced(alert, policy, now)) {
      if (alert.severity !== prior.severity) changed.push(alert);
      continue;
    }
    if (alert.lastNotifiedAt === null || escalated || reminderDue(alert, policy, now)) {
      alert = notified(escalated ? { ...alert, acknowledgedBy: null, acknowledgedAt: null } : alert, now);
      notices.push({ kind: prior.lastNotifiedAt === null ? 'opened' : 'reminder', alert });
      changed.push(alert);
    } else if (alert.severity !== prior.severity) {
      changed.push(alert);
    }
  }

  for (const alert of alerts) {
    if (alert.state === 'resolved' || found.has(alert.key)) continue;
    const resolved: AlertRecord = { ...alert, state: 'resolved', resolvedAt: now };
    changed.push(resolved);
    // Nobody was told it opened (muted or quiet): resolving it quietly too.
    if (alert.lastNotifiedAt !== null) notices.push({ kind: 'resolved', alert: resolved });
  }
  return { changed, notices };
}

export function severityRank(severity: FindingSeverity | 'ok'): number {
  return { ok: 0, info: 1, warning: 2, critical: 3 }[severity];
}

export function acknowledge(alert: AlertRecord, actor: string, now: number): AlertRecord {
  return { ...alert, acknowledgedBy: actor, acknowledgedAt: now };
}

export function mute(alert: AlertRecord, actor: string, until: number): AlertRecord {
  return { ...alert, mutedUntil: until, mutedBy: actor };
}

export function unmute(alert: AlertRecord): AlertRecord {
  return { ...alert, mutedUntil: null, mutedBy: null };
}
