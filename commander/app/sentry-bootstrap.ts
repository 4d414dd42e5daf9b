// State sync of new nodes in the running commander: each tick plans every node waiting for it
// (commander/sentry/bootstrap.ts), queues its `state-sync` action with one conditional write, audits
// it, and hands the problems and holds to the tick's alerts.
import { withRetry } from '../adapters/store/store.js';
import type { Hold } from '../alerting/holds.js';
import type { Finding } from '../domain/health.js';
import { ActionQueueFull, type NodeRecord, queueAction } from '../domain/registry.js';
import { bootstrapHolds, planStateSync, type StateSyncAction, stateSyncFinding } from '../sentry/index.js';
import type { CommanderDeps } from './context.js';

export interface BootstrapTickSummary {
  /** state-sync actions queued this tick. */
  queued: number;
  /** Nodes waiting for state sync that the commander cannot serve, for the tick's alerts. */
  findings: Finding[];
  /** Health alerts of nodes waiting for or in state sync. */
  holds: Hold[];
}

/** Never throws: a failure is logged and the next tick plans again. */
export async function runBootstrapTick(
  deps: CommanderDeps,
  nodes: readonly NodeRecord[],
): Promise<BootstrapTickSummary> {
  const settings = deps.settings.sentry;
  const now = deps.now();
  const findings: Finding[] = [];
  let queued = 0;
  for (const node of nodes) {
    const plan = planStateSync(node, nodes, now, settings);
    if (plan.problem) findings.push(stateSyncFinding(node, plan.problem));
    if (!plan.action) continue;
    try {
      if (await queueStateSync(deps, node.id, plan.action)) {
        queued++;
        await deps.store.appendAudit({
          at: now,
          actor: 'commander',
          action: 'state-sync',
          target: node.id,
          outcome: 'ok',
          detail: `${plan.action.id}: ${plan.detail}`,
        });
      }
    } catch (error) {
      deps.log.error({ node: node.id, err: (error as Error).message }, 'state-sync action not queued');
    }
  }
  return { queued, findings, holds: bootstrapHolds(nodes, now, settings) };
}

/** Queues the action unless the node has one already (another tick won); whether it did. */
async function queueStateSync(
  deps: CommanderDeps,
  nodeId: string,
  action: StateSyncAction,
): Promise<boolean> {
  return withRetry(async () => {
    const fresh = await deps.store.getNode(nodeId);
    if (!fresh || fresh.value.actions.some((a) => a.type === 'state-sync')) return false;
    try {
      await deps.store.putNode(queueAction(fresh.value, action), fresh.version);
      return true;
    } catch (error) {
      if (!(error instanceof ActionQueueFull)) throw error;
      deps.log.warn({ node: nodeId, err: error.message }, 'state-sync action not queued: the queue is full');
      return false;
    }
  });
}
