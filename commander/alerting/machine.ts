/**
 * Alerting's decisions for one tick, pure: the fleet's findings judged against their pending times,
 * Beam's own operations and the graces, reconciled with the stored alerts, gathered into groups, and
 * rendered as the chat each group needs. The caller writes the changed alerts and the state, then
 * performs the chat (app/alerting.ts).
 */
import type { ChatMessage } from '../../bots/model.js';
import type { Finding, FirstSigned, HealthThresholds } from '../domain/health.js';
import { findingsFor } from '../domain/health.js';
import type { NodeRecord } from '../domain/registry.js';
import type { ChatAction } from '../notify/notifier.js';
import { type AlertRecord, type JudgedFinding, reconcileAlerts } from './alerts.js';
import { type FinishedOp, digestDueAt, nextPeriod, observeDigest } from './digest.js';
import { assignGroups, groupChanges } from './groups.js';
import { type Hold, holdOf } from './holds.js';
import { STARTUP_KINDS } from './kinds.js';
import type { ExplorerTemplates } from '../domain/explorer.js';
import { alertLinks, alertSubject, groupActions, renderAlertGroup } from './messages.js';
import { type AlertPolicy, digestFor, pendingFor } from './settings.js';
import { type AlertingState, type DigestProgress, newDigest, validatorRef } from './state.js';

export interface AlertingInput {
  /** The registry. */
  nodes: readonly NodeRecord[];
  /** This tick's problems of failover and sentry defence. */
  findings: readonly Finding[];
  /** Operations Beam runs now (failover, sentry defence, restarts). */
  holds: readonly Hold[];
  /** Operations that ended (for the digest). */
  finished: readonly FinishedOp[];
  thresholds: HealthThresholds;
  policy: AlertPolicy;
  reportIntervalMs: number;
  now: number;
  /** Explorer templates per chain (`settings.explorers`): validator links on signing alerts. */
  explorers?: Readonly<Record<string, ExplorerTemplates>>;
}

/** A group's message: posted, or edited in place; `keys` are the alerts whose change asks for it. */
export interface GroupChat {
  subject: string;
  mode: 'post' | 'update';
  message: ChatMessage;
  actions: ChatAction[];
  keys: string[];
}

export interface AlertingOutput {
  state: AlertingState;
  /** Alerts to write, each conditional on its stored version. */
  changed: AlertRecord[];
  chat: GroupChat[];
  /** Chains whose digest is due, with the totals of the period that just ended. */
  digests: { chainId: string; progress: DigestProgress }[];
  summary: { findings: number; opened: number; reminders: number; resolved: number };
}

/** The lowest height each validator is seen signing at, kept across ticks (the genesis grace). */
function noteSignatures(state: AlertingState, nodes: readonly NodeRecord[]): void {
  for (const n of nodes) {
    const chain = n.lastReport?.chain;
    if (!chain?.validatorAddress) continue;
    const signed = chain.recentCommits.filter((c) => c.signed).map((c) => c.height);
    if (signed.length === 0) continue;
    const ref = validatorRef(n.chainId, chain.validatorAddress);
    state.firstSigned[ref] = Math.min(state.firstSigned[ref] ?? Number.POSITIVE_INFINITY, ...signed);
  }
}

/** Marks nodes reporting healthy for the first time; forgets nodes gone from the registry. */
function noteHealthy(
  state: AlertingState,
  nodes: readonly NodeRecord[],
  byNode: ReadonlyMap<string, Finding[]>,
  now: number,
): void {
  for (const id of Object.keys(state.healthy)) if (!nodes.some((n) => n.id === id)) delete state.healthy[id];
  for (const n of nodes) {
    if (state.healthy[n.id] !== undefined || n.lastReport === null) continue;
    const sick = (byNode.get(n.id) ?? []).some((f) => STARTUP_KINDS.has(f.kind));
    if (!sick) state.healthy[n.id] = now;
  }
}

/** One finding per key: a validator's signing, seen by several nodes, from the freshest reporter. */
function healthFindings(nodes: readonly NodeRecord[], byNode: ReadonlyMap<string, Finding[]>): Finding[] {
  const seen = (id: string) => nodes.find((n) => n.id === id)?.lastSeen ?? 0;
  const byKey = new Map<string, Finding>();
  for (const f of [...byNode.values()].flat()) {
    const prior = byKey.get(f.key);
    if (!prior || seen(f.nodeId) > seen(prior.nodeId)) byKey.set(f.key, f);
  }
  return [...byKey.values()];
}

/** The freshest validator report of a chain: its commits feed the digest. */
function freshestCommits(nodes: readonly NodeRecord[], chainId: string) {
  const watcher = nodes
    .filter((n) => n.chainId === chainId && n.lastReport?.chain?.validatorAddress)
    .sort((a, b) => (b.lastSeen ?? 0) - (a.lastSeen ?? 0))[0];
  const chain = watcher?.lastReport?.chain;
  return chain ? { validator: chain.validatorAddress!, commits: chain.recentCommits } : null;
}

/** Adds this tick to each chain's digest whose digest is on; returns the digests now due (and starts their next period). */
function digestStep(
  state: AlertingState,
  input: AlertingInput,
  firstSigned: FirstSigned,
  fired: readonly AlertRecord[],
): AlertingOutput['digests'] {
  const due: AlertingOutput['digests'] = [];
  const chains = [...new Set(input.nodes.map((n) => n.chainId))];
  for (const id of Object.keys(state.digest)) if (!chains.includes(id)) delete state.digest[id];
  for (const chainId of chains) {
    const settings = digestFor(input.policy, chainId);
    if (!settings.enabled) {
      delete state.digest[chainId];
      continue;
    }
    const seen = freshestCommits(input.nodes, chainId);
    const progress = observeDigest(state.digest[chainId] ?? newDigest(input.now, null), {
      commits: seen?.commits ?? [],
      firstSignedHeight: seen ? firstSigned(chainId, seen.validator) : null,
      fired: fired.filter((a) => a.chainId === chainId),
      finished: input.finished.filter((op) => op.chainId === chainId),
    });
    if (input.now >= digestDueAt(progress.since, settings.hourUtc)) {
      due.push({ chainId, progress });
      state.digest[chainId] = nextPeriod(progress, input.now);
    } else state.digest[chainId] = progress;
  }
  return due;
}

export function decideAlerting(
  current: AlertingState,
  stored: readonly AlertRecord[],
  input: AlertingInput,
): AlertingOutput {
  const { policy, now } = input;
  const state = structuredClone(current);
  const nodes = input.nodes.filter((n) => n.status === 'approved');
  noteSignatures(state, nodes);
  const firstSigned: FirstSigned = (chainId, validator) =>
    state.firstSigned[validatorRef(chainId, validator)] ?? null;
  const byNode = findingsFor(nodes, input.thresholds, input.reportIntervalMs, now, firstSigned);
  noteHealthy(state, nodes, byNode, now);

  // Nothing alerts about a node before it has reported healthy once.
  const startup: Hold[] = nodes
    .filter((n) => state.healthy[n.id] === undefined)
    .map((n) => ({ by: 'start-up', chainId: n.chainId, nodeId: n.id }));
  const holds = [...input.holds, ...startup];
  const judged: JudgedFinding[] = [...healthFindings(nodes, byNode), ...input.findings].map((f) => ({
    ...f,
    pendingMs: pendingFor(policy, f.chainId, f.kind),
    heldBy: holdOf(f, holds),
  }));
  const decision = reconcileAlerts(stored, judged, policy, now);

  const wasOpen = new Set(stored.filter((a) => a.state === 'open').map((a) => a.key));
  const after = new Map(stored.map((a) => [a.key, a]));
  for (const a of decision.changed) after.set(a.key, a);
  const firedNow = new Set(
    decision.changed.filter((a) => a.state === 'open' && !wasOpen.has(a.key)).map((a) => a.key),
  );
  const grouped = assignGroups([...after.values()], firedNow, now);
  const changed = decision.changed.map((a) => grouped.get(a.key)!);

  const toldBefore = (group: string) => stored.some((a) => a.group === group && a.lastNotifiedAt !== null);
  const chat = groupChanges(decision.notices, (key) => grouped.get(key)?.group ?? null, toldBefore).map(
    (change): GroupChat => {
      const members = [...grouped.values()].filter((a) => a.group === change.group);
      return {
        subject: alertSubject(change.group),
        mode: change.mode,
        message: renderAlertGroup(
          change.group,
          members,
          now,
          alertLinks(members, nodes, input.explorers ?? {}),
        ),
        actions: groupActions(change.group, members),
        keys: change.keys,
      };
    },
  );

  const fired = [...firedNow].map((key) => grouped.get(key)!);
  const digests = digestStep(state, { ...input, nodes }, firstSigned, fired);

  const count = (kind: string) => decision.notices.filter((n) => n.kind === kind).length;
  return {
    state,
    changed,
    chat,
    digests,
    summary: {
      findings: judged.length,
      opened: count('opened'),
      reminders: count('reminder'),
      resolved: count('resolved'),
    },
  };
}
