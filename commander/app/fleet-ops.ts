/**
 * FleetOps for chatops: the commander's application API (CommanderApp) and its operation modules
 * (failover, sentry defence, governance) seen through the chat port. Pure translation: chat actors
 * become application actors, application errors become refusals the chat can show.
 */
import type { DesiredConfig, VoteOption } from '../../protocol/index.js';
import type {
  Actor as ChatActor,
  BondPreview,
  FleetOps,
  FleetStatus,
  NodeConfigView,
  NodeDetail,
  NodeSummary,
  OperationResult,
  PolicyEntry,
  ProposalView,
} from '../chatops/ports.js';
import { nodeSummary, toChatStatus } from './chat-status.js';
import { AppError, CommanderApp } from './commander-app.js';
import type { Actor, CommanderDeps } from './context.js';
import { rotateEnrollmentToken } from './enrollment-token.js';
import * as failoverOps from './failover-ops.js';
import * as governanceOps from './governance-ops.js';
import { setMaintenance } from './maintenance-ops.js';
import * as sentryOps from './sentry-ops.js';
import { pinStatus, unpinStatus } from './status-pin.js';
import { requestUnjail } from './unjail-ops.js';
import { requestUpgrade } from './upgrade-ops.js';

/** One validator's signing lease as the failover module sees it. */
export interface FailoverOverview {
  chainId: string;
  validator: string;
  holder: string | null;
  epoch: number;
  mode: 'confirm' | 'auto';
}

/** The failover module's operations (commander/app/failover-ops.ts). */
export interface FailoverModule {
  requestFailover(deps: CommanderDeps, request: { to?: string; actor: Actor }): Promise<OperationResult>;
  requestSwitchover(deps: CommanderDeps, request: { to?: string; actor: Actor }): Promise<OperationResult>;
  answerFailover(
    deps: CommanderDeps,
    request: { opId: string; confirm: boolean; actor: Actor },
  ): Promise<OperationResult>;
  failoverOverview(deps: CommanderDeps): Promise<FailoverOverview[]>;
}

/** The sentry defence module's operations (commander/app/sentry-ops.ts). */
export interface SentryModule {
  requestRotation(deps: CommanderDeps, request: { sentry: string; actor: Actor }): Promise<OperationResult>;
  requestReplacement(
    deps: CommanderDeps,
    request: { sentry: string; actor: Actor },
  ): Promise<OperationResult>;
}

/** The governance and staking module's operations (commander/app/governance-ops.ts). */
export interface GovernanceModule {
  listProposals(deps: CommanderDeps): Promise<ProposalView[]>;
  recordVote(
    deps: CommanderDeps,
    request: { proposalId: string; option: VoteOption; memo?: string; actor: Actor },
  ): Promise<OperationResult>;
  holdAutoVote(deps: CommanderDeps, request: { proposalId: string; actor: Actor }): Promise<OperationResult>;
  bondPreview(deps: CommanderDeps): Promise<BondPreview>;
  bondNow(deps: CommanderDeps, request: { actor: Actor }): Promise<OperationResult>;
  governancePolicy(deps: CommanderDeps): Promise<PolicyEntry[]>;
  setGovernancePolicy(
    deps: CommanderDeps,
    request: { key: string; value: string; actor: Actor },
  ): Promise<OperationResult>;
}

export interface OperationModules {
  failover?: FailoverModule;
  sentry?: SentryModule;
  governance?: GovernanceModule;
}

/** The commander's operation modules as they exist in this build. */
export const DEFAULT_MODULES: OperationModules = {
  failover: failoverOps,
  sentry: sentryOps,
  governance: governanceOps,
};

/** A chat user as the application's audit names them. */
export function appActor(actor: ChatActor): Actor {
  return { kind: actor.platform, id: actor.userId, ...(actor.name ? { name: actor.name } : {}) };
}

const unavailable = (what: string): OperationResult => ({
  accepted: false,
  summary: `${what} is not available in this commander build.`,
});

/** Application refusals (not found, conflict, bad input) are answers, not failures. */
async function refusalsAsResults(run: () => Promise<OperationResult>): Promise<OperationResult> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AppError) return { accepted: false, summary: error.message };
    throw error;
  }
}

/** The config.toml keys a patch sets, as `section.key` → shown value. */
export function flattenPatch(config: DesiredConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [section, keys] of Object.entries(config.patch)) {
    for (const [key, value] of Object.entries(keys ?? {})) {
      out[`${section}.${key}`] = Array.isArray(value) ? value.join(',') : String(value);
    }
  }
  return out;
}

export class CommanderFleetOps implements FleetOps {
  private readonly app: CommanderApp;

  constructor(
    private readonly deps: CommanderDeps,
    private readonly modules: OperationModules = DEFAULT_MODULES,
  ) {
    this.app = new CommanderApp(deps);
  }

  private clock() {
    return { now: this.deps.now(), reportIntervalMs: this.deps.settings.reportIntervalMs };
  }

  private async overview(): Promise<FailoverOverview[]> {
    return this.modules.failover ? this.modules.failover.failoverOverview(this.deps) : [];
  }

  async fleetStatus(): Promise<FleetStatus> {
    const status = await this.app.fleetStatus({ kind: 'system', id: 'chatops' });
    return toChatStatus(status, await this.overview(), this.deps.settings.reportIntervalMs);
  }

  pinStatus(request: { status: FleetStatus; by: ChatActor }): Promise<{ subject: string; pinnedBy: string }> {
    return pinStatus(this.deps, appActor(request.by), request.status);
  }

  unpinStatus(request: { by: ChatActor }): Promise<OperationResult> {
    return unpinStatus(this.deps, appActor(request.by));
  }

  async listNodes(): Promise<NodeSummary[]> {
    const holders = new Set((await this.overview()).map((o) => o.holder).filter(Boolean));
    const views = await this.app.listNodes({ kind: 'system', id: 'chatops' });
    const clock = this.clock();
    return views.map((v) =>
      nodeSummary(v, holders.size ? (holders.has(v.id) ? v.id : null) : undefined, clock),
    );
  }

  async node(name: string): Promise<NodeDetail | undefined> {
    try {
      const d = await this.app.nodeDetail({ kind: 'system', id: 'chatops' }, name);
      const record = (await this.deps.store.getNode(name))?.value;
      const last = record?.lastReport;
      return {
        ...nodeSummary(d, undefined, this.clock()),
        ...(last?.daemon.catchingUp != null ? { catchingUp: last.daemon.catchingUp } : {}),
        ...(d.cometNodeId ? { cometNodeId: d.cometNodeId } : {}),
        ...(record?.publicAddress ? { publicIp: record.publicAddress } : {}),
        ...(d.lastSeen !== null ? { lastReportAt: d.lastSeen } : {}),
        ...(last && last.host.diskTotalBytes > 0
          ? { diskFreePercent: Math.round((100 * last.host.diskFreeBytes) / last.host.diskTotalBytes) }
          : {}),
        ...(d.desiredConfigVersion ? { desiredConfigVersion: d.desiredConfigVersion } : {}),
        ...(d.configVersion ? { appliedConfigVersion: d.configVersion } : {}),
      };
    } catch (error) {
      if (error instanceof AppError && error.code === 'not-found') return undefined;
      throw error;
    }
  }

  async nodeConfig(name: string): Promise<NodeConfigView | undefined> {
    try {
      const config = await this.app.nodeConfig({ kind: 'system', id: 'chatops' }, name);
      return { node: name, version: config.version, settings: flattenPatch(config) };
    } catch (error) {
      if (error instanceof AppError && error.code === 'not-found') return undefined;
      throw error;
    }
  }

  async proposals(): Promise<ProposalView[]> {
    return this.modules.governance ? this.modules.governance.listProposals(this.deps) : [];
  }

  recordVote(request: {
    proposalId: string;
    option: VoteOption;
    memo?: string;
    by: ChatActor;
  }): Promise<OperationResult> {
    const { governance } = this.modules;
    if (!governance) return Promise.resolve(unavailable('Voting'));
    const { by, ...rest } = request;
    return refusalsAsResults(() => governance.recordVote(this.deps, { ...rest, actor: appActor(by) }));
  }

  requestFailover(request: { to?: string; by: ChatActor }): Promise<OperationResult> {
    const { failover } = this.modules;
    if (!failover) return Promise.resolve(unavailable('Failover'));
    return refusalsAsResults(() =>
      failover.requestFailover(this.deps, {
        ...(request.to ? { to: request.to } : {}),
        actor: appActor(request.by),
      }),
    );
  }

  answerFailover(request: { opId: string; confirm: boolean; by: ChatActor }): Promise<OperationResult> {
    const { failover } = this.modules;
    if (!failover) return Promise.resolve(unavailable('Failover'));
    return refusalsAsResults(() =>
      failover.answerFailover(this.deps, {
        opId: request.opId,
        confirm: request.confirm,
        actor: appActor(request.by),
      }),
    );
  }

  switchover(request: { by: ChatActor }): Promise<OperationResult> {
    const { failover } = this.modules;
    if (!failover) return Promise.resolve(unavailable('Switchover'));
    return refusalsAsResults(() => failover.requestSwitchover(this.deps, { actor: appActor(request.by) }));
  }

  rotateIp(request: { sentry: string; by: ChatActor }): Promise<OperationResult> {
    const { sentry } = this.modules;
    if (!sentry) return Promise.resolve(unavailable('IP rotation'));
    return refusalsAsResults(() =>
      sentry.requestRotation(this.deps, { sentry: request.sentry, actor: appActor(request.by) }),
    );
  }

  replaceSentry(request: { sentry: string; by: ChatActor }): Promise<OperationResult> {
    const { sentry } = this.modules;
    if (!sentry) return Promise.resolve(unavailable('Sentry replacement'));
    return refusalsAsResults(() =>
      sentry.requestReplacement(this.deps, { sentry: request.sentry, actor: appActor(request.by) }),
    );
  }

  /** Queues a restart-daemon action on the node; its pilot collects it with its next report reply. */
  restart(request: { node: string; by: ChatActor }): Promise<OperationResult> {
    return refusalsAsResults(async () => {
      const id = await this.app.queueRestart(appActor(request.by), request.node);
      return {
        accepted: true,
        summary: `Restart of ${request.node}'s daemon queued (action ${id}); its pilot runs it after its next report.`,
      };
    });
  }

  maintenance(request: {
    node: string;
    durationMs: number | null;
    reason?: string;
    by: ChatActor;
  }): Promise<OperationResult> {
    return refusalsAsResults(() =>
      setMaintenance(this.deps, {
        node: request.node,
        durationMs: request.durationMs,
        reason: request.reason ?? '',
        actor: appActor(request.by),
      }),
    );
  }

  unjail(request: { target: string; by: ChatActor }): Promise<OperationResult> {
    return refusalsAsResults(() =>
      requestUnjail(this.deps, { target: request.target, actor: appActor(request.by) }),
    );
  }

  decideNode(request: { node: string; approve: boolean; by: ChatActor }): Promise<OperationResult> {
    return refusalsAsResults(async () => {
      const actor = appActor(request.by);
      if (request.approve) await this.app.approveNode(actor, request.node);
      else await this.app.rejectNode(actor, request.node);
      return {
        accepted: true,
        summary: request.approve
          ? `${request.node} approved: its pilot collects its secret on its next enrollment poll.`
          : `${request.node} rejected: it cannot report to Beam.`,
      };
    });
  }

  removeNode(request: { node: string; by: ChatActor }): Promise<OperationResult> {
    return refusalsAsResults(async () => {
      const removed = await this.app.removeNode(appActor(request.by), request.node);
      const fence =
        removed.role === 'validator'
          ? ' A validator holding the lease is no longer renewed: its pilot fences when the lease runs out.'
          : '';
      return {
        accepted: true,
        summary: `${request.node} removed: its record, secret and ${removed.actions.length} queued action(s) are gone and its pilot can no longer report; the name can enroll again.${fence}`,
      };
    });
  }

  upgradePilots(request: { version: string; by: ChatActor }): Promise<OperationResult> {
    return refusalsAsResults(() =>
      requestUpgrade(this.deps, { version: request.version, actor: appActor(request.by) }),
    );
  }

  async rotateEnrollmentToken(request: { by: ChatActor }): Promise<{ token: string }> {
    return { token: await rotateEnrollmentToken(this.deps, appActor(request.by)) };
  }

  async holdAutoVote(request: { proposalId: string; by: ChatActor }): Promise<OperationResult> {
    const { governance } = this.modules;
    if (!governance) return unavailable('Auto-vote');
    return refusalsAsResults(() =>
      governance.holdAutoVote(this.deps, { proposalId: request.proposalId, actor: appActor(request.by) }),
    );
  }

  async bondPreview(): Promise<BondPreview> {
    const { governance } = this.modules;
    if (!governance) throw new AppError('invalid', 'Auto-bond is not available in this commander build.');
    return governance.bondPreview(this.deps);
  }

  bond(request: { by: ChatActor }): Promise<OperationResult> {
    const { governance } = this.modules;
    if (!governance) return Promise.resolve(unavailable('Bonding'));
    return refusalsAsResults(() => governance.bondNow(this.deps, { actor: appActor(request.by) }));
  }

  async policy(): Promise<PolicyEntry[]> {
    return this.modules.governance ? this.modules.governance.governancePolicy(this.deps) : [];
  }

  setPolicy(request: { key: string; value: string; by: ChatActor }): Promise<OperationResult> {
    const { governance } = this.modules;
    if (!governance) return Promise.resolve(unavailable('Changing the policy'));
    return refusalsAsResults(() =>
      governance.setGovernancePolicy(this.deps, {
        key: request.key,
        value: request.value,
        actor: appActor(request.by),
      }),
    );
  }

  /** A node name mutes all its open alerts; anything else is an alert key. */
  mute(request: { target: string; until: number; by: ChatActor }): Promise<OperationResult> {
    return refusalsAsResults(async () => {
      const actor = appActor(request.by);
      const until = new Date(request.until).toISOString();
      if (await this.deps.store.getNode(request.target)) {
        const muted = await this.app.muteNodeAlerts(actor, request.target, request.until);
        return {
          accepted: true,
          summary: `${muted.length} open alert${muted.length === 1 ? '' : 's'} of ${request.target} muted until ${until}.`,
        };
      }
      await this.app.muteAlert(actor, request.target, request.until);
      return { accepted: true, summary: `Alert ${request.target} muted until ${until}.` };
    });
  }

  ack(request: { alert: string; by: ChatActor }): Promise<OperationResult> {
    return refusalsAsResults(async () => {
      const acked = await this.app.ackAlert(appActor(request.by), request.alert);
      const what =
        acked.length === 1 ? `Alert ${acked[0]!.key}` : `${acked.length} alerts of ${request.alert}`;
      return {
        accepted: true,
        summary:
          acked.length === 0
            ? `${request.alert} was acknowledged already.`
            : `${what} acknowledged: no more reminders.`,
      };
    });
  }
}
