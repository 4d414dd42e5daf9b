/**
 * Beam's own actions are expected: while an operation Beam ordered runs (a promotion, a planned
 * demotion, an IP rotation, a replacement, a daemon restart, a chain upgrade's halt), the health
 * alerts of the nodes it touches wait; the operation's own thread is the only message. A condition
 * still there when the operation is done (or failed) starts its pending time then. A maintenance
 * window people asked for holds its node's alerts the same way.
 */
import type { Finding } from '../domain/health.js';
import { maintenanceUntil, type NodeRecord } from '../domain/registry.js';
import { type FailoverState, isActive } from '../failover/state.js';
import { type SentryDefenceState, activeOps } from '../sentry/state.js';
import { type AlertKind, NODE_KINDS, SIGNING_KINDS } from './kinds.js';

export interface Hold {
  /** What the condition is expected from: an operation id (its thread names it), or `start-up`. */
  by: string;
  chainId: string;
  /** Only this node's alerts; every node of the chain when absent. */
  nodeId?: string;
  /** Only this validator key's alerts. */
  validator?: string;
  /** Only these kinds; every health kind when absent. */
  kinds?: readonly AlertKind[];
}

/** Holds apply to health (node and signing) alerts, never to an operation's own problems. */
const HOLDABLE: ReadonlySet<AlertKind> = new Set([...NODE_KINDS, ...SIGNING_KINDS]);

/** Peers the rest of the chain loses while one of its nodes is stopped or restarted by Beam. */
const NEIGHBOURS: readonly AlertKind[] = ['low-peers'];

/** The first hold that covers a finding, or null. */
export function holdOf(finding: Finding, holds: readonly Hold[]): string | null {
  if (!HOLDABLE.has(finding.kind)) return null;
  const hold = holds.find(
    (h) =>
      h.chainId === finding.chainId &&
      (h.nodeId === undefined || h.nodeId === finding.nodeId) &&
      (h.validator === undefined || h.validator === finding.validator) &&
      (h.kinds === undefined || h.kinds.includes(finding.kind)),
  );
  return hold?.by ?? null;
}

/** A node Beam is working on, and what that does to its neighbours. */
function onNode(by: string, chainId: string, nodeId: string): Hold[] {
  return [
    { by, chainId, nodeId },
    { by, chainId, kinds: NEIGHBOURS },
  ];
}

/**
 * A failover or switchover: misses are counted by its thread from the moment it starts; once the
 * lease moves, the node being promoted (and, in a switchover, the one being demoted) is Beam's.
 */
export function failoverHolds(state: FailoverState): Hold[] {
  const op = state.op;
  if (!isActive(op)) return [];
  const { chainId } = state;
  const holds: Hold[] = [{ by: op.id, chainId, validator: state.validator, kinds: ['missed-blocks'] }];
  if (op.phase === 'detected' || op.phase === 'awaiting-confirmation') return holds;
  holds.push(...onNode(op.id, chainId, op.to));
  if (op.kind === 'switchover' && op.from !== null) holds.push({ by: op.id, chainId, nodeId: op.from });
  return holds;
}

/** IP rotations and replacements in progress. */
export function sentryHolds(state: SentryDefenceState, nodes: readonly NodeRecord[]): Hold[] {
  return activeOps(state).flatMap((op) => {
    const chainId = nodes.find((n) => n.id === op.node)?.chainId;
    return chainId === undefined ? [] : onNode(op.id, chainId, op.node);
  });
}

/** Daemon restarts people asked for (`restart <node>`), until the pilot reports the result. */
export function restartHolds(nodes: readonly NodeRecord[]): Hold[] {
  return nodes.flatMap((n) =>
    n.actions.filter((a) => a.type === 'restart-daemon').flatMap((a) => onNode(a.id, n.chainId, n.id)),
  );
}

/**
 * Nodes in a maintenance window (chat's `maintenance <node> <duration>`, or the operator's on the
 * node): their own alerts wait until it ends, by itself. Not the validator's signing alerts, which
 * are the key's and not the node's: a signer taken down for maintenance is still news.
 */
export function maintenanceHolds(nodes: readonly NodeRecord[], now: number): Hold[] {
  return nodes.flatMap((n) =>
    maintenanceUntil(n, now) === null
      ? []
      : [{ by: `maintenance:${n.id}`, chainId: n.chainId, nodeId: n.id, kinds: NODE_KINDS }],
  );
}
