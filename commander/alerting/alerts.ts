import type { Finding, FindingSeverity } from '../domain/health.js';
import type { AlertKind } from './kinds.js';
import type { AlertPolicy } from './settings.js';

/** What the pagers were last told about an alert's current episode. */
export type PageState = 'none' | 'triggered' | 'acknowledged' | 'resolved';

/**
 * An alert as stored; one per stable key, reused when the same problem comes back. A condition
 * first waits (`pending`) for its kind's duration; only then does it fire (`open`) and people hear.
 */
export interface AlertRecord {
  key: string;
  kind: AlertKind;
  nodeId: string;
  chainId: string;
  /** The validator key a signing alert is about (its [Unjail] button names it); absent on others. */
  validator?: string;
  severity: FindingSeverity;
  title: string;
  detail: string;
  state: 'pending' | 'open' | 'resolved';
  /** Since when the condition holds, unheld: the pending time runs from here. */
  since: number;
  /** The operation (or start-up grace) the condition is expected from, while pending; null when none. */
  heldBy: string | null;
  /** When it fired; null while pending, and for a condition that cleared before it fired. */
  openedAt: number | null;
  /** The message it is told in (`alerts/groups.ts`); null until it fires. */
  group: string | null;
  /** Last time people were told (null: not yet, e.g. deferred by quiet hours or a mute). */
  lastNotifiedAt: number | null;
  notifications: number;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  mutedUntil: number | null;
  mutedBy: string | null;
  resolvedAt: number | null;
  paged: PageState;
}

/** A finding as this tick judges it: how long it must hold, and what (if anything) holds it back. */
export interface JudgedFinding extends Finding {
  pendingMs: number;
  heldBy: string | null;
}

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

/** Whether an alert ever fired: pending ones, and conditions that cleared while pending, never did. */
export function fired(alert: AlertRecord): boolean {
  return alert.openedAt !== null;
}

function texts(finding: Finding) {
  return { severity: finding.severity, title: finding.title, detail: finding.detail };
}

/**
 * Reconciles stored alerts with this tick's judged findings: a new condition waits its pending time
 * (held ones wait for their operation, and start counting once it is over), fires, is re-notified
 * per policy, and resolves when its problem is gone; one that clears while pending is dropped
 * quietly. Deduplicates by key only, never by text.
 */
export function reconcileAlerts(
  alerts: readonly AlertRecord[],
  findings: readonly JudgedFinding[],
  policy: AlertPolicy,
  now: number,
): AlertDecision {
  const byKey = new Map(alerts.map((a) => [a.key, a]));
  const found = new Map(findings.map((f) => [f.key, f]));
  const changed: AlertRecord[] = [];
  const notices: AlertNotice[] = [];

  const fire = (alert: AlertRecord) => {
    let open: AlertRecord = { ...alert, state: 'open', openedAt: now, heldBy: null };
    if (!silenced(open, policy, now)) {
      open = notified(open, now);
      notices.push({ kind: 'opened', alert: open });
    }
    changed.push(open);
  };

  for (const finding of found.values()) {
    const prior = byKey.get(finding.key);
    if (!prior || prior.state === 'resolved') {
      // A mute outlives resolution: a flapping problem stays quiet until the mute ends.
      const muted = prior?.mutedUntil && prior.mutedUntil > now;
      const alert: AlertRecord = {
        key: finding.key,
        kind: finding.kind,
        nodeId: finding.nodeId,
        chainId: finding.chainId,
        ...(finding.validator ? { validator: finding.validator } : {}),
        ...texts(finding),
        state: 'pending',
        since: now,
        heldBy: finding.heldBy,
        openedAt: null,
        group: null,
        lastNotifiedAt: null,
        notifications: 0,
        acknowledgedBy: null,
        acknowledgedAt: null,
        mutedUntil: muted ? prior.mutedUntil : null,
        mutedBy: muted ? prior.mutedBy : null,
        resolvedAt: null,
        paged: 'none',
      };
      if (finding.heldBy === null && finding.pendingMs === 0) fire(alert);
      else changed.push(alert);
      continue;
    }
    if (prior.state === 'pending') {
      if (finding.heldBy !== null) {
        if (prior.heldBy !== finding.heldBy) changed.push({ ...prior, heldBy: finding.heldBy });
      } else if (prior.heldBy !== null) {
        // The operation is over and the condition is still there: from now on it counts.
        const counting: AlertRecord = { ...prior, ...texts(finding), heldBy: null, since: now };
        if (finding.pendingMs === 0) fire(counting);
        else changed.push(counting);
      } else if (now - prior.since >= finding.pendingMs) {
        fire({ ...prior, ...texts(finding) });
      }
      continue;
    }
    const escalated = severityRank(finding.severity) > severityRank(prior.severity);
    let alert: AlertRecord = { ...prior, ...texts(finding) };
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
      notices.push({ kind: 'changed', alert });
    }
  }

  for (const alert of alerts) {
    if (alert.state === 'resolved' || found.has(alert.key)) continue;
    const resolved: AlertRecord = { ...alert, state: 'resolved', resolvedAt: now, heldBy: null };
    changed.push(resolved);
    // Nobody was told it opened (pending, muted or quiet): resolving it quietly too.
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
