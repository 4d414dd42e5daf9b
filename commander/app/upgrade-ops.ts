/**
 * Pilot roll-outs: `upgrade pilots <version>` from chat, and the tick that moves one forward and
 * raises version drift. The roll-out is one item (`OPERATION/pilot-upgrade`, the latest one), written
 * with a conditional put before its actions are queued; a lost race waits for the next tick.
 */
import { KEYS, VersionConflict, withRetry } from '../adapters/store/store.js';
import type { Hold } from '../alerting/holds.js';
import type { OperationResult } from '../chatops/ports.js';
import type { Finding } from '../domain/health.js';
import { type NodeRecord, queueAction } from '../domain/registry.js';
import { isActive } from '../failover/index.js';
import { renderUpgrade, upgradeSubject } from '../upgrade/messages.js';
import {
  activeStep,
  advanceUpgrade,
  type NodeFacts,
  type PilotUpgrade,
  planUpgrade,
  stepAction,
  type UpgradeStep,
} from '../upgrade/rollout.js';
import { versionDrift } from '../upgrade/versions.js';
import { type Actor, type CommanderDeps, actorLabel } from './context.js';
import { listFailovers } from './failover.js';

const KEY = KEYS.operation('pilot-upgrade');

export function loadUpgrade(deps: CommanderDeps) {
  return deps.store.get<PilotUpgrade>(KEY);
}

function factsOf(nodes: readonly NodeRecord[]): Map<string, NodeFacts> {
  return new Map(
    nodes
      .filter((n) => n.status === 'approved')
      .map((n) => [n.id, { pilotVersion: n.pilotVersion, lastSeen: n.lastSeen, results: n.recentResults }]),
  );
}

/** A failover moving the lease: no pilot restarts meanwhile (the signer's least of all). */
async function failoverInProgress(
  deps: CommanderDeps,
): Promise<{ paused: string | null; holders: Set<string> }> {
  const states = (await listFailovers(deps.store)).map((s) => s.state);
  const moving = states.find((s) => isActive(s.op));
  return {
    paused: moving?.op ? `failover ${moving.op.id} in progress` : null,
    holders: new Set(states.map((s) => s.lease.holder).filter((h): h is string => h !== null)),
  };
}

/** Queues the steps' actions on their nodes, unless a node has it queued or answered already. */
async function queueDue(deps: CommanderDeps, u: PilotUpgrade, due: readonly UpgradeStep[]): Promise<void> {
  for (const step of due) {
    const action = stepAction(u, step, deps.now());
    if (!action) continue;
    await withRetry(async () => {
      const fresh = await deps.store.getNode(step.node);
      if (!fresh) return;
      const n = fresh.value;
      if (n.actions.some((a) => a.id === action.id) || n.recentResults.some((r) => r.id === action.id))
        return;
      await deps.store.putNode(queueAction(n, action), fresh.version);
    });
  }
}

/** `upgrade pilots <version>`: plans the roll-out, saves it and starts its first node. */
export async function requestUpgrade(
  deps: CommanderDeps,
  request: { version: string; actor: Actor },
): Promise<OperationResult> {
  const { version } = request;
  const refused = (summary: string): OperationResult => ({ accepted: false, summary });
  const release = deps.settings.pilot.releases[version];
  if (!release) {
    const known = Object.keys(deps.settings.pilot.releases);
    return refused(
      `No release ${version} in the commander's pilot.releases${known.length ? ` (it lists ${known.join(', ')})` : ''}: add { source, sha256 } for it (npm run release prints both).`,
    );
  }
  const stored = await loadUpgrade(deps);
  if (stored?.value.status === 'running') {
    return refused(
      `Roll-out ${stored.value.id} to ${stored.value.release} is still running: wait for it to end.`,
    );
  }
  const now = deps.now();
  const nodes = (await deps.store.listNodes()).map((n) => n.value).filter((n) => n.status === 'approved');
  const silentAfter = deps.settings.thresholds.silentIntervals * deps.settings.reportIntervalMs;
  const silent = nodes.filter((n) => n.lastSeen === null || now - n.lastSeen > silentAfter).map((n) => n.id);
  if (silent.length > 0) {
    return refused(
      `${silent.join(', ')} ${silent.length === 1 ? 'is' : 'are'} not reporting: bring them back, or \`remove\` them, first.`,
    );
  }
  if (nodes.every((n) => n.pilotVersion === version)) return refused(`Every pilot runs ${version} already.`);
  const { paused, holders } = await failoverInProgress(deps);
  if (paused) return refused(`A ${paused}: upgrade the pilots once it is over.`);
  const planned = planUpgrade(
    {
      id: `up-${now.toString(36)}`,
      release: version,
      source: release.source,
      sha256: release.sha256,
      requestedBy: actorLabel(request.actor),
      startedAt: now,
    },
    nodes.map((n) => ({
      node: n.id,
      chainId: n.chainId,
      role: n.role,
      pilotVersion: n.pilotVersion,
      signer: holders.has(n.id),
    })),
  );
  const { upgrade, due } = advanceUpgrade(planned, factsOf(nodes), {
    now,
    timeoutMs: deps.settings.pilot.upgradeTimeoutMs,
    paused: null,
  });
  try {
    await deps.store.put(KEY, 'pilot-upgrade', upgrade, stored?.version ?? null);
  } catch (error) {
    if (error instanceof VersionConflict) return refused('Another roll-out started just now.');
    throw error;
  }
  await queueDue(deps, upgrade, due);
  await deps.store.appendAudit({
    at: now,
    actor: actorLabel(request.actor),
    action: 'upgrade-pilots',
    target: version,
    outcome: 'ok',
    detail: `${upgrade.id}: ${upgrade.steps.map((s) => s.node).join(' → ')}`,
  });
  const order = upgrade.steps.map((s) => `${s.node}${s.signer ? ' (signer)' : ''}`).join(', ');
  return {
    accepted: true,
    summary: `Rolling out pilot ${version} one node at a time: ${order}. This message follows it.`,
    operationId: upgrade.id,
  };
}

/**
 * The tick's part: moves a running roll-out on, and raises version drift when none runs (a
 * roll-out's drift is expected). Holds the alerts of the node whose pilot is restarting.
 */
export async function runUpgradeTick(
  deps: CommanderDeps,
  nodes: readonly NodeRecord[],
): Promise<{ findings: Finding[]; holds: Hold[] }> {
  const stored = await loadUpgrade(deps);
  let current = stored?.value ?? null;
  if (stored && current?.status === 'running') {
    const { paused } = await failoverInProgress(deps);
    const now = deps.now();
    const { upgrade, due } = advanceUpgrade(current, factsOf(nodes), {
      now,
      timeoutMs: deps.settings.pilot.upgradeTimeoutMs,
      paused,
    });
    if (JSON.stringify(upgrade) !== JSON.stringify(current)) {
      try {
        await deps.store.put(KEY, 'pilot-upgrade', upgrade, stored.version);
      } catch (error) {
        if (error instanceof VersionConflict) return { findings: [], holds: [] };
        throw error;
      }
      await deps.chat.update(upgradeSubject(upgrade), renderUpgrade(upgrade, now));
      if (upgrade.status !== 'running') {
        await deps.store.appendAudit({
          at: now,
          actor: 'system:commander',
          action: `upgrade-pilots.${upgrade.status}`,
          target: upgrade.release,
          outcome: upgrade.status === 'done' ? 'ok' : 'failed',
          detail: `${upgrade.id}: ${upgrade.steps.map((s) => `${s.node} ${s.phase}`).join(', ')}`,
        });
      }
    }
    await queueDue(deps, upgrade, due);
    current = upgrade;
  }
  const step = current ? activeStep(current) : null;
  const holds: Hold[] = step
    ? [
        { by: current!.id, chainId: step.chainId, nodeId: step.node },
        // A signer-mode pilot is the validator's signer: its restart costs a block or two.
        ...(step.signer
          ? [{ by: current!.id, chainId: step.chainId, kinds: ['missed-blocks' as const] }]
          : []),
      ]
    : [];
  const findings =
    current?.status === 'running' ? [] : versionDrift(nodes, deps.settings.pilot.targetVersion);
  return { findings, holds };
}
