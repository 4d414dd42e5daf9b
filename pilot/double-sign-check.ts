/**
 * `consensus.double_sign_check_height` through a chain upgrade. CometBFT refuses to start a validator
 * whose key signed any of the last N blocks (N = that setting). At an upgrade halt the chain stops
 * at height − 1 with this validator's own signatures in its last blocks, and it stays there until
 * enough validators run the new binary: the new binary, started with N > 0, would wait for blocks
 * that never come. So on validator nodes, while a plan is pending (or the node is halted for one),
 * the pilot sets it to 0 and remembers the value it replaced; once the node is more than that many
 * blocks past the upgrade height (its own pre-upgrade signatures are out of the window), it puts the
 * value back. The daemon reads the setting only at start: nothing is restarted for it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { ConfigPatch } from '../protocol/index.js';
import type { UpgradeReading } from './chain-upgrade.js';
import type { PilotState, StateStore } from './state.js';

export type HeldCheck = NonNullable<PilotState['doubleSignCheck']>;

/** What to do this round: a value to write (null: leave the file), and what to remember. */
export interface CheckHeightStep {
  write: number | null;
  held: HeldCheck | null;
}

export function planCheckHeight(s: {
  /** The value in config.toml now (0 when the key is absent, CometBFT's default). */
  configured: number;
  held: HeldCheck | null;
  /** The pending plan's height, or the halt's; null when there is none or the query failed. */
  pendingHeight: number | null;
  /** The plan query answered "none" and the node is not halted: a cancelled plan is really gone. */
  planGone: boolean;
  height: number | null;
}): CheckHeightStep {
  const { configured, held, pendingHeight, height } = s;
  if (pendingHeight !== null) {
    // A value set meanwhile (an operator's edit) is the one to restore.
    if (configured > 0) return { write: 0, held: { replaced: configured, upgradeHeight: pendingHeight } };
    const same = !held || held.upgradeHeight === pendingHeight;
    return { write: null, held: same ? held : { ...held, upgradeHeight: pendingHeight } };
  }
  if (!held) return { write: null, held: null };
  // Set by someone else since the upgrade: that value stands.
  if (configured > 0) return { write: null, held: null };
  const past = height !== null && height > held.upgradeHeight + held.replaced;
  const cancelled = s.planGone && height !== null && height < held.upgradeHeight;
  return past || cancelled ? { write: held.replaced, held: null } : { write: null, held };
}

export class DoubleSignCheck {
  /** The upgrade height the last step saw pending, for a promote between steps. */
  private pendingHeight: number | null = null;

  constructor(
    private readonly d: {
      store: StateStore;
      daemonHome: string;
      writeConfig: (patch: ConfigPatch) => Promise<string[]>;
      log: (msg: string) => void;
    },
  ) {}

  /** One round: zero the setting for a pending upgrade, or restore it once the node is past it. */
  async step(upgrade: UpgradeReading, height: number | null): Promise<void> {
    const f = upgrade.facts;
    this.pendingHeight = f.halted?.height ?? f.plan?.height ?? null;
    const before = this.d.store.get().doubleSignCheck;
    const next = planCheckHeight({
      configured: await this.configured(),
      held: before,
      pendingHeight: this.pendingHeight,
      planGone: upgrade.planKnown && !f.plan && !f.halted,
      height,
    });
    if (next.write === null) {
      if (next.held !== before) await this.remember(next.held);
    } else if (next.write === 0) {
      // The value to restore is on disk before the file loses it.
      await this.remember(next.held);
      await this.write(0);
      this.d.log(
        `chain upgrade at height ${next.held?.upgradeHeight} pending: consensus.double_sign_check_height ${next.held?.replaced} → 0 until the node is past it`,
      );
    } else {
      // The file has it back before the state forgets it.
      await this.write(next.write);
      await this.remember(null);
      this.d.log(`restored consensus.double_sign_check_height = ${next.write}`);
    }
  }

  /**
   * The value a promote (file mode) writes: the configured one, or 0 while an upgrade is pending,
   * the configured one then being what is restored after it.
   */
  async forPromote(configured: number): Promise<number> {
    const upgradeHeight = this.pendingHeight ?? this.d.store.get().doubleSignCheck?.upgradeHeight;
    if (upgradeHeight === undefined || configured === 0) return configured;
    await this.remember({ replaced: configured, upgradeHeight });
    return 0;
  }

  private async configured(): Promise<number> {
    const file = path.join(this.d.daemonHome, 'config', 'config.toml');
    const doc = parseToml(await fs.readFile(file, 'utf8')) as { consensus?: Record<string, unknown> };
    return Number(doc.consensus?.['double_sign_check_height'] ?? 0);
  }

  private write(value: number): Promise<string[]> {
    return this.d.writeConfig({ consensus: { double_sign_check_height: value } });
  }

  private async remember(held: HeldCheck | null): Promise<void> {
    await this.d.store.update((s) => {
      s.doubleSignCheck = held;
    });
  }
}
