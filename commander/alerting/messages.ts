import type { ChatMessage } from '../../bots/model.js';
import type { ChatAction } from '../notify/notifier.js';
import type { AlertRecord } from './alerts.js';
import { fmtAgo } from './health.js';

/** The chat subject of an alert: its message is posted once and updated in place by this subject. */
export function alertSubject(alert: Pick<AlertRecord, 'key'>): string {
  return `alert:${alert.key}`;
}

/** The buttons offered with an open alert (chat commands; an update without them removes them). */
export function alertActions(alert: AlertRecord): ChatAction[] {
  if (alert.state !== 'open') return [];
  return [
    { label: 'Acknowledge', command: `ack ${alert.key}` },
    { label: 'Mute 1h', command: `mute ${alert.key} 1h` },
  ];
}

/** Renders an alert's current state; its buttons are `alertActions`. */
export function renderAlert(alert: AlertRecord, now: number): ChatMessage {
  const resolved = alert.state === 'resolved';
  const notes: string[] = [`opened ${new Date(alert.openedAt).toISOString()}`];
  if (resolved && alert.resolvedAt !== null)
    notes.push(`resolved after ${fmtAgo(alert.resolvedAt - alert.openedAt).replace(' ago', '')}`);
  if (alert.acknowledgedBy) notes.push(`acknowledged by ${alert.acknowledgedBy}`);
  if (alert.mutedUntil !== null && alert.mutedUntil > now) {
    notes.push(`muted until ${new Date(alert.mutedUntil).toISOString()} by ${alert.mutedBy ?? '?'}`);
  }
  if (!resolved && alert.notifications > 1) notes.push(`reminder ${alert.notifications - 1}`);
  return {
    title: resolved ? `Resolved: ${alert.title}` : alert.title,
    severity: resolved ? 'ok' : alert.severity,
    text: alert.detail,
    fields: [
      { label: 'Node', value: alert.nodeId },
      { label: 'Chain', value: alert.chainId },
      { label: 'Alert', value: alert.key },
    ],
    context: notes.join(' · '),
  };
}
