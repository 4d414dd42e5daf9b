/**
 * One message per event: alerts that fire are gathered into groups, each told in one chat message
 * edited as its members change. A node's alerts share its open group; a symptom on many nodes (low
 * peers, lag, misses) joins the group of a node that is down on the same chain (its likely cause),
 * or the open group of the same symptom there; alerts of one kind firing in the same tick share one.
 */
import { type AlertRecord, type AlertNotice, severityRank } from './alerts.js';
import { CAUSE_KINDS, SYMPTOM_KINDS } from './kinds.js';

export const GROUP_PREFIX = 'group:';

export function isGroupId(value: string): boolean {
  return value.startsWith(GROUP_PREFIX);
}

function oldestGroup(candidates: readonly AlertRecord[]): string | null {
  const sorted = candidates
    .filter((a) => a.group !== null)
    .sort((a, b) => (a.openedAt ?? 0) - (b.openedAt ?? 0) || a.key.localeCompare(b.key));
  return sorted[0]?.group ?? null;
}

/** The group an alert that fires now joins, among the alerts open at this moment. */
export function groupFor(alert: AlertRecord, open: readonly AlertRecord[], now: number): string {
  const others = open.filter((a) => a.key !== alert.key && a.state === 'open' && a.chainId === alert.chainId);
  const own = oldestGroup(others.filter((a) => a.nodeId === alert.nodeId));
  if (own) return own;
  if (SYMPTOM_KINDS.has(alert.kind)) {
    const cause = oldestGroup(others.filter((a) => CAUSE_KINDS.has(a.kind)));
    if (cause) return cause;
    const same = oldestGroup(others.filter((a) => a.kind === alert.kind));
    if (same) return same;
  }
  // Nodes that go down in the same tick went down together (a network cut, the commander's view).
  const together = oldestGroup(others.filter((a) => a.kind === alert.kind && a.openedAt === now));
  if (together) return together;
  return `${GROUP_PREFIX}${alert.nodeId}:${now.toString(36)}`;
}

/**
 * Gives every alert that fired this tick its group, causes first (so symptoms firing in the same
 * tick find them). `alerts` is every alert after this tick's decision; returns them with groups set.
 */
export function assignGroups(alerts: readonly AlertRecord[], firedNow: ReadonlySet<string>, now: number) {
  const result = new Map(alerts.map((a) => [a.key, a]));
  const order = [...firedNow]
    .map((key) => result.get(key)!)
    .sort(
      (a, b) =>
        Number(CAUSE_KINDS.has(b.kind)) - Number(CAUSE_KINDS.has(a.kind)) ||
        severityRank(b.severity) - severityRank(a.severity) ||
        a.key.localeCompare(b.key),
    );
  for (const alert of order) {
    const group = groupFor(alert, [...result.values()], now);
    result.set(alert.key, { ...alert, group });
  }
  return result;
}

/** What a group's message needs this tick: a new post (first notice, reminder, escalation) or an edit. */
export type GroupChange = { group: string; mode: 'post' | 'update'; keys: string[] };

/**
 * The groups whose message changes, from this tick's notices. A group whose members were all silent
 * (muted, quiet hours) until now gets its first post; a reminder posts the group again; anything
 * else edits it.
 */
export function groupChanges(
  notices: readonly AlertNotice[],
  groupOf: (key: string) => string | null,
  toldBefore: (group: string) => boolean,
): GroupChange[] {
  const changes = new Map<string, GroupChange>();
  for (const notice of notices) {
    const group = groupOf(notice.alert.key);
    if (group === null) continue;
    const change = changes.get(group) ?? { group, mode: 'update' as const, keys: [] };
    const fresh = notice.kind === 'opened' && !toldBefore(group);
    if (fresh || notice.kind === 'reminder') change.mode = 'post';
    change.keys.push(notice.alert.key);
    changes.set(group, change);
  }
  return [...changes.values()];
}
