import { execFile, spawn } from 'node:child_process';
import { openSync, closeSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { type ExecutableId, identifyExecutable } from './executable.js';
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
  /** Why a daemon that should run is left down now (see Common.hold); null while none applies. */
  readonly held: string | null;
  /** The executable the running (or last) daemon was started from, as it was then; null if unknown. */
  readonly startedFrom: ExecutableId | null;
  /** The daemon's executable as it is now (a new binary differs from `startedFrom`). */
  executable(): Promise<ExecutableId | null>;
  /** Finds out whether the daemon is already up (process mode adopts it); starts nothing. */
  probe(): Promise<boolean>;
  /** Starts supervising: restarts on crash, and starts the daemon now if it should run (and is not held). */
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
  /**
   * Asked before the supervisor starts a daemon on its own (crash restart, pilot start): a reason
   * leaves it down (a maintenance window, a halt for an upgrade whose binary is not installed yet).
   * Explicit start and restart requests are not asked.
   */
  hold?: () => Promise<string | null>;
  /** Added to the daemon's environment (process mode), e.g. cosmovisor's DAEMON_NAME and DAEMON_HOME. */
  env?: Record<string, string>;
}

/** The supervisor's own starts, gated by `Common.hold`; each change of its answer is logged once. */
class HoldGate {
  reason: string | null = null;
  constructor(private readonly c: Common) {}

  /** Whether a down daemon must stay down now. */
  async held(): Promise<boolean> {
    // A hold that cannot be read holds nothing: keeping the daemon up is the default.
    const reason = this.c.hold
      ? await this.c.hold().catch((e: Error) => {
          this.c.log(`cannot tell whether to keep the daemon down (${e.message}): starting it as usual`);
          return null;
        })
      : null;
    if (reason !== this.reason)
      this.c.log(
        reason
          ? `daemon is down and stays down: ${reason}`
          : `no longer keeping the daemon down (${this.reason})`,
      );
    this.reason = reason;
    return reason !== null;
  }

  /** The daemon runs: nothing holds it. */
  clear(): void {
    this.reason = null;
  }
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
  startedFrom: ExecutableId | null = null;
  private pid: number | null = null;
  private stopping = false;
  private watching = false;
  private timer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly backoff: Backoff;
  private readonly gate: HoldGate;
  private readonly pidFile: string;
  private readonly logFile: string;

  constructor(
    private readonly command: string[],
    stateDir: string,
    private readonly c: Common,
  ) {
    this.desired = c.desired;
    this.backoff = new Backoff(c.backoffMs, c.backoffMaxMs);
    this.gate = new HoldGate(c);
    this.pidFile = path.join(stateDir, 'daemon.pid');
    this.logFile = path.join(stateDir, 'daemon.log');
  }

  get held(): string | null {
    return this.gate.reason;
  }

  executable(): Promise<ExecutableId | null> {
    return identifyExecutable(this.command[0] as string);
  }

  async probe(): Promise<boolean> {
    const saved = (await readJsonFile(this.pidFile)) as { pid?: number } | undefined;
    if (saved?.pid && (await this.isRunningPid(saved.pid)) && (await this.isOurs(saved.pid))) {
      this.pid = saved.pid;
      // What it was started from is not known: the executable as it is now stands in for it.
      this.startedFrom = await this.executable();
      this.c.log(`adopted running daemon pid ${saved.pid}`);
    }
    return this.pid !== null;
  }

  async begin(): Promise<void> {
    this.timer = setInterval(() => void this.watch(), 250);
    this.timer.unref();
    if (this.desired === 'running' && !this.pid && !(await this.gate.held())) await this.spawnDaemon();
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
    this.startedFrom = await this.executable();
    const out = openSync(this.logFile, 'a', 0o600);
    try {
      const env = this.c.env ? { ...process.env, ...this.c.env } : process.env;
      const child = spawn(cmd, args, { detached: true, stdio: ['ignore', out, out], env });
      child.on('error', (e) => this.c.log(`daemon spawn failed: ${e.message}`));
      // Reaps our own child; adopted daemons are reaped by init.
      child.on('exit', () => undefined);
      child.unref();
      if (!child.pid) throw new Error(`cannot start ${cmd}`);
      this.pid = child.pid;
      this.gate.clear();
      this.backoff.started();
      await writeFileAtomic(this.pidFile, JSON.stringify({ pid: child.pid }));
      this.c.log(`daemon started pid ${child.pid}`);
    } finally {
      closeSync(out);
    }
  }

  private async watch(): Promise<void> {
    if (this.stopping || this.watching) return;
    this.watching = true;
    try {
      if (this.pid !== null && !(await this.isRunningPid(this.pid))) this.pid = null;
      if (this.pid === null && this.desired === 'running' && !this.restartTimer && !(await this.gate.held()))
        this.scheduleRestart();
    } finally {
      this.watching = false;
    }
  }

  private async isZombie(pid: number): Promise<boolean> {
    try {
      return / Z /.test(await fs.readFile(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return true;
    }
  }

  private scheduleRestart(): void {
    if (this.stopping) return;
    const delay = this.backoff.next();
    this.c.log(`daemon is not running; starting it in ${delay} ms`);
    this.restartTimer = setTimeout(async () => {
      // A hold that began during the delay (e.g. maintenance switched on) still applies.
      const start =
        this.desired === 'running' && this.pid === null && !this.stopping && !(await this.gate.held());
      this.restartTimer = null;
      // Detached meanwhile (the pilot closed): it starts nothing any more.
      if (!start || this.timer === null) return;
      this.restarts++;
      await this.spawnDaemon().catch((e) => this.c.log(`restart failed: ${(e as Error).message}`));
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
  startedFrom: ExecutableId | null = null;
  private timer: NodeJS.Timeout | null = null;
  private nextAttempt = 0;
  /** The unit was active at the last look (its start is noticed by polling). */
  private active = false;
  private watching = false;
  private readonly backoff: Backoff;
  private readonly gate: HoldGate;

  constructor(
    private readonly unit: string,
    private readonly c: Common,
    private readonly systemctl = 'systemctl',
  ) {
    this.desired = c.desired;
    this.backoff = new Backoff(c.backoffMs, c.backoffMaxMs);
    this.gate = new HoldGate(c);
  }

  get held(): string | null {
    return this.gate.reason;
  }

  /** The unit's ExecStart executable (`systemctl show -p ExecStart`); null when systemd does not say. */
  async executable(): Promise<ExecutableId | null> {
    const { stdout } = await run(this.systemctl, ['show', '-p', 'ExecStart', '--value', this.unit], {
      timeout: 5000,
    }).catch(() => ({ stdout: '' }));
    const file = /\bpath=([^\s;]+)/.exec(stdout)?.[1];
    return file ? identifyExecutable(file) : null;
  }

  private async ctl(...args: string[]): Promise<void> {
    await run(this.systemctl, [...args, this.unit], { timeout: this.c.stopTimeoutMs + 5000 });
  }

  async probe(): Promise<boolean> {
    await this.noticeStart();
    return this.active;
  }

  async begin(): Promise<void> {
    this.timer = setInterval(() => void this.watch(), 1000);
    this.timer.unref();
    await this.noticeStart();
    if (this.desired === 'running' && !this.active && !(await this.gate.held())) await this.ctl('start');
  }

  /** Polls the unit; a start (by anyone: systemd, the operator) records the executable it started from. */
  private async noticeStart(): Promise<void> {
    const active = await this.isRunning();
    if (active && !this.active) {
      this.startedFrom = await this.executable();
      this.gate.clear();
    }
    this.active = active;
  }

  private async watch(): Promise<void> {
    if (this.watching) return;
    this.watching = true;
    try {
      await this.noticeStart();
      if (this.active || this.desired !== 'running' || Date.now() < this.nextAttempt) return;
      if (await this.gate.held()) return;
      this.nextAttempt = Date.now() + this.backoff.next();
      this.restarts++;
      this.c.log(`unit ${this.unit} is not active; starting it`);
      await this.ctl('start').catch((e) => this.c.log(`systemctl start failed: ${(e as Error).message}`));
      this.backoff.started();
    } finally {
      this.watching = false;
    }
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
