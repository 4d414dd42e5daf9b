import type { DesiredConfig, Report } from '../../protocol/index.js';
import { configVersion, generatePatch, peerAddressOf } from '../domain/node-config.js';
import type { Finding } from '../domain/health.js';
import type { NodeRecord } from '../domain/registry.js';
import type { FloodThresholds, SentrySettings } from './settings.js';
import { type SentryDefenceState, type SentryOp, activeOpFor, activeOps } from './state.js';

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

/**
 * Why a sentry needs replacing now (silent pilot or daemon down while wanted up), or null. A new
 * sentry waiting for state sync keeps its daemon down on purpose: another instance would wait too
 * (what stops it is a finding of sentry/bootstrap.ts).
 */
export function unhealthyCause(node: NodeRecord, now: number, settings: SentrySettings): string | null {
  if (!isFresh(node, now, settings)) return 'pilot silent';
  const report = node.lastReport;
  const waiting = report?.bootstrap?.state === 'awaiting-state-sync';
  if (report && report.daemon.desired === 'running' && !report.daemon.running && !waiting)
    return 'daemon down';
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

/** `<comet id>@<p2p address>`: how validators dial a sentry, or null while unknown or invalid. */
export const peerOf = peerAddressOf;

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

/**
 * The sentry defence problems open now, as health findings (the tick's alert machinery opens,
 * re-notifies, and resolves them; people ack and mute them): a flood held back, and a sentry's latest
 * rotation or replacement that failed. A failed rotation clears with the next one of that sentry; a
 * failed replacement once a sentry enrolls after it, or a newer replacement of that name starts.
 */
export function sentryFindings(state: SentryDefenceState, nodes: readonly NodeRecord[]): Finding[] {
  const chainOf = (id: string) => nodes.find((n) => n.id === id)?.chainId ?? '';
  const findings: Finding[] = [];
  for (const [id, track] of Object.entries(state.sentries)) {
    if (!track.heldReason || !nodes.some((n) => n.id === id)) continue;
    findings.push({
      key: `sentry:${id}:flood-held`,
      kind: 'flood-held',
      nodeId: id,
      chainId: chainOf(id),
      severity: 'warning',
      title: `${id} is flooded; IP rotation held back`,
      detail: `Not rotating: ${track.heldReason}.`,
    });
  }
  // Newest by start, then by the state's operation counter (the id's suffix).
  const seq = (op: SentryOp) => Number(/-(\d+)$/.exec(op.id)?.[1] ?? 0);
  const latest = new Map<string, SentryOp>();
  for (const op of Object.values(state.ops)) {
    const key = `${op.node}:${op.kind}`;
    const prior = latest.get(key);
    const newer =
      !prior || op.startedAt > prior.startedAt || (op.startedAt === prior.startedAt && seq(op) > seq(prior));
    if (newer) latest.set(key, op);
  }
  for (const op of latest.values()) {
    if (op.phase !== 'failed') continue;
    if (op.kind === 'rotation' && !nodes.some((n) => n.id === op.node)) continue;
    const finished = op.finishedAt ?? op.startedAt;
    const enrolledSince = nodes.some(
      (n) => n.role === 'sentry' && n.id !== op.node && n.enrolledAt > finished,
    );
    if (op.kind === 'replacement' && enrolledSince) continue;
    findings.push({
      key: `sentry:${op.node}:${op.kind}-failed`,
      kind: `${op.kind}-failed`,
      nodeId: op.node,
      chainId: chainOf(op.node),
      severity: 'critical',
      title: `${op.kind === 'rotation' ? 'IP rotation' : 'Replacement'} of ${op.node} failed`,
      detail: `${op.id}: ${op.failure ?? 'failed'}`,
    });
  }
  return findings;
}
