/**
 * State sync of new nodes (a replaced sentry boots with an empty block store): pure decisions over
 * the registry. A node whose report says `awaiting-state-sync` gets one `state-sync` action with a
 * trust taken from the fleet's own healthy nodes of its chain: their RPC (`daemon.state_sync_rpc_url`)
 * as the light client's servers (those that take snapshots first), the lowest latest block among them
 * (height and hash, which every one of them holds) as the trust, and the nodes that take snapshots as
 * the p2p peers to restore from. What stops it is a finding, told once by the tick's alerts; the node's health alerts wait
 * while it waits and syncs.
 */
import type { Action, DaemonFacts } from '../../protocol/index.js';
import type { Hold } from '../alerting/holds.js';
import type { AlertKind } from '../alerting/kinds.js';
import type { Finding } from '../domain/health.js';
import { peerAddressOf } from '../domain/node-config.js';
import type { NodeRecord } from '../domain/registry.js';
import type { SentrySettings } from './settings.js';

export type StateSyncAction = Extract<Action, { type: 'state-sync' }>;

/** A primary and witnesses: CometBFT checks the trust against each, so a few are enough. */
const MAX_SERVERS = 3;
/** Snapshot peers one action lists: a few let chunks come from several. */
const MAX_PEERS = 5;

export interface StateSyncPlan {
  /** The action to queue now (none queued, no retry pending). */
  action?: StateSyncAction;
  /** What the action rests on, for the audit log. */
  detail?: string;
  /** Why the node cannot be state-synced now, as a finding's detail. */
  problem?: string;
}

type StateSyncSettings = Pick<SentrySettings, 'freshReportMs' | 'stateSyncTrustPeriod' | 'stateSyncRetryMs'>;

const bootstrapOf = (node: NodeRecord) => node.lastReport?.bootstrap ?? null;
const awaiting = (node: NodeRecord) => bootstrapOf(node)?.state === 'awaiting-state-sync';
const fresh = (node: NodeRecord, now: number, s: StateSyncSettings) =>
  node.lastSeen !== null && now - node.lastSeen <= s.freshReportMs;

/** A node whose facts can be trusted now: approved, reporting, its daemon up, synced and past genesis. */
function following(node: NodeRecord, now: number, s: StateSyncSettings): DaemonFacts | null {
  const daemon = node.lastReport?.daemon;
  const syncing = bootstrapOf(node)?.state;
  const up =
    node.status === 'approved' &&
    fresh(node, now, s) &&
    daemon?.running === true &&
    daemon.rpcReachable &&
    daemon.catchingUp === false &&
    (daemon.height ?? 0) > 0 &&
    syncing !== 'awaiting-state-sync' &&
    syncing !== 'syncing';
  return up ? daemon : null;
}

/** The node's latest state-sync result (by when it finished), or null. */
function lastResult(node: NodeRecord) {
  const results = node.recentResults.filter((r) => r.type === 'state-sync');
  return results.sort((a, b) => b.finishedAt - a.finishedAt)[0] ?? null;
}

const list = (nodes: readonly NodeRecord[]) => nodes.map((n) => n.id).join(', ') || 'none';

/** What to do for `node` now: nothing (empty plan), an action to queue, or the problem stopping it. */
export function planStateSync(
  node: NodeRecord,
  nodes: readonly NodeRecord[],
  now: number,
  s: StateSyncSettings,
): StateSyncPlan {
  if (node.status !== 'approved' || !awaiting(node) || !fresh(node, now, s)) return {};
  const plan: StateSyncPlan = {};
  const last = lastResult(node);
  // The report still says it waits after its pilot answered: it refused or failed the action.
  if (last && !last.ok)
    plan.problem = `its pilot did not take the state-sync action: ${last.message ?? 'failed'}`;
  const queued = node.actions.some((a) => a.type === 'state-sync');
  const retryDue = last === null || now - last.finishedAt >= s.stateSyncRetryMs;
  if (queued || !retryDue) return plan;

  const chain = node.chainId;
  const healthy = nodes
    .filter((n) => n.id !== node.id && n.chainId === chain)
    .flatMap((n) => {
      const daemon = following(n, now, s);
      return daemon ? [{ node: n, daemon, height: daemon.height as number }] : [];
    })
    .sort((a, b) => b.height - a.height || (a.node.id < b.node.id ? -1 : 1));
  if (healthy.length === 0) {
    return {
      problem: `no healthy node of ${chain} to take a trust height and hash from (a fresh report, its daemon up and synced)`,
    };
  }
  const seen = new Set<string>();
  const servers = healthy
    .filter(({ daemon }) => {
      const url = daemon.stateSyncRpcUrl;
      if (!url || seen.has(url)) return false;
      seen.add(url);
      return true;
    })
    .slice(0, MAX_SERVERS);
  if (servers.length < 2) {
    return {
      problem: `state sync needs two RPC servers and ${servers.length} healthy node(s) of ${chain} serve one (${list(servers.map((x) => x.node))}): set daemon.state_sync_rpc_url in the pilot config of at least two validators or sentries (the URL the others reach its RPC at)`,
    };
  }
  // The lowest latest block among the servers: every one of them holds it, so each can vouch for it.
  const trust = servers.filter(({ daemon }) => daemon.latestBlockHash).at(-1);
  if (!trust) {
    return {
      problem: `none of ${list(servers.map((x) => x.node))} reports its latest block hash: upgrade their pilots`,
    };
  }
  const snapshotters = healthy.filter(({ daemon }) => (daemon.snapshotInterval ?? 0) > 0);
  const peers = snapshotters
    .map(({ node: n }) => peerAddressOf(n))
    .filter((p): p is string => p !== null)
    .slice(0, MAX_PEERS);
  // The first server that answers is the light client's primary, which also serves the headers
  // above the snapshot it restores: a node that takes snapshots keeps the blocks they need.
  const ordered = [
    ...servers.filter(({ daemon }) => (daemon.snapshotInterval ?? 0) > 0),
    ...servers.filter(({ daemon }) => !((daemon.snapshotInterval ?? 0) > 0)),
  ];
  const action: StateSyncAction = {
    id: `state-sync-${node.id}-${now}`,
    type: 'state-sync',
    issuedAt: now,
    rpcServers: ordered.map(({ daemon }) => daemon.stateSyncRpcUrl as string),
    trustHeight: trust.height,
    trustHash: trust.daemon.latestBlockHash as string,
    trustPeriod: s.stateSyncTrustPeriod,
    peers,
  };
  const from =
    peers.length > 0
      ? `snapshots from ${list(snapshotters.map((x) => x.node))}`
      : 'no node of the fleet takes snapshots (app.toml snapshot-interval): the daemon needs peers of its own that do';
  return {
    ...plan,
    action,
    detail: `trust height ${trust.height} (${action.trustHash.slice(0, 12)}…) from ${trust.node.id}; RPC servers ${list(ordered.map((x) => x.node))}; ${from}`,
  };
}

export const STATE_SYNC_BLOCKED: AlertKind = 'state-sync-blocked';

export function stateSyncFinding(node: NodeRecord, problem: string): Finding {
  return {
    key: `node:${node.id}:${STATE_SYNC_BLOCKED}`,
    kind: STATE_SYNC_BLOCKED,
    nodeId: node.id,
    chainId: node.chainId,
    severity: 'warning',
    title: `${node.id} cannot state-sync`,
    detail: `${node.id} started with an empty block store and waits: ${problem}.`,
  };
}

/** While it waits the pilot keeps the daemon down on purpose; while it syncs it catches up. */
const WAITING: readonly AlertKind[] = [
  'daemon-down',
  'rpc-unreachable',
  'catching-up',
  'height-lag',
  'low-peers',
];
const SYNCING: readonly AlertKind[] = ['rpc-unreachable', 'catching-up', 'height-lag', 'low-peers'];

/**
 * The health alerts a node's state sync makes expected, for `stateSyncHoldMs` from when it started
 * waiting. A daemon that crashes while it syncs stays news (`daemon-down`), as do disk and memory.
 */
export function bootstrapHolds(
  nodes: readonly NodeRecord[],
  now: number,
  s: Pick<SentrySettings, 'stateSyncHoldMs'>,
): Hold[] {
  return nodes.flatMap((n) => {
    const b = bootstrapOf(n);
    if (!b || b.state === 'synced' || n.lastSeen === null || !n.lastReport) return [];
    // The pilot's clock: its wait began this long before its report was sent.
    const since = n.lastSeen - (n.lastReport.sentAt - b.since);
    if (now - since > s.stateSyncHoldMs) return [];
    return [
      {
        by: `state-sync:${n.id}`,
        chainId: n.chainId,
        nodeId: n.id,
        kinds: b.state === 'awaiting-state-sync' ? WAITING : SYNCING,
      },
    ];
  });
}
