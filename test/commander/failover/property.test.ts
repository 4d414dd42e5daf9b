import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  COMMANDER,
  decideFailover,
  type FailoverEvent,
  type FailoverSettings,
  type FailoverState,
  initialFailoverState,
  parseFailoverSettings,
} from '../../../commander/failover/index.js';
import type { Action, ActionResult, Report } from '../../../protocol/index.js';
import { sampleReport } from '../../fixtures/report.js';
import { CHAIN, KEY_MODES, SIM_SETTINGS, Sim, type SimKeyMode, T0, VALIDATOR } from './sim.js';

const SEED = Number(process.env.FAILOVER_SEED ?? 20261125);
const NODES = ['val-a', 'val-b', 'val-c'] as const;

type Step =
  | {
      kind: 'report';
      node: number;
      advance: number;
      running: boolean;
      rpc: boolean;
      lag: number;
      catchingUp: boolean;
      peers: number;
      signed: boolean[];
      holdsKey: boolean;
      epochSeen: number;
      /** Signer mode: how far the reported mark lags the height. */
      markLag: number;
      jitter: number;
      seq: 'next' | 'same' | 'older';
      results: 'none' | 'ok' | 'failed';
      /** x/upgrade facts: a plan for the next height, halted for it, or none known (`blank`: no RPC). */
      upgrade: 'none' | 'plan' | 'halted' | 'blank';
      /** How long the node's maintenance window still runs (0: none). */
      maintenanceMs: number;
    }
  | { kind: 'tick'; advance: number }
  | { kind: 'confirm' | 'reject'; actor: string }
  | { kind: 'failover' | 'switchover'; to: number | null }
  | { kind: 'duplicate' };

const skewsArb = fc.array(fc.integer({ min: -5_000, max: 5_000 }), { minLength: 3, maxLength: 3 });
const likely = fc.constantFrom(true, true, true, false);

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('report' as const),
      node: fc.integer({ min: 0, max: 2 }),
      advance: fc.integer({ min: 0, max: 3_000 }),
      running: likely,
      rpc: likely,
      lag: fc.integer({ min: 0, max: 3 }),
      catchingUp: fc.constantFrom(false, false, false, true),
      peers: fc.integer({ min: 0, max: 6 }),
      signed: fc.array(fc.constantFrom(false, false, false, true), { maxLength: 6 }),
      holdsKey: fc.constantFrom(false, false, false, true),
      epochSeen: fc.integer({ min: 0, max: 4 }),
      markLag: fc.integer({ min: 0, max: 5 }),
      jitter: fc.integer({ min: 0, max: 500 }),
      seq: fc.constantFrom('next', 'next', 'next', 'same', 'older'),
      results: fc.constantFrom('none', 'ok', 'ok', 'failed'),
      upgrade: fc.constantFrom('none', 'none', 'none', 'plan', 'halted', 'blank'),
      maintenanceMs: fc.constantFrom(0, 0, 0, 0, 30_000),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      advance: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 0, max: 2_000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 20_000 }) },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('confirm' as const, 'reject' as const),
      actor: fc.constantFrom('u1', 'u2'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('failover' as const, 'switchover' as const),
      to: fc.option(fc.integer({ min: 0, max: 2 })),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'duplicate' as const }) },
);

/** The node's latest report put it in a maintenance window that still runs. */
function inMaintenance(state: FailoverState, nodeId: string, now: number): boolean {
  return (state.nodes[nodeId]?.maintenanceUntil ?? 0) > now;
}

/** Who may sign, modelled conservatively from what the commander sent and received. */
interface Window {
  /** Outbox order of the promote that opened it. */
  openedBy: number;
  maxGrant: number;
  ended: boolean;
}

class Harness {
  now = T0;
  state: FailoverState;
  readonly settings: FailoverSettings;
  /** One block a second. */
  get chainHeight(): number {
    return 100 + Math.floor((this.now - T0) / 1_000);
  }
  readonly seq = new Map<string, { seq: number; sentAt: number }>();
  /** Key actions delivered to each pilot, in order, with their issue order; results not yet sent. */
  readonly delivered = new Map<string, { action: Action; order: number }[]>();
  readonly issueOrder = new Map<string, number>();
  readonly windows = new Map<string, Window>();
  private issued = 0;
  private last: { event: FailoverEvent } | null = null;
  promotes = 0;
  /** Events decided while the chain stood still (an upgrade or a halt), holder renewals included. */
  stopped = 0;
  private topEpoch = 1;

  /** Each pilot's clock offset, within the ±5 s the settings allow. */
  constructor(
    private readonly keyMode: SimKeyMode,
    private readonly skews: number[],
  ) {
    const settings = parseFailoverSettings(SIM_SETTINGS[keyMode]);
    this.settings = settings;
    this.state = initialFailoverState(
      { chainId: CHAIN, validator: VALIDATOR },
      { holder: 'val-a', epoch: 1, expiresAt: T0 + settings.leaseDurationMs, grantedAt: T0 },
    );
    this.windows.set('val-a', { openedBy: 0, maxGrant: T0 + settings.leaseDurationMs, ended: false });
  }

  maySign(nodeId: string): boolean {
    const w = this.windows.get(nodeId);
    const s = this.settings;
    return !!w && !w.ended && this.now < w.maxGrant + s.pilotFenceDelayMs + s.maxClockSkewMs;
  }

  run(s: Step): void {
    const event = this.event(s);
    if (event) this.apply(event);
  }

  private event(s: Step): FailoverEvent | null {
    switch (s.kind) {
      case 'tick':
        this.now += s.advance;
        return { type: 'tick' };
      case 'confirm':
      case 'reject':
        return { type: s.kind, opId: this.state.op?.id ?? 'fo-e9-9', actor: s.actor };
      case 'failover':
      case 'switchover':
        return {
          type: s.kind === 'failover' ? 'request-failover' : 'request-switchover',
          actor: 'u1',
          ...(s.to === null ? {} : { to: NODES[s.to] }),
        };
      case 'duplicate':
        return this.last?.event ?? null;
      case 'report':
        this.now += s.advance;
        return { type: 'report', report: this.report(s) };
    }
  }

  private report(s: Extract<Step, { kind: 'report' }>): Report {
    const nodeId = NODES[s.node]!;
    const prev = this.seq.get(nodeId) ?? { seq: 0, sentAt: 0 };
    const seq =
      s.seq === 'next' ? prev.seq + 1 : s.seq === 'same' ? Math.max(1, prev.seq) : Math.max(1, prev.seq - 1);
    const sentAt = this.now + this.skews[s.node]! + s.jitter;
    if (seq > prev.seq) this.seq.set(nodeId, { seq, sentAt: Math.max(sentAt, prev.sentAt) });
    const height = this.chainHeight - s.lag;
    // Results only for actions this pilot really received; it executes them in order.
    const pending = this.delivered.get(nodeId) ?? [];
    const results: ActionResult[] = [];
    if (s.results !== 'none' && pending.length > 0) {
      const done = pending.shift()!;
      const ok = s.results === 'ok';
      // Signer mode: results carry the signer's mark (demote) or floor (promote).
      const mark = this.keyMode === 'signer' ? { height: height - s.markLag } : {};
      results.push({ id: done.action.id, type: done.action.type, ok, finishedAt: sentAt, ...mark });
      const w = this.windows.get(nodeId);
      if (ok && done.action.type === 'demote' && w && done.order > w.openedBy) w.ended = true;
    }
    const base = sampleReport();
    const plan = { name: 'v2', height: height + 1, info: '' };
    return sampleReport({
      nodeId,
      seq,
      sentAt,
      upgrade:
        s.upgrade === 'blank'
          ? null
          : {
              cosmovisor: true,
              plan: s.upgrade === 'none' ? null : plan,
              staged: s.upgrade === 'none' ? null : true,
              halted: s.upgrade === 'halted' ? plan : null,
            },
      maintenance:
        s.maintenanceMs > 0 ? { until: sentAt + s.maintenanceMs, by: 'node', reason: 'test' } : null,
      chainId: CHAIN,
      daemon: {
        ...base.daemon,
        running: s.running,
        rpcReachable: s.rpc,
        height,
        catchingUp: s.catchingUp,
        peers: s.peers,
      },
      chain: {
        validatorAddress: null,
        operatorAddress: null,
        recentCommits: s.signed.map((signed, i) => ({
          height: height - s.signed.length + i,
          signed,
          at: this.now,
        })),
        signingInfo: null,
        validator: null,
        networkSignedShare: null,
        balances: [],
        rewards: [],
        commission: [],
        proposals: [],
        grants: null,
        errors: [],
      },
      custody: {
        mode: this.keyMode,
        signMark: this.keyMode === 'signer' ? { height: height - s.markLag, round: 0, step: 3 } : null,
        signerConnected: this.keyMode === 'signer' ? s.rpc : null,
        holdsValidatorKey: s.holdsKey,
        highestEpoch: s.epochSeen,
        leaseExpiresAt: null,
        fenced: false,
      },
      results,
    });
  }

  private apply(event: FailoverEvent): void {
    this.last = { event };
    const out = decideFailover(this.state, event, this.now, this.settings);
    const op = out.state.op;
    const stopped = out.state.pause != null && out.state.pause.resumedAt === null;
    if (stopped) this.stopped++;
    if (op !== null && op.id !== this.state.op?.id) {
      // While the chain stands still nobody fails over on their own, and nobody's target is in maintenance.
      if (op.requestedBy === COMMANDER) expect(stopped).toBe(false);
      expect(inMaintenance(out.state, op.to, this.now)).toBe(false);
    }
    for (const fx of out.effects) {
      if (fx.type !== 'action') continue;
      this.issueOrder.set(fx.action.id, ++this.issued);
      if (fx.action.type !== 'promote') continue;
      // THE invariant: nobody else may still be signing when a promote goes out.
      for (const other of NODES) {
        if (other !== fx.nodeId && this.maySign(other)) {
          throw new Error(
            `promote ${fx.action.id} to ${fx.nodeId} at ${this.now - T0} while ${other} may sign`,
          );
        }
      }
      expect(inMaintenance(out.state, fx.nodeId, this.now)).toBe(false);
      // Epochs only rise: every promote fences everything issued before it.
      expect(fx.action.epoch).toBeGreaterThan(this.topEpoch);
      this.topEpoch = fx.action.epoch;
      this.promotes++;
      this.windows.set(fx.nodeId, {
        openedBy: this.issued,
        maxGrant: fx.action.leaseExpiresAt,
        ended: false,
      });
    }
    this.state = out.state;
    if (event.type !== 'report' || !out.reply) return;
    const nodeId = event.report.nodeId;
    const w = this.windows.get(nodeId);
    if (out.reply.lease?.holder && w && !w.ended)
      w.maxGrant = Math.max(w.maxGrant, out.reply.lease.expiresAt);
    const queue = this.delivered.get(nodeId) ?? [];
    for (const action of out.reply.actions) {
      if (!queue.some((d) => d.action.id === action.id)) {
        queue.push({ action, order: this.issueOrder.get(action.id) ?? 0 });
      }
    }
    this.delivered.set(nodeId, queue);
    // Grants never exceed the stored lease: the stored expiry bounds every promise made.
    if (out.reply.lease?.holder)
      expect(out.reply.lease.expiresAt).toBeLessThanOrEqual(this.state.lease.expiresAt);
  }
}

describe.each(KEY_MODES)('failover safety (property), %s mode', (keyMode) => {
  it('never issues a promote while another node may still sign', () => {
    console.log(`failover property seed: ${SEED} (set FAILOVER_SEED to replay)`);
    let promotes = 0;
    let withPromote = 0;
    let withStop = 0;
    fc.assert(
      fc.property(
        skewsArb,
        fc.array(step, { minLength: 20, maxLength: 250, size: 'max' }),
        (skews, steps) => {
          const h = new Harness(keyMode, skews);
          for (const s of steps) h.run(s);
          promotes += h.promotes;
          if (h.promotes > 0) withPromote++;
          if (h.stopped > 0) withStop++;
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
    // The generator must reach promotions, or the property says nothing.
    console.log(
      `${keyMode} mode: ${promotes} promotes in ${withPromote} of 500 runs, ${withStop} with the chain stopped`,
    );
    expect(withPromote).toBeGreaterThan(40);
    expect(withStop).toBeGreaterThan(40);
  });

  it('applying any event twice yields the same state as once', () => {
    fc.assert(
      fc.property(skewsArb, fc.array(step, { minLength: 10, maxLength: 60, size: 'max' }), (skews, steps) => {
        const h = new Harness(keyMode, skews);
        for (const s of steps) {
          h.run(s);
          const event: FailoverEvent = { type: 'tick' };
          const once = decideFailover(h.state, event, h.now, h.settings).state;
          expect(decideFailover(once, event, h.now, h.settings).state).toEqual(once);
        }
      }),
      { seed: SEED + 1, numRuns: 100 },
    );
  });
});

describe.each(KEY_MODES)('failover liveness (fault-free schedules), %s mode', (keyMode) => {
  it('the validator ends up signing, without a double-sign', () => {
    fc.assert(
      fc.property(
        fc.record({
          blockMs: fc.integer({ min: 5, max: 30 }).map((x) => x * 100),
          skews: fc.array(fc.integer({ min: -5_000, max: 5_000 }), { minLength: 3, maxLength: 3 }),
          plan: fc.constantFrom('steady', 'switchover', 'primary-dies', 'failover-to-c', 'upgrade'),
          at: fc.integer({ min: 1, max: 30 }).map((x) => x * 1_000),
        }),
        ({ blockMs, skews, plan, at }) => {
          const sim = new Sim(['val-a', 'val-b', 'val-c'], { keyMode });
          sim.blockMs = blockMs;
          skews.forEach((skew, i) => {
            sim.node(NODES[i]!).skewMs = skew;
          });
          sim.run(at);
          if (plan === 'switchover') sim.apply({ type: 'request-switchover', actor: 'u' });
          if (plan === 'failover-to-c') sim.apply({ type: 'request-failover', actor: 'u', to: 'val-c' });
          if (plan === 'upgrade') {
            // The chain stops at the next height; the daemons restart into the new binary meanwhile.
            sim.upgrade = { name: 'v2', height: sim.tip + 2 };
            sim.run(at);
            for (const n of sim.nodes.values()) n.loading = true;
            sim.run(at);
            for (const n of sim.nodes.values()) n.loading = false;
            sim.upgradeReady = true;
          }
          if (plan === 'primary-dies') {
            const a = sim.node('val-a');
            a.pilotUp = false;
            a.daemonOk = false;
            a.running = false;
          }
          sim.run(90_000);
          expect(sim.doubleSigns()).toEqual([]);
          expect(sim.blocks.slice(-5).every((b) => b.signers.length === 1)).toBe(true);
          const expected = {
            steady: ['val-a'],
            switchover: ['val-b', 'val-c'],
            'primary-dies': ['val-b', 'val-c'],
            'failover-to-c': ['val-c'],
            upgrade: ['val-a'],
          }[plan];
          expect(expected).toContain(sim.state.lease.holder);
          if (plan === 'upgrade' || plan === 'steady') expect(sim.delivered).toEqual([]);
        },
      ),
      { seed: SEED + 2, numRuns: 40 },
    );
  });
});
