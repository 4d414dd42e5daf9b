import { randomUUID } from 'node:crypto';
import type { DesiredConfig } from '../../protocol/index.js';
import { type AuditEntry, withRetry } from '../adapters/store/store.js';
import { type AlertRecord, acknowledge, fired, mute, unmute } from '../alerting/alerts.js';
import { desiredConfig } from '../domain/node-config.js';
import { enrollmentSubject, renderEnrollment } from '../domain/node-messages.js';
import { type NodeRecord, queueAction } from '../domain/registry.js';
import { changeAlerts, firstSignedOf, listAlerts, loadAlertingState } from './alerting.js';
import { type Actor, type CommanderDeps, actorLabel } from './context.js';
import { tagProvenSentry } from './enroll-identity.js';
import { type NodeView, nodeViews } from './fleet-view.js';
import { newSecret } from './pilot-api.js';

/** A refused operation; `code` lets chat and the CLI phrase it (not found, conflict, bad input). */
export class AppError extends Error {
  constructor(
    readonly code: 'not-found' | 'conflict' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

export interface NodeDetail extends NodeView {
  enrolledAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
  cometNodeId: string | null;
  p2pAddress: string | null;
  instanceId: string | null;
  queuedActions: { id: string; type: string; issuedAt: number }[];
  recentResults: NodeRecord['recentResults'];
  alerts: AlertRecord[];
}

export interface ChainStatus {
  chainId: string;
  bestHeight: number | null;
  /** The node whose daemon holds the validator key, if any reports so. */
  signer: string | null;
  /** Commits without our signature among the latest ones a validator node saw. */
  recentMissed: number;
  recentCommits: number;
  nodes: NodeView[];
}

export interface FleetStatus {
  at: number;
  lastTickAt: number | null;
  chains: ChainStatus[];
  pending: string[];
  openAlerts: number;
}

/**
 * The operations people run (from chat or the CLI). Each takes the actor and writes an audit entry,
 * including refusals.
 */
export class CommanderApp {
  constructor(private readonly deps: CommanderDeps) {}

  private async audited<T>(
    actor: Actor,
    action: string,
    target: string | null,
    run: () => Promise<T>,
    detail?: (r: T) => string | null,
  ): Promise<T> {
    const entry = (outcome: AuditEntry['outcome'], d: string | null): AuditEntry => ({
      at: this.deps.now(),
      actor: actorLabel(actor),
      action,
      target,
      outcome,
      detail: d,
    });
    try {
      const result = await run();
      await this.deps.store.appendAudit(entry('ok', detail ? detail(result) : null));
      return result;
    } catch (error) {
      await this.deps.store.appendAudit(
        entry(error instanceof AppError ? 'denied' : 'failed', (error as Error).message),
      );
      throw error;
    }
  }

  private views(): Promise<NodeView[]> {
    return views(this.deps);
  }

  private async mustGetNode(nodeId: string) {
    const node = await this.deps.store.getNode(nodeId);
    if (!node) throw new AppError('not-found', `no node named ${nodeId}`);
    return node;
  }

  listNodes(actor: Actor, filter: { chainId?: string } = {}): Promise<NodeView[]> {
    return this.audited(actor, 'nodes', filter.chainId ?? null, async () =>
      (await this.views()).filter((v) => !filter.chainId || v.chainId === filter.chainId),
    );
  }

  nodeDetail(actor: Actor, nodeId: string): Promise<NodeDetail> {
    return this.audited(actor, 'node', nodeId, async () => {
      const node = (await this.mustGetNode(nodeId)).value;
      const view = (await this.views()).find((v) => v.id === nodeId)!;
      const alerts = (await listAlerts(this.deps))
        .map((a) => a.value)
        .filter((a) => a.nodeId === nodeId && fired(a));
      return {
        ...view,
        enrolledAt: node.enrolledAt,
        decidedAt: node.decidedAt,
        decidedBy: node.decidedBy,
        cometNodeId: node.cometNodeId,
        p2pAddress: node.p2pAddress,
        instanceId: node.instanceId,
        queuedActions: node.actions.map((a) => ({ id: a.id, type: a.type, issuedAt: a.issuedAt })),
        recentResults: node.recentResults,
        alerts,
      };
    });
  }

  /** Approves a pending node: its secret is created, and its pilot collects it on the next enroll poll. */
  approveNode(actor: Actor, nodeId: string): Promise<NodeView> {
    return this.audited(actor, 'approve', nodeId, () => this.decide(actor, nodeId, 'approved'));
  }

  rejectNode(actor: Actor, nodeId: string): Promise<NodeView> {
    return this.audited(actor, 'reject', nodeId, () => this.decide(actor, nodeId, 'rejected'));
  }

  private async decide(actor: Actor, nodeId: string, status: 'approved' | 'rejected'): Promise<NodeView> {
    const decided = await withRetry(async () => {
      const stored = await this.mustGetNode(nodeId);
      if (stored.value.status !== 'pending') {
        throw new AppError('conflict', `node ${nodeId} is ${stored.value.status}, not pending`);
      }
      if (status === 'approved') {
        await tagProvenSentry(this.deps, stored.value);
        await this.deps.store.putSecretOnce(nodeId, newSecret());
      }
      const next: NodeRecord = {
        ...stored.value,
        status,
        decidedAt: this.deps.now(),
        decidedBy: actorLabel(actor),
      };
      await this.deps.store.putNode(next, stored.version);
      return next;
    });
    await this.deps.chat.update(enrollmentSubject(nodeId), renderEnrollment(decided));
    return (await this.views()).find((v) => v.id === nodeId)!;
  }

  /**
   * Removes a node: its record, secret and queued actions go, its pilot can no longer report, and
   * its name is free to enroll again (how an admin frees a squatted name or re-enrolls a node).
   */
  removeNode(actor: Actor, nodeId: string): Promise<NodeRecord> {
    return this.audited(
      actor,
      'remove',
      nodeId,
      async () => {
        const removed = await this.deps.store.retireNode(nodeId);
        if (!removed) throw new AppError('not-found', `no node named ${nodeId}`);
        return removed;
      },
      (n) => `${n.role} ${n.status}, ${n.actions.length} queued action(s) dropped`,
    );
  }

  /** Alerts that fired (pending conditions are not alerts yet): open ones, and resolved ones if asked. */
  listAlerts(actor: Actor, options: { includeResolved?: boolean } = {}): Promise<AlertRecord[]> {
    return this.audited(actor, 'alerts', null, async () =>
      (await listAlerts(this.deps))
        .map((a) => a.value)
        .filter((a) => fired(a) && (options.includeResolved || a.state === 'open')),
    );
  }

  /**
   * Acknowledges an open alert, or every open alert of a group (`group:…`): no more reminders, the
   * page is acknowledged too, and the group's message is edited in place.
   */
  ackAlert(actor: Actor, target: string): Promise<AlertRecord[]> {
    return this.audited(actor, 'ack', target, async () => {
      const by = actorLabel(actor);
      const now = this.deps.now();
      const { matched, changed } = await changeAlerts(this.deps, target, (a) =>
        a.state === 'open' && a.acknowledgedBy === null ? acknowledge(a, by, now) : a,
      );
      if (matched.length === 0) throw new AppError('not-found', `no alert ${target}`);
      if (!matched.some((a) => a.state === 'open'))
        throw new AppError('conflict', `alert ${target} is resolved`);
      return changed;
    });
  }

  /** Silences an alert or a group (even if it resolves and comes back) until `until`. */
  muteAlert(actor: Actor, target: string, until: number): Promise<AlertRecord[]> {
    return this.audited(
      actor,
      'mute',
      target,
      async () => {
        if (until <= this.deps.now()) throw new AppError('invalid', 'the mute must end in the future');
        const { matched, changed } = await changeAlerts(this.deps, target, (a) =>
          mute(a, actorLabel(actor), until),
        );
        if (matched.length === 0) throw new AppError('not-found', `no alert ${target}`);
        return changed;
      },
      () => `until ${new Date(until).toISOString()}`,
    );
  }

  /** Mutes every open alert of a node until `until`. */
  muteNodeAlerts(actor: Actor, nodeId: string, until: number): Promise<AlertRecord[]> {
    return this.audited(
      actor,
      'mute',
      nodeId,
      async () => {
        if (until <= this.deps.now()) throw new AppError('invalid', 'the mute must end in the future');
        await this.mustGetNode(nodeId);
        const open = (await listAlerts(this.deps)).filter(
          (a) => a.value.nodeId === nodeId && a.value.state === 'open',
        );
        const muted: AlertRecord[] = [];
        for (const a of open) {
          const { changed } = await changeAlerts(this.deps, a.value.key, (x) =>
            x.state === 'open' ? mute(x, actorLabel(actor), until) : x,
          );
          muted.push(...changed);
        }
        return muted;
      },
      (muted) => `${muted.length} alerts until ${new Date(until).toISOString()}`,
    );
  }

  unmuteAlert(actor: Actor, target: string): Promise<AlertRecord[]> {
    return this.audited(actor, 'unmute', target, async () => {
      const { matched, changed } = await changeAlerts(this.deps, target, unmute);
      if (matched.length === 0) throw new AppError('not-found', `no alert ${target}`);
      return changed;
    });
  }

  /** Queues a daemon restart; the pilot gets it with its next report reply. Returns the action id. */
  queueRestart(actor: Actor, nodeId: string): Promise<string> {
    return this.audited(
      actor,
      'restart',
      nodeId,
      () =>
        withRetry(async () => {
          const stored = await this.mustGetNode(nodeId);
          if (stored.value.status !== 'approved')
            throw new AppError('conflict', `node ${nodeId} is not approved`);
          const id = `restart-${randomUUID()}`;
          const next = queueAction(stored.value, { id, type: 'restart-daemon', issuedAt: this.deps.now() });
          await this.deps.store.putNode(next, stored.version);
          return id;
        }),
      (id) => id,
    );
  }

  /** The config Beam generates for a node from the current registry (what the next tick converges to). */
  nodeConfig(actor: Actor, nodeId: string): Promise<DesiredConfig> {
    return this.audited(actor, 'config', nodeId, async () => {
      const node = (await this.mustGetNode(nodeId)).value;
      return desiredConfig(
        node,
        (await this.deps.store.listNodes()).map((n) => n.value),
      );
    });
  }

  listAudit(actor: Actor, limit = 20): Promise<AuditEntry[]> {
    return this.audited(actor, 'audit', null, () =>
      this.deps.store.listAudit(Math.max(1, Math.min(limit, 500))),
    );
  }

  fleetStatus(actor: Actor): Promise<FleetStatus> {
    return this.audited(actor, 'status', null, () => computeFleetStatus(this.deps));
  }
}

/** Every node as people see it, misses judged with the genesis grace. */
async function views(deps: CommanderDeps): Promise<NodeView[]> {
  const [nodes, alerting] = await Promise.all([deps.store.listNodes(), loadAlertingState(deps)]);
  const { settings } = deps;
  return nodeViews(
    nodes,
    settings.thresholds,
    settings.reportIntervalMs,
    deps.now(),
    firstSignedOf(alerting.state),
  );
}

/** The fleet's status now (unaudited: the pinned status message reads it every tick). */
export async function computeFleetStatus(deps: CommanderDeps): Promise<FleetStatus> {
  const [stored, alerting, alerts] = await Promise.all([
    deps.store.listNodes(),
    loadAlertingState(deps),
    listAlerts(deps),
  ]);
  const firstSigned = firstSignedOf(alerting.state);
  const { settings } = deps;
  const all = nodeViews(stored, settings.thresholds, settings.reportIntervalMs, deps.now(), firstSigned);
  const byId = new Map(stored.map((n) => [n.value.id, n.value]));
  const chains = new Map<string, NodeView[]>();
  for (const v of all)
    if (v.status === 'approved') chains.set(v.chainId, [...(chains.get(v.chainId) ?? []), v]);
  return {
    at: deps.now(),
    lastTickAt: await deps.store.getLastTickAt(),
    pending: all.filter((v) => v.status === 'pending').map((v) => v.id),
    openAlerts: alerts.filter((a) => a.value.state === 'open').length,
    chains: [...chains].map(([chainId, nodes]) => {
      const heights = nodes.map((n) => n.height).filter((h): h is number => h !== null);
      // The freshest validator view of our commits.
      const watcher = nodes
        .filter((n) => n.role === 'validator')
        .map((n) => byId.get(n.id)!)
        .filter((n) => n.lastReport?.chain)
        .sort((a, b) => (b.lastSeen ?? 0) - (a.lastSeen ?? 0))[0];
      const chain = watcher?.lastReport?.chain;
      const recent = chain?.recentCommits ?? [];
      const signedNow = recent.filter((c) => c.signed).map((c) => c.height);
      const since =
        (chain?.validatorAddress ? firstSigned(chainId, chain.validatorAddress) : null) ??
        (signedNow.length > 0 ? Math.min(...signedNow) : null);
      // Commits before the validator ever signed (genesis, before the first promotion) count for nothing.
      const commits = since === null ? [] : recent.filter((c) => c.height >= since);
      return {
        chainId,
        bestHeight: heights.length ? Math.max(...heights) : null,
        signer: nodes.find((n) => n.signing)?.id ?? null,
        recentMissed: commits.filter((c) => !c.signed).length,
        recentCommits: commits.length,
        nodes,
      };
    }),
  };
}
