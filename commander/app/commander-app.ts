import { randomUUID } from 'node:crypto';
import type { DesiredConfig } from '../../protocol/index.js';
import { type AuditEntry, withRetry } from '../adapters/store/store.js';
import { alertSubject, renderAlert } from '../domain/alert-messages.js';
import { type AlertRecord, acknowledge, mute, unmute } from '../domain/alerts.js';
import { desiredConfig } from '../domain/node-config.js';
import { enrollmentSubject, renderEnrollment } from '../domain/node-messages.js';
import { type NodeRecord, queueAction } from '../domain/registry.js';
import { type Actor, type CommanderDeps, actorLabel } from './context.js';
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

  private async views(): Promise<NodeView[]> {
    const { settings } = this.deps;
    return nodeViews(
      await this.deps.store.listNodes(),
      settings.thresholds,
      settings.reportIntervalMs,
      this.deps.now(),
    );
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
      const alerts = (await this.deps.store.listAlerts())
        .map((a) => a.value)
        .filter((a) => a.nodeId === nodeId);
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
      if (status === 'approved') await this.deps.store.putSecretOnce(nodeId, newSecret());
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

  listAlerts(actor: Actor, options: { includeResolved?: boolean } = {}): Promise<AlertRecord[]> {
    return this.audited(actor, 'alerts', null, async () =>
      (await this.deps.store.listAlerts())
        .map((a) => a.value)
        .filter((a) => options.includeResolved || a.state === 'open'),
    );
  }

  /** Acknowledges an open alert: no more reminders; its message is updated in place. */
  ackAlert(actor: Actor, key: string): Promise<AlertRecord> {
    return this.audited(actor, 'ack', key, () =>
      this.changeAlert(key, (a) => {
        if (a.state !== 'open') throw new AppError('conflict', `alert ${key} is resolved`);
        return acknowledge(a, actorLabel(actor), this.deps.now());
      }),
    );
  }

  /** Silences an alert (even if it resolves and comes back) until `until`. */
  muteAlert(actor: Actor, key: string, until: number): Promise<AlertRecord> {
    return this.audited(
      actor,
      'mute',
      key,
      () => {
        if (until <= this.deps.now()) throw new AppError('invalid', 'the mute must end in the future');
        return this.changeAlert(key, (a) => mute(a, actorLabel(actor), until));
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
        const open = (await this.deps.store.listAlerts()).filter(
          (a) => a.value.nodeId === nodeId && a.value.state === 'open',
        );
        const muted: AlertRecord[] = [];
        for (const a of open)
          muted.push(await this.changeAlert(a.value.key, (x) => mute(x, actorLabel(actor), until)));
        return muted;
      },
      (muted) => `${muted.length} alerts until ${new Date(until).toISOString()}`,
    );
  }

  unmuteAlert(actor: Actor, key: string): Promise<AlertRecord> {
    return this.audited(actor, 'unmute', key, () => this.changeAlert(key, unmute));
  }

  private async changeAlert(key: string, change: (a: AlertRecord) => AlertRecord): Promise<AlertRecord> {
    const alert = await withRetry(async () => {
      const stored = await this.deps.store.getAlert(key);
      if (!stored) throw new AppError('not-found', `no alert ${key}`);
      const next = change(stored.value);
      await this.deps.store.putAlert(next, stored.version);
      return next;
    });
    await this.deps.chat.update(alertSubject(alert), renderAlert(alert, this.deps.now()));
    return alert;
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
    return this.audited(actor, 'status', null, async () => {
      const stored = await this.deps.store.listNodes();
      const views = await this.views();
      const byId = new Map(stored.map((n) => [n.value.id, n.value]));
      const chains = new Map<string, NodeView[]>();
      for (const v of views)
        if (v.status === 'approved') chains.set(v.chainId, [...(chains.get(v.chainId) ?? []), v]);
      const alerts = await this.deps.store.listAlerts();
      return {
        at: this.deps.now(),
        lastTickAt: await this.deps.store.getLastTickAt(),
        pending: views.filter((v) => v.status === 'pending').map((v) => v.id),
        openAlerts: alerts.filter((a) => a.value.state === 'open').length,
        chains: [...chains].map(([chainId, nodes]) => {
          const heights = nodes.map((n) => n.height).filter((h): h is number => h !== null);
          // The freshest validator view of our commits.
          const watcher = nodes
            .filter((n) => n.role === 'validator')
            .map((n) => byId.get(n.id)!)
            .filter((n) => n.lastReport?.chain)
            .sort((a, b) => (b.lastSeen ?? 0) - (a.lastSeen ?? 0))[0];
          const commits = watcher?.lastReport?.chain?.recentCommits ?? [];
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
    });
  }
}
