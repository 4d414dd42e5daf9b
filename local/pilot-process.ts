/**
 * A pilot as a real child process (`beam-pilot start`), with its daemon found through its pid file.
 * It plays the pilot's systemd unit: it runs the release `<install_dir>/current` names once the pilot
 * installed one (the source before that), and starts a pilot that exited cleanly on its own (after an
 * upgrade switched its release) again. A pilot killed stays down, as a dead machine's would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PILOT_BIN = fileURLToPath(new URL('../bin/beam-pilot.mjs', import.meta.url));
/** The unit's RestartSec, shortened: a pilot that keeps exiting does not spin. */
const RESTART_DELAY_MS = 500;

function isLive(pid: number): boolean {
  try {
    // A zombie is dead for our purposes (an orphan may wait for a reaper that a container lacks).
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isLive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

export class PilotProcess {
  private child: ChildProcess | null = null;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly name: string,
    readonly configFile: string,
    readonly stateDir: string,
    private readonly logFile: string,
    /** The pilot's `upgrade.install_dir`. */
    private readonly installDir: string,
  ) {}

  /** The pilot process's pid while it runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** What the unit runs: the installed release `current` names, else the pilot from source. */
  get entry(): string {
    const installed = path.join(this.installDir, 'current', 'beam-pilot.mjs');
    return existsSync(installed) ? installed : PILOT_BIN;
  }

  start(): void {
    if (this.running) return;
    this.cancelRestart();
    const log = openSync(this.logFile, 'a');
    // Its own process group: a Ctrl-C meant for the stack must not stop the pilot behind the stack's
    // back (it would exit cleanly and be restarted as after an upgrade, daemon and all).
    const child = spawn(process.execPath, [this.entry, 'start', '--config', this.configFile], {
      stdio: ['ignore', log, log],
      env: { ...process.env, BEAM_LOG_LEVEL: 'info' },
      detached: true,
    });
    closeSync(log);
    this.child = child;
    // The unit's Restart=always, for the exit that matters here: an upgrade switched the release.
    child.once('exit', (code) => {
      if (this.child !== child || code !== 0) return;
      this.child = null;
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        this.start();
      }, RESTART_DELAY_MS);
      this.restartTimer.unref();
    });
  }

  private cancelRestart(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }

  /** The pid of the daemon this pilot runs (process mode), if it is alive. */
  daemonPid(): number | null {
    try {
      const { pid } = JSON.parse(readFileSync(path.join(this.stateDir, 'daemon.pid'), 'utf8')) as {
        pid: number;
      };
      return isLive(pid) ? pid : null;
    } catch {
      return null;
    }
  }

  /** Signals the daemon's process group: SIGKILL (crash), SIGSTOP (hang), SIGCONT (resume). */
  signalDaemon(signal: NodeJS.Signals): boolean {
    const pid = this.daemonPid();
    if (pid === null) return false;
    signalGroup(pid, signal);
    return true;
  }

  /** SIGKILL of the pilot and its daemon at once: the machine went away. */
  async crash(): Promise<void> {
    const daemon = this.daemonPid();
    const pilot = this.child?.pid;
    // Ours to stop: not restarted.
    this.child = null;
    this.cancelRestart();
    if (pilot !== undefined) signalGroup(pilot, 'SIGKILL');
    if (daemon !== null) signalGroup(daemon, 'SIGKILL');
    await Promise.all([
      pilot !== undefined ? waitGone(pilot, 5000) : true,
      daemon !== null ? waitGone(daemon, 5000) : true,
    ]);
  }

  /** Clean stop: the pilot first (it leaves the daemon as it is), then the daemon, SIGKILL after a grace. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.running ? this.child : null;
    this.child = null;
    this.cancelRestart();
    const pilot = child?.pid;
    if (child && pilot !== undefined) {
      child.kill('SIGTERM');
      if (!(await waitGone(pilot, graceMs))) signalGroup(pilot, 'SIGKILL');
    }
    const daemon = this.daemonPid();
    if (daemon !== null) {
      signalGroup(daemon, 'SIGCONT');
      signalGroup(daemon, 'SIGTERM');
      if (!(await waitGone(daemon, graceMs))) signalGroup(daemon, 'SIGKILL');
      await waitGone(daemon, 2000);
    }
  }
}
