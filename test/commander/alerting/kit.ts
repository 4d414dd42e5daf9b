/** A fleet on paper for alerting's decisions: nodes with a report each, and ticks of `decideAlerting`. */
import type { Report } from '../../../protocol/index.js';
import type { AlertRecord } from '../../../commander/alerting/alerts.js';
import type { FinishedOp } from '../../../commander/alerting/digest.js';
import type { Hold } from '../../../commander/alerting/holds.js';
import { type AlertingOutput, type GroupChat, decideAlerting } from '../../../commander/alerting/machine.js';
import { AlertPolicy } from '../../../commander/alerting/settings.js';
import { type AlertingState, initialAlertingState } from '../../../commander/alerting/state.js';
import type { ExplorerTemplates } from '../../../commander/domain/explorer.js';
import { type Finding, HealthThresholds } from '../../../commander/domain/health.js';
import type { NodeRecord } from '../../../commander/domain/registry.js';
import { sampleReport } from '../../fixtures/report.js';

export const CHAIN = 'beam-devnet-1';
export const VALIDATOR = 'A'.repeat(40);
export const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
export const INTERVAL = 1000;

export type Daemon = Partial<Report['daemon']>;

/** The validator's latest commits up to `height`, signed from `signedFrom` on (null: never). */
export function commits(height: number, signedFrom: number | null, missedFrom = Number.POSITIVE_INFINITY) {
  return Array.from({ length: 10 }, (_, i) => height - 9 + i)
    .filter((h) => h > 0)
    .map((h) => ({ height: h, signed: signedFrom !== null && h >= signedFrom && h < missedFrom, at: T0 }));
}

/** An approved node whose last report (at `seen`) has these daemon facts and, for a validator, commits. */
export function fleetNode(
  id: string,
  role: 'validator' | 'sentry',
  seen: number,
  daemon: Daemon = {},
  recentCommits?: ReturnType<typeof commits>,
): NodeRecord {
  const base = sampleReport({ nodeId: id, role, chainId: CHAIN });
  const report: Report = {
    ...base,
    sentAt: seen,
    daemon: { ...base.daemon, height: 100, latestBlockTime: seen, peers: 3, ...daemon },
    chain:
      role === 'validator'
        ? {
            validatorAddress: VALIDATOR,
            operatorAddress: null,
            recentCommits: recentCommits ?? commits(100, 1),
            signingInfo: null,
            validator: { jailed: false, status: 'bonded', tokens: '1' },
            networkSignedShare: 1,
            balances: [],
            rewards: [],
            commission: [],
            proposals: [],
            grants: null,
            errors: [],
          }
        : null,
  };
  const { results: _results, ...lastReport } = report;
  return {
    id,
    chainId: CHAIN,
    role,
    status: 'approved',
    claimHash: 'c'.repeat(64),
    cometNodeId: null,
    p2pAddress: null,
    instanceId: null,
    pilotVersion: '0.1.0',
    enrolledAt: T0 - 3_600_000,
    decidedAt: T0 - 3_600_000,
    decidedBy: 'test',
    lastSeq: 1,
    lastSeen: seen,
    reportCount: 1,
    lastReport,
    actions: [],
    recentResults: [],
    desiredConfig: null,
  } as NodeRecord;
}

export interface TickExtras {
  findings?: Finding[];
  holds?: Hold[];
  finished?: FinishedOp[];
}

/** Ticks alerting's decisions as app/alerting.ts does, every write succeeding. */
export class AlertingRun {
  state: AlertingState = initialAlertingState();
  alerts = new Map<string, AlertRecord>();
  readonly chat: (GroupChat & { at: number })[] = [];
  readonly policy: AlertPolicy;
  readonly thresholds = HealthThresholds.parse({ minPeersWarn: 1 });
  /** `settings.explorers`, for the links alert messages carry. */
  explorers: Record<string, ExplorerTemplates> = {};

  constructor(policy: Partial<AlertPolicy> | object = {}) {
    this.policy = AlertPolicy.parse(policy);
  }

  tick(nodes: NodeRecord[], now: number, extras: TickExtras = {}): AlertingOutput {
    const out = decideAlerting(this.state, [...this.alerts.values()], {
      nodes,
      findings: extras.findings ?? [],
      holds: extras.holds ?? [],
      finished: extras.finished ?? [],
      thresholds: this.thresholds,
      policy: this.policy,
      reportIntervalMs: INTERVAL,
      now,
      explorers: this.explorers,
    });
    this.state = out.state;
    for (const a of out.changed) this.alerts.set(a.key, a);
    this.chat.push(...out.chat.map((c) => ({ ...c, at: now })));
    return out;
  }

  open(): AlertRecord[] {
    return [...this.alerts.values()].filter((a) => a.state === 'open');
  }

  posts(): string[] {
    return this.chat.filter((c) => c.mode === 'post').map((c) => c.message.title);
  }
}
