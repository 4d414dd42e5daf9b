/**
 * `maintenance <node> <duration|off>`: the window is written on the node with its `maintenance`
 * action in one conditional put (alerts wait from the next tick on, before the pilot even has it),
 * and the tick tells the pilot's answer once. Nothing is needed at the window's end: it ends by itself.
 */
import { withRetry } from '../adapters/store/store.js';
import type { OperationResult } from '../chatops/ports.js';
import type { NodeRecord } from '../domain/registry.js';
import { type Actor, type CommanderDeps, actorLabel } from './context.js';
import {
  type MaintenanceRequest,
  maintenanceSummary,
  renderMaintenanceAnswer,
  withMaintenance,
} from './maintenance.js';

export async function setMaintenance(
  deps: CommanderDeps,
  request: { node: string; durationMs: number | null; reason: string; actor: Actor },
): Promise<OperationResult> {
  const now = deps.now();
  const ask: MaintenanceRequest = {
    until: request.durationMs === null ? null : now + request.durationMs,
    reason: request.reason,
    by: actorLabel(request.actor),
    now,
  };
  const outcome = await withRetry(async (): Promise<OperationResult> => {
    const stored = await deps.store.getNode(request.node);
    if (!stored) return { accepted: false, summary: `no node named ${request.node}; \`nodes\` lists them` };
    const next = withMaintenance(stored.value, ask);
    if (typeof next === 'string') return { accepted: false, summary: next };
    await deps.store.putNode(next, stored.version);
    return {
      accepted: true,
      summary: maintenanceSummary(request.node, ask),
      operationId: next.maintenance!.actionId,
    };
  });
  await deps.store.appendAudit({
    at: now,
    actor: ask.by,
    action: request.durationMs === null ? 'maintenance.off' : 'maintenance',
    target: request.node,
    outcome: outcome.accepted ? 'ok' : 'denied',
    detail: outcome.summary,
  });
  return outcome;
}

/** The tick's share: each window's pilot answer, told once in chat. */
export async function runMaintenanceTick(deps: CommanderDeps, nodes: readonly NodeRecord[]): Promise<void> {
  for (const n of nodes) {
    const window = n.maintenance;
    const result = window && !window.told && n.recentResults.find((r) => r.id === window.actionId);
    if (!window || !result) continue;
    try {
      const marked = await withRetry(async () => {
        const fresh = await deps.store.getNode(n.id);
        const current = fresh?.value.maintenance;
        if (!fresh || current?.actionId !== window.actionId || current.told) return false;
        await deps.store.putNode({ ...fresh.value, maintenance: { ...current, told: true } }, fresh.version);
        return true;
      });
      if (marked)
        await deps.chat.update(`operation:${window.actionId}`, renderMaintenanceAnswer(n.id, window, result));
    } catch (error) {
      deps.log.error({ node: n.id, err: (error as Error).message }, 'maintenance answer not told');
    }
  }
}
