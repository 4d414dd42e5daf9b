/**
 * Randomized fault schedules for failover: the real decision function (decideFailover, with the
 * report path's retry and acknowledgement semantics) drives simulated pilots, daemons and a chain
 * that records every signature, delivered or not, like the devnet hub. Faults: kill -9 of pilots,
 * daemons, whole machines and the commander; hung daemons; partitions from the commander, from the
 * chain, or both; ±5 s pilot clock skew; duplicated and delayed reports; store errors. The invariant: no
 * height is ever signed by two nodes; and once the faults heal, the validator signs again.
 *
 * Every schedule derives from one seed, so a failing seed replays exactly
 * (`FAILOVER_SEED=<seed> FAILOVER_SCHEDULES=1`). The bench calls `failoverFigures`.
 */
import {
  decideFailover,
  type FailoverOutput,
  type FailoverSettings,
  type FailoverSettingsInput,
  type FailoverState,
  initialFailoverState,
  parseFailoverSettings,
} from '../../../commander/failover/index.js';
import type { Action, ActionResult, Report } from '../../../protocol/index.js';
import { sampleReport } from '../../fixtures/report.js';

export const FAULT_SETTINGS: FailoverSettingsInput = {
  reportIntervalMs: 1_000,
  leaseDurationMs: 10_000,
  renewMarginMs: 5_000,
  silentAfterMs: 3_000,
  chainHaltAfterMs: 5_000,
  startupGraceMs: 10_000,
  // The modelled pilot's worst case: a hung daemon (3 checks × 3.25 s + 3 s stop), or a pilot
  // restart by systemd (RestartSec=2 plus start-up) before its guard fences.
  pilotFenceDelayMs: 13_000,
  maxClockSkewMs: 5_000,
  graceMs: 19_000,
  missedCommitsForFailover: 3,
  mode: 'auto',
};

const CHAIN = 'beam-devnet-1';
const VALIDATOR = 'A'.repeat(40);
const T0 = 1_700_000_000_000;
const STEP_MS = 100;
/** The daemons' consensus.double_sign_check_height. */
const DOUBLE_SIGN_CHECK = 4;
/** Pilot: a node whose newest block is older than this is stalled (no fresh signature). */
const STALL_MS = 3_000;
/** Pilot guard: consecutive checks before fencing; each waits up to the RPC timeout on a hung daemon. */
const FENCE_CHECKS = 3;
const GUARD_INTERVAL_MS = 250;
const RPC_TIMEOUT_MS = 3_000;
const STOP_TIMEOUT_MS = 3_000;

/** Small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export type FaultKind =
  | 'kill-pilot'
  | 'kill-daemon'
  | 'power-loss'
  | 'hang-daemon'
  | 'cut-from-commander'
  | 'chain-partition'
  | 'isolate'
  | 'kill-commander'
  | 'store-errors'
  | 'dup-delay'
  | 'switchover';

export interface Fault {
  kind: FaultKind;
  /** Node index; -1 = the lease holder when the fault strikes. */
  node: number;
  at: number;
  durationMs: number;
}

interface Block {
  height: number;
  at: number;
  /** Signatures in the canonical commit. */
  signers: string[];
  /** Every signature produced for this height, delivered or not (the hub's record). */
  recorded: string[];
}

interface FNode {
  id: string;
  skewMs: number;
  pilotUp: boolean;
  powered: boolean;
  daemon: 'running' | 'stopped' | 'hung';
  desired: 'running' | 'stopped';
  nextDaemonStartAt: number;
  holdsKey: boolean;
  highestEpoch: number;
  /** Real time the pilot considers its lease over (null: no lease). */
  deadline: number | null;
  fenced: boolean;
  /** Since when the guard's checks have agreed that it must fence (null: they do not). */
  fenceSince: number | null;
  frozenAt: number | null;
  cutFromCommander: boolean;
  signState: number;
  seq: number;
  nextReportAt: number;
  executed: Set<string>;
  unacked: ActionResult[];
}

interface Pending {
  deliverAt: number;
  nodeId: string;
  report: Report;
  sentAt: number;
}

export class FaultWorld {
  now = T0;
  readonly settings: FailoverSettings;
  state: FailoverState;
  readonly nodes: FNode[] = [];
  readonly blocks: Block[] = [];
  blockMs = 1_000;
  private nextBlockAt = T0 + 1_000;
  commanderDown = false;
  storeErrorRate = 0;
  dupRate = 0;
  delayRate = 0;
  private readonly queue: Pending[] = [];
  readonly promotes: { at: number; nodeId: string; epoch: number }[] = [];
  refusals = 0;

  constructor(
    ids: string[],
    private readonly random: () => number,
    settings: FailoverSettingsInput = FAULT_SETTINGS,
  ) {
    this.settings = parseFailoverSettings(settings);
    this.state = initialFailoverState({ chainId: CHAIN, validator: VALIDATOR });
    ids.forEach((id, i) => {
      this.nodes.push({
        id,
        skewMs: 0,
        pilotUp: true,
        powered: true,
        daemon: 'running',
        desired: 'running',
        nextDaemonStartAt: 0,
        holdsKey: i === 0,
        highestEpoch: i === 0 ? 1 : 0,
        deadline: i === 0 ? T0 + 20_000 : null,
        fenced: false,
        fenceSince: null,
        frozenAt: null,
        cutFromCommander: false,
        signState: 0,
        seq: 0,
        nextReportAt: T0 + 137 * i,
        executed: new Set(),
        unacked: [],
      });
    });
    for (let h = 1; h <= 5; h++) {
      const signers = [ids[0]!];
      this.blocks.push({ height: h, at: T0 - (6 - h) * 1000, signers, recorded: signers });
    }
    this.nodes[0]!.signState = 5;
  }

  node(id: string): FNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  get tip(): number {
    return this.blocks[this.blocks.length - 1]!.height;
  }

  /** Heights signed by two different nodes: double-sign evidence. */
  doubleSigns(): Block[] {
    return this.blocks.filter((b) => new Set(b.recorded).size > 1);
  }

  signedAt(height: number): boolean {
    return (this.blocks.find((b) => b.height === height)?.signers.length ?? 0) > 0;
  }

  run(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) this.step();
  }

  runUntil(probe: () => boolean, maxMs: number): boolean {
    const end = this.now + maxMs;
    while (!probe()) {
      if (this.now >= end) return false;
      this.step();
    }
    return true;
  }

  private step(): void {
    this.now += STEP_MS;
    if (this.now >= this.nextBlockAt) {
      this.nextBlockAt += this.blockMs;
      this.produce();
    }
    for (const n of this.nodes) {
      if (!n.powered) continue;
      this.supervise(n);
      if (!n.pilotUp) continue;
      this.guard(n);
      if (this.now >= n.nextReportAt) {
        n.nextReportAt = this.now + this.settings.reportIntervalMs;
        this.send(n);
      }
    }
    for (const p of this.queue.filter((q) => q.deliverAt <= this.now)) {
      this.queue.splice(this.queue.indexOf(p), 1);
      this.deliver(this.node(p.nodeId), p.report, p.sentAt);
    }
    if (this.now % 1_000 === 0 && !this.commanderDown) this.decide({ type: 'tick' });
  }

  private produce(): void {
    const height = this.tip + 1;
    const signers: string[] = [];
    const recorded: string[] = [];
    for (const n of this.nodes) {
      // A daemon with the key signs every new height above its sign state, partitioned or not.
      if (!n.powered || n.daemon !== 'running' || !n.holdsKey || height <= n.signState) continue;
      n.signState = height;
      recorded.push(n.id);
      if (n.frozenAt === null) signers.push(n.id);
    }
    this.blocks.push({ height, at: this.now, signers, recorded });
  }

  /** The pilot's supervisor restarts a crashed daemon; a start with the key may hit double_sign_check_height. */
  private supervise(n: FNode): void {
    if (!n.pilotUp || n.daemon !== 'stopped' || n.desired !== 'running' || this.now < n.nextDaemonStartAt)
      return;
    n.nextDaemonStartAt = this.now + 1_000;
    if (n.holdsKey && this.recentlySigned(DOUBLE_SIGN_CHECK)) return; // the daemon refuses to start
    n.daemon = 'running';
  }

  private recentlySigned(blocks: number): boolean {
    return this.blocks.slice(-blocks).some((b) => b.signers.length > 0);
  }

  private viewTip(n: FNode): number {
    return n.frozenAt ?? this.tip;
  }

  private commits(n: FNode): { height: number; signed: boolean; at: number }[] {
    if (n.daemon !== 'running') return [];
    const tip = this.viewTip(n);
    return this.blocks
      .filter((b) => b.height <= tip)
      .slice(-10)
      .map((b) => ({ height: b.height, signed: b.signers.length > 0, at: b.at }));
  }

  /**
   * The pilot's guard: fence once the lease is over by its clock and its own node shows no fresh
   * signature, confirmed by consecutive checks (each waits for the RPC timeout when the daemon hangs),
   * then stop the daemon (a hung one only dies at the stop timeout's SIGKILL).
   */
  private guard(n: FNode): void {
    const over = n.holdsKey && n.daemon !== 'stopped' && (n.deadline === null || this.now >= n.deadline);
    const commits = this.commits(n);
    const tipAt = this.blocks.find((b) => b.height === this.viewTip(n))?.at ?? 0;
    const fresh =
      n.daemon === 'running' && this.now - tipAt <= STALL_MS && commits.slice(-3).some((c) => c.signed);
    if (!over || fresh) {
      n.fenceSince = null;
      return;
    }
    n.fenceSince ??= this.now;
    const hung = n.daemon === 'hung';
    const delay = hung
      ? FENCE_CHECKS * (GUARD_INTERVAL_MS + RPC_TIMEOUT_MS) + STOP_TIMEOUT_MS
      : FENCE_CHECKS * GUARD_INTERVAL_MS;
    if (this.now - n.fenceSince < delay) return;
    n.fenceSince = null;
    n.daemon = 'stopped';
    n.desired = 'stopped';
    n.fenced = true;
  }

  private makeReport(n: FNode): Report {
    n.seq++;
    const base = sampleReport();
    const rpc = n.daemon === 'running';
    const tip = this.viewTip(n);
    return sampleReport({
      nodeId: n.id,
      seq: n.seq,
      sentAt: this.now + n.skewMs,
      chainId: CHAIN,
      daemon: {
        ...base.daemon,
        running: n.daemon !== 'stopped',
        desired: n.desired,
        rpcReachable: rpc,
        height: rpc ? tip : null,
        latestBlockTime: rpc ? (this.blocks.find((b) => b.height === tip)?.at ?? null) : null,
        catchingUp: rpc ? false : null,
        peers: rpc ? 4 : null,
      },
      chain: {
        validatorAddress: VALIDATOR,
        operatorAddress: null,
        recentCommits: this.commits(n),
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
        mode: 'file',
        signMark: null,
        signerConnected: null,
        holdsValidatorKey: n.holdsKey,
        highestEpoch: n.highestEpoch,
        leaseExpiresAt: null,
        fenced: n.fenced,
      },
      results: [...n.unacked],
    });
  }

  private send(n: FNode): void {
    const report = this.makeReport(n);
    if (n.cutFromCommander) return;
    if (this.delayRate > 0 && this.random() < this.delayRate) {
      this.queue.push({
        deliverAt: this.now + 200 + Math.floor(this.random() * 1_800),
        nodeId: n.id,
        report,
        sentAt: this.now,
      });
      return;
    }
    this.deliver(n, report, this.now);
    if (this.dupRate > 0 && this.random() < this.dupRate) this.deliver(n, report, this.now);
  }

  /** The report handler: replayed seqs are refused (409) before any decision, as the node item does. */
  private lastAccepted = new Map<string, number>();

  private deliver(n: FNode, report: Report, sentAt: number): void {
    if (this.commanderDown || !n.powered || n.cutFromCommander) return;
    if (report.seq <= (this.lastAccepted.get(n.id) ?? 0)) return;
    const out = this.decide({ type: 'report', report });
    if (!out?.reply) return; // a store error: 500, the pilot sends its results again next time
    this.lastAccepted.set(n.id, report.seq);
    if (!n.pilotUp) return; // the pilot died while waiting for the reply
    const acked = new Set(report.results.map((r) => r.id));
    n.unacked = n.unacked.filter((r) => !acked.has(r.id));
    n.fenced = n.fenced && !report.custody?.fenced;
    const lease = out.reply.lease;
    if (lease && lease.epoch >= n.highestEpoch) {
      // Remaining time counted from when the request was sent; skew makes a pilot fence late.
      n.deadline = lease.holder ? sentAt + (lease.expiresAt - this.now) - n.skewMs : null;
    }
    let acted = false;
    for (const action of out.reply.actions) {
      if (n.executed.has(action.id)) continue;
      n.executed.add(action.id);
      n.unacked.push(this.execute(n, action, sentAt));
      acted = true;
    }
    if (acted) n.nextReportAt = this.now + STEP_MS;
  }

  decide(event: Parameters<typeof decideFailover>[1]): FailoverOutput | null {
    const out = decideFailover(this.state, event, this.now, this.settings);
    if (this.storeErrorRate > 0 && this.random() < this.storeErrorRate) return null;
    this.state = out.state;
    for (const fx of out.effects) {
      if (fx.type === 'action' && fx.action.type === 'promote')
        this.promotes.push({ at: this.now, nodeId: fx.nodeId, epoch: fx.action.epoch });
      if (fx.type === 'notice' && /refused/.test(fx.text)) this.refusals++;
    }
    return out;
  }

  private execute(n: FNode, action: Action, sentAt: number): ActionResult {
    const result = (ok: boolean, message?: string): ActionResult => ({
      id: action.id,
      type: action.type,
      ok,
      finishedAt: this.now + n.skewMs,
      ...(message ? { message } : {}),
    });
    if (action.type !== 'promote' && action.type !== 'demote') return result(true);
    if (action.epoch < n.highestEpoch) return result(false, `stale epoch ${action.epoch}`);
    n.highestEpoch = action.epoch;
    n.fenced = false;
    if (action.type === 'demote') {
      n.holdsKey = false;
      n.deadline = null;
      n.daemon = 'running'; // restarted as a full node with its own key (a hung one is killed first)
      n.desired = 'running';
      return result(true);
    }
    const deadline = sentAt + (action.leaseExpiresAt - this.now) - n.skewMs;
    if (this.now >= deadline) return result(false, 'lease already expired');
    n.holdsKey = true;
    n.deadline = deadline;
    n.signState = Math.max(n.signState, action.minHeight);
    n.desired = 'running';
    n.daemon = 'stopped';
    n.nextDaemonStartAt = this.now;
    this.supervise(n);
    // Like the pilot: raised to at least the newest height its own node knows.
    n.signState = Math.max(n.signState, this.viewTip(n));
    return { ...result(true), height: n.signState };
  }

  // ── faults ───────────────────────────────────────────────────────────────────────────────

  apply(f: Fault, on: boolean): void {
    const n =
      this.nodes[f.node] ?? this.nodes.find((x) => x.id === this.state.lease.holder) ?? this.nodes[0]!;
    switch (f.kind) {
      case 'kill-pilot':
        if (on) Object.assign(n, { pilotUp: false, fenceSince: null });
        else this.bootPilot(n);
        return;
      case 'kill-daemon':
        if (on && n.daemon !== 'stopped') {
          n.daemon = 'stopped';
          n.nextDaemonStartAt = this.now + 500;
        }
        return;
      case 'power-loss':
        if (on) Object.assign(n, { powered: false, pilotUp: false, daemon: 'stopped', fenceSince: null });
        else {
          n.powered = true;
          // systemd starts the pilot; the daemon's unit is the pilot's to start.
          n.desired = 'running';
          this.bootPilot(n);
        }
        return;
      case 'hang-daemon':
        if (on && n.daemon === 'running') n.daemon = 'hung';
        else if (!on && n.daemon === 'hung') n.daemon = 'running';
        return;
      case 'cut-from-commander':
        n.cutFromCommander = on;
        return;
      case 'chain-partition':
        n.frozenAt = on ? this.tip : null;
        return;
      case 'isolate': // the machine's network: neither the chain nor the commander
        n.frozenAt = on ? this.tip : null;
        n.cutFromCommander = on;
        return;
      case 'kill-commander':
        this.commanderDown = on;
        return;
      case 'store-errors':
        this.storeErrorRate = on ? 0.3 : 0;
        return;
      case 'dup-delay':
        this.dupRate = on ? 0.3 : 0;
        this.delayRate = on ? 0.3 : 0;
        return;
      case 'switchover':
        if (on && !this.commanderDown) this.decide({ type: 'request-switchover', actor: 'operator' });
        return;
    }
  }

  /** Safe boot: without a valid lease the pilot never leaves the real key in the daemon home. */
  private bootPilot(n: FNode): void {
    n.pilotUp = true;
    n.nextReportAt = this.now;
    if (n.holdsKey && (n.deadline === null || this.now >= n.deadline)) {
      n.holdsKey = false;
      n.deadline = null;
      if (n.daemon === 'running') n.daemon = 'stopped'; // restarted with its own key
      n.nextDaemonStartAt = this.now;
      n.desired = 'running';
    }
  }

  heal(): void {
    for (const n of this.nodes) {
      n.cutFromCommander = false;
      n.frozenAt = null;
      if (n.daemon === 'hung') n.daemon = 'running';
      if (!n.powered || !n.pilotUp) {
        n.powered = true;
        this.bootPilot(n);
      }
    }
    this.commanderDown = false;
    this.storeErrorRate = 0;
    this.dupRate = 0;
    this.delayRate = 0;
  }
}

const KINDS: FaultKind[] = [
  'kill-pilot',
  'kill-daemon',
  'power-loss',
  'hang-daemon',
  'cut-from-commander',
  'chain-partition',
  'isolate',
  'isolate',
  'kill-commander',
  'store-errors',
  'dup-delay',
  'switchover',
];

function duration(kind: FaultKind, r: () => number): number {
  const between = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo));
  switch (kind) {
    case 'kill-pilot':
      return between(500, 3_000); // systemd restarts it
    case 'kill-daemon':
    case 'switchover':
      return 0;
    case 'power-loss':
      return between(2_000, 40_000);
    default:
      return between(1_000, 25_000);
  }
}

export interface ScheduleResult {
  seed: number;
  nodes: number;
  faults: Fault[];
  doubleSigns: number[];
  /** The validator signs again (last blocks signed by exactly one node) after the faults healed. */
  signingAgain: boolean;
  promotes: number;
}

/** One schedule: nodes, skews, 1–5 overlapping faults over a minute, then healing and a minute to recover. */
export function runSchedule(seed: number): ScheduleResult {
  const r = rng(seed);
  const count = r() < 0.5 ? 2 : 3;
  const ids = ['val-a', 'val-b', 'val-c'].slice(0, count);
  const world = new FaultWorld(ids, r);
  world.blockMs = 500 + Math.floor(r() * 4) * 250;
  for (const n of world.nodes) n.skewMs = Math.floor(r() * 10_001) - 5_000;
  world.run(15_000);
  const faults: Fault[] = Array.from({ length: 1 + Math.floor(r() * 5) }, () => {
    const kind = KINDS[Math.floor(r() * KINDS.length)]!;
    return {
      kind,
      node: r() < 0.6 ? -1 : Math.floor(r() * count),
      at: Math.floor(r() * 600) * 100,
      durationMs: duration(kind, r),
    };
  });
  const events = faults
    .flatMap((f) => [
      { at: f.at, f, on: true },
      { at: f.at + f.durationMs, f, on: false },
    ])
    .sort((a, b) => a.at - b.at);
  const start = world.now;
  for (const e of events) {
    if (start + e.at > world.now) world.run(start + e.at - world.now);
    world.apply(e.f, e.on);
  }
  world.heal();
  const healedTip = world.tip;
  const signingAgain = world.runUntil(() => {
    const last = world.blocks.slice(-5);
    return last.length === 5 && last[0]!.height > healedTip && last.every((b) => b.signers.length === 1);
  }, 90_000);
  return {
    seed,
    nodes: count,
    faults,
    doubleSigns: world.doubleSigns().map((b) => b.height),
    signingAgain,
    promotes: world.promotes.length,
  };
}

export function runSchedules(count: number, seed: number): ScheduleResult[] {
  return Array.from({ length: count }, (_, i) => runSchedule(seed + i));
}

function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

export interface FailoverFigures {
  schedules: number;
  seed: number;
  failover: {
    seconds: { p50: number | null; p95: number | null };
    missedBlocks: { p50: number | null; p95: number | null };
    notRecovered: number;
  };
  switchover: { missedBlocks: { p50: number | null; p95: number | null }; notRecovered: number };
  doubleSigns: number;
  settings: FailoverSettings & { blockMs: number; clockSkew: string };
}

/**
 * Failover figures over `schedules` seeded runs (2 nodes, ±5 s skews, 1 s blocks): unplanned
 * failover after the primary machine loses power (seconds and missed blocks from the fault to the
 * standby's first signature), and planned switchover missed blocks.
 */
export function failoverFigures(
  options: { schedules?: number; seed?: number; blockMs?: number; settings?: FailoverSettingsInput } = {},
): FailoverFigures {
  const schedules = options.schedules ?? 100;
  const seed = options.seed ?? 20261201;
  const blockMs = options.blockMs ?? 1_000;
  const settings = { ...FAULT_SETTINGS, ...options.settings };
  const seconds: number[] = [];
  const missed: number[] = [];
  const switchMissed: number[] = [];
  let notRecovered = 0;
  let switchNotRecovered = 0;
  let doubleSigns = 0;
  const newWorld = (s: number) => {
    const r = rng(s);
    const world = new FaultWorld(['val-a', 'val-b'], r, settings);
    world.blockMs = blockMs;
    for (const n of world.nodes) n.skewMs = Math.floor(r() * 10_001) - 5_000;
    world.run(15_000 + Math.floor(r() * 100) * 100);
    return world;
  };
  const recovery = (world: FaultWorld, from: number, fromHeight: number) => {
    const ok = world.runUntil(
      () => world.blocks.some((b) => b.height > fromHeight && b.signers.includes('val-b')),
      120_000,
    );
    if (!ok) return null;
    const first = world.blocks.find((b) => b.height > fromHeight && b.signers.includes('val-b'))!;
    let lastSigned = fromHeight;
    while (lastSigned > 0 && !world.signedAt(lastSigned)) lastSigned--;
    return { seconds: (first.at - from) / 1000, missed: first.height - lastSigned - 1 };
  };
  for (let i = 0; i < schedules; i++) {
    const unplanned = newWorld(seed + i);
    const at = unplanned.now;
    const tip = unplanned.tip;
    unplanned.apply({ kind: 'power-loss', node: 0, at: 0, durationMs: 0 }, true);
    const r1 = recovery(unplanned, at, tip);
    if (r1) {
      seconds.push(r1.seconds);
      missed.push(r1.missed);
    } else notRecovered++;
    doubleSigns += unplanned.doubleSigns().length;

    const planned = newWorld(seed + i);
    const at2 = planned.now;
    const tip2 = planned.tip;
    planned.apply({ kind: 'switchover', node: 0, at: 0, durationMs: 0 }, true);
    const r2 = recovery(planned, at2, tip2);
    if (r2) switchMissed.push(r2.missed);
    else switchNotRecovered++;
    doubleSigns += planned.doubleSigns().length;
  }
  const q = (xs: number[]) => ({ p50: quantile(xs, 0.5), p95: quantile(xs, 0.95) });
  return {
    schedules,
    seed,
    failover: { seconds: q(seconds), missedBlocks: q(missed), notRecovered },
    switchover: { missedBlocks: q(switchMissed), notRecovered: switchNotRecovered },
    doubleSigns,
    settings: { ...parseFailoverSettings(settings), blockMs, clockSkew: '±5 s per pilot' },
  };
}
