import type { ChatMessage } from '../../../bots/model.js';
import {
  COMMANDER,
  decideFailover,
  type FailoverEffect,
  type FailoverEvent,
  type FailoverSettingsInput,
  type FailoverState,
  initialFailoverState,
  parseFailoverSettings,
} from '../../../commander/failover/index.js';
import type { Action, ActionResult, Report } from '../../../protocol/index.js';
import { sampleReport } from '../../fixtures/report.js';

export const CHAIN = 'beam-devnet-1';
export const VALIDATOR = 'val';
export const T0 = 1_700_000_000_000;

/** Fast settings for simulation: 1 s reports and blocks, ±5 s clock skew allowed. */
export const SIM_SETTINGS: FailoverSettingsInput = {
  keyMode: 'file',
  reportIntervalMs: 1_000,
  leaseDurationMs: 10_000,
  renewMarginMs: 5_000,
  silentAfterMs: 3_000,
  chainHaltAfterMs: 5_000,
  startupGraceMs: 10_000,
  pilotFenceDelayMs: 2_000,
  maxClockSkewMs: 5_000,
  graceMs: 8_000,
  missedCommitsForFailover: 3,
  mode: 'auto',
};

export interface SimNode {
  id: string;
  /** The pilot runs (reports, executes, fences). */
  pilotUp: boolean;
  /** The pilot's reports reach the commander. */
  reachesCommander: boolean;
  /** The daemon can run at all (false: crashed and stays down). */
  daemonOk: boolean;
  running: boolean;
  /** The daemon runs but still loads its state: its RPC does not answer and it signs nothing. */
  loading: boolean;
  holdsKey: boolean;
  fenced: boolean;
  highestEpoch: number;
  /** Lease expiry the pilot fences against (commander time). */
  leaseExpiresAt: number | null;
  /** Pilot clock minus real time: shifts its sentAt and its fencing moment. */
  skewMs: number;
  peers: number;
  catchingUp: boolean;
  seq: number;
  nextReportAt: number;
  executed: Set<string>;
  unacked: ActionResult[];
  /** DESIGN §4 as written: keep signing past expiry while the own node shows our signature. */
  fenceOnlyIfNotSigning: boolean;
  /** The pilot refuses key actions (e.g. a broken key file). */
  refuseKeyActions: boolean;
}

export interface Block {
  height: number;
  at: number;
  signers: string[];
}

/** A daemon that runs and answers: it reports chain facts and signs with the key it holds. */
const serving = (n: SimNode) => n.running && !n.loading;

/** A tiny world: a chain producing blocks, pilots that report and obey, and the commander's logic. */
export class Sim {
  now = T0;
  readonly settings;
  state: FailoverState;
  readonly nodes = new Map<string, SimNode>();
  readonly blocks: Block[] = [];
  halted = false;
  blockMs = 1_000;
  private nextBlockAt = T0 + 1_000;
  readonly effects: FailoverEffect[] = [];
  readonly promotes: { at: number; nodeId: string; epoch: number }[] = [];
  readonly delivered: { at: number; nodeId: string; action: Action }[] = [];

  constructor(
    ids: string[],
    { holder = ids[0], settings = {} }: { holder?: string | null; settings?: FailoverSettingsInput } = {},
  ) {
    this.settings = parseFailoverSettings({ ...SIM_SETTINGS, ...settings });
    this.state = initialFailoverState(
      { chainId: CHAIN, validator: VALIDATOR },
      holder
        ? { holder, epoch: 1, expiresAt: T0 + this.settings.leaseDurationMs, grantedAt: T0 - 600_000 }
        : {},
    );
    ids.forEach((id, i) => {
      this.nodes.set(id, {
        id,
        pilotUp: true,
        reachesCommander: true,
        daemonOk: true,
        running: true,
        loading: false,
        holdsKey: id === holder,
        fenced: false,
        highestEpoch: id === holder ? 1 : 0,
        leaseExpiresAt: id === holder ? this.state.lease.expiresAt : null,
        skewMs: 0,
        peers: 5,
        catchingUp: false,
        seq: 0,
        nextReportAt: T0 + 100 * i,
        executed: new Set(),
        unacked: [],
        fenceOnlyIfNotSigning: false,
        refuseKeyActions: false,
      });
    });
    // A short signed history so that the chain shows the holder signing from the start.
    for (let h = 1; h <= 5; h++)
      this.blocks.push({ height: h, at: T0 - (6 - h) * 1000, signers: holder ? [holder] : [] });
  }

  node(id: string): SimNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  get tip(): number {
    return this.blocks[this.blocks.length - 1]?.height ?? 0;
  }

  /** Blocks signed by more than one node: double-sign evidence. */
  doubleSigns(): Block[] {
    return this.blocks.filter((b) => b.signers.length > 1);
  }

  apply(event: FailoverEvent): ReturnType<typeof decideFailover> {
    const out = decideFailover(this.state, event, this.now, this.settings);
    this.state = out.state;
    this.effects.push(...out.effects);
    for (const fx of out.effects) {
      if (fx.type === 'action' && fx.action.type === 'promote') {
        this.promotes.push({ at: this.now, nodeId: fx.nodeId, epoch: fx.action.epoch });
      }
    }
    return out;
  }

  /** Advances the world by `ms` in steps of 100 ms. */
  run(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) this.step(100);
  }

  /** Runs until `probe` holds (bounded). */
  runUntil(probe: () => boolean, maxMs: number, what: string): void {
    const end = this.now + maxMs;
    while (!probe()) {
      if (this.now >= end) throw new Error(`simulated ${maxMs} ms without ${what}`);
      this.step(100);
    }
  }

  private step(ms: number): void {
    this.now += ms;
    if (this.now >= this.nextBlockAt) {
      this.nextBlockAt += this.blockMs;
      if (!this.halted) {
        const signers = [...this.nodes.values()].filter((n) => serving(n) && n.holdsKey).map((n) => n.id);
        this.blocks.push({ height: this.tip + 1, at: this.now, signers });
      }
    }
    for (const n of this.nodes.values()) {
      if (!n.pilotUp) continue;
      this.fence(n);
      if (this.now >= n.nextReportAt) {
        n.nextReportAt = this.now + this.settings.reportIntervalMs;
        this.report(n);
      }
    }
    if (this.now % 1_000 === 0) this.apply({ type: 'tick' });
  }

  private fence(n: SimNode): void {
    if (!n.holdsKey || !n.running || n.leaseExpiresAt === null) return;
    // Fences within pilotFenceDelayMs of expiry by its own clock (which runs skewMs ahead).
    const due = this.now + n.skewMs >= n.leaseExpiresAt + this.settings.pilotFenceDelayMs / 2;
    const ownSignature = this.commits(n).some((c) => c.signed);
    if (due && !(n.fenceOnlyIfNotSigning && ownSignature)) {
      n.running = false;
      n.fenced = true;
    }
  }

  commits(n: SimNode): { height: number; signed: boolean; at: number }[] {
    if (!serving(n)) return [];
    return this.blocks.slice(-10).map((b) => ({ height: b.height, signed: b.signers.length > 0, at: b.at }));
  }

  /** The report this node's pilot would send now. */
  makeReport(n: SimNode): Report {
    n.seq++;
    const base = sampleReport();
    return sampleReport({
      nodeId: n.id,
      seq: n.seq,
      sentAt: this.now + n.skewMs,
      chainId: CHAIN,
      daemon: {
        ...base.daemon,
        running: n.running,
        rpcReachable: serving(n),
        height: serving(n) ? this.tip : null,
        latestBlockTime: serving(n) ? (this.blocks[this.blocks.length - 1]?.at ?? null) : null,
        catchingUp: serving(n) ? n.catchingUp : null,
        peers: serving(n) ? n.peers : null,
      },
      chain: {
        validatorAddress: 'A'.repeat(40),
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
        leaseExpiresAt: n.leaseExpiresAt,
        fenced: n.fenced,
      },
      results: [...n.unacked],
    });
  }

  report(n: SimNode): void {
    const report = this.makeReport(n);
    if (!n.reachesCommander) return;
    const out = this.apply({ type: 'report', report });
    n.unacked = [];
    const reply = out.reply;
    if (!reply) return;
    if (reply.lease?.holder && reply.lease.epoch >= n.highestEpoch) n.leaseExpiresAt = reply.lease.expiresAt;
    let acted = false;
    for (const action of reply.actions) {
      if (n.executed.has(action.id)) continue;
      n.executed.add(action.id);
      this.delivered.push({ at: this.now, nodeId: n.id, action });
      n.unacked.push(this.execute(n, action));
      acted = true;
    }
    // Pilots report at once after a key action, so the commander learns the result quickly.
    if (acted) n.nextReportAt = this.now + 100;
  }

  private execute(n: SimNode, action: Action): ActionResult {
    const result = (ok: boolean, message?: string): ActionResult => ({
      id: action.id,
      type: action.type,
      ok,
      finishedAt: this.now + n.skewMs,
      ...(message ? { message } : {}),
    });
    if (action.type !== 'promote' && action.type !== 'demote') return result(false, 'unsupported');
    if (n.refuseKeyActions) return result(false, 'refused by the test');
    if (action.epoch < n.highestEpoch) return result(false, `epoch ${action.epoch} below ${n.highestEpoch}`);
    n.highestEpoch = action.epoch;
    if (action.type === 'demote') {
      n.holdsKey = false;
      n.leaseExpiresAt = null;
      n.running = n.daemonOk; // back to a full node without the key
      n.fenced = false;
      return result(true);
    }
    if (!n.daemonOk) return result(false, 'daemon does not start');
    n.holdsKey = true;
    n.running = true;
    n.fenced = false;
    n.leaseExpiresAt = action.leaseExpiresAt;
    return result(true);
  }

  /** Chat messages, newest last. */
  chat(): { mode: string; message: ChatMessage; buttons: string[] }[] {
    return this.effects.flatMap((fx) =>
      fx.type === 'chat'
        ? [{ mode: fx.mode, message: fx.message, buttons: fx.buttons.map((b) => b.name) }]
        : [],
    );
  }

  alerts(): string[] {
    return this.state.alerts.map((k) => k.slice(`failover:${CHAIN}:${VALIDATOR}:`.length));
  }

  /** The validator signed the latest block. */
  signing(): boolean {
    return (this.blocks[this.blocks.length - 1]?.signers.length ?? 0) > 0;
  }
}

export { COMMANDER };
