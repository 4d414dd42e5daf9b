/**
 * The fleet as numbers, once per tick: nodes by chain, role and state, open alerts by severity, and
 * each validator's failover phase. Read from the table after the tick (three queries), so the tick
 * itself, and what it costs, stays as it is; both exports (Prometheus, CloudWatch EMF) use them.
 */
import type { Store } from '../adapters/store/store.js';
import type { AlertRecord } from '../alerting/alerts.js';
import { listFailovers } from '../app/failover.js';
import type { NodeRecord } from '../domain/registry.js';
import { type FailoverState, PHASES } from '../failover/state.js';

export const SEVERITIES = ['critical', 'warning', 'info'] as const;
/** A node's state: its enrollment status until approved, then its worst open alert. */
export const NODE_STATES = ['healthy', 'warning', 'critical', 'pending', 'rejected'] as const;
export type NodeState = (typeof NODE_STATES)[number];
/** `idle` when no operation runs; a finished one (done, aborted) is idle too. */
export const FAILOVER_PHASES = ['idle', ...PHASES.filter((p) => p !== 'done' && p !== 'aborted')] as const;
export type FailoverPhase = (typeof FAILOVER_PHASES)[number];

export interface FleetFigures {
  nodes: { chain: string; role: string; state: NodeState; count: number }[];
  alertsOpen: Record<(typeof SEVERITIES)[number], number>;
  failover: { chain: string; validator: string; phase: FailoverPhase }[];
}

function nodeState(node: NodeRecord, open: readonly AlertRecord[]): NodeState {
  if (node.status === 'pending' || node.status === 'rejected') return node.status;
  const mine = open.filter((a) => a.nodeId === node.id);
  if (mine.some((a) => a.severity === 'critical')) return 'critical';
  return mine.some((a) => a.severity === 'warning') ? 'warning' : 'healthy';
}

function phaseOf(state: FailoverState): FailoverPhase {
  const phase = state.op?.phase ?? 'idle';
  return phase === 'done' || phase === 'aborted' ? 'idle' : phase;
}

export function fleetFigures(
  nodes: readonly NodeRecord[],
  alerts: readonly AlertRecord[],
  failovers: readonly FailoverState[],
): FleetFigures {
  const open = alerts.filter((a) => a.state === 'open');
  const counts = new Map<string, FleetFigures['nodes'][number]>();
  for (const node of nodes) {
    const state = nodeState(node, open);
    const key = `${node.chainId}\u0000${node.role}\u0000${state}`;
    const entry = counts.get(key) ?? { chain: node.chainId, role: node.role, state, count: 0 };
    entry.count++;
    counts.set(key, entry);
  }
  const alertsOpen = { critical: 0, warning: 0, info: 0 };
  for (const a of open) alertsOpen[a.severity]++;
  return {
    nodes: [...counts.values()],
    alertsOpen,
    failover: failovers.map((f) => ({ chain: f.chainId, validator: f.validator, phase: phaseOf(f) })),
  };
}

/** The figures as the table holds them now. */
export async function readFleetFigures(store: Store): Promise<FleetFigures> {
  const [nodes, alerts, failovers] = await Promise.all([
    store.listNodes(),
    store.listAlerts(),
    listFailovers(store),
  ]);
  return fleetFigures(
    nodes.map((n) => n.value),
    alerts.map((a) => a.value),
    failovers.map((f) => f.state),
  );
}
