/**
 * The fleet's status as chat shows it (the `status` command and the pinned status message): one
 * chain, its lease, its nodes with their part and health, and the age of stale facts.
 */
import type { FleetStatus, NodeSummary } from '../chatops/ports.js';
import type { ChainStatus, FleetStatus as AppFleetStatus } from './commander-app.js';
import type { FailoverOverview } from './failover-ops.js';
import type { NodeView } from './fleet-view.js';

/** How a node shows in status tables: validators by their part, everyone else by health. */
function nodeState(view: NodeView): string {
  if (view.status !== 'approved') return view.status;
  const part = view.role === 'validator' ? (view.signing ? 'active' : 'standby') : undefined;
  if (!part) return view.health;
  return view.health === 'healthy' ? part : `${part}/${view.health}`;
}

/**
 * A node as status shows it. Facts from a report more than one interval late carry their age: what
 * a table says about a silent node is what it last said, not what it does now.
 */
export function nodeSummary(
  view: NodeView,
  holder: string | null | undefined,
  clock: { now: number; reportIntervalMs: number },
): NodeSummary {
  const signing = holder !== undefined && holder !== null ? view.id === holder : view.signing;
  const age = view.lastSeen === null ? null : clock.now - view.lastSeen;
  return {
    name: view.id,
    role: view.role,
    state: nodeState(view),
    ...(view.height !== null ? { height: view.height } : {}),
    ...(view.lag !== null ? { lag: view.lag } : {}),
    ...(view.peers !== null ? { peers: view.peers } : {}),
    ...(signing ? { signing: true } : {}),
    ...(age !== null && age > 2 * clock.reportIntervalMs ? { reportAgeMs: age } : {}),
    ...(view.maintenanceUntil !== null ? { maintenanceUntil: view.maintenanceUntil } : {}),
  };
}

/**
 * The fleet's chain (the one with validators, or the first) as chat shows it: nodes, the lease
 * holder and epoch, missed blocks among the commits a validator saw lately.
 */
export function toChatStatus(
  status: AppFleetStatus,
  overview: readonly FailoverOverview[],
  reportIntervalMs: number,
): FleetStatus {
  const chain: ChainStatus | undefined =
    status.chains.find((c) => c.nodes.some((n) => n.role === 'validator')) ?? status.chains[0];
  const lease = overview.find((o) => o.chainId === chain?.chainId) ?? overview[0];
  const holder = lease ? lease.holder : undefined;
  const signer = lease ? (lease.holder ?? undefined) : (chain?.signer ?? undefined);
  const clock = { now: status.at, reportIntervalMs };
  return {
    chainId: chain?.chainId ?? lease?.chainId ?? '-',
    ...(chain?.bestHeight != null ? { height: chain.bestHeight } : {}),
    ...(signer ? { signer } : {}),
    ...(lease ? { leaseEpoch: lease.epoch } : {}),
    missedBlocks: { missed: chain?.recentMissed ?? 0, window: chain?.recentCommits ?? 0 },
    failoverMode: lease?.mode ?? 'confirm',
    openAlerts: status.openAlerts,
    nodes: (chain?.nodes ?? []).map((n) => nodeSummary(n, holder, clock)),
  };
}
