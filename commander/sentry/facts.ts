import type { DesiredConfig, Report } from '../../protocol/index.js';
import { configVersion, generatePatch } from '../domain/node-config.js';
import type { NodeRecord } from '../domain/registry.js';
import type { FloodThresholds, SentrySettings } from './settings.js';
import { type SentryDefenceState, activeOpFor, activeOps } from './state.js';

/** A replaced sentry stays in the registry until the core removes it; it no longer counts anywhere. */
export function isRetired(state: SentryDefenceState, node: NodeRecord): boolean {
  return Object.values(state.ops).some(
    (op) =>
      op.kind === 'replacement' &&
      op.node === node.id &&
      op.instanceId === node.instanceId &&
      op.terminatedAt !== null,
  );
}

/** Approved sentries of the registry that are still in service. */
export function sentriesOf(state: SentryDefenceState, nodes: readonly NodeRecord[]): NodeRecord[] {
  return nodes.filter((n) => n.role === 'sentry' && n.status === 'approved' && !isRetired(state, n));
}

export function isFresh(node: NodeRecord, now: number, settings: SentrySettings): boolean {
  return node.lastSeen !== null && now - node.lastSeen <= settings.freshReportMs;
}

/**
 * Fresh report, daemon serving (running, RPC answering, at least one peer: a daemon just started is
 * not shielding anyone yet), not catching up, and not itself in an operation.
 */
export function isHealthy(
  state: SentryDefenceState,
  node: NodeRecord,
  now: number,
  settings: SentrySettings,
): boolean {
  const daemon = node.lastReport?.daemon;
  return (
    isFresh(node, now, settings) &&
    daemon?.running === true &&
    daemon.rpcReachable &&
    (daemon.peers ?? 0) > 0 &&
    daemon.catchingUp !== true &&
    activeOpFor(state, node.id) === undefined
  );
}

/** Why a sentry needs replacing now (silent pilot or daemon down while wanted up), or null. */
export function unhealthyCause(node: NodeRecord, now: number, settings: SentrySettings): string | null {
  if (!isFresh(node, now, settings)) return 'pilot silent';
  const daemon = node.lastReport?.daemon;
  if (daemon && daemon.desired === 'running' && !daemon.running) return 'daemon down';
  return null;
}

/** The pilot's verdict, or any commander-side threshold crossed. */
export function floodVerdict(report: Report, thresholds: FloodThresholds): string | null {
  const sockets = report.sockets;
  if (sockets?.flooded) return 'the pilot reports a flood';
  const synRecv = sockets?.inboundByState['SYN_RECV'] ?? 0;
  if (thresholds.inboundTotal !== undefined && sockets && sockets.inboundTotal >= thresholds.inboundTotal) {
    return `${sockets.inboundTotal} inbound connections (threshold ${thresholds.inboundTotal})`;
  }
  if (thresholds.synRecv !== undefined && synRecv >= thresholds.synRecv) {
    return `${synRecv} half-open connections (threshold ${thresholds.synRecv})`;
  }
  const peers = report.daemon.peers;
  if (thresholds.peersSaturated !== undefined && peers !== null && peers >= thresholds.peersSaturated) {
    return `${peers} peers, saturated (threshold ${thresholds.peersSaturated})`;
  }
  return null;
}

const plural = (n: number) => `${n} healthy sentr${n === 1 ? 'y' : 'ies'}`;

function hhmm(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 16)} UTC`;
}

/** Checks shared by rotations and replacements; returns why the operation may not start, or null. */
function commonRefusal(state: SentryDefenceState, node: NodeRecord | undefined, name: string): string | null {
  if (node?.role !== 'sentry') return `${name} is not a sentry in the registry`;
  if (node.status !== 'approved') return `${name} is ${node.status}, not approved`;
  if (isRetired(state, node)) return `${name} has been replaced already`;
  if (!node.instanceId) {
    return `${name} has no cloud instance id in the registry: Beam rotates and replaces only sentries it knows the instance of`;
  }
  const active = activeOpFor(state, node.id);
  if (active) return `${name} already has a ${active.kind} under way (${active.id}, ${active.phase})`;
  return null;
}

function minHealthyRefusal(
  state: SentryDefenceState,
  node: NodeRecord,
  nodes: readonly NodeRecord[],
  now: number,
  settings: SentrySettings,
): string | null {
  const healthy = sentriesOf(state, nodes).filter((n) => isHealthy(state, n, now, settings));
  const after = healthy.length - (healthy.some((n) => n.id === node.id) ? 1 : 0);
  return after < settings.minHealthySentries
    ? `would leave ${plural(after)}, minimum is ${settings.minHealthySentries}`
    : null;
}

export function rotationRefusal(
  state: SentryDefenceState,
  name: string,
  nodes: readonly NodeRecord[],
  now: number,
  settings: SentrySettings,
): string | null {
  const node = nodes.find((n) => n.id === name);
  const common = commonRefusal(state, node, name);
  if (common || !node) return common;
  const cooldownUntil = state.sentries[name]?.cooldownUntil ?? 0;
  if (now < cooldownUntil) return `cooldown until ${hhmm(cooldownUntil)}`;
  const rotations = activeOps(state).filter((op) => op.kind === 'rotation').length;
  if (rotations >= settings.maxConcurrentRotations) {
    return `${rotations} rotation${rotations === 1 ? ' is' : 's are'} under way, the maximum is ${settings.maxConcurrentRotations}`;
  }
  return minHealthyRefusal(state, node, nodes, now, settings);
}

/**
 * A dead sentry is replaced whatever the healthy count (it is not healthy anyway); a person asking to
 * replace a healthy one is held to the minimum.
 */
export function replacementRefusal(
  state: SentryDefenceState,
  name: string,
  nodes: readonly NodeRecord[],
  now: number,
  settings: SentrySettings,
): string | null {
  const node = nodes.find((n) => n.id === name);
  const common = commonRefusal(state, node, name);
  if (common || !node) return common;
  const replacements = activeOps(state).filter((op) => op.kind === 'replacement').length;
  if (replacements >= settings.maxConcurrentReplacements) {
    return `${replacements} replacement${replacements === 1 ? ' is' : 's are'} in flight, the maximum is ${settings.maxConcurrentReplacements}`;
  }
  return isHealthy(state, node, now, settings) ? minHealthyRefusal(state, node, nodes, now, settings) : null;
}

/** `<comet id>@<p2p address>`: how validators dial a sentry, or null while either is unknown. */
export function peerOf(node: NodeRecord): string | null {
  return node.cometNodeId && node.p2pAddress ? `${node.cometNodeId}@${node.p2pAddress}` : null;
}

/** The p2p port of the node's registered address, or the configured default. */
export function p2pPortOf(node: NodeRecord, settings: SentrySettings): number {
  const port = Number(/:(\d{1,5})$/.exec(node.p2pAddress ?? '')?.[1]);
  return Number.isInteger(port) && port > 0 && port <= 65535 ? port : settings.p2pPort;
}

/**
 * The generated config of a sentry with its public `external_address` (validators keep dialing its
 * registered, private p2p address). The core's config convergence should use this for sentries so
 * that it agrees with rotations on the version.
 */
export function sentryDesiredConfig(
  node: NodeRecord,
  nodes: readonly NodeRecord[],
  publicAddress: string | null,
): DesiredConfig {
  const generated = generatePatch(node, nodes);
  const patch = publicAddress
    ? { ...generated, p2p: { ...generated.p2p, external_address: publicAddress } }
    : generated;
  return { version: configVersion(patch), patch };
}
