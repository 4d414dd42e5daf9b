/**
 * Maintenance windows: while one runs, the supervisor starts no daemon on its own, so an operator
 * may stop the daemon, swap a disk or a binary, and start it again, without the pilot fighting them.
 * The window is a small file in the state folder (`beam-pilot maintenance`, or the commander's
 * `maintenance` action, writes it); the running pilot reads it each time it would start the daemon
 * and each report, so nothing needs a restart. It ends by itself at `until`.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MaintenanceFact } from '../protocol/index.js';
import { readJsonFile, writeFileAtomic } from './fsx.js';

export const DEFAULT_WINDOW = '1h';
/** Longer than a week is not maintenance: stop the daemon (desired stopped) instead. */
export const MAX_WINDOW_MS = 7 * 86_400_000;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const iso = (ms: number) => new Date(ms).toISOString();

/** A window's length as `--for` takes it: a whole number and a unit, s, m, h or d (e.g. 30m). */
export function parseDuration(text: string, flag = '--for'): number {
  const match = /^(\d{1,6})([smhd])$/.exec(text);
  if (!match) throw new Error(`${flag} ${text}: use a whole number and a unit s, m, h or d, e.g. 30m or 2h`);
  const ms = Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  if (ms === 0) throw new Error(`${flag} ${text}: use a length above zero, e.g. 30m`);
  if (ms > MAX_WINDOW_MS) throw new Error(`${flag} ${text}: at most 7d (run it again to extend a window)`);
  return ms;
}

/** Why a window until `until` cannot start at `now`; null when it can. */
export function windowProblem(until: number, now: number): string | null {
  if (until <= now) return `until ${iso(until)} is not in the future: send until null to end a window`;
  if (until - now > MAX_WINDOW_MS) return `until ${iso(until)} is more than 7 days away`;
  return null;
}

export function maintenanceFile(stateDir: string): string {
  return path.join(stateDir, 'maintenance.json');
}

/** The window running at `now`, or null (none, or it ended). Throws on a file that is not a window. */
export async function readMaintenance(stateDir: string, now: number): Promise<MaintenanceFact | null> {
  const file = maintenanceFile(stateDir);
  const raw = await readJsonFile(file);
  if (raw === undefined) return null;
  const parsed = MaintenanceFact.safeParse(raw);
  if (!parsed.success)
    throw new Error(`${file} is not a maintenance window: remove it, or run beam-pilot maintenance off`);
  return parsed.data.until > now ? parsed.data : null;
}

/** Starts (replacing any) or, with null, ends the window. */
export async function writeMaintenance(stateDir: string, window: MaintenanceFact | null): Promise<void> {
  const file = maintenanceFile(stateDir);
  if (window) await writeFileAtomic(file, JSON.stringify(window), 0o600);
  else await fs.rm(file, { force: true });
}

export function describeMaintenance(window: MaintenanceFact | null): string {
  if (!window) return 'no maintenance window';
  const why = window.reason ? `: ${window.reason}` : '';
  return `maintenance window until ${iso(window.until)} (set by ${window.by === 'node' ? "the node's operator" : 'the commander'}${why})`;
}
