import type { Versioned } from '../adapters/store/store.js';
import { type Finding, type FirstSigned, type HealthThresholds, findingsFor } from '../domain/health.js';
import { maintenanceUntil, type NodeRecord } from '../domain/registry.js';

export type HealthState = 'healthy' | 'warning' | 'critical' | 'pending' | 'rejected';

/** One node as people see it in listings and status. */
export interface NodeView {
  id: string;
  chainId: string;
  role: NodeRecord['role'];
  status: NodeRecord['status'];
  health: HealthState;
  height: number | null;
  /** Blocks behind our best node on the same chain. */
  lag: number | null;
  peers: number | null;
  lastSeen: number | null;
  pilotVersion: string;
  /** The daemon runs with the real validator key (this node signs). */
  signing: boolean;
  configVersion: string | null;
  desiredConfigVersion: string | null;
  /** The end of its maintenance window, while one runs. */
  maintenanceUntil: number | null;
  findings: Finding[];
}

export function nodeViews(
  stored: readonly Versioned<NodeRecord>[],
  thresholds: HealthThresholds,
  reportIntervalMs: number,
  now: number,
  firstSigned: FirstSigned,
): NodeView[] {
  const nodes = stored.map((s) => s.value);
  const findings = findingsFor(nodes, thresholds, reportIntervalMs, now, firstSigned);
  const best = new Map<string, number>();
  for (const n of nodes) {
    const h = n.lastReport?.daemon.height;
    if (n.status === 'approved' && h != null) best.set(n.chainId, Math.max(best.get(n.chainId) ?? 0, h));
  }
  return nodes.map((n) => {
    const f = findings.get(n.id) ?? [];
    const height = n.lastReport?.daemon.height ?? null;
    const health: HealthState =
      n.status !== 'approved'
        ? n.status
        : f.some((x) => x.severity === 'critical')
          ? 'critical'
          : f.some((x) => x.severity === 'warning')
            ? 'warning'
            : 'healthy';
    return {
      id: n.id,
      chainId: n.chainId,
      role: n.role,
      status: n.status,
      health,
      height,
      lag: height === null ? null : (best.get(n.chainId) ?? height) - height,
      peers: n.lastReport?.daemon.peers ?? null,
      lastSeen: n.lastSeen,
      pilotVersion: n.pilotVersion,
      signing: n.lastReport?.custody?.holdsValidatorKey ?? false,
      configVersion: n.lastReport?.configVersion ?? null,
      desiredConfigVersion: n.desiredConfig?.version ?? null,
      maintenanceUntil: maintenanceUntil(n, now),
      findings: f,
    };
  });
}
