/**
 * Signer-mode custody: the pilot is its daemon's remote signer, and the lease decides, at the moment
 * of each signature, whether it may sign. Promote raises the high-water mark above the floor the
 * commander sends and enables signing; demote disables it at once and reports the mark. The daemon
 * runs all the time and is never restarted for a change of signer.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Action, KeyCustody } from '../protocol/index.js';
import type { PilotConfig } from './config.js';
import { Custody } from './custody.js';
import { writeFileAtomic } from './fsx.js';
import type { LeaseClock } from './lease.js';
import type { Outcome } from './ledger.js';
import {
  describeMark,
  RemoteSigner,
  type SignEvent,
  type SignerLog,
  SignState,
  signStatePath,
  ValidatorKey,
} from './signer/index.js';
import type { StateStore } from './state.js';
import { editToml } from './toml-edit.js';

export interface SigningOptions {
  cfg: PilotConfig;
  store: StateStore;
  lease: LeaseClock;
  log: SignerLog;
  onSigned?: (event: SignEvent) => void;
}

export class SignerCustody {
  /** The signer refused because the lease ran out since the last report (reported as `fenced`). */
  private fencedSinceReport = false;
  private readonly signer: RemoteSigner;

  private constructor(
    private readonly o: SigningOptions,
    readonly key: ValidatorKey,
    readonly state: SignState,
  ) {
    const v = o.cfg.validator!;
    this.signer = new RemoteSigner({
      laddr: v.signer_laddr!,
      chainId: o.cfg.node.chain_id,
      key,
      state,
      gate: () => this.gate(),
      log: o.log,
      ...(o.onSigned ? { onSigned: o.onSigned } : {}),
    });
  }

  /**
   * Loads the key and the mark, refusing a daemon home that still holds the validator key (the
   * pattern behind most double signs: a second copy that signs on its own).
   */
  static async open(o: SigningOptions): Promise<SignerCustody> {
    const v = o.cfg.validator!;
    const key = await ValidatorKey.load(v.key_file!);
    if (key.address !== v.consensus_address)
      throw new Error(
        `validator.key_file ${v.key_file} is the key of ${key.address}, not of validator.consensus_address ${v.consensus_address}: point key_file at the validator's key`,
      );
    const homeKey = new Custody({
      home: o.cfg.daemon.home,
      keyFile: v.key_file!,
      stateDir: o.cfg.node.state_dir,
    });
    if (await homeKey.holdsValidatorKey())
      throw new Error(
        `signer mode: the daemon home still holds the validator key (${homeKey.homeKey}): move it out of the home (the pilot keeps it in validator.key_file) and restart; beam-pilot doctor checks this`,
      );
    return new SignerCustody(o, key, SignState.open(signStatePath(o.cfg)));
  }

  /**
   * Points the daemon at this signer: `priv_validator_laddr` in its config.toml. Returns whether the
   * file changed (a running daemon reads it only at start).
   */
  async configureDaemon(): Promise<boolean> {
    const file = path.join(this.o.cfg.daemon.home, 'config', 'config.toml');
    const [text, stat] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    const laddr = this.o.cfg.validator!.signer_laddr!;
    // Top-level keys have an empty section name.
    const out = editToml(text, new Map([['.priv_validator_laddr', laddr]]));
    if (out.changed.length === 0) return false;
    await writeFileAtomic(file, out.text, stat.mode & 0o777);
    return true;
  }

  start(): void {
    this.signer.start();
  }

  stop(): Promise<void> {
    return this.signer.stop();
  }

  /** Whether this pilot was promoted and not demoted since: it signs while its lease is valid. */
  get enabled(): boolean {
    return this.o.store.get().signing;
  }

  /**
   * Null when a signature may be made now. Standalone (no commander) a solo validator always signs;
   * with a commander only the holder of an unexpired lease of the highest epoch seen.
   */
  private gate(): string | null {
    if (!this.o.cfg.commander) return null;
    const name = this.o.cfg.node.name;
    const s = this.o.store.get();
    if (!s.signing || s.lease?.holder !== true) return `beam-pilot ${name} does not hold the signing lease`;
    if (s.lease.epoch < s.highestEpoch)
      return `beam-pilot ${name}: lease epoch ${s.lease.epoch} is below the highest seen, ${s.highestEpoch}`;
    const remaining = this.o.lease.remainingMs();
    if (remaining === null || remaining <= 0) {
      this.fencedSinceReport = true;
      return `beam-pilot ${name}: the signing lease expired by the pilot's clock (fenced until the commander renews it)`;
    }
    return null;
  }

  async promote(
    action: Extract<Action, { type: 'promote' }>,
    commanderTime: number,
    sentMono: number,
    sentWall: number,
  ): Promise<Outcome> {
    const remaining = action.leaseExpiresAt - commanderTime;
    if (remaining <= 0)
      return { ok: false, message: `the lease of epoch ${action.epoch} has already expired` };
    // The mark first: once signing is enabled, nothing at or below the floor may be signed.
    this.state.raiseTo(action.minHeight + 1);
    this.o.lease.fromAction(action.epoch, action.leaseExpiresAt, commanderTime, sentMono);
    await this.o.store.update((s) => {
      s.highestEpoch = Math.max(s.highestEpoch, action.epoch);
      s.lease = { epoch: action.epoch, holder: true, expiresAtWall: sentWall + remaining };
      s.signing = true;
    });
    return {
      ok: true,
      message: `signing at epoch ${action.epoch} above height ${action.minHeight} (mark ${describeMark(this.state.mark)}); no restart`,
      height: action.minHeight,
    };
  }

  async demote(epoch: number): Promise<Outcome> {
    // The lease clock first: the gate refuses from this instant, before the state is even written.
    this.o.lease.clear();
    await this.o.store.update((s) => {
      s.highestEpoch = Math.max(s.highestEpoch, epoch);
      s.lease = { epoch, holder: false, expiresAtWall: 0 };
      s.signing = false;
    });
    const mark = this.state.mark;
    return {
      ok: true,
      message: `stopped signing at epoch ${epoch}; mark ${describeMark(mark)}`,
      height: Number(mark.height),
    };
  }

  /** The commander accepted a report saying `fenced`. */
  fenceReported(): void {
    this.fencedSinceReport = false;
  }

  facts(leaseExpiresAt: number | null): KeyCustody {
    const { height, round, step } = this.state.mark;
    return {
      mode: 'signer',
      holdsValidatorKey: this.enabled,
      highestEpoch: this.o.store.get().highestEpoch,
      leaseExpiresAt,
      fenced: this.fencedSinceReport,
      signMark: { height: Number(height), round, step },
      signerConnected: this.signer.connected,
    };
  }
}
