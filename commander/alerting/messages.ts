import type { ChatLink, ChatMessage, Severity } from '../../bots/model.js';
import { type ExplorerTemplates, explorerLinks, explorerOf } from '../domain/explorer.js';
import { type NodeRecord, operatorOf } from '../domain/registry.js';
import { fmtDuration } from '../domain/health.js';
import type { ChatAction } from '../notify/notifier.js';
import { type AlertRecord, severityRank } from './alerts.js';
import { CAUSE_KINDS } from './kinds.js';

/** The chat subject of a group: its message is posted once and edited in place by this subject. */
export function alertSubject(group: string): string {
  return `alert:${group}`;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Open members first (causes, then the worst), then the resolved ones, oldest first. */
function ordered(members: readonly AlertRecord[]): AlertRecord[] {
  return [...members].sort(
    (a, b) =>
      Number(b.state === 'open') - Number(a.state === 'open') ||
      Number(CAUSE_KINDS.has(b.kind)) - Number(CAUSE_KINDS.has(a.kind)) ||
      severityRank(b.severity) - severityRank(a.severity) ||
      (a.openedAt ?? 0) - (b.openedAt ?? 0) ||
      a.key.localeCompare(b.key),
  );
}

/**
 * The buttons offered with a group while any member is open (chat commands on the group id), and
 * [Unjail] for a jailed validator in it (the command asks for a confirmation before it acts).
 */
export function groupActions(group: string, members: readonly AlertRecord[]): ChatAction[] {
  const open = members.filter((a) => a.state === 'open');
  if (open.length === 0) return [];
  const ack = open.some((a) => a.acknowledgedBy === null)
    ? [{ label: 'Acknowledge', command: `ack ${group}` }]
    : [];
  const jailed = [...new Set(open.filter((a) => a.kind === 'jailed').map((a) => a.validator))];
  const unjail = jailed.flatMap((validator) =>
    validator ? [{ label: 'Unjail', command: `unjail ${validator}`, style: 'danger' as const }] : [],
  );
  return [...ack, { label: 'Mute 1h', command: `mute ${group} 1h` }, ...unjail];
}

/**
 * Explorer pages of the validators a group is about: its members name a validator by consensus
 * address, the explorer wants its operator address, which the nodes watching it report.
 */
export function alertLinks(
  members: readonly AlertRecord[],
  nodes: readonly NodeRecord[],
  explorers: Readonly<Record<string, ExplorerTemplates>>,
): ChatLink[] {
  const seen = new Set<string>();
  return members.flatMap((a) => {
    if (!a.validator || seen.has(a.validator)) return [];
    seen.add(a.validator);
    return explorerLinks(explorerOf(explorers, a.chainId), { validator: operatorOf(nodes, a.validator) });
  });
}

function line(alert: AlertRecord): string {
  if (alert.state === 'open') return `• ${alert.severity}: ${alert.title} (${alert.detail})`;
  const after =
    alert.resolvedAt !== null && alert.openedAt !== null
      ? ` after ${fmtDuration(alert.resolvedAt - alert.openedAt)}`
      : '';
  return `• resolved${after}: ${alert.title}`;
}

/** Renders a group's current state: one alert as before, several as one line each. */
export function renderAlertGroup(
  group: string,
  members: readonly AlertRecord[],
  now: number,
  links: readonly ChatLink[] = [],
): ChatMessage {
  const all = ordered(members.filter((a) => a.openedAt !== null));
  const open = all.filter((a) => a.state === 'open');
  const primary = all[0];
  if (!primary) return { title: 'No alerts', severity: 'ok', text: `${group} has no alerts.` };
  const worst = open.reduce<Severity>(
    (w, a) => (severityRank(a.severity) > severityRank(w) ? a.severity : w),
    'ok',
  );
  const more = all.length > 1 ? ` (+${all.length - 1} more)` : '';
  const title = `${open.length === 0 ? 'Resolved: ' : ''}${primary.title}${more}`;
  const nodes = [...new Set(all.map((a) => a.nodeId))];
  const notes = [`opened ${iso(Math.min(...all.map((a) => a.openedAt!)))}`];
  const resolvedAt = Math.max(...all.map((a) => a.resolvedAt ?? 0));
  if (open.length === 0 && resolvedAt > 0) notes.push(`resolved ${iso(resolvedAt)}`);
  const acked = open.length > 0 && open.every((a) => a.acknowledgedBy !== null);
  if (acked) notes.push(`acknowledged by ${[...new Set(open.map((a) => a.acknowledgedBy))].join(', ')}`);
  const muted = open.filter((a) => a.mutedUntil !== null && a.mutedUntil > now);
  if (muted.length > 0) {
    const until = Math.max(...muted.map((a) => a.mutedUntil!));
    const by = [...new Set(muted.map((a) => a.mutedBy ?? 'someone'))].join(', ');
    notes.push(
      `${muted.length === open.length ? 'muted' : `${muted.length} muted`} until ${iso(until)} by ${by}`,
    );
  }
  const reminders = Math.max(0, ...open.map((a) => a.notifications - 1));
  if (reminders > 0) notes.push(`reminder ${reminders}`);
  return {
    title,
    severity: worst,
    text: all.length === 1 ? primary.detail : all.map(line).join('\n'),
    fields: [
      { label: nodes.length === 1 ? 'Node' : 'Nodes', value: nodes.join(', ') },
      { label: 'Chain', value: primary.chainId },
      { label: 'Alert', value: group },
    ],
    ...(links.length ? { links: [...links] } : {}),
    context: notes.join(' · '),
  };
}
