import { withRetry } from '../adapters/store/store.js';
import { configActions, configGenerator } from '../domain/node-config.js';
import { ActionQueueFull, type NodeRecord, queueAction } from '../domain/registry.js';
import { maintenanceHolds, restartHolds } from '../alerting/holds.js';
import type { FinishedOp } from '../alerting/digest.js';
import { runAlerting } from './alerting.js';
import { runChainUpgradeTick } from './chain-upgrade-ops.js';
import type { CommanderDeps } from './context.js';
import { runFailoverTick } from './failover.js';
import { runGovernanceTick } from './governance-ops.js';
import { runMaintenanceTick } from './maintenance-ops.js';
import { runBootstrapTick } from './sentry-bootstrap.js';
import { runSentryTick } from './sentry-step.js';
import { refreshStatusPin } from './status-pin.js';
import { runUnjailTick } from './unjail-ops.js';
import { runUpgradeTick } from './upgrade-ops.js';

export interface TickSummary {
  at: number;
  nodes: number;
  findings: number;
  opened: number;
  reminders: number;
  resolved: number;
  configsQueued: number;
}

/** Daemon restarts people asked for that the pilots have reported back (the digest counts them). */
function finishedRestarts(nodes: readonly NodeRecord[], now: number): FinishedOp[] {
  return nodes.flatMap((n) =>
    n.recentResults
      .filter((r) => r.id.startsWith('restart-'))
      .map((r) => ({
        id: r.id,
        chainId: n.chainId,
        kind: 'restart' as const,
        ok: r.ok,
        at: n.lastSeen ?? now,
      })),
  );
}

/**
 * The scheduled tick: converge configs, run the operations (chain upgrades among them), tell the
 * pilots' answers to chat requests, then alerts, the pinned status and the heartbeat.
 */
export async function runTick(deps: CommanderDeps): Promise<TickSummary> {
  const now = deps.now();
  const nodes = (await deps.store.listNodes()).map((n) => n.value);
  const configsQueued = await convergeConfigs(deps, nodes);
  // After convergence: a sentry removed or re-addressed here reaches the configs on the next tick.
  const sentry = await runSentryTick(deps, nodes);
  // New nodes with an empty block store: their state-sync trust from the fleet's healthy nodes.
  const bootstrap = await runBootstrapTick(deps, nodes);
  const failover = await runFailoverTick(deps);
  // After failover: votes and bonds go to the node that holds the lease now.
  await runGovernanceTick(deps, nodes);
  // After failover: a pilot roll-out waits while the lease moves.
  const upgrade = await runUpgradeTick(deps, nodes);
  const chainUpgrade = await runChainUpgradeTick(deps, nodes);
  // Pilots' answers to what people asked in chat, told where they asked.
  await runMaintenanceTick(deps, nodes);
  await runUnjailTick(deps, nodes);

  // Operations report their own problems as findings, and hold the alerts of the nodes they work on.
  const alerting = await runAlerting(deps, {
    nodes,
    findings: [
      ...failover.findings,
      ...(sentry?.findings ?? []),
      ...upgrade.findings,
      ...chainUpgrade.findings,
      ...bootstrap.findings,
    ],
    holds: [
      ...failover.holds,
      ...(sentry?.holds ?? []),
      ...restartHolds(nodes),
      ...upgrade.holds,
      ...chainUpgrade.holds,
      ...maintenanceHolds(nodes, now),
      ...bootstrap.holds,
    ],
    finished: [...failover.finished, ...(sentry?.finished ?? []), ...finishedRestarts(nodes, now)],
  });
  await refreshStatusPin(deps);
  await deps.store.recordTick(now);
  const { findings, opened, reminders, resolved } = alerting;
  return { at: now, nodes: nodes.length, findings, opened, reminders, resolved, configsQueued };
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
