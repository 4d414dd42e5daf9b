import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Action, ConfigPatch } from '../protocol/index.js';
import { utcDay } from './allowlist.js';
import type { PilotConfig } from './config.js';
import type { Custody } from './custody.js';
import type { DoubleSignCheck } from './double-sign-check.js';
import { countFee, feePerTx } from './fees.js';
import { writeFileAtomic } from './fsx.js';
import type { LeaseClock } from './lease.js';
import type { Outcome } from './ledger.js';
import { describeMaintenance, readMaintenance, writeMaintenance } from './maintenance.js';
import { mergeShared } from './peer-lists.js';
import type { SignerCustody } from './signing.js';
import type { CometRpc } from './rpc.js';
import type { StateStore } from './state.js';
import type { Supervisor } from './supervisor.js';
import { parse as parseToml } from 'smol-toml';
import { editToml, patchEdits } from './toml-edit.js';
import type { HotSigner } from './tx.js';
import type { PilotReleases } from './upgrade.js';
import type { Bootstrap } from './state-sync.js';

export interface ExecutorDeps {
  cfg: PilotConfig;
  supervisor: Supervisor;
  rpc: CometRpc;
  store: StateStore;
  /** File mode: the key file moves into the daemon home. */
  custody: Custody | null;
  /** Signer mode: the pilot is the daemon's remote signer. */
  signing: SignerCustody | null;
  /** Validator nodes: consensus.double_sign_check_height through chain upgrades. */
  checkHeight: DoubleSignCheck | null;
  signer: () => HotSigner | null;
  /** The chain has no gov v1: votes go out as v1beta1 MsgVote. */
  legacyGov?: () => boolean;
  lease: LeaseClock;
  /** Latest height the pilot saw, when the daemon's RPC does not answer. */
  lastHeight: () => number;
  /** Told whenever the home's key changes between the real and the node's own. */
  onKeyChange: (holdsValidatorKey: boolean) => void;
  /** This pilot's own releases (upgrade-pilot, rollback-pilot). */
  releases: PilotReleases;
  /** Told when `current` names another release than this process runs: the pilot exits to be restarted. */
  onReleaseSwitched: () => void;
  /** State sync of a node that started with an empty block store. */
  bootstrap: Bootstrap;
  /** Why the daemon's binary is not in place yet (`[daemon.binary]`), or null. */
  binaryProblem: () => string | null;
}

/** What each action does to the daemon, its files, its key and the chain. */
export class ActionExecutor {
  constructor(private readonly d: ExecutorDeps) {}

  /** Carries out one action (the ledger and allow-list have already admitted it). */
  async perform(action: Action, commanderTime: number, sentMono: number, sentWall: number): Promise<Outcome> {
    const sup = this.d.supervisor;
    switch (action.type) {
      case 'restart-daemon':
        await sup.restart();
        return { ok: true, message: 'daemon restarted' };
      case 'stop-daemon':
        await sup.stop();
        return { ok: true, message: 'daemon stopped and kept stopped' };
      case 'start-daemon':
        await sup.start();
        return { ok: true, message: 'daemon started' };
      case 'apply-config': {
        const changed = await this.writeConfig(action.patch);
        await this.d.store.update((s) => {
          s.configVersion = action.version;
        });
        let note = '';
        if (action.restart) await sup.restart();
        else if (action.patch.p2p?.persistent_peers?.length && (await sup.isRunning())) {
          note = await this.d.rpc
            .dialPeers(action.patch.p2p.persistent_peers, {
              persistent: true,
              unconditional: false,
              private: false,
            })
            .then(
              () => '; dialed persistent peers',
              (e: Error) => `; dial_peers failed (${e.message.slice(0, 200)}), peers apply at next start`,
            );
        }
        return {
          ok: true,
          message: `config ${action.version}: changed ${changed.join(', ') || 'nothing'}${note}`,
        };
      }
      case 'dial-peers':
        await this.d.rpc.dialPeers(action.peers, action);
        return { ok: true, message: `dialed ${action.peers.length} peer(s)` };
      case 'promote':
        return this.d.signing
          ? this.d.signing.promote(action, commanderTime, sentMono, sentWall)
          : this.promote(action, commanderTime, sentMono, sentWall);
      case 'demote':
        return this.d.signing ? this.d.signing.demote(action.epoch) : this.demote(action.epoch);
      case 'vote':
        await this.payFee();
        return this.tx(
          await this.d.signer()!.vote(action.proposalId, action.option, action.memo, this.d.legacyGov?.()),
        );
      case 'delegate': {
        await this.payFee();
        const out = await this.tx(await this.d.signer()!.delegate(action.amount, action.memo));
        if (out.ok) {
          const today = utcDay(Date.now());
          await this.d.store.update((s) => {
            const before = s.delegated?.day === today ? BigInt(s.delegated.amount) : 0n;
            s.delegated = { day: today, amount: (before + BigInt(action.amount.amount)).toString() };
          });
        }
        return out;
      }
      case 'withdraw-rewards':
        await this.payFee();
        return this.tx(await this.d.signer()!.withdraw(action.commission));
      case 'unjail':
        // Not jailed, or still within its jail time: the chain's own error is the result.
        await this.payFee();
        return this.tx(await this.d.signer()!.unjail());
      case 'maintenance': {
        const dir = this.d.cfg.node.state_dir;
        if (action.until === null) {
          const ended = await readMaintenance(dir, Date.now()).catch(() => null);
          await writeMaintenance(dir, null);
          return {
            ok: true,
            message: ended ? `ended the ${describeMaintenance(ended)}` : 'no maintenance window was running',
          };
        }
        const window = { until: action.until, by: 'commander' as const, reason: action.reason };
        await writeMaintenance(dir, window);
        return { ok: true, message: describeMaintenance(window) };
      }
      case 'upgrade-pilot':
      case 'rollback-pilot': {
        const { outcome, restart } =
          action.type === 'upgrade-pilot'
            ? await this.d.releases.upgrade(action)
            : await this.d.releases.rollback(action.version);
        if (restart) this.d.onReleaseSwitched();
        return outcome;
      }
      case 'state-sync': {
        const outcome = await this.d.bootstrap.apply(action);
        // Without its binary yet, the supervisor starts the daemon as soon as it is installed.
        const waiting = this.d.binaryProblem();
        if (waiting === null) await sup.start();
        const then =
          waiting === null ? 'daemon started' : `the daemon starts once its binary is in place (${waiting})`;
        return { ...outcome, message: `${outcome.message}; ${then}` };
      }
    }
  }

  /**
   * Counts a transaction's fee before it is signed, like the action id: a crash or a lost answer after
   * the broadcast must not leave a fee uncounted (a failed transaction pays its fee too).
   */
  private async payFee(): Promise<void> {
    const c = this.d.cfg.chain!;
    const fee = feePerTx(c.gas_price, c.gas_limit).amount;
    await this.d.store.update((s) => countFee(s, fee, Date.now()));
  }

  private tx(r: { txHash: string; height: number; code: number; rawLog: string }): Outcome {
    return {
      ok: r.code === 0,
      txHash: r.txHash.toUpperCase(),
      height: r.height,
      message: r.code === 0 ? 'tx committed' : `tx failed with code ${r.code}: ${r.rawLog.slice(0, 500)}`,
    };
  }

  private async promote(
    action: Extract<Action, { type: 'promote' }>,
    commanderTime: number,
    sentMono: number,
    sentWall: number,
  ): Promise<Outcome> {
    const custody = this.d.custody!;
    await custody.realKey(); // fails early on a missing or insecure key file
    this.d.lease.fromAction(action.epoch, action.leaseExpiresAt, commanderTime, sentMono);
    await this.d.store.update((s) => {
      s.highestEpoch = Math.max(s.highestEpoch, action.epoch);
      s.lease = {
        epoch: action.epoch,
        holder: true,
        expiresAtWall: sentWall + (action.leaseExpiresAt - commanderTime),
      };
    });
    const seen = await this.d.rpc
      .status()
      .then((s) => Number(s.sync_info.latest_block_height))
      .catch(() => this.d.lastHeight());
    await this.d.supervisor.stop();
    const { signHeight } = await custody.installValidatorKey(Math.max(action.minHeight, seen));
    this.d.onKeyChange(true);
    const configured = this.d.cfg.validator!.double_sign_check_height;
    // Not while an upgrade is pending: the node must start on the new binary after the halt.
    const value = this.d.checkHeight ? await this.d.checkHeight.forPromote(configured) : configured;
    await this.writeConfig({ consensus: { double_sign_check_height: value } });
    await this.d.supervisor.start();
    return {
      ok: true,
      message: `promoted at epoch ${action.epoch}; sign state at height ${signHeight}`,
      height: signHeight,
    };
  }

  private async demote(epoch: number): Promise<Outcome> {
    await this.d.store.update((s) => {
      s.highestEpoch = Math.max(s.highestEpoch, epoch);
      s.lease = { epoch, holder: false, expiresAtWall: 0 };
    });
    this.d.lease.clear();
    await this.d.supervisor.stop();
    const { generated } = await this.d.custody!.restoreOwnKey();
    this.d.onKeyChange(false);
    await this.d.supervisor.start();
    return {
      ok: true,
      message: `demoted at epoch ${epoch}; running as a full node${generated ? ' with a new node key' : ''}`,
    };
  }

  /**
   * Changes only the Beam-owned keys of config.toml and keeps every other byte; in the peer lists,
   * only the entries Beam wrote (pilot/peer-lists.ts). Returns the changed keys.
   */
  async writeConfig(patch: ConfigPatch): Promise<string[]> {
    const file = path.join(this.d.cfg.daemon.home, 'config', 'config.toml');
    const [text, stat] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    const store = this.d.store;
    const before = store.get().beamPeers;
    const { edits, owned } = mergeShared(
      patchEdits(patch),
      () => {
        try {
          return parseToml(text);
        } catch (error) {
          throw new Error(
            `${file} is not valid TOML (${(error as Error).message.split('\n')[0]}): fix it by hand`,
          );
        }
      },
      before,
    );
    const lists = Object.keys(owned).length > 0;
    // Beam's old and new entries both count as Beam's until the file is written: after a crash in
    // between, the next change still removes whichever of them the file holds.
    if (lists)
      await store.update((s) => {
        for (const [key, entries] of Object.entries(owned))
          s.beamPeers[key] = [...new Set([...(before[key] ?? []), ...entries])];
      });
    const out = editToml(text, edits);
    if (out.changed.length > 0) await writeFileAtomic(file, out.text, stat.mode & 0o777);
    if (lists) await store.update((s) => Object.assign(s.beamPeers, owned));
    return out.changed;
  }
}
