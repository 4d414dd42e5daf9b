// Sentry defence in the running commander: the tick feeds sentry reports and the tick event to the
// pure decisions (commander/sentry), performs the cloud calls through `deps.cloud`, and applies the
// effects to the registry, the audit log and chat.
import type { Report } from '../../protocol/index.js';
import { withRetry } from '../adapters/store/store.js';
import { ActionQueueFull, type NodeRecord } from '../domain/registry.js';
import type { ChatAction } from '../notify/notifier.js';
import type { FinishedOp } from '../alerting/digest.js';
import { type Hold, sentryHolds } from '../alerting/holds.js';
import type { Finding } from '../domain/health.js';
import {
  type SentryDefenceState,
  type SentryEffect,
  type SentryEvent,
  applyNodeEffects,
  decideAndSettle,
  loadSentryState,
  sentryFindings,
} from '../sentry/index.js';
import type { CommanderDeps } from './context.js';

export interface SentryTickSummary {
  /** Sentry reports and the tick event decided on. */
  events: number;
  cloudCalls: number;
  effects: number;
  /** Open sentry defence problems for the tick's alert reconciliation (held floods, failed operations). */
  findings: Finding[];
  /** Rotations and replacements in progress: their sentries' alerts wait (alerting/holds.ts). */
  holds: Hold[];
  /** Operations that ended, for the digest. */
  finished: FinishedOp[];
}

/** What the sentry state says about alerts: open problems, running operations, finished ones. */
function alertingView(state: SentryDefenceState, nodes: readonly NodeRecord[]) {
  const chainOf = (id: string) => nodes.find((n) => n.id === id)?.chainId;
  return {
    findings: sentryFindings(state, nodes),
    holds: sentryHolds(state, nodes),
    finished: Object.values(state.ops).flatMap((op): FinishedOp[] => {
      const chainId = chainOf(op.node) ?? chainOf(op.kind === 'replacement' ? (op.replacement ?? '') : '');
      if (op.finishedAt === null || chainId === undefined) return [];
      return [{ id: op.id, chainId, kind: op.kind, ok: op.phase === 'done', at: op.finishedAt }];
    }),
  };
}

/**
 * The registry's sentries as report events: the last report each one sent, with its recent action
 * results. The decisions ignore reports they have seen (by seq) and results they have used (by id
 * and phase), so a sentry's report is counted once whatever the tick rate.
 */
export function sentryReportEvents(nodes: readonly NodeRecord[]): SentryEvent[] {
  return nodes
    .filter((n) => n.role === 'sentry' && n.status === 'approved' && n.lastReport !== null)
    .map((n) => ({ type: 'report', report: { ...n.lastReport!, results: n.recentResults } as Report }));
}

/**
 * The tick's sentry defence: flood streaks and pilot results from the sentries' reports, timeouts,
 * health and replacements, cloud calls, then the effects; returns the open problems as findings for
 * the tick's alerts. Pass the tick's node list when loaded. Off (null) without a cloud adapter.
 * Never throws: a failure is logged and the next tick retries.
 */
export async function runSentryTick(
  deps: CommanderDeps,
  nodes?: readonly NodeRecord[],
): Promise<SentryTickSummary | null> {
  const cloud = deps.cloud;
  if (!cloud) return null;
  try {
    const registry = nodes ?? (await deps.store.listNodes()).map((n) => n.value);
    const events: SentryEvent[] = [...sentryReportEvents(registry), { type: 'tick' }];
    const settings = deps.settings.sentry;
    const settled = await decideAndSettle(deps.store, cloud, settings.fleet, events, deps.now, {
      nodes: registry,
      settings,
    });
    await applySentryEffects(deps, settled.effects);
    const { state } = await loadSentryState(deps.store, settings.fleet, registry);
    return {
      events: events.length,
      cloudCalls: settled.cloudCalls,
      effects: settled.effects.length,
      ...alertingView(state, registry),
    };
  } catch (error) {
    deps.log.error({ err: (error as Error).message }, 'sentry defence tick failed');
    // Open alerts stay open through a failed tick: their findings come from the stored state.
    const view = await loadSentryState(deps.store, deps.settings.sentry.fleet)
      .then(({ state }) => alertingView(state, nodes ?? []))
      .catch(() => ({ findings: [], holds: [], finished: [] }));
    return { events: 0, cloudCalls: 0, effects: 0, ...view };
  }
}

/**
 * Carries out decided effects: registry changes first (so pilots get their actions with their next
 * reply), then node removals, audit entries and chat messages (alerts go through the tick's alert
 * reconciliation as findings). A failing chat never stops the rest.
 */
export async function applySentryEffects(
  deps: CommanderDeps,
  effects: readonly SentryEffect[],
): Promise<void> {
  const byNode = new Map<string, SentryEffect[]>();
  for (const effect of effects) {
    if (effect.type === 'action' || effect.type === 'desired-config' || effect.type === 'public-address') {
      byNode.set(effect.nodeId, [...(byNode.get(effect.nodeId) ?? []), effect]);
    }
  }
  for (const [nodeId, list] of byNode) await updateNode(deps, nodeId, list);
  for (const effect of effects) if (effect.type === 'remove-node') await retireNode(deps, effect.nodeId);
  for (const effect of effects) if (effect.type === 'audit') await deps.store.appendAudit(effect.entry);
  for (const effect of effects) {
    try {
      if (effect.type === 'chat') {
        const actions = retryActions(effect.subject, effect.message.severity);
        if (effect.mode === 'post') await deps.chat.post(effect.subject, effect.message, actions);
        else await deps.chat.update(effect.subject, effect.message, actions);
      } else if (effect.type === 'alert') {
        // The tick's alert machinery raises and resolves it (sentryFindings); here it is only logged.
        deps.log[effect.resolved ? 'info' : 'warn']({ alert: effect.key }, effect.title);
      }
    } catch (error) {
      deps.log.warn({ err: (error as Error).message, type: effect.type }, 'sentry defence chat failed');
    }
  }
}

/** A failed operation's message offers to try again (chat asks the presser to confirm). */
function retryActions(subject: string, severity: string | undefined): ChatAction[] | undefined {
  const match = /^sentry:(.+):(rotation|replacement)$/.exec(subject);
  if (!match || severity !== 'critical') return undefined;
  const [, node, kind] = match;
  return kind === 'rotation'
    ? [{ label: 'Rotate again', command: `rotate-ip ${node}` }]
    : [{ label: 'Replace again', command: `replace ${node}`, style: 'danger' }];
}

/** Folds the effects addressed to one node into its record with one conditional write. */
async function updateNode(
  deps: CommanderDeps,
  nodeId: string,
  effects: readonly SentryEffect[],
): Promise<void> {
  await withRetry(async () => {
    const fresh = await deps.store.getNode(nodeId);
    if (!fresh) return; // removed meanwhile: nothing to deliver
    let next = fresh.value;
    for (const effect of effects) {
      if (effect.type === 'public-address') {
        next = { ...next, publicAddress: effect.address };
        continue;
      }
      try {
        next = applyNodeEffects(next, [effect]);
      } catch (error) {
        if (!(error instanceof ActionQueueFull)) throw error;
        deps.log.warn({ node: nodeId, err: error.message }, 'sentry defence action dropped');
      }
    }
    if (next !== fresh.value) await deps.store.putNode(next, fresh.version);
  });
}

/** A terminated sentry leaves the registry, so its name can enroll again. */
async function retireNode(deps: CommanderDeps, nodeId: string): Promise<void> {
  await deps.store.retireNode(nodeId);
  deps.log.info({ node: nodeId }, 'terminated sentry removed from the registry');
}
