/**
 * doctor's systemd-mode checks: the two things a fence in systemd mode depends on. The daemon unit
 * must stop within the pilot's stop timeout (systemctl stop waits TimeoutStopSec), and polkit must
 * let the pilot's user run what the supervisor runs on it (start, stop, restart, kill).
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import type { PilotConfig } from './config.js';
import { POLKIT_PKLA_FILE, POLKIT_RULES_FILE, parseTimespanMs, polkitProblem } from './systemd-files.js';

const run = promisify(execFile);

export interface SystemdCheckEnv {
  systemctl: string;
  polkitFiles: string[];
  /** Whom the polkit rule must name: the user doctor runs as (run it as the pilot's user). */
  user: string;
}

const defaults = (): SystemdCheckEnv => ({
  systemctl: 'systemctl',
  polkitFiles: [POLKIT_RULES_FILE, POLKIT_PKLA_FILE],
  user: os.userInfo().username,
});

export async function systemdProblems(
  cfg: PilotConfig,
  configFile: string,
  env: SystemdCheckEnv = defaults(),
): Promise<string[]> {
  if (cfg.daemon.mode !== 'systemd') return [];
  const unit = cfg.daemon.unit as string;
  return [
    ...(await stopTimeoutProblems(cfg, unit, configFile, env.systemctl)),
    ...(await polkitProblems(unit, env)),
  ];
}

async function stopTimeoutProblems(
  cfg: PilotConfig,
  unit: string,
  configFile: string,
  systemctl: string,
): Promise<string[]> {
  let shown: string;
  try {
    shown = (
      await run(systemctl, ['show', '-p', 'TimeoutStopUSec', '--value', unit], { timeout: 5000 })
    ).stdout.trim();
  } catch {
    return []; // the daemon check reports a systemd that does not know the unit
  }
  const ms = parseTimespanMs(shown);
  const limit = cfg.daemon.stop_timeout_ms;
  const fix = `run beam-pilot init --systemd --config ${configFile} as root (it writes TimeoutStopSec=${limit}ms into a drop-in), then systemctl daemon-reload`;
  if (ms === null)
    return [`${unit}: systemctl show TimeoutStopUSec gave "${shown}", not a time span: ${fix}`];
  return ms > limit
    ? [
        `${unit} stops with TimeoutStopSec=${shown}, longer than daemon.stop_timeout_ms ${limit}: a fencing pilot would wait that long for systemctl stop: ${fix}`,
      ]
    : [];
}

async function polkitProblems(unit: string, env: SystemdCheckEnv): Promise<string[]> {
  const found: string[] = [];
  const unreadable: string[] = [];
  for (const file of env.polkitFiles) {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EACCES') unreadable.push(file);
      continue;
    }
    const problem = polkitProblem(file, text, env.user, unit);
    if (problem === null) return [];
    found.push(problem);
  }
  if (found.length > 0) {
    return found.map(
      (p) =>
        `polkit: ${p} (checked for ${env.user}, the user doctor runs as): run the release's install.sh --user ${env.user} --unit ${unit} again`,
    );
  }
  if (unreadable.length > 0) {
    return [
      `polkit: ${unreadable.join(' and ')} cannot be read by ${env.user}: run beam-pilot doctor as root to check it`,
    ];
  }
  return [
    `polkit: no rule lets ${env.user} start, stop, restart and kill ${unit} (${env.polkitFiles.join(' or ')}): install the pilot with the release's install.sh (--user ${env.user} --unit ${unit})`,
  ];
}
