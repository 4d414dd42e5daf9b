import type { ActionResult, Report } from '../../../protocol/index.js';
import type { NodeRecord } from '../../../commander/domain/registry.js';
import {
  type SentryDefenceState,
  type SentryEffect,
  type SentryEvent,
  type SentryInput,
  type SentrySettingsInput,
  decideSentryDefence,
  parseSentrySettings,
} from '../../../commander/sentry/index.js';
import { sampleReport } from '../../fixtures/report.js';

export const CHAIN = 'beam-devnet-1';
export const T0 = 1_700_000_000_000;

const hex = (n: number) => n.toString(16).padStart(2, '0').repeat(20);

export function sentryReport(
  nodeId: string,
  seq: number,
  opts: {
    flooded?: boolean;
    running?: boolean;
    configVersion?: string | null;
    results?: ActionResult[];
    sentAt?: number;
  } = {},
): Report {
  const base = sampleReport();
  return {
    ...base,
    nodeId,
    seq,
    sentAt: opts.sentAt ?? T0,
    role: 'sentry',
    chainId: CHAIN,
    daemon: {
      ...base.daemon,
      running: opts.running ?? true,
      desired: opts.running === false ? 'stopped' : 'running',
      consensusAddress: null,
      votingPower: null,
    },
    sockets: {
      p2pPort: 26656,
      inboundByState: { ESTABLISHED: opts.flooded ? 400 : 5 },
      inboundTotal: opts.flooded ? 400 : 5,
      distinctRemotes: 3,
      flooded: opts.flooded ?? false,
    },
    configVersion: opts.configVersion ?? null,
    results: opts.results ?? [],
  };
}

/** A registry node: approved, reported at `lastSeen`. */
export function node(
  id: string,
  role: 'sentry' | 'validator',
  n: number,
  overrides: Partial<NodeRecord> = {},
): NodeRecord {
  const { results: _r, ...summary } =
    role === 'sentry' ? sentryReport(id, 1) : { ...sampleReport({ nodeId: id, chainId: CHAIN }) };
  return {
    id,
    chainId: CHAIN,
    role,
    status: 'approved',
    claimHash: 'c'.repeat(64),
    cometNodeId: hex(n),
    p2pAddress: `10.0.0.${n}:26656`,
    instanceId: role === 'sentry' ? `i-${id}` : null,
    pilotVersion: '0.1.0',
    enrolledAt: T0 - 3_600_000,
    decidedAt: T0 - 3_600_000,
    decidedBy: 'test',
    lastSeq: 1,
    lastSeen: T0,
    reportCount: 1,
    lastReport: summary,
    actions: [],
    recentResults: [],
    desiredConfig: null,
    ...overrides,
  };
}

export const settings = (input: SentrySettingsInput = {}) =>
  parseSentrySettings({ floodReportsToAct: 3, cooldownMs: 600_000, minHealthySentries: 2, ...input });

export function ok(id: string, type: string, at = T0): ActionResult {
  return { id, type, ok: true, finishedAt: at };
}

/** Applies events in order, collecting every effect; the registry is given per step. */
export class Driver {
  effects: SentryEffect[] = [];
  constructor(
    public state: SentryDefenceState,
    public input: SentryInput,
  ) {}

  apply(event: SentryEvent, now: number) {
    const out = decideSentryDefence(this.state, event, now, this.input);
    this.state = out.state;
    this.effects.push(...out.effects);
    return out;
  }

  /** The registry as if every node except `silent` had just reported at `now`. */
  reportedAt(now: number, ...silent: string[]): void {
    const nodes = this.input.nodes.map((n) => (silent.includes(n.id) ? n : { ...n, lastSeen: now }));
    this.input = { ...this.input, nodes };
  }

  take(): SentryEffect[] {
    return this.effects.splice(0);
  }
}

export const ofType = <T extends SentryEffect['type']>(effects: SentryEffect[], type: T) =>
  effects.filter((e): e is Extract<SentryEffect, { type: T }> => e.type === type);

export const actionsOf = (effects: SentryEffect[]) =>
  ofType(effects, 'action').map((e) => ({ nodeId: e.nodeId, type: e.action.type, id: e.action.id }));
