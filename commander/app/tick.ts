import { VersionConflict, withRetry } from '../adapters/store/store.js';
import { alertActions, alertSubject, renderAlert } from '../domain/alert-messages.js';
import { reconcileAlerts } from '../domain/alerts.js';
import { configActions, configGenerator } from '../domain/node-config.js';
import { ActionQueueFull, type NodeRecord, queueAction } from '../domain/registry.js';
import type { CommanderDeps } from './context.js';
import { runFailoverTick } from './failover.js';
import { findingsFor } from './fleet-view.js';
import { runGovernanceTick } from './governance-ops.js';
import { runSentryTick } from './sentry-step.js';

export interface TickSummary {
  at: number;
  nodes: number;
  findings: number;
  opened: number;
  reminders: number;
  resolved: number;
  configsQueued: number;
}

/** The scheduled tick: converge configs, evaluate health, drive alerts, then record the heartbeat. */
export async function runTick(deps: CommanderDeps): Promise<TickSummary> {
  const now = deps.now();
  const nodes = (await deps.store.listNodes()).map((n) => n.value);
  const configsQueued = await convergeConfigs(deps, nodes);
  // After convergence: a sentry removed or re-addressed here reaches the configs on the next tick.
  const sentry = await runSentryTick(deps, nodes);
  // Failover raises its alerts itself; listing them as findings keeps the reconciliation below from resolving them.
  const failover = await runFailoverTick(deps);
  // After failover: votes and bonds go to the node that holds the lease now.
  await runGovernanceTick(deps, nodes);

  const findings = [
    ...findingsFor(nodes, deps.settings.thresholds, deps.settings.reportIntervalMs, now).values(),
    failover.findings,
    sentry?.findings ?? [],
  ].flat();
  const stored = await deps.store.listAlerts();
  const versions = new Map(stored.map((a) => [a.value.key, a.version]));
  const decision = reconcileAlerts(
    stored.map((a) => a.value),
    findings,
    deps.settings.alerts,
    now,
  );
  const written = new Set<string>();
  for (const alert of decision.changed) {
    try {
      await deps.store.putAlert(alert, versions.get(alert.key) ?? null);
      written.add(alert.key);
    } catch (error) {
      // Someone (an ack, a mute) changed it meanwhile: the next tick decides on the fresh state.
      if (!(error instanceof VersionConflict)) throw error;
    }
  }
  const counts = { opened: 0, reminders: 0, resolved: 0 };
  for (const notice of decision.notices) {
    if (!written.has(notice.alert.key)) continue;
    const subject = alertSubject(notice.alert);
    const message = renderAlert(notice.alert, now);
    if (notice.kind === 'opened' || notice.kind === 'reminder')
      await deps.chat.post(subject, message, alertActions(notice.alert));
    else await deps.chat.update(subject, message);
    if (notice.kind === 'opened') counts.opened++;
    else if (notice.kind === 'reminder') counts.reminders++;
    else if (notice.kind === 'resolved') counts.resolved++;
  }
  await deps.store.recordTick(now);
  return { at: now, nodes: nodes.length, findings: findings.length, configsQueued, ...counts };
}

/** Gives every approved node whose generated config changed a new desired config and an apply-config action. */
async function convergeConfigs(deps: CommanderDeps, nodes: readonly NodeRecord[]): Promise<number> {
  let queued = 0;
  const configFor = configGenerator(nodes);
  for (const node of nodes) {
    if (node.status !== 'approved') continue;
    const desired = configFor(node);
    if (node.desiredConfig?.version === desired.version) continue;
    const converged = withRetry(async () => {
      const fresh = await deps.store.getNode(node.id);
      if (!fresh || fresh.value.desiredConfig?.version === desired.version) return;
      // The file takes effect at the next start; dialing reaches a running daemon now (design §5).
      const actions = configActions(node, desired, deps.now(), desired.patch.p2p?.persistent_peers ?? []);
      // A newer config supersedes any older one still waiting.
      let next: NodeRecord = {
        ...fresh.value,
        actions: fresh.value.actions.filter((a) => a.type !== 'apply-config' && a.type !== 'dial-peers'),
        desiredConfig: desired,
      };
      for (const action of actions) next = queueAction(next, action);
      await deps.store.putNode(next, fresh.version);
      queued++;
    });
    // One node's full queue (a huge peer list needs many dial-peers) must not stop the tick.
    await converged.catch((error: Error) => {
      if (!(error instanceof ActionQueueFull)) throw error;
      deps.log.warn({ node: node.id, err: error.message }, 'config not queued: the action queue is full');
    });
  }
  return queued;
}
