import { execFile, spawn } from 'node:child_process';
import { openSync, closeSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { readJsonFile, writeFileAtomic } from './fsx.js';

const run = promisify(execFile);

export type Desired = 'running' | 'stopped';

/**
 * Keeps the chain daemon in its desired state. The desired state is persisted by the caller
 * (`onDesired`) before acting, so a daemon told to stay down is never restarted, even after a
 * pilot restart.
 */
export interface Supervisor {
  readonly mode: 'systemd' | 'process';
  /** Restarts after crashes since the pilot started. */
  readonly restarts: number;
  readonly desired: Desired;
  /** Finds out whether the daemon is already up (process mode adopts it); starts nothing. */
  probe(): Promise<boolean>;
  /** Starts supervising: restarts on crash, and starts the daemon now if it should run. */
  begin(): Promise<void>;
  isRunning(): Promise<boolean>;
  start(): Promise<void>;
  /** Stops the daemon: SIGTERM, then SIGKILL after the stop timeout. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops supervising without touching the daemon (a pilot restart leaves the daemon as it is). */
  detach(): void;
}

interface Common {
  desired: Desired;
  onDesired: (d: Desired) => Promise<void>;
  backoffMs: number;
  backoffMaxMs: number;
  stopTimeoutMs: number;
  log: (msg: string) => void;
}

/** Crash-restart scheduling shared by both modes: exponential backoff, reset after a stable run. */
class Backoff {
  private delay: number;
  private lastStart = 0;
  constructor(
    private readonly base: number,
    private readonly max: number,
  ) {
    this.delay = base;
  }
  started(): void {
    this.lastStart = Date.now();
  }
  next(): number {
    if (Date.now() - this.lastStart > this.max * 2) this.delay = this.base;
    const d = this.delay;
    this.delay = Math.min(this.max, this.delay * 2);
    return d;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Process mode: the pilot starts the daemon in its own process group with output to a log file, and
 * records its pid. A pilot crash or restart leaves the daemon running; the next pilot adopts it
 * (pid file + matching /proc cmdline) and watches it by polling.
 */
export class ProcessSupervisor implements Supervisor {
  readonly mode = 'process';
  restarts = 0;
  desired: Desired;
  private pid: number | null = null;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly backoff: Backoff;
  private readonly pidFile: string;
  private readonly logFile: string;

  constructor(
    private readonly command: string[],
    stateDir: string,
    private readonly c: Common,
  ) {
    this.desired = c.desired;
    this.backoff = new Backoff(c.backoffMs, c.backoffMaxMs);
    this.pidFile = path.join(stateDir, 'daemon.pid');
    this.logFile = path.join(stateDir, 'daemon.log');
  }

  async probe(): Promise<boolean> {
    const saved = (await readJsonFile(this.pidFile)) as { pid?: number } | undefined;
    if (saved?.pid && (await this.isRunningPid(saved.pid)) && (await this.isOurs(saved.pid))) {
      this.pid = saved.pid;
      this.c.log(`adopted running daemon pid ${saved.pid}`);
    }
    return this.pid !== null;
  }

  async begin(): Promise<void> {
    this.timer = setInterval(() => void this.watch(), 250);
    this.timer.unref();
    if (this.desired === 'running' && !this.pid) await this.spawnDaemon();
  }

  private async isOurs(pid: number): Promise<boolean> {
    try {
      const cmdline = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
      return cmdline.slice(1).join('\0') === this.command.slice(1).join('\0');
    } catch {
      return false;
    }
  }

  private async spawnDaemon(): Promise<void> {
    const [cmd, ...args] = this.command as [string, ...string[]];
    const out = openSync(this.logFile, 'a', 0o600);
    try {
      const child = spawn(cmd, args, { detached: true, stdio: ['ignore', out, out] });
      child.on('error', (e) => this.c.log(`daemon spawn failed: ${e.message}`));
      // Reaps our own child; adopted daemons are reaped by init.
      child.on('exit', () => undefined);
      child.unref();
      if (!child.pid) throw new Error(`cannot start ${cmd}`);
      this.pid = child.pid;
      this.backoff.started();
      await writeFileAtomic(this.pidFile, JSON.stringify({ pid: child.pid }));
      this.c.log(`daemon started pid ${child.pid}`);
    } finally {
      closeSync(out);
    }
  }

  private async watch(): Promise<void> {
    if (this.stopping) return;
    if (this.pid !== null && !(await this.isRunningPid(this.pid))) this.pid = null;
    this.maybeRestart();
  }

  private async isZombie(pid: number): Promise<boolean> {
    try {
      return / Z /.test(await fs.readFile(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return true;
    }
  }

  private maybeRestart(): void {
    if (this.pid !== null || this.stopping || this.desired !== 'running' || this.restartTimer) return;
    const delay = this.backoff.next();
    this.c.log(`daemon exited; restarting in ${delay} ms`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.desired !== 'running' || this.pid !== null || this.stopping) return;
      this.restarts++;
      void this.spawnDaemon().catch((e) => this.c.log(`restart failed: ${(e as Error).message}`));
    }, delay);
  }

  async isRunning(): Promise<boolean> {
    return this.pid !== null && (await this.isRunningPid(this.pid));
  }

  private async setDesired(d: Desired): Promise<void> {
    await this.c.onDesired(d);
    this.desired = d;
  }

  async start(): Promise<void> {
    await this.setDesired('running');
    if (!(await this.isRunning())) await this.spawnDaemon();
  }

  async stop(): Promise<void> {
    await this.setDesired('stopped');
    await this.kill();
  }

  private async kill(): Promise<void> {
    const pid = this.pid;
    if (pid === null) return;
    this.stopping = true;
    try {
      const signal = (sig: NodeJS.Signals) => {
        try {
          process.kill(-pid, sig);
        } catch {
          try {
            process.kill(pid, sig);
          } catch {
            // already gone
          }
        }
      };
      signal('SIGTERM');
      const deadline = Date.now() + this.c.stopTimeoutMs;
      while ((await this.isRunningPid(pid)) && Date.now() < deadline) await sleep(50);
      if (await this.isRunningPid(pid)) {
        this.c.log(`daemon pid ${pid} ignored SIGTERM for ${this.c.stopTimeoutMs} ms: SIGKILL`);
        signal('SIGKILL');
        while (await this.isRunningPid(pid)) await sleep(20);
      }
      this.pid = null;
    } finally {
      this.stopping = false;
    }
  }

  private async isRunningPid(pid: number): Promise<boolean> {
    return alive(pid) && !(await this.isZombie(pid));
  }

  async restart(): Promise<void> {
    await this.setDesired('running');
    await this.kill();
    // A crash-restart the watcher scheduled meanwhile finds the daemon running and does nothing.
    if (!(await this.isRunning())) await this.spawnDaemon();
  }

  detach(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.timer = null;
    this.restartTimer = null;
  }
}

/** systemd mode: systemctl on a named unit; the pilot restarts a failed unit it wants running. */
export class SystemdSupervisor implements Supervisor {
  readonly mode = 'systemd';
  restarts = 0;
  desired: Desired;
  private timer: NodeJS.Timeout | null = null;
  private nextAttempt = 0;
  private readonly backoff: Backoff;

  constructor(
    private readonly unit: string,
    private readonly c: Common,
    private readonly systemctl = 'systemctl',
  ) {
    this.desired = c.desired;
    this.backoff = new Backoff(c.backoffMs, c.backoffMaxMs);
  }

  private async ctl(...args: string[]): Promise<void> {
    await run(this.systemctl, [...args, this.unit], { timeout: this.c.stopTimeoutMs + 5000 });
  }

  probe(): Promise<boolean> {
    return this.isRunning();
  }

  async begin(): Promise<void> {
    this.timer = setInterval(() => void this.watch(), 1000);
    this.timer.unref();
    if (this.desired === 'running' && !(await this.isRunning())) await this.ctl('start');
  }

  private async watch(): Promise<void> {
    if (this.desired !== 'running' || Date.now() < this.nextAttempt || (await this.isRunning())) return;
    this.nextAttempt = Date.now() + this.backoff.next();
    this.restarts++;
    this.c.log(`unit ${this.unit} is not active; starting it`);
    await this.ctl('start').catch((e) => this.c.log(`systemctl start failed: ${(e as Error).message}`));
    this.backoff.started();
  }

  async isRunning(): Promise<boolean> {
    try {
      await this.ctl('is-active', '--quiet');
      return true;
    } catch {
      return false;
    }
  }

  async start(): Promise<void> {
    await this.c.onDesired('running');
    this.desired = 'running';
    await this.ctl('start');
  }

  async stop(): Promise<void> {
    await this.c.onDesired('stopped');
    this.desired = 'stopped';
    await this.ctl('stop').catch(async () => {
      await this.ctl('kill', '--signal=SIGKILL');
    });
    if (await this.isRunning()) await this.ctl('kill', '--signal=SIGKILL');
  }

  async restart(): Promise<void> {
    await this.c.onDesired('running');
    this.desired = 'running';
    await this.ctl('restart');
  }

  detach(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
