/**
 * What the pagers must hear about an alert's episode, from what they heard last: a page for an alert
 * that fired (at `minSeverity` and above, and was told: a muted one pages nobody), its acknowledge,
 * and its resolve. Pure; app/alerting.ts sends and records.
 */
import type { PageAction } from '../notify/pager.js';
import { type AlertRecord, type PageState, severityRank } from './alerts.js';

export function pageTransition(
  alert: AlertRecord,
  minSeverity: 'warning' | 'critical',
): { actions: PageAction[]; to: PageState } | null {
  const from = alert.paged;
  if (alert.state === 'resolved') {
    return from === 'triggered' || from === 'acknowledged' ? { actions: ['resolve'], to: 'resolved' } : null;
  }
  const pageable =
    alert.state === 'open' &&
    alert.lastNotifiedAt !== null &&
    severityRank(alert.severity) >= severityRank(minSeverity);
  // Resolved in PagerDuty while still open here: people closed the page on purpose.
  if (!pageable || from === 'resolved') return null;
  const acked = alert.acknowledgedBy !== null;
  if (from === 'none')
    return acked
      ? { actions: ['trigger', 'acknowledge'], to: 'acknowledged' }
      : { actions: ['trigger'], to: 'triggered' };
  if (from === 'triggered' && acked) return { actions: ['acknowledge'], to: 'acknowledged' };
  // An acknowledged incident stays so in PagerDuty whatever Beam learns later (an escalation included).
  return null;
}
