import { describe, expect, it } from 'vitest';
import {
  type AlertRecord,
  type JudgedFinding,
  inQuietHours,
  reconcileAlerts,
} from '../../../commander/alerting/alerts.js';
import { AlertPolicy } from '../../../commander/alerting/settings.js';
import type { Finding } from '../../../commander/domain/health.js';
import { T0 } from '../helpers.js';

const finding = (
  severity: Finding['severity'] = 'critical',
  pendingMs = 0,
  heldBy: string | null = null,
): JudgedFinding => ({
  key: 'node:val-a:disk',
  kind: 'disk',
  nodeId: 'val-a',
  chainId: 'c',
  severity,
  title: 'disk',
  detail: 'd',
  pendingMs,
  heldBy,
});
const policy = AlertPolicy.parse({ renotifyCriticalMs: 60_000, quietHours: { startHour: 22, endHour: 6 } });

/** One tick: the alerts after it, and what people were told. */
const step = (alerts: AlertRecord[], findings: JudgedFinding[], now: number) => {
  const d = reconcileAlerts(alerts, findings, policy, now);
  const byKey = new Map(alerts.map((a) => [a.key, a]));
  for (const a of d.changed) byKey.set(a.key, a);
  return { alerts: [...byKey.values()], kinds: d.notices.map((n) => n.kind) };
};

describe('alert lifecycle', () => {
  it('opens once per key, re-notifies critical ones on the policy, and resolves', () => {
    let s = step([], [finding(), { ...finding(), title: 'other text, same key' }], T0);
    expect(s.kinds).toEqual(['opened']);
    expect(s.alerts).toHaveLength(1);
    s = step(s.alerts, [finding()], T0 + 59_999);
    expect(s.kinds).toEqual([]);
    s = step(s.alerts, [finding()], T0 + 60_000);
    expect(s.kinds).toEqual(['reminder']);
    s = step(s.alerts, [], T0 + 70_000);
    expect(s.kinds).toEqual(['resolved']);
    expect(s.alerts[0]).toMatchObject({ state: 'resolved', openedAt: T0, resolvedAt: T0 + 70_000 });
  });

  it('re-notifies an escalation even when acknowledged, but never reminds about a warning by default', () => {
    let s = step([], [finding('warning')], T0);
    s = { ...s, alerts: s.alerts.map((a) => ({ ...a, acknowledgedBy: 'x', acknowledgedAt: T0 })) };
    expect(step(s.alerts, [finding('warning')], T0 + 10 * 60_000).kinds).toEqual([]);
    const escalated = step(s.alerts, [finding('critical')], T0 + 1000);
    expect(escalated.kinds).toEqual(['reminder']);
    expect(escalated.alerts[0]!.acknowledgedBy).toBeNull();
  });

  it('holds informational alerts during quiet hours (across midnight) and tells them after', () => {
    const night = Date.UTC(2026, 0, 5, 23, 0);
    expect(inQuietHours(policy, night)).toBe(true);
    expect(inQuietHours(policy, Date.UTC(2026, 0, 5, 12, 0))).toBe(false);
    let s = step([], [finding('info')], night);
    expect(s.kinds).toEqual([]);
    s = step(s.alerts, [finding('info')], Date.UTC(2026, 0, 6, 6, 0));
    expect(s.kinds).toEqual(['opened']);
    // Critical alerts ignore quiet hours.
    expect(step([], [finding('critical')], night).kinds).toEqual(['opened']);
  });
});

describe('pending before firing', () => {
  it('waits its pending time, and fires once it has held that long', () => {
    let s = step([], [finding('warning', 60_000)], T0);
    expect(s.kinds).toEqual([]);
    expect(s.alerts[0]).toMatchObject({ state: 'pending', since: T0, openedAt: null });
    s = step(s.alerts, [finding('warning', 60_000)], T0 + 59_999);
    expect(s.kinds).toEqual([]);
    s = step(s.alerts, [finding('warning', 60_000)], T0 + 60_000);
    expect(s.kinds).toEqual(['opened']);
    expect(s.alerts[0]).toMatchObject({ state: 'open', since: T0, openedAt: T0 + 60_000 });
  });

  it('drops a condition that clears before its time quietly, and counts afresh when it comes back', () => {
    let s = step([], [finding('warning', 60_000)], T0);
    s = step(s.alerts, [], T0 + 30_000);
    expect(s.kinds).toEqual([]);
    expect(s.alerts[0]).toMatchObject({ state: 'resolved', openedAt: null, lastNotifiedAt: null });
    s = step(s.alerts, [finding('warning', 60_000)], T0 + 40_000);
    s = step(s.alerts, [finding('warning', 60_000)], T0 + 90_000);
    expect(s.kinds).toEqual([]);
    expect(step(s.alerts, [finding('warning', 60_000)], T0 + 100_000).kinds).toEqual(['opened']);
  });

  it('holds a condition Beam expects, and starts its pending time when the hold ends', () => {
    let s = step([], [finding('critical', 0, 'so-e3-3')], T0);
    expect(s.kinds).toEqual([]);
    expect(s.alerts[0]).toMatchObject({ state: 'pending', heldBy: 'so-e3-3' });
    // However long the operation takes, nobody hears of it.
    s = step(s.alerts, [finding('critical', 0, 'so-e3-3')], T0 + 10 * 60_000);
    expect(s.kinds).toEqual([]);
    // Done, and the condition is still there: a zero pending time fires at once…
    expect(step(s.alerts, [finding('critical', 0)], T0 + 11 * 60_000).kinds).toEqual(['opened']);
    // …a longer one starts counting now, not when the operation began.
    s = step(s.alerts, [finding('critical', 60_000)], T0 + 11 * 60_000);
    expect(s.alerts[0]).toMatchObject({ state: 'pending', heldBy: null, since: T0 + 11 * 60_000 });
    expect(step(s.alerts, [finding('critical', 60_000)], T0 + 11 * 60_000 + 59_000).kinds).toEqual([]);
    expect(step(s.alerts, [finding('critical', 60_000)], T0 + 12 * 60_000).kinds).toEqual(['opened']);
  });

  it('never hides an alert that fired already when an operation starts', () => {
    const s = step([], [finding('critical')], T0);
    const held = step(s.alerts, [finding('critical', 0, 'rot-sentry-1-2')], T0 + 1000);
    expect(held.alerts[0]).toMatchObject({ state: 'open', heldBy: null });
  });
});
