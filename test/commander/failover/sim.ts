import type { ChatMessage } from '../../../bots/model.js';
import {
  COMMANDER,
  decideFailover,
  type FailoverEffect,
  type FailoverEvent,
  type FailoverReply,
  type FailoverSettingsInput,
  type FailoverState,
  initialFailoverState,
  parseFailoverSettings,
} from '../../../commander/failover/index.js';
import type { Action, ActionResult, KeyCustody, KeyMode, Report } from '../../../protocol/index.js';
import { sampleReport } from '../../fixtures/report.js';

export const CHAIN = 'beam-devnet-1';
export const VALIDATOR = 'val';
export const T0 = 1_700_000_000_000;

/** The key modes in which Beam moves the signature (external signers fail over on their own). */
export type SimKeyMode = Exclude<KeyMode, 'external'>;
export const KEY_MODES: readonly SimKeyMode[] = ['signer', 'file'];

const FAST = {
  reportIntervalMs: 1_000,
  silentAfterMs: 3_000,
  chainHaltAfterMs: 5_000,
  startupGraceMs: 10_000,
  maxClockSkewMs: 5_000,
  graceMs: 8_000,
  missedCommitsForFailover: 3,
  mode: 'auto',
} satisfies FailoverSettingsInput;

/** Fast settings for simulation per key mode: 1 s reports and blocks, ±5 s clock skew allowed. */
export const SIM_SETTINGS: Record<SimKeyMode, FailoverSettingsInput> = {
  file: { ...FAST, keyMode: 'file', leaseDurationMs: 10_000, renewMarginMs: 5_000, pilotFenceDelayMs: 2_000 },
  // The signer refuses at its deadline, unconditionally: a holder whose clock runs 5 s early (minus
  // the 2 s fence margin) still needs the renewal before its deadline, hence renewMarginMs > 5 + 2
  // + one report interval (Beam's signer defaults: 12 s and 10 s).
  signer: {
    ...FAST,
    keyMode: 'signer',
    leaseDurationMs: 12_000,
    renewMarginMs: 10_000,
    pilotFenceDelayMs: 1_000,
  },
};

/** The commander's nextReportMs while an operation moves the lease (commander/app/pilot-api.ts). */
export const URGENT_REPORT_MS = 500;
/** The pilot's default fence_margin_ms: its deadline is this much before the lease's expiry. */
export const FENCE_MARGIN_MS = 2_000;

/** Delay before the real pilot's next report: at once after a key action, soon while a move runs. */
export function nextReportDelay(reply: FailoverReply, keyAction: boolean, reportIntervalMs: number): number {
  if (keyAction) return 0;
  return reply.urgent ? Math.min(URGENT_REPORT_MS, reportIntervalMs) : reportIntervalMs;
}

/** The step of the one signature per round the simulated daemons ask for (a precommit). */
const PRECOMMIT = 3;

/** A key's high-water mark with CometBFT FilePV's rules (height, then round, then step); it only rises. */
export class Mark {
  height = 0;
  round = 0;
  step = 0;

  /** Check and advance in one step, as the signer persists before answering: only above the mark. */
  sign(height: number, round: number): boolean {
    const above =
      height !== this.height
        ? height > this.height
        : round !== this.round
          ? round > this.round
          : PRECOMMIT > this.step;
    if (above) Object.assign(this, { height, round, step: PRECOMMIT });
    return above;
  }

  /** Nothing at or below `floor` may be signed any more (the pilot's raiseTo(floor + 1)). */
  raiseAbove(floor: number): void {
    if (floor + 1 > this.height) Object.assign(this, { height: floor + 1, round: 0, step: 0 });
  }

  /** The highest height this key may have signed at, or was raised past. */
  get top(): number {
    return this.step === 0 ? this.height - 1 : this.height;
  }
}

/** The custody facts a pilot reports, in either key mode. */
export function custodyFacts(
  keyMode: SimKeyMode,
  n: { holdsKey: boolean; highestEpoch: number; fenced: boolean; mark: Mark },
  leaseExpiresAt: number | null,
  signerConnected: boolean,
): KeyCustody {
  const signer = keyMode === 'signer';
  return {
    mode: keyMode,
    holdsValidatorKey: n.holdsKey,
    highestEpoch: n.highestEpoch,
    leaseExpiresAt,
    fenced: n.fenced,
    signMark: signer ? { height: n.mark.height, round: n.mark.round, step: n.mark.step } : null,
    signerConnected: signer ? signerConnected : null,
  };
}

export interface SimNode {
  id: string;
  /** The pilot runs (reports, executes, fences, signs in signer mode). */
  pilotUp: boolean;
  /** The pilot's reports reach the commander. */
  reachesCommander: boolean;
  /** The daemon can run at all (false: crashed and stays down). */
  daemonOk: boolean;
  running: boolean;
  /** The daemon runs but still loads its state: its RPC does not answer and it signs nothing. */
  loading: boolean;
  /** File mode: the key file is in the daemon home. Signer mode: promoted and not demoted since. */
  holdsKey: boolean;
  fenced: boolean;
  highestEpoch: number;
  /** Lease expiry the pilot fences against (commander time). */
  leaseExpiresAt: number | null;
  /** Signer mode: the pilot's high-water mark. */
  mark: Mark;
  /** Pilot clock minus real time: shifts its sentAt and its fencing moment. */
  skewMs: number;
  peers: number;
  catchingUp: boolean;
  seq: number;
  nextReportAt: number;
  executed: Set<string>;
  unacked: ActionResult[];
  /**
   * Conditional fencing (rejected, docs/failover.md): keep signing past expiry while the own node shows our signature (file
   * mode: do not stop the daemon; signer mode: do not refuse).
   */
  fenceOnlyIfNotSigning: boolean;
  /** The pilot refuses key actions (e.g. a broken key file). */
  refuseKeyActions: boolean;
  /** End of the node's maintenance window (real time), or null. */
  maintenanceUntil: number | null;
}

export interface Block {
  height: number;
  at: number;
  signers: string[];
}

/** A daemon that runs and answers: it reports chain facts, and asks for (or makes) signatures. */
const serving = (n: SimNode) => n.running && !n.loading;

/** A tiny world: a chain producing blocks, pilots that report and obey, and the commander's logic. */
export class Sim {
  now = T0;
  readonly settings;
  readonly keyMode: SimKeyMode;
  state: FailoverState;
  readonly nodes = new Map<string, SimNode>();
  readonly blocks: Block[] = [];
  halted = false;
  /**
   * x/upgrade's plan: the chain commits nothing at its height until `upgradeReady` (more than 2/3 of
   * the network runs the new binary); nodes report the plan and, at the height below, that they halted.
   */
  upgrade: { name: string; height: number } | null = null;
  upgradeReady = false;
  /**
   * x/slashing's verdict on the validator as the nodes read it: null reads nothing (sentry-like
   * reports); jailed, the chain goes on without it and nobody's signature counts.
   */
  jailed: boolean | null = null;
  blockMs = 1_000;
  private nextBlockAt = T0 + 1_000;
  readonly effects: FailoverEffect[] = [];
  readonly promotes: { at: number; nodeId: string; epoch: number }[] = [];
  readonly delivered: { at: number; nodeId: string; action: Action }[] = [];

  constructor(
    ids: string[],
    {
      holder = ids[0],
      keyMode = 'signer',
      settings = {},
    }: { holder?: string | null; keyMode?: SimKeyMode; settings?: FailoverSettingsInput } = {},
  ) {
    this.keyMode = keyMode;
    this.settings = parseFailoverSettings({ ...SIM_SETTINGS[keyMode], ...settings });
    this.state = initialFailoverState(
      { chainId: CHAIN, validator: VALIDATOR },
      holder
        ? { holder, epoch: 1, expiresAt: T0 + this.settings.leaseDurationMs, grantedAt: T0 - 600_000 }
        : {},
    );
    ids.forEach((id, i) => {
      const mark = new Mark();
      if (id === holder) mark.sign(5, 0); // it signed the history below
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
        mark,
        skewMs: 0,
        peers: 5,
        catchingUp: false,
        seq: 0,
        nextReportAt: T0 + 100 * i,
        executed: new Set(),
        unacked: [],
        fenceOnlyIfNotSigning: false,
        refuseKeyActions: false,
        maintenanceUntil: null,
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
      const atUpgrade = this.upgrade !== null && this.tip + 1 === this.upgrade.height && !this.upgradeReady;
      if (!this.halted && !atUpgrade) {
        const height = this.tip + 1;
        const signers = this.jailed
          ? []
          : [...this.nodes.values()].filter((n) => this.signs(n, height)).map((n) => n.id);
        this.blocks.push({ height, at: this.now, signers });
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

  /**
   * Whether this node's signature is in the block at `height`. File mode: its daemon signs with the
   * key in its home. Signer mode: its daemon asks its pilot, which decides at this very moment.
   */
  private signs(n: SimNode, height: number): boolean {
    if (!serving(n) || !n.holdsKey) return false;
    if (this.keyMode === 'file') return true;
    if (!n.pilotUp) return false;
    const valid = n.leaseExpiresAt !== null && this.now + n.skewMs < n.leaseExpiresAt - FENCE_MARGIN_MS;
    if (!valid && !(n.fenceOnlyIfNotSigning && this.commits(n).some((c) => c.signed))) {
      n.fenced = true; // refused: the lease ran out by the pilot's clock
      return false;
    }
    return n.mark.sign(height, 0);
  }

  /** File mode: the pilot stops its daemon once the lease is over by its own clock. */
  private fence(n: SimNode): void {
    if (this.keyMode !== 'file' || !n.holdsKey || !n.running || n.leaseExpiresAt === null) return;
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
        validator:
          this.jailed === null
            ? null
            : { jailed: this.jailed, status: this.jailed ? 'unbonding' : 'bonded', tokens: '1' },
        networkSignedShare: null,
        balances: [],
        rewards: [],
        commission: [],
        proposals: [],
        grants: null,
        errors: [],
      },
      custody: custodyFacts(this.keyMode, n, n.leaseExpiresAt, serving(n)),
      upgrade: serving(n) ? this.upgradeFacts() : null,
      maintenance:
        n.maintenanceUntil === null
          ? null
          : { until: n.maintenanceUntil + n.skewMs, by: 'node', reason: 'test' },
      results: [...n.unacked],
    });
  }

  /** What a node running the daemon reads: the pending plan, and whether the chain stopped for it. */
  private upgradeFacts(): Report['upgrade'] {
    const plan = this.upgrade && this.tip < this.upgrade.height ? { ...this.upgrade, info: '' } : null;
    const halted = plan && this.tip === plan.height - 1 ? plan : null;
    return { cosmovisor: true, plan, staged: plan ? true : null, halted };
  }

  report(n: SimNode): void {
    const report = this.makeReport(n);
    if (!n.reachesCommander) return;
    const out = this.apply({ type: 'report', report });
    n.unacked = [];
    if (report.custody?.fenced) n.fenced = false;
    const reply = out.reply;
    if (!reply) return;
    if (reply.lease?.holder && reply.lease.epoch >= n.highestEpoch) n.leaseExpiresAt = reply.lease.expiresAt;
    let keyAction = false;
    for (const action of reply.actions) {
      if (n.executed.has(action.id)) continue;
      n.executed.add(action.id);
      this.delivered.push({ at: this.now, nodeId: n.id, action });
      n.unacked.push(this.execute(n, action));
      keyAction = true;
    }
    n.nextReportAt = this.now + nextReportDelay(reply, keyAction, this.settings.reportIntervalMs);
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
    const signer = this.keyMode === 'signer';
    if (action.type === 'demote') {
      n.holdsKey = false;
      n.leaseExpiresAt = null;
      n.fenced = false;
      // Signer mode: signing stops at once, the daemon runs on; the result carries the mark.
      if (signer) return { ...result(true), height: n.mark.height };
      n.running = n.daemonOk; // back to a full node without the key
      return result(true);
    }
    if (signer) {
      n.mark.raiseAbove(action.minHeight); // the floor first; the daemon runs on, no restart
    } else {
      if (!n.daemonOk) return result(false, 'daemon does not start');
      n.running = true; // restarted with the key
    }
    n.holdsKey = true;
    n.fenced = false;
    n.leaseExpiresAt = action.leaseExpiresAt;
    return signer ? { ...result(true), height: action.minHeight } : result(true);
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
