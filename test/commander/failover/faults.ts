/**
 * Randomized fault schedules for failover, in both key modes: the real decision function
 * (decideFailover, with the report path's retry and acknowledgement semantics) drives simulated
 * pilots, daemons and a chain whose hub records every signature, delivered or not.
 *
 * File mode: a daemon signs with the key file in its home; a promote restarts it (with
 * double_sign_check_height) and the pilot's guard stops it after lease expiry (a hung one only at its
 * stop timeout's SIGKILL). Signer mode: both daemons run all the time and ask their pilot, the remote
 * signer, for every signature; it signs only while promoted, within its lease by its own clock, above
 * its high-water mark. Nothing stops a daemon.
 *
 * Faults in both modes: kill -9 of pilots, daemons, whole machines and the commander (also right after
 * it persisted a decision mid-failover); hung daemons; partitions from the commander, from the chain,
 * or both; ±5 s pilot clock skew; duplicated and delayed reports; store errors; switchovers. Signer
 * mode adds: a pilot SIGSTOPped with the last signature its lease allows in flight; a crash between
 * persisting the mark and answering the daemon; a height that takes several rounds while the lease
 * moves (both daemons ask for the same height/round/step); a hung daemon holding a signature. The
 * invariant: no height is ever signed by two nodes; and once the faults heal, the validator signs again.
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
  isActive,
  parseFailoverSettings,
} from '../../../commander/failover/index.js';
import type { Action, ActionResult, Report } from '../../../protocol/index.js';
import { sampleReport } from '../../fixtures/report.js';
import {
  custodyFacts,
  FENCE_MARGIN_MS,
  KEY_MODES,
  Mark,
  nextReportDelay,
  SIM_SETTINGS,
  type SimKeyMode,
} from './sim.js';

/** Fast settings (1 s reports) per key mode. */
export const FAULT_SETTINGS: Record<SimKeyMode, FailoverSettingsInput> = {
  file: {
    ...SIM_SETTINGS.file,
    // The modelled pilot's worst case: a hung daemon (3 checks × 3.25 s + 3 s stop), or a pilot
    // restart by systemd (RestartSec=2 plus start-up) before its guard fences.
    pilotFenceDelayMs: 13_000,
    graceMs: 19_000,
  },
  // The modelled signer refuses at its deadline; a signature it decided before then leaves at once,
  // or (stopped, hung) at any later time: the promote's floor, not the clock, covers those.
  signer: SIM_SETTINGS.signer,
};

/** A deliberately broken pilot, to show that the invariant catches it. */
export type UnsafePilot = 'sign-past-expiry' | 'ignore-floor';

const CHAIN = 'beam-devnet-1';
const VALIDATOR = 'A'.repeat(40);
const T0 = 1_700_000_000_000;
const STEP_MS = 100;
/** The daemons' consensus.double_sign_check_height (file mode). */
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
  | 'commander-restart'
  | 'store-errors'
  | 'dup-delay'
  | 'switchover'
  | 'sigstop-in-flight'
  | 'crash-after-persist'
  | 'same-height';

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
}

interface FNode {
  id: string;
  skewMs: number;
  pilotUp: boolean;
  /** SIGSTOPped: the pilot neither reports, supervises, guards nor signs until resumed. */
  stopped: boolean;
  powered: boolean;
  daemon: 'running' | 'stopped' | 'hung';
  desired: 'running' | 'stopped';
  nextDaemonStartAt: number;
  /** File mode: the key file is in the daemon home. Signer mode: promoted and not demoted since. */
  holdsKey: boolean;
  highestEpoch: number;
  /** Real time the pilot considers its lease over (null: no lease). */
  deadline: number | null;
  fenced: boolean;
  /** Since when the guard's checks have agreed that it must fence (null: they do not). */
  fenceSince: number | null;
  /** Cut from the chain: its daemon's view stops at this height. */
  frozenAt: number | null;
  cutFromCommander: boolean;
  /** The key's high-water mark: the daemon's FilePV (file mode), the pilot's (signer mode). */
  mark: Mark;
  /** A signature decided and persisted that has not left yet: its pilot is stopped, or its daemon hangs. */
  inFlight: { height: number; heldBy: 'pilot' | 'daemon' } | null;
  /** Armed by a fault: SIGSTOP right after persisting the last signature the lease allows. */
  stopAtLastSignature: boolean;
  /** Armed by a fault: crash right after persisting the next signature, before answering the daemon. */
  crashOnSignature: boolean;
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
  readonly keyMode: SimKeyMode;
  state: FailoverState;
  readonly nodes: FNode[] = [];
  readonly blocks: Block[] = [];
  blockMs = 1_000;
  private nextBlockAt = T0 + 1_000;
  /** The chain is stuck at the height in progress: each block interval is another round of it. */
  stalled = false;
  private roundNo = 0;
  /** The hub's record: every signature that left a node, by height, delivered or not. */
  private readonly signatures = new Map<number, Set<string>>();
  commanderDown = false;
  /** A fault's commander crash: armed (strikes mid-failover), or down until the fault ends. */
  private commanderCrash: 'armed' | 'down' | null = null;
  storeErrorRate = 0;
  dupRate = 0;
  delayRate = 0;
  private readonly queue: Pending[] = [];
  readonly promotes: { at: number; nodeId: string; epoch: number }[] = [];
  /**
   * How often a fault found the moment that makes it bite (an armed one may never): a SIGSTOP with a
   * signature in flight, a crash after persisting, a commander crash mid-failover, a lease moved in
   * the middle of a height, a hung daemon holding a signature.
   */
  readonly struck: Partial<Record<FaultKind, number>> = {};

  constructor(
    ids: string[],
    private readonly random: () => number,
    settings: FailoverSettingsInput = FAULT_SETTINGS.signer,
    private readonly unsafe: UnsafePilot | null = null,
  ) {
    this.settings = parseFailoverSettings(settings);
    if (this.settings.keyMode === 'external') throw new Error('external signers are not simulated');
    this.keyMode = this.settings.keyMode;
    this.state = initialFailoverState({ chainId: CHAIN, validator: VALIDATOR });
    ids.forEach((id, i) => {
      this.nodes.push({
        id,
        skewMs: 0,
        pilotUp: true,
        stopped: false,
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
        mark: new Mark(),
        inFlight: null,
        stopAtLastSignature: false,
        crashOnSignature: false,
        seq: 0,
        // Pilots start at unrelated moments: their report phases are independent.
        nextReportAt: T0 + Math.floor(random() * (this.settings.reportIntervalMs / STEP_MS)) * STEP_MS,
        executed: new Set(),
        unacked: [],
      });
    });
    for (let h = 1; h <= 5; h++) {
      this.blocks.push({ height: h, at: T0 - (6 - h) * 1000, signers: [ids[0]!] });
      this.record(h, ids[0]!);
    }
    this.nodes[0]!.mark.sign(5, 0);
  }

  private get signer(): boolean {
    return this.keyMode === 'signer';
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
  doubleSigns(): number[] {
    return [...this.signatures]
      .filter(([, ids]) => ids.size > 1)
      .map(([height]) => height)
      .sort((a, b) => a - b);
  }

  /** Nodes whose signature for `height` left them (the hub's record). */
  signersAt(height: number): string[] {
    return [...(this.signatures.get(height) ?? [])];
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
      this.round();
    }
    for (const n of this.nodes) {
      if (!n.powered) continue;
      this.deliverLate(n);
      if (!n.pilotUp || n.stopped) continue;
      this.supervise(n);
      if (!this.signer) this.guard(n);
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

  /** One consensus round of the height in progress: every daemon asks; it commits unless stalled. */
  private round(): void {
    const height = this.tip + 1;
    const signers = this.nodes.filter((n) => this.signs(n, height, this.roundNo)).map((n) => n.id);
    if (this.stalled) {
      this.roundNo++;
      return;
    }
    this.blocks.push({ height, at: this.now, signers });
    this.roundNo = 0;
  }

  /**
   * Whether n's signature for (height, round) reaches the network now. A daemon cut from the chain
   * still signs (its signature is evidence, though nobody receives it). File mode: a running daemon
   * with the key in its home signs by its own FilePV. Signer mode: the pilot decides at this moment.
   */
  private signs(n: FNode, height: number, round: number): boolean {
    if (!n.powered || n.daemon !== 'running' || !this.keyAllows(n) || !n.mark.sign(height, round))
      return false;
    // The mark is persisted: from here on this key never signs (height, round) again.
    if (n.crashOnSignature) {
      // Crashed before answering: the signature never leaves, the height is missed.
      Object.assign(n, { crashOnSignature: false, pilotUp: false, fenceSince: null });
      this.strike('crash-after-persist');
      return false;
    }
    if (n.stopAtLastSignature && n.deadline !== null && n.deadline <= this.now + this.blockMs) {
      Object.assign(n, { stopAtLastSignature: false, stopped: true, inFlight: { height, heldBy: 'pilot' } });
      this.strike('sigstop-in-flight');
      return false;
    }
    this.record(height, n.id);
    return n.frozenAt === null;
  }

  /** File mode: the daemon holds the key. Signer mode: the pilot's gate, at the moment of signing. */
  private keyAllows(n: FNode): boolean {
    if (!n.holdsKey) return false;
    if (!this.signer) return true;
    if (!n.pilotUp || n.stopped) return false;
    if (this.unsafe === 'sign-past-expiry' || (n.deadline !== null && this.now < n.deadline)) return true;
    n.fenced = true; // refused: the lease ran out by the pilot's clock
    return false;
  }

  private record(height: number, nodeId: string): void {
    const ids = this.signatures.get(height) ?? new Set<string>();
    this.signatures.set(height, ids.add(nodeId));
  }

  /** A signature held by a stopped pilot or a hung daemon leaves once they run again, at its height. */
  private deliverLate(n: FNode): void {
    const f = n.inFlight;
    if (!f || n.daemon !== 'running' || (f.heldBy === 'pilot' && (!n.pilotUp || n.stopped))) return;
    this.record(f.height, n.id);
    n.inFlight = null;
  }

  /** The pilot's supervisor restarts a crashed daemon; in file mode a start with the key may hit double_sign_check_height. */
  private supervise(n: FNode): void {
    if (n.daemon !== 'stopped' || n.desired !== 'running' || this.now < n.nextDaemonStartAt) return;
    n.nextDaemonStartAt = this.now + 1_000;
    if (!this.signer && n.holdsKey && this.recentlySigned(DOUBLE_SIGN_CHECK)) return; // refuses to start
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
   * File mode, the pilot's guard: fence once the lease is over by its clock and its own node shows
   * no fresh signature, confirmed by consecutive checks (each waits for the RPC timeout when the
   * daemon hangs), then stop the daemon (a hung one only dies at the stop timeout's SIGKILL).
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
      custody: custodyFacts(this.keyMode, n, null, rpc),
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
    if (!out?.reply) return; // a store error or a crash: no reply, the pilot sends its results again
    this.lastAccepted.set(n.id, report.seq);
    if (!n.pilotUp || n.stopped) return; // the pilot died (or froze) while waiting for the reply
    const acked = new Set(report.results.map((r) => r.id));
    n.unacked = n.unacked.filter((r) => !acked.has(r.id));
    n.fenced = n.fenced && !report.custody?.fenced;
    const lease = out.reply.lease;
    if (lease && lease.epoch >= n.highestEpoch) {
      n.highestEpoch = lease.epoch;
      n.deadline = lease.holder ? this.deadline(n, sentAt, lease.expiresAt) : null;
    }
    let keyAction = false;
    for (const action of out.reply.actions) {
      if (n.executed.has(action.id)) continue;
      n.executed.add(action.id);
      n.unacked.push(this.execute(n, action, sentAt));
      keyAction = true;
    }
    n.nextReportAt = this.now + nextReportDelay(out.reply, keyAction, this.settings.reportIntervalMs);
  }

  /**
   * The pilot's deadline for a lease expiring at `expiresAt` (commander time): the remaining time is
   * counted from when its request was sent, by its own clock (skew makes it fence late or early),
   * minus its fence margin in signer mode. The file-mode model leaves the margin out: its guard
   * fences as late as the lease allows, the worst case its settings were derived for.
   */
  private deadline(n: FNode, sentAt: number, expiresAt: number): number {
    const margin = this.signer ? FENCE_MARGIN_MS : 0;
    return sentAt + (expiresAt - this.now) - n.skewMs - margin;
  }

  decide(event: Parameters<typeof decideFailover>[1]): FailoverOutput | null {
    const out = decideFailover(this.state, event, this.now, this.settings);
    if (this.storeErrorRate > 0 && this.random() < this.storeErrorRate) return null;
    this.state = out.state;
    for (const fx of out.effects) {
      if (fx.type !== 'action' || fx.action.type !== 'promote') continue;
      this.promotes.push({ at: this.now, nodeId: fx.nodeId, epoch: fx.action.epoch });
      if (this.stalled) this.strike('same-height'); // the lease moves in the middle of a height
    }
    const op = out.state.op;
    if (this.commanderCrash === 'armed' && isActive(op) && op.phase !== 'awaiting-confirmation') {
      // Crashed right after the write, before replying: the restart finds the persisted state.
      this.commanderCrash = 'down';
      this.commanderDown = true;
      this.strike('commander-restart');
      return null;
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
      // Signer mode: signing stops at once, the daemon runs on; the result carries the mark.
      if (this.signer) return { ...result(true), height: n.mark.height };
      n.daemon = 'running'; // restarted as a full node with its own key (a hung one is killed first)
      n.desired = 'running';
      return result(true);
    }
    const deadline = this.deadline(n, sentAt, action.leaseExpiresAt);
    if (this.now >= deadline) return result(false, 'lease already expired');
    n.holdsKey = true;
    n.deadline = deadline;
    if (this.signer) {
      // The floor first: nothing at or below it is ever signed. No restart.
      if (this.unsafe !== 'ignore-floor') n.mark.raiseAbove(action.minHeight);
      return { ...result(true), height: action.minHeight };
    }
    // Like the pilot: the sign state at least the newest height its own node knows, then a restart.
    n.mark.raiseAbove(Math.max(action.minHeight, this.viewTip(n)));
    n.desired = 'running';
    n.daemon = 'stopped';
    n.nextDaemonStartAt = this.now;
    this.supervise(n);
    return { ...result(true), height: n.mark.top };
  }

  // ── faults ───────────────────────────────────────────────────────────────────────────────

  private strike(kind: FaultKind): void {
    this.struck[kind] = (this.struck[kind] ?? 0) + 1;
  }

  apply(f: Fault, on: boolean): void {
    const n =
      this.nodes[f.node] ?? this.nodes.find((x) => x.id === this.state.lease.holder) ?? this.nodes[0]!;
    switch (f.kind) {
      case 'kill-pilot':
        if (on) this.killPilot(n);
        else this.bootPilot(n);
        return;
      case 'kill-daemon':
        if (on && n.daemon !== 'stopped') {
          n.daemon = 'stopped';
          n.nextDaemonStartAt = this.now + 500;
          if (n.inFlight?.heldBy === 'daemon') n.inFlight = null;
        }
        return;
      case 'power-loss':
        if (on) {
          this.killPilot(n);
          Object.assign(n, { powered: false, daemon: 'stopped', inFlight: null });
        } else {
          n.powered = true;
          // systemd starts the pilot; the daemon's unit is the pilot's to start.
          n.desired = 'running';
          this.bootPilot(n);
        }
        return;
      case 'hang-daemon':
        if (on && n.daemon === 'running') {
          // Signer mode: the daemon may hang right after its pilot signed the height in progress.
          const height = this.tip + 1;
          if (this.signer && n.inFlight === null && this.keyAllows(n) && n.mark.sign(height, this.roundNo)) {
            n.inFlight = { height, heldBy: 'daemon' };
            this.strike('hang-daemon');
          }
          n.daemon = 'hung';
        } else if (!on && n.daemon === 'hung') n.daemon = 'running';
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
      case 'commander-restart':
        if (!on && this.commanderCrash === 'down') this.commanderDown = false;
        this.commanderCrash = on ? 'armed' : null;
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
      case 'sigstop-in-flight':
        // Its reports stop getting through, so its lease runs out; it freezes right after persisting
        // the last signature the lease allows, and sends it when resumed (the standby signs by then).
        n.cutFromCommander = on;
        n.stopAtLastSignature = on;
        if (!on) this.resume(n);
        return;
      case 'crash-after-persist':
        n.crashOnSignature = on;
        if (!on && n.powered && !n.pilotUp) this.bootPilot(n); // systemd restarts it
        return;
      case 'same-height':
        // Both daemons ask for the same height/round/step, round after round, while the lease moves.
        this.stalled = on;
        if (on && !this.commanderDown) this.decide({ type: 'request-switchover', actor: 'operator' });
        return;
    }
  }

  /** kill -9 of the pilot: a signature it held dies with it; systemd restarts it later. */
  private killPilot(n: FNode): void {
    Object.assign(n, { pilotUp: false, stopped: false, fenceSince: null });
    if (n.inFlight?.heldBy === 'pilot') n.inFlight = null;
  }

  /** SIGCONT: the pilot's timers fire at once. */
  private resume(n: FNode): void {
    if (!n.stopped) return;
    n.stopped = false;
    n.nextReportAt = this.now;
  }

  /**
   * Safe boot. Signer mode: the pilot restores its mark, its promotion and its lease from disk and
   * signs only within that lease. File mode: without a valid lease the pilot never leaves the real
   * key in the daemon home.
   */
  private bootPilot(n: FNode): void {
    n.pilotUp = true;
    n.nextReportAt = this.now;
    if (this.signer) return;
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
      Object.assign(n, { cutFromCommander: false, frozenAt: null, stopAtLastSignature: false });
      n.crashOnSignature = false;
      if (n.daemon === 'hung') n.daemon = 'running';
      this.resume(n);
      if (!n.powered || !n.pilotUp) {
        n.powered = true;
        this.bootPilot(n);
      }
    }
    this.commanderDown = false;
    this.commanderCrash = null;
    this.stalled = false;
    this.storeErrorRate = 0;
    this.dupRate = 0;
    this.delayRate = 0;
  }
}

const COMMON_KINDS: FaultKind[] = [
  'kill-pilot',
  'kill-daemon',
  'power-loss',
  'hang-daemon',
  'cut-from-commander',
  'chain-partition',
  'isolate',
  'isolate',
  'kill-commander',
  'commander-restart',
  'store-errors',
  'dup-delay',
  'switchover',
];

const KINDS: Record<SimKeyMode, FaultKind[]> = {
  file: COMMON_KINDS,
  signer: [...COMMON_KINDS, 'sigstop-in-flight', 'crash-after-persist', 'same-height'],
};

function duration(kind: FaultKind, r: () => number): number {
  const between = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo));
  switch (kind) {
    case 'kill-pilot':
    case 'crash-after-persist':
      return between(500, 3_000); // systemd restarts it
    case 'kill-daemon':
    case 'switchover':
      return 0;
    case 'power-loss':
      return between(2_000, 40_000);
    case 'sigstop-in-flight':
      return between(5_000, 45_000); // long enough, often, for the standby to take over first
    default:
      return between(1_000, 25_000);
  }
}

export interface ScheduleResult {
  seed: number;
  keyMode: SimKeyMode;
  nodes: number;
  faults: Fault[];
  doubleSigns: number[];
  /** Faults that found the moment that makes them bite (FaultWorld.struck). */
  struck: Partial<Record<FaultKind, number>>;
  /** The validator signs again (last blocks signed by exactly one node) after the faults healed. */
  signingAgain: boolean;
  promotes: number;
}

/** One schedule: nodes, skews, 1–5 overlapping faults over a minute, then healing and a minute to recover. */
export function runSchedule(
  seed: number,
  keyMode: SimKeyMode = 'signer',
  unsafe: UnsafePilot | null = null,
): ScheduleResult {
  const r = rng(seed);
  const count = r() < 0.5 ? 2 : 3;
  const ids = ['val-a', 'val-b', 'val-c'].slice(0, count);
  const world = new FaultWorld(ids, r, FAULT_SETTINGS[keyMode], unsafe);
  world.blockMs = 500 + Math.floor(r() * 4) * 250;
  for (const n of world.nodes) n.skewMs = Math.floor(r() * 10_001) - 5_000;
  world.run(15_000);
  const kinds = KINDS[keyMode];
  const faults: Fault[] = Array.from({ length: 1 + Math.floor(r() * 5) }, () => {
    const kind = kinds[Math.floor(r() * kinds.length)]!;
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
    keyMode,
    nodes: count,
    faults,
    doubleSigns: world.doubleSigns(),
    struck: world.struck,
    signingAgain,
    promotes: world.promotes.length,
  };
}

/** `count` seeded schedules in each key mode (the same seeds in each). */
export function runSchedules(
  count: number,
  seed: number,
  modes: readonly SimKeyMode[] = KEY_MODES,
  unsafe: UnsafePilot | null = null,
): ScheduleResult[] {
  return modes.flatMap((mode) =>
    Array.from({ length: count }, (_, i) => runSchedule(seed + i, mode, unsafe)),
  );
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
 * Failover figures over `schedules` seeded runs (2 nodes, ±5 s skews, 1 s blocks unless told):
 * unplanned failover after the primary machine loses power (seconds and missed blocks from the fault
 * to the standby's first signature), and planned switchover missed blocks. The key mode is the
 * settings' (default: the fast signer-mode settings).
 */
export function failoverFigures(
  options: { schedules?: number; seed?: number; blockMs?: number; settings?: FailoverSettingsInput } = {},
): FailoverFigures {
  const schedules = options.schedules ?? 100;
  const seed = options.seed ?? 20261201;
  const blockMs = options.blockMs ?? 1_000;
  const settings = options.settings ?? FAULT_SETTINGS.signer;
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
    // Missed: the blocks between the last signature before the standby's first (the old holder may
    // still sign after the fault or request) and that first one.
    let lastSigned = first.height - 1;
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
