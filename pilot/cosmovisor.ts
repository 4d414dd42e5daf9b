/**
 * The daemon home's files around chain upgrades, as the Cosmos SDK and cosmovisor lay them out:
 *
 *   <daemon home>/data/upgrade-info.json                       written by x/upgrade when it halts
 *   <cosmovisor home>/cosmovisor/upgrades/<name>/bin/<daemon>  the binary staged for upgrade <name>
 */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import type { UpgradePlanFact } from '../protocol/index.js';
import type { PilotConfig } from './config.js';
import { readJsonFile } from './fsx.js';

/** `[daemon.cosmovisor]` with DAEMON_HOME filled in, or null when the daemon does not run under cosmovisor. */
export interface CosmovisorSettings {
  /** DAEMON_NAME: the binary's file name in cosmovisor's `bin` folders. */
  name: string;
  /** DAEMON_HOME: the folder holding `cosmovisor/`. */
  home: string;
}

export function cosmovisorSettings(cfg: PilotConfig): CosmovisorSettings | null {
  const c = cfg.daemon.cosmovisor;
  return c ? { name: c.name, home: c.home ?? cfg.daemon.home } : null;
}

/** cosmovisor's environment, so that the process the pilot starts uses the folders the pilot checks. */
export function cosmovisorEnv(c: CosmovisorSettings): Record<string, string> {
  return { DAEMON_NAME: c.name, DAEMON_HOME: c.home };
}

function upgradeBinary(c: CosmovisorSettings, upgrade: string): string {
  return path.join(c.home, 'cosmovisor', 'upgrades', upgrade, 'bin', c.name);
}

/** Whether the binary for `upgrade` is in place: a file cosmovisor can execute. */
export async function isStaged(c: CosmovisorSettings, upgrade: string): Promise<boolean> {
  const file = upgradeBinary(c, upgrade);
  try {
    await fs.access(file, constants.X_OK);
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

const UpgradeInfo = z.object({
  name: z.string().min(1).max(128),
  height: z.number().int().positive(),
  info: z.string().default(''),
});

/** `data/upgrade-info.json` (`{name, time, height, info}`), or null when there is none. Throws on a malformed one. */
export async function readUpgradeInfo(daemonHome: string): Promise<UpgradePlanFact | null> {
  const file = path.join(daemonHome, 'data', 'upgrade-info.json');
  const raw = await readJsonFile(file);
  if (raw === undefined) return null;
  const parsed = UpgradeInfo.safeParse(raw);
  if (!parsed.success)
    throw new Error(`${file}: not an upgrade-info.json (${parsed.error.issues[0]?.message})`);
  return { ...parsed.data, info: parsed.data.info.slice(0, 2000) };
}

/**
 * The upgrade the node halted for: x/upgrade writes upgrade-info.json when a binary without the
 * plan's handler reaches its height, and the node then never gets past height − 1. The file stays
 * after the upgrade, so it means a halt only while it names a height above the node's latest block.
 */
export function haltedFor(info: UpgradePlanFact | null, height: number | null): UpgradePlanFact | null {
  return info && height !== null && info.height > height ? info : null;
}
