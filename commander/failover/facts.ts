import type { Report, UpgradePlanFact } from '../../protocol/index.js';
import type { FailoverSettings } from './settings.js';
import type { FailoverState, NodeFacts, UpgradeRef } from './state.js';

/** Commits kept per node: enough for the largest N the settings allow. */
const KEPT_COMMITS = 20;

/** Whether a report is newer than what we have (by seq and by the pilot's own clock). */
export function isNewer(previous: NodeFacts | undefined, report: Report): boolean {
  return previous === undefined || (report.seq > previous.lastSeq && report.sentAt >= previous.lastSentAt);
}

/** Distils an accepted report into the facts failover decides on. */
export function distil(previous: NodeFacts | undefined, report: Report, now: number): NodeFacts {
  const height = report.daemon.height;
  const commits = (report.chain?.recentCommits ?? [])
    .map((c) => ({ height: c.height, signed: c.signed }))
    .sort((a, b) => a.height - b.height)
    .slice(-KEPT_COMMITS);
  const moved =
    previous === undefined || (height !== null && (previous.height === null || height > previous.height));
  return {
    nodeId: report.nodeId,
    role: report.role,
    lastSeq: report.seq,
    lastSentAt: report.sentAt,
    lastReportAt: now,
    running: report.daemon.running,
    rpcReachable: report.daemon.rpcReachable,
    height,
    latestBlockTime: report.daemon.latestBlockTime,
    catchingUp: report.daemon.catchingUp,
    peers: report.daemon.peers,
    heightChangedAt: moved ? now : previous.heightChangedAt,
    custody: report.custody
      ? {
          holdsValidatorKey: report.custody.holdsValidatorKey,
          highestEpoch: report.custody.highestEpoch,
          fenced: report.custody.fenced,
          markHeight: report.custody.signMark?.height ?? null,
          mode: report.custody.mode,
        }
      : null,
    commits,
    upgradePlan: upgradeRef(report.upgrade?.plan),
    upgradeHalted: upgradeRef(report.upgrade?.halted),
    // The pilot states the end in its own clock: what is left of the window counts from now here.
    maintenanceUntil: report.maintenance ? now + report.maintenance.until - report.sentAt : null,
    // Only a node that read the validator on chain has a say (sentries do not read it).
    ...(report.chain?.validator
      ? { validatorOut: report.chain.validator.jailed || report.chain.signingInfo?.tombstoned === true }
      : {}),
  };
}

function upgradeRef(plan: UpgradePlanFact | null | undefined): UpgradeRef | null {
  return plan ? { name: plan.name, height: plan.height } : null;
}

export function isFresh(n: NodeFacts | undefined, now: number, s: FailoverSettings): n is NodeFacts {
  return n !== undefined && now - n.lastReportAt <= s.silentAfterMs;
}

/** ` (last seen 12 s ago)` when a node's facts are older than a report interval; '' otherwise. */
export function seen(n: NodeFacts, now: number, s: FailoverSettings): string {
  const age = now - n.lastReportAt;
  return age > s.reportIntervalMs ? ` (last seen ${Math.round(age / 1000)} s ago)` : '';
}

/** Fresh report, daemon up and answering, height moving: this node sees a live chain. */
export function seesProgress(n: NodeFacts | undefined, now: number, s: FailoverSettings): n is NodeFacts {
  return (
    isFresh(n, now, s) &&
    n.running &&
    n.rpcReachable &&
    n.height !== null &&
    now - n.heightChangedAt <= s.chainHaltAfterMs
  );
}

/**
 * The chain halted, as far as our nodes can tell: at least one fresh node's daemon answers, and none
 * of them sees the height move. Nodes whose daemon is down or silent tell nothing about the chain.
 */
export function chainHalted(state: FailoverState, now: number, s: FailoverSettings): boolean {
  const watching = Object.values(state.nodes).filter(
    (n) => isFresh(n, now, s) && n.running && n.rpcReachable && n.height !== null,
  );
  return watching.length > 0 && !watching.some((n) => seesProgress(n, now, s));
}

/** The last N commits this node reports, if they are contiguous and reach its current height. */
function lastCommits(n: NodeFacts, count: number): NodeFacts['commits'] | null {
  const last = n.commits.slice(-count);
  if (last.length < count || n.height === null) return null;
  for (let i = 1; i < last.length; i++) if (last[i]!.height !== last[i - 1]!.height + 1) return null;
  // The newest commit a node can show is for the block before its latest (or the latest itself).
  if (last[last.length - 1]!.height < n.height - 2) return null;
  return last;
}

/** Chain evidence for promotion: live chain, and the validator absent from the last N commits. */
export function showsMissing(n: NodeFacts | undefined, now: number, s: FailoverSettings): boolean {
  if (!seesProgress(n, now, s)) return false;
  const last = lastCommits(n, s.missedCommitsForFailover);
  return last?.every((c) => !c.signed) ?? false;
}

/** The validator signed at least one of the last N commits this node, seeing a live chain, reports. */
export function showsSigning(n: NodeFacts | undefined, now: number, s: FailoverSettings): boolean {
  return seesProgress(n, now, s) && n.commits.slice(-s.missedCommitsForFailover).some((c) => c.signed);
}

/** Trailing commits without our signature, as this node sees them. */
export function trailingMissed(n: NodeFacts | undefined): number {
  let count = 0;
  for (const c of [...(n?.commits ?? [])].reverse()) {
    if (c.signed) break;
    count++;
  }
  return count;
}

/** Highest height any node has seen signed by the validator. */
export function lastSignedHeight(state: FailoverState): number | null {
  let best: number | null = null;
  for (const n of Object.values(state.nodes)) {
    for (const c of n.commits) if (c.signed && (best === null || c.height > best)) best = c.height;
  }
  return best;
}

/** Highest committed height any node knows: the promote's sign-state floor. */
export function highestKnownHeight(state: FailoverState): number {
  let best = 0;
  for (const n of Object.values(state.nodes)) {
    best = Math.max(best, n.height ?? 0, ...n.commits.map((c) => c.height));
  }
  return best;
}

/**
 * Signer mode: the promote's floor. The new signer signs nothing at or below it: above every height
 * any node has seen committed, the old signer's mark from its demote result, and every mark any
 * pilot has reported (a silent old signer's last known mark included).
 */
export function signerFloor(state: FailoverState, demotedMarkHeight: number | null | undefined): number {
  let floor = Math.max(highestKnownHeight(state), demotedMarkHeight ?? 0);
  for (const n of Object.values(state.nodes)) floor = Math.max(floor, n.custody?.markHeight ?? 0);
  return floor;
}

/** Fresh, running and holding the validator key: this node may be signing right now. */
export function runsWithKey(n: NodeFacts | undefined, now: number, s: FailoverSettings): boolean {
  return isFresh(n, now, s) && n.running && n.custody?.holdsValidatorKey === true;
}

/** Why the lease holder counts as failing, or null while it looks fine from here. */
export function holderFailure(state: FailoverState, now: number, s: FailoverSettings): string | null {
  const holder = state.lease.holder;
  if (holder === null) return null;
  const n = state.nodes[holder];
  if (n === undefined) return `no report from ${holder}`;
  if (now - n.lastReportAt > s.silentAfterMs)
    return `pilot on ${holder} silent for ${Math.round((now - n.lastReportAt) / 1000)} s`;
  const expired = now > state.lease.expiresAt ? `lease of ${holder} expired (not renewed)` : null;
  // Through an upgrade or a halt (and the start-up grace after it) a daemon may be down, restarting
  // or still through nobody's fault: only a silent pilot, or a lease it let lapse, counts.
  if (state.pause) return expired;
  if (!n.running) return `daemon on ${holder} is down${seen(n, now, s)}`;
  if (expired) return expired;
  // A daemon just given the lease (adopted or promoted) may still be loading its state: until the
  // lease is startupGraceMs old, only silence, a dead daemon or an expired lease count as failing.
  if (now - state.lease.grantedAt < s.startupGraceMs) return null;
  if (!n.rpcReachable) return `daemon RPC on ${holder} does not answer${seen(n, now, s)}`;
  // Stalled only behind a chain that moves on: when every node stands still, the chain does.
  if (now - n.heightChangedAt > s.chainHaltAfterMs && anyAbove(state, n.height, now, s))
    return `daemon on ${holder} is stalled at height ${n.height ?? 'unknown'}${seen(n, now, s)}`;
  return null;
}

/** Some fresh node reports a height above `height`. */
function anyAbove(state: FailoverState, height: number | null, now: number, s: FailoverSettings): boolean {
  return Object.values(state.nodes).some(
    (n) => isFresh(n, now, s) && n.height !== null && n.height > (height ?? -1),
  );
}

/** Whether the holder earns a renewal with this report. */
export function holderHealthy(state: FailoverState, n: NodeFacts, now: number, s: FailoverSettings): boolean {
  if (!n.running || !n.rpcReachable || n.custody?.holdsValidatorKey !== true) return false;
  if (n.commits.slice(-s.missedCommitsForFailover).some((c) => c.signed)) return true;
  const starting = now - state.lease.grantedAt < s.startupGraceMs;
  return starting && now - n.heightChangedAt <= s.chainHaltAfterMs;
}

/** The end of the node's maintenance window while it lasts; null otherwise. */
export function maintenanceUntil(n: NodeFacts | undefined, now: number): number | null {
  const until = n?.maintenanceUntil ?? null;
  return until !== null && until > now ? until : null;
}

/**
 * A validator node that could sign from now on: fresh, synced, seeing new blocks, and not in
 * maintenance (its operator may stop or swap its daemon at any moment).
 */
export function canTakeOver(n: NodeFacts | undefined, now: number, s: FailoverSettings): n is NodeFacts {
  return (
    n?.role === 'validator' &&
    seesProgress(n, now, s) &&
    n.catchingUp !== true &&
    maintenanceUntil(n, now) === null
  );
}

/** Standbys that could take over, best first: highest height, then most peers, then name. */
export function rankStandbys(state: FailoverState, now: number, s: FailoverSettings): string[] {
  return Object.values(state.nodes)
    .filter((n) => n.nodeId !== state.lease.holder && canTakeOver(n, now, s))
    .sort(
      (a, b) =>
        (b.height ?? 0) - (a.height ?? 0) ||
        (b.peers ?? 0) - (a.peers ?? 0) ||
        a.nodeId.localeCompare(b.nodeId),
    )
    .map((n) => n.nodeId);
}
