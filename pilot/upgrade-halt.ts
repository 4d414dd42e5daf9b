/**
 * Not fighting an upgrade halt. At a plan's height a binary without its handler halts for good; a
 * daemon that then exits (stopped by the operator, crashed) would only halt again if it were
 * started from the same executable. Without cosmovisor (which switches binaries itself) the pilot
 * remembers the halt and the executable the daemon ran, and starts it again only from another one:
 * a new binary installed over it, or a link pointed at the new version.
 */
import type { UpgradePlanFact } from '../protocol/index.js';
import { haltedFor, readUpgradeInfo } from './cosmovisor.js';
import { type ExecutableId, sameExecutable } from './executable.js';
import type { PilotState, StateStore } from './state.js';
import type { Supervisor } from './supervisor.js';

export type HaltRecord = NonNullable<PilotState['upgradeHalt']>;

/**
 * The halt to remember: one already remembered stays until the node is seen at or past its height
 * (a crash of the new binary, still below it, must not be mistaken for a new halt); otherwise a
 * current halt, with the executable the exited daemon was started from.
 */
export function nextHaltRecord(
  record: HaltRecord | null,
  halted: UpgradePlanFact | null,
  height: number | null,
  startedFrom: ExecutableId | null,
): HaltRecord | null {
  if (record) return height !== null && height >= record.height ? null : record;
  return halted && startedFrom ? { name: halted.name, height: halted.height, executable: startedFrom } : null;
}

/** Why the daemon must stay down: halted, and its executable is still the one that halted. */
export function haltHold(record: HaltRecord | null, current: ExecutableId | null): string | null {
  if (!record || (current && !sameExecutable(current, record.executable))) return null;
  return `halted for upgrade "${record.name}" at height ${record.height}: waiting for the new binary (${record.executable.path} is unchanged)`;
}

export class UpgradeHalt {
  constructor(
    private readonly d: {
      store: StateStore;
      daemonHome: string;
      supervisor: Pick<Supervisor, 'startedFrom' | 'executable'>;
    },
  ) {}

  /** Forgets a halt the node got past (called with each height seen). */
  observe(height: number | null): Promise<void> {
    return this.save(nextHaltRecord(this.d.store.get().upgradeHalt, null, height, null));
  }

  /** Asked while the daemon is down: why it must not be started now, or null. */
  async hold(lastHeight: number | null): Promise<string | null> {
    const info = await readUpgradeInfo(this.d.daemonHome).catch(() => null);
    const record = nextHaltRecord(
      this.d.store.get().upgradeHalt,
      haltedFor(info, lastHeight),
      lastHeight,
      this.d.supervisor.startedFrom,
    );
    await this.save(record);
    return haltHold(record, record ? await this.d.supervisor.executable() : null);
  }

  private async save(record: HaltRecord | null): Promise<void> {
    if (record === this.d.store.get().upgradeHalt) return;
    await this.d.store.update((s) => {
      s.upgradeHalt = record;
    });
  }
}
