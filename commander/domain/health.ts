import * as z from 'zod';
import type { AlertKind } from '../alerting/kinds.js';
import type { NodeRecord } from './registry.js';

export type FindingSeverity = 'info' | 'warning' | 'critical';

/**
 * One thing wrong with a node, a validator's signing or a chain; `key` is stable across ticks so
 * alerts dedupe on it.
 */
export interface Finding {
  key: string;
  kind: AlertKind;
  nodeId: string;
  chainId: string;
  /** The validator key a signing finding is about: one alert per validator, whichever node reports it. */
  validator?: string;
  severity: FindingSeverity;
  title: string;
  detail: string;
}

export const HealthThresholds = z.strictObject({
  /** A pilot is silent after this many missed report intervals. */
  silentIntervals: z.number().int().min(1).default(3),
  /** Blocks behind the highest of our own nodes on the same chain. */
  heightLagWarn: z.number().int().min(1).default(5),
  heightLagCritical: z.number().int().min(1).default(50),
  /** No block for this long on every node of ours following the chain (up and synced): it halted. */
  chainHaltedMs: z.number().int().min(1000).default(60_000),
  minPeersWarn: z.number().int().min(0).default(2),
  minPeersCritical: z.number().int().min(0).default(0),
  diskFreeWarnShare: z.number().min(0).max(1).default(0.15),
  diskFreeCriticalShare: z.number().min(0).max(1).default(0.05),
  memFreeWarnShare: z.number().min(0).max(1).default(0.1),
  /** Consecutive commits without our signature. */
  missedBlocksWarn: z.number().int().min(1).default(3),
  missedBlocksCritical: z.number().int().min(1).default(10),
  /** Share of the slashing allowance (window × (1 − minSignedPerWindow)) used, in tiers. */
  missedWindowWarnShare: z.number().min(0).max(1).default(0.25),
  missedWindowCriticalShare: z.number().min(0).max(1).default(0.6),
  /** With this share of the network signing the latest commit (a commit carries > 2/3), our miss is ours alone. */
  soloMissNetworkShare: z.number().min(0).max(1).default(0.67),
});
export type HealthThresholds = z.infer<typeof HealthThresholds>;

export function defaultThresholds(): HealthThresholds {
  return HealthThresholds.parse({});
}

/**
 * The lowest height a validator was ever seen signing, or null while it never signed (a new chain, a
 * key before its first promotion): commits below it are genesis, nobody's to miss.
 */
export type FirstSigned = (chainId: string, validator: string) => number | null;

/** Evaluates one approved node against its own report and its siblings on the same chain. */
export function evaluateHealth(
  node: NodeRecord,
  siblings: readonly NodeRecord[],
  thresholds: HealthThresholds,
  reportIntervalMs: number,
  now: number,
  firstSigned: FirstSigned,
): Finding[] {
  const findings: Finding[] = [];
  const add: Add = (kind, severity, title, detail, validator) =>
    findings.push({
      key: validator ? `validator:${node.chainId}:${validator}:${kind}` : `node:${node.id}:${kind}`,
      kind,
      nodeId: node.id,
      chainId: node.chainId,
      ...(validator ? { validator } : {}),
      severity,
      title,
      detail,
    });

  const silentAfter = thresholds.silentIntervals * reportIntervalMs;
  const since = node.lastSeen ?? node.decidedAt ?? node.enrolledAt;
  if (now - since > silentAfter) {
    add(
      'pilot-silent',
      'critical',
      `${node.id}: pilot silent`,
      node.lastSeen === null
        ? `no report since approval ${fmtAgo(now - since)}`
        : `last report ${fmtAgo(now - since)} (expected every ${reportIntervalMs / 1000} s)`,
    );
    return findings; // older facts are stale: judge nothing else on them
  }
  const report = node.lastReport;
  if (!report) return findings;
  const { daemon, host, chain } = report;

  if (daemon.desired === 'running' && !daemon.running) {
    add(
      'daemon-down',
      'critical',
      `${node.id}: daemon down`,
      `restarts since pilot start: ${daemon.restarts}`,
    );
  } else if (daemon.running && !daemon.rpcReachable) {
    add('rpc-unreachable', 'warning', `${node.id}: daemon RPC not answering`, 'process is up, RPC is not');
  }
  if (daemon.catchingUp)
    add('catching-up', 'warning', `${node.id}: catching up`, `at height ${daemon.height ?? '?'}`);

  const best = Math.max(0, ...siblings.map((s) => s.lastReport?.daemon.height ?? 0));
  if (daemon.height !== null && best - daemon.height >= thresholds.heightLagWarn) {
    const lag = best - daemon.height;
    add(
      'height-lag',
      lag >= thresholds.heightLagCritical ? 'critical' : 'warning',
      `${node.id}: ${lag} blocks behind`,
      `height ${daemon.height}, our best node is at ${best}`,
    );
  }
  if (daemon.peers !== null && daemon.peers <= thresholds.minPeersWarn) {
    add(
      'low-peers',
      daemon.peers <= thresholds.minPeersCritical ? 'critical' : 'warning',
      `${node.id}: ${daemon.peers} ${daemon.peers === 1 ? 'peer' : 'peers'}`,
      `threshold ${thresholds.minPeersWarn}`,
    );
  }
  if (host.diskTotalBytes > 0) {
    const free = host.diskFreeBytes / host.diskTotalBytes;
    if (free <= thresholds.diskFreeWarnShare) {
      add(
        'disk',
        free <= thresholds.diskFreeCriticalShare ? 'critical' : 'warning',
        `${node.id}: disk ${pct(1 - free)} full`,
        `${fmtBytes(host.diskFreeBytes)} free`,
      );
    }
  }
  if (host.memTotalBytes > 0 && host.memAvailableBytes / host.memTotalBytes <= thresholds.memFreeWarnShare) {
    add('memory', 'warning', `${node.id}: memory low`, `${fmtBytes(host.memAvailableBytes)} available`);
  }
  if (chain) {
    const since = chain.validatorAddress ? firstSigned(node.chainId, chain.validatorAddress) : null;
    evaluateSigning(chain, thresholds, since, add);
  }
  return findings;
}

/**
 * Findings for every approved node, judged against its siblings on the same chain; a chain's halt is
 * listed with each node that follows the chain (one alert: the same key and node everywhere).
 */
export function findingsFor(
  nodes: readonly NodeRecord[],
  thresholds: HealthThresholds,
  reportIntervalMs: number,
  now: number,
  firstSigned: FirstSigned,
): Map<string, Finding[]> {
  const approved = nodes.filter((n) => n.status === 'approved');
  const byChain = new Map<string, NodeRecord[]>();
  for (const n of approved) {
    const members = byChain.get(n.chainId);
    if (members) members.push(n);
    else byChain.set(n.chainId, [n]);
  }
  const halts = new Map(
    [...byChain].map(([chainId, members]) => [
      chainId,
      chainHaltFinding(members, thresholds, reportIntervalMs, now),
    ]),
  );
  return new Map(
    approved.map((n) => {
      const siblings = byChain.get(n.chainId)!;
      const findings = evaluateHealth(n, siblings, thresholds, reportIntervalMs, now, firstSigned);
      const halt = halts.get(n.chainId);
      if (halt && follows(n, thresholds, reportIntervalMs, now)) findings.push(halt);
      return [n.id, findings];
    }),
  );
}

/** A node reporting now whose daemon runs synced: its latest block time says where the chain is. */
function follows(node: NodeRecord, t: HealthThresholds, reportIntervalMs: number, now: number): boolean {
  const daemon = node.lastReport?.daemon;
  return (
    node.lastSeen !== null &&
    now - node.lastSeen <= t.silentIntervals * reportIntervalMs &&
    daemon?.running === true &&
    daemon.catchingUp === false &&
    daemon.latestBlockTime !== null
  );
}

/**
 * The chain halted: every node of ours following it has seen no block for `chainHaltedMs`. One
 * finding for the chain (`chain:<chainId>:chain-halted`, on the first of those nodes by id). A node
 * alone without new blocks while its siblings move is behind, which height-lag reports. While a node
 * says it stopped for an upgrade, the finding names the upgrade (its own thread follows it).
 */
export function chainHaltFinding(
  nodes: readonly NodeRecord[],
  t: HealthThresholds,
  reportIntervalMs: number,
  now: number,
): Finding | null {
  const following = nodes
    .filter((n) => follows(n, t, reportIntervalMs, now))
    .sort((a, b) => a.id.localeCompare(b.id));
  const daemons = following.map((n) => n.lastReport!.daemon);
  const first = following[0];
  if (!first || daemons.some((d) => now - d.latestBlockTime! <= t.chainHaltedMs)) return null;
  const latest = Math.max(...daemons.map((d) => d.latestBlockTime!));
  const height = Math.max(...daemons.map((d) => d.height ?? 0));
  const upgrade = following.map((n) => n.lastReport!.upgrade?.halted).find((u) => u != null);
  const agree =
    following.length === 1
      ? `our only node following the chain (${first.id}) sees none`
      : `all ${following.length} of our nodes following the chain agree`;
  return {
    key: `chain:${first.chainId}:chain-halted`,
    kind: 'chain-halted',
    nodeId: first.id,
    chainId: first.chainId,
    severity: upgrade ? 'warning' : 'critical',
    title: upgrade
      ? `${first.chainId}: the chain halted for upgrade ${upgrade.name} at height ${upgrade.height}`
      : `${first.chainId}: the chain halted at height ${height}`,
    detail: `no block for ${fmtDuration(now - latest)}: ${agree}`,
  };
}

type Add = (
  kind: AlertKind,
  severity: FindingSeverity,
  title: string,
  detail: string,
  validator?: string,
) => void;

function evaluateSigning(
  chain: NonNullable<NodeRecord['lastReport']>['chain'] & object,
  t: HealthThresholds,
  firstSignedHeight: number | null,
  addFor: Add,
) {
  const address = chain.validatorAddress ?? undefined;
  const add = (kind: AlertKind, severity: FindingSeverity, title: string, detail: string) =>
    addFor(kind, severity, title, detail, address);
  const who = address ? `validator ${address.slice(0, 8)}` : 'validator';
  const info = chain.signingInfo;
  if (info?.tombstoned) add('tombstoned', 'critical', `${who} tombstoned`, 'the key can never sign again');
  else if (chain.validator?.jailed)
    add('jailed', 'critical', `${who} jailed`, jailDetail(info?.jailedUntil ?? null));
  else if (chain.validator && chain.validator.status !== 'bonded') {
    add('inactive', 'critical', `${who} out of the active set`, `status ${chain.validator.status}`);
  }

  const streak = missedStreak(chain.recentCommits, firstSignedHeight);
  if (streak >= t.missedBlocksWarn) {
    // Every commit carries more than 2/3 of the power: commits without us mean the network signs on
    // and we do not. A network that stops signing commits nothing: that is the chain's halt.
    const share = chain.networkSignedShare;
    const solo = share !== null && share >= t.soloMissNetworkShare;
    add(
      'missed-blocks',
      streak >= t.missedBlocksCritical || solo ? 'critical' : 'warning',
      `${who} missed ${streak} blocks in a row`,
      share === null
        ? 'network signing share unknown'
        : solo
          ? `while ${pct(share)} of the network signed: this miss is ours alone`
          : `${pct(share)} of the network signed the latest commit`,
    );
  }
  if (info?.signedBlocksWindow && info.minSignedPerWindow !== null) {
    const allowance = info.signedBlocksWindow * (1 - info.minSignedPerWindow);
    const used = allowance > 0 ? info.missedBlocksCounter / allowance : 0;
    if (used >= t.missedWindowWarnShare) {
      add(
        'missed-window',
        used >= t.missedWindowCriticalShare ? 'critical' : 'warning',
        `${who} used ${pct(used)} of its downtime allowance`,
        `${info.missedBlocksCounter} missed of ${Math.floor(allowance)} allowed in a ${info.signedBlocksWindow}-block window`,
      );
    }
  }
}

/**
 * Our latest commits without our signature, newest first, down to the first height the validator was
 * ever seen signing: a commit nobody of ours was meant to sign (genesis, before the first promotion)
 * is not a miss.
 */
export function missedStreak(
  commits: readonly { height: number; signed: boolean }[],
  firstSignedHeight: number | null,
): number {
  if (firstSignedHeight === null) return 0;
  let streak = 0;
  for (const commit of [...commits].sort((a, b) => b.height - a.height)) {
    if (commit.signed || commit.height < firstSignedHeight) break;
    streak += 1;
  }
  return streak;
}

function jailDetail(until: number | null): string {
  return until === null ? 'until unjailed' : `jailed until ${new Date(until).toISOString()}`;
}

function pct(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/** `42 s`, `12 min`, `3 h`: how long, for people. */
export function fmtDuration(ms: number): string {
  const s = Math.round(Math.max(0, ms) / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${Math.round(m / 60)} h`;
}

export function fmtAgo(ms: number): string {
  return `${fmtDuration(ms)} ago`;
}

function fmtBytes(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.round(bytes / 1e6)} MB`;
}
