import type {
  Action,
  ActionResult,
  DesiredConfig,
  EnrollRequest,
  Report,
  Role,
} from '../../protocol/index.js';

export type NodeStatus = 'pending' | 'approved' | 'rejected';

/** The EC2 instance a node proved it runs on (a verified identity document), bound to its name for good. */
export interface NodeIdentity {
  kind: 'ec2';
  instanceId: string;
  accountId: string;
  region: string;
  /** The instance's launch as the document stated it (epoch ms). */
  pendingTime: number;
  verifiedAt: number;
}

/**
 * A maintenance window asked for in chat (`maintenance <node> <duration>`): kept on the node so its
 * alerts wait at once, before its pilot has the `maintenance` action (and after, whatever it reports).
 */
export interface MaintenanceWindow {
  /** Null when ended from chat (`maintenance <node> off`). */
  until: number | null;
  reason: string;
  /** Who asked (actor label). */
  by: string;
  at: number;
  /** The `maintenance` action that carries it to the pilot. */
  actionId: string;
  /** Whether the pilot's answer to that action was told in chat. */
  told: boolean;
}

/** The last report as kept on the node: results are dropped and proposal summaries cut to keep the item small. */
export type ReportSummary = Omit<Report, 'results'>;

/** Everything the commander knows about one node; pure data, persisted as the node item. */
export interface NodeRecord {
  id: string;
  chainId: string;
  role: Role;
  status: NodeStatus;
  /** sha256 of the pilot's enrollment claim, hex; the claim itself is never stored. */
  claimHash: string;
  cometNodeId: string | null;
  p2pAddress: string | null;
  /** The verified instance when `identity` is set; otherwise only what the pilot claimed. */
  instanceId: string | null;
  /** Present only when the enrollment proved its instance; absent on items written before proofs. */
  identity?: NodeIdentity | null;
  /**
   * A sentry's public `host:port` (its Elastic IP after a rotation), advertised as `external_address`;
   * absent until sentry defence sets one, and the p2p address is advertised instead.
   */
  publicAddress?: string | null;
  pilotVersion: string;
  enrolledAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
  /** Highest accepted report seq; 0 until the first report (the secret is collectable only then). */
  lastSeq: number;
  lastSeen: number | null;
  reportCount: number;
  lastReport: ReportSummary | null;
  /** Actions queued for the pilot, re-sent on every reply until a report carries their result. */
  actions: Action[];
  recentResults: ActionResult[];
  /** The generated config the pilot should converge to. */
  desiredConfig: DesiredConfig | null;
  /** The last maintenance window asked for in chat; absent on items written before there were any. */
  maintenance?: MaintenanceWindow | null;
}

/**
 * Until when a node is in maintenance: the window asked for in chat or the one its pilot reports (set
 * there by its operator, or confirmed), whichever lasts longer; null when neither is running now.
 */
export function maintenanceUntil(node: NodeRecord, now: number): number | null {
  // Node items written before reports carried maintenance have no such field at all.
  const reported = node.lastReport?.maintenance ?? null;
  // The pilot states the end in its own clock: what was left of it when the report came counts here.
  const reportedEnd =
    reported && node.lastSeen !== null ? node.lastSeen + reported.until - node.lastReport!.sentAt : null;
  const ends = [node.maintenance?.until ?? null, reportedEnd].filter(
    (until): until is number => until !== null && until > now,
  );
  return ends.length ? Math.max(...ends) : null;
}

export const MAX_PENDING_ACTIONS = 50;
const RECENT_RESULTS = 20;

export interface AutoApprovePolicy {
  /**
   * Roles approved at enrollment without a person, typically `['sentry']` for autoscaled sentries,
   * and only when the enrollment proved its instance. Validators never are.
   */
  roles: Role[];
}

export type EnrollDecision =
  | { kind: 'created'; node: NodeRecord; autoApproved: boolean }
  | { kind: 'unchanged'; node: NodeRecord }
  | { kind: 'claim-mismatch' };

/**
 * Enrollment of a name: a new node, a repeated poll by the same claimant, or a name taken by another.
 * `identity` is the instance the request proved (null: it proved none, whatever it claims).
 */
export function decideEnrollment(
  existing: NodeRecord | null,
  request: EnrollRequest,
  claimHash: string,
  policy: AutoApprovePolicy,
  now: number,
  identity: NodeIdentity | null = null,
): EnrollDecision {
  if (existing) {
    return existing.claimHash === claimHash
      ? { kind: 'unchanged', node: existing }
      : { kind: 'claim-mismatch' };
  }
  // The fleet token is no proof of anything: it sits on every internet-facing sentry.
  const autoApproved =
    identity !== null && request.role !== 'validator' && policy.roles.includes(request.role);
  return {
    kind: 'created',
    autoApproved,
    node: {
      id: request.name,
      chainId: request.chainId,
      role: request.role,
      status: autoApproved ? 'approved' : 'pending',
      claimHash,
      cometNodeId: request.cometNodeId,
      p2pAddress: request.p2pAddress,
      instanceId: identity?.instanceId ?? request.instanceId,
      identity,
      pilotVersion: request.pilotVersion,
      enrolledAt: now,
      decidedAt: autoApproved ? now : null,
      decidedBy: autoApproved ? 'auto-approve policy' : null,
      lastSeq: 0,
      lastSeen: null,
      reportCount: 0,
      lastReport: null,
      actions: [],
      recentResults: [],
      desiredConfig: null,
    },
  };
}

/** A node's secret may be collected only by its claimant, once approved and before its first report. */
export function secretCollectable(node: NodeRecord): boolean {
  return node.status === 'approved' && node.lastSeq === 0;
}

export function summarizeReport(report: Report): ReportSummary {
  const { results: _results, ...rest } = report;
  if (!rest.chain) return rest;
  return {
    ...rest,
    chain: {
      ...rest.chain,
      // Governance messages show the start of a summary; the full text stays on chain and the explorer.
      proposals: rest.chain.proposals.map((p) => ({ ...p, summary: p.summary.slice(0, 500) })),
    },
  };
}

/** Folds an accepted report into the node: facts, seq, and results that retire queued actions. */
export function applyReport(
  node: NodeRecord,
  report: Report,
  now: number,
): { node: NodeRecord; acked: string[] } {
  const resultIds = new Set(report.results.map((r) => r.id));
  const known = new Set(node.recentResults.map((r) => r.id));
  const fresh = report.results.filter((r) => !known.has(r.id));
  return {
    acked: [...resultIds],
    node: {
      ...node,
      role: report.role,
      pilotVersion: report.pilotVersion,
      cometNodeId: report.daemon.cometNodeId ?? node.cometNodeId,
      lastSeq: report.seq,
      lastSeen: now,
      reportCount: node.reportCount + 1,
      lastReport: summarizeReport(report),
      actions: node.actions.filter((a) => !resultIds.has(a.id)),
      recentResults: [...node.recentResults, ...fresh].slice(-RECENT_RESULTS),
    },
  };
}

export class ActionQueueFull extends Error {}

/** Queues an action unless one of the same id is already queued. */
export function queueAction(node: NodeRecord, action: Action): NodeRecord {
  if (node.actions.some((a) => a.id === action.id)) return node;
  if (node.actions.length >= MAX_PENDING_ACTIONS) {
    throw new ActionQueueFull(`node ${node.id} already has ${MAX_PENDING_ACTIONS} actions waiting`);
  }
  return { ...node, actions: [...node.actions, action] };
}

/** The operator (valoper) address of a validator, by consensus address, as the nodes watching it report. */
export function operatorOf(nodes: readonly NodeRecord[], validator: string): string | null {
  for (const n of nodes) {
    const chain = n.lastReport?.chain;
    if (chain?.validatorAddress === validator && chain.operatorAddress) return chain.operatorAddress;
  }
  return null;
}
