/** A pilot as a real child process (`beam-pilot start`), with its daemon found through its pid file. */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PILOT_BIN = fileURLToPath(new URL('../bin/beam-pilot.mjs', import.meta.url));

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

  constructor(
    readonly name: string,
    readonly configFile: string,
    readonly stateDir: string,
    private readonly logFile: string,
  ) {}

  /** The pilot process's pid while it runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) return;
    const log = openSync(this.logFile, 'a');
    this.child = spawn(process.execPath, [PILOT_BIN, 'start', '--config', this.configFile], {
      stdio: ['ignore', log, log],
      env: { ...process.env, BEAM_LOG_LEVEL: 'info' },
    });
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
    if (pilot !== undefined) signalGroup(pilot, 'SIGKILL');
    if (daemon !== null) signalGroup(daemon, 'SIGKILL');
    await Promise.all([
      pilot !== undefined ? waitGone(pilot, 5000) : true,
      daemon !== null ? waitGone(daemon, 5000) : true,
    ]);
    this.child = null;
  }

  /** Clean stop: the pilot first (it leaves the daemon as it is), then the daemon, SIGKILL after a grace. */
  async stop(graceMs = 5000): Promise<void> {
    const pilot = this.child?.pid;
    if (pilot !== undefined && this.running) {
      this.child?.kill('SIGTERM');
      if (!(await waitGone(pilot, graceMs))) signalGroup(pilot, 'SIGKILL');
    }
    this.child = null;
    const daemon = this.daemonPid();
    if (daemon !== null) {
      signalGroup(daemon, 'SIGCONT');
      signalGroup(daemon, 'SIGTERM');
      if (!(await waitGone(daemon, graceMs))) signalGroup(daemon, 'SIGKILL');
      await waitGone(daemon, 2000);
    }
  }
}
