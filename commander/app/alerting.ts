/**
 * Alerting glue: the tick's findings through the pure decisions of commander/alerting (pending
 * times, holds, graces, groups, digest), the alert writes, then their effects: one chat message per
 * group, pages, the daily digest. Also the changes people make to alerts (ack, mute) and the
 * PagerDuty webhook, which edit the group's message and tell the pagers.
 */
import { KEYS, VersionConflict, type Versioned, withRetry } from '../adapters/store/store.js';
import { type AlertRecord, fired } from '../alerting/alerts.js';
import { type DigestVote, type FinishedOp, renderDigest } from '../alerting/digest.js';
import { isGroupId } from '../alerting/groups.js';
import type { Hold } from '../alerting/holds.js';
import { isAlertKind } from '../alerting/kinds.js';
import { decideAlerting } from '../alerting/machine.js';
import { alertLinks, alertSubject, groupActions, renderAlertGroup } from '../alerting/messages.js';
import { pageTransition } from '../alerting/paging.js';
import { type AlertingState, initialAlertingState, validatorRef } from '../alerting/state.js';
import type { Finding, FirstSigned } from '../domain/health.js';
import type { NodeRecord } from '../domain/registry.js';
import { listGovernanceStates } from '../governance/persistence.js';
import { sameData } from '../sentry/persistence.js';
import type { CommanderDeps } from './context.js';

/** An alert as stored; items written before pending times and groups existed get their defaults. */
export function fromStored(value: AlertRecord): AlertRecord {
  const raw = value as Partial<AlertRecord> & AlertRecord;
  return {
    ...raw,
    kind: raw.kind ?? raw.key.split(':').find(isAlertKind) ?? 'pilot-silent',
    since: raw.since ?? raw.openedAt ?? 0,
    heldBy: raw.heldBy ?? null,
    group: raw.group === undefined ? `group:${raw.key}` : raw.group,
    paged: raw.paged ?? 'none',
  };
}

export async function listAlerts(deps: CommanderDeps): Promise<Versioned<AlertRecord>[]> {
  return (await deps.store.listAlerts()).map((a) => ({ value: fromStored(a.value), version: a.version }));
}

export async function loadAlertingState(
  deps: CommanderDeps,
): Promise<{ state: AlertingState; version: number | null }> {
  const item = await deps.store.get<AlertingState>(KEYS.alerting());
  return item
    ? { state: item.value, version: item.version }
    : { state: initialAlertingState(), version: null };
}

/** The genesis grace as the health checks take it. */
export function firstSignedOf(state: AlertingState): FirstSigned {
  return (chainId, validator) => state.firstSigned[validatorRef(chainId, validator)] ?? null;
}

export interface AlertingTickInput {
  nodes: readonly NodeRecord[];
  findings: readonly Finding[];
  holds: readonly Hold[];
  finished: readonly FinishedOp[];
}

export interface AlertingSummary {
  findings: number;
  opened: number;
  reminders: number;
  resolved: number;
}

/** The tick's alerting: decide, write, then tell chat and the pagers; a lost race waits for the next tick. */
export async function runAlerting(deps: CommanderDeps, input: AlertingTickInput): Promise<AlertingSummary> {
  const now = deps.now();
  const [stored, engine] = await Promise.all([listAlerts(deps), loadAlertingState(deps)]);
  const versions = new Map(stored.map((a) => [a.value.key, a.version]));
  const out = decideAlerting(
    engine.state,
    stored.map((a) => a.value),
    {
      ...input,
      thresholds: deps.settings.thresholds,
      explorers: deps.settings.explorers,
      policy: deps.settings.alerts,
      reportIntervalMs: deps.settings.reportIntervalMs,
      now,
    },
  );
  let stateWritten = true;
  if (engine.version === null || !sameData(out.state, engine.state)) {
    // Only ticks write this item: a conflict means another tick ran meanwhile and wrote its own view.
    await deps.store.put(KEYS.alerting(), 'alerting', out.state, engine.version).catch((error: Error) => {
      if (!(error instanceof VersionConflict)) throw error;
      stateWritten = false;
    });
  }
  const written = new Map<string, Versioned<AlertRecord>>();
  for (const alert of out.changed) {
    try {
      const version = await deps.store.putAlert(alert, versions.get(alert.key) ?? null);
      written.set(alert.key, { value: alert, version });
    } catch (error) {
      // Someone (an ack, a mute) changed it meanwhile: the next tick decides on the fresh state.
      if (!(error instanceof VersionConflict)) throw error;
    }
  }
  for (const chat of out.chat) {
    if (!chat.keys.every((k) => written.has(k))) continue;
    if (chat.mode === 'post') await deps.chat.post(chat.subject, chat.message, chat.actions);
    else await deps.chat.update(chat.subject, chat.message, chat.actions);
  }
  const current = stored.map((a) => written.get(a.value.key) ?? a);
  for (const [key, w] of written) if (!versions.has(key)) current.push(w);
  await syncPages(deps, current);
  // A digest is told by the tick that closed its period, never twice.
  for (const { chainId, progress } of stateWritten ? out.digests : []) {
    const votes = await digestVotes(deps, chainId, progress.since, now);
    const day = new Date(now).toISOString().slice(0, 10);
    await deps.chat.post(`digest:${chainId}:${day}`, renderDigest(chainId, progress, votes, now));
  }
  return out.summary;
}

/** Votes that landed on chain in the period, from the chain's governance state. */
async function digestVotes(deps: CommanderDeps, chainId: string, since: number, now: number) {
  const states = await listGovernanceStates(deps.store);
  const proposals = Object.values(states.find((s) => s.chainId === chainId)?.proposals ?? {});
  return proposals.flatMap((p) =>
    p.intents
      .filter((i) => i.status === 'done' && (i.finishedAt ?? i.at) >= since && (i.finishedAt ?? i.at) <= now)
      .map((i): DigestVote => ({ proposalId: p.id, option: i.option, auto: i.auto })),
  );
}

/**
 * Tells the pagers what each alert's episode needs (trigger, acknowledge, resolve) and records it;
 * one that fails is tried again by the next tick (PagerDuty dedups by key). Logs name the alert and
 * the failure, never a secret.
 */
export async function syncPages(
  deps: CommanderDeps,
  alerts: readonly Versioned<AlertRecord>[],
): Promise<void> {
  const pager = deps.pager;
  if (!pager) return;
  for (const { value: alert } of alerts) {
    const move = pageTransition(alert, deps.settings.paging.minSeverity);
    if (!move) continue;
    try {
      for (const action of move.actions) {
        await pager.send({
          action,
          key: alert.key,
          kind: alert.kind,
          severity: alert.severity,
          summary: alert.title,
          nodeId: alert.nodeId,
          chainId: alert.chainId,
          detail: alert.detail,
          at: deps.now(),
        });
      }
    } catch (error) {
      deps.log.warn({ alert: alert.key, err: (error as Error).message }, 'paging failed; retried next tick');
      continue;
    }
    await recordPaged(deps, alert, move.to);
  }
}

/** Notes what the pagers heard, unless the alert started another episode meanwhile. */
async function recordPaged(deps: CommanderDeps, alert: AlertRecord, to: AlertRecord['paged']): Promise<void> {
  await withRetry(async () => {
    const fresh = await deps.store.getAlert(alert.key);
    if (!fresh || fresh.value.openedAt !== alert.openedAt) return;
    await deps.store.putAlert({ ...fromStored(fresh.value), paged: to }, fresh.version);
  });
}

/** The alerts a target names (one key, or every member of a group), among those that fired. */
async function targets(deps: CommanderDeps, target: string): Promise<Versioned<AlertRecord>[]> {
  const all = (await listAlerts(deps)).filter((a) => fired(a.value));
  return all.filter((a) => (isGroupId(target) ? a.value.group : a.value.key) === target);
}

/**
 * Changes alerts (an ack, a mute) by key or group with conditional writes, then edits their groups'
 * messages and tells the pagers. `change` returns the alert itself to leave it alone. Returns the
 * alerts the target matched and those it changed.
 */
export async function changeAlerts(
  deps: CommanderDeps,
  target: string,
  change: (alert: AlertRecord) => AlertRecord,
): Promise<{ matched: AlertRecord[]; changed: AlertRecord[] }> {
  const found = await targets(deps, target);
  const changed: Versioned<AlertRecord>[] = [];
  for (const { value } of found) {
    const written = await withRetry(async () => {
      const fresh = await deps.store.getAlert(value.key);
      if (!fresh) return null;
      const current = fromStored(fresh.value);
      const next = change(current);
      if (next === current) return null;
      return { value: next, version: await deps.store.putAlert(next, fresh.version) };
    });
    if (written) changed.push(written);
  }
  await renderGroups(
    deps,
    changed.map((a) => a.value.group),
  );
  await syncPages(deps, changed);
  return { matched: found.map((a) => a.value), changed: changed.map((a) => a.value) };
}

/**
 * Edits the messages of these groups to show their members as they are now. Only where they were
 * posted: a group nobody was told of yet (muted, quiet hours) is told by the tick once it may be.
 */
async function renderGroups(deps: CommanderDeps, groups: readonly (string | null)[]): Promise<void> {
  const wanted = new Set(groups.filter((g): g is string => g !== null));
  if (wanted.size === 0) return;
  const all = (await listAlerts(deps)).map((a) => a.value);
  const nodes = (await deps.store.listNodes()).map((n) => n.value);
  const now = deps.now();
  for (const group of wanted) {
    const members = all.filter((a) => a.group === group);
    await deps.chat.edit(
      alertSubject(group),
      renderAlertGroup(group, members, now, alertLinks(members, nodes, deps.settings.explorers)),
      groupActions(group, members),
    );
  }
}
