/**
 * Node daemons as real child processes, logging to <home>/node.log: the daemon itself (`command`),
 * or cosmovisor running it (`cosmovisorCommand`, in a process group of its own so that a kill
 * reaches the daemon too, as a container or systemd stop would).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export class NodeProcess {
  private child: ChildProcess | undefined;
  private group = false;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(
    readonly name: string,
    readonly home: string,
    readonly command: string[],
    readonly cosmovisorCommand: string[] = [],
  ) {}

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(options: { cosmovisor?: boolean } = {}): void {
    if (this.running) throw new Error(`node ${this.name} is already running`);
    const [cmd, ...args] = options.cosmovisor ? this.cosmovisorCommand : this.command;
    if (!cmd) throw new Error(`node ${this.name}: empty command`);
    const log = openSync(join(this.home, 'node.log'), 'a');
    this.group = !!options.cosmovisor;
    const child = spawn(cmd, args, { stdio: ['ignore', log, log], detached: this.group });
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the exit code (null when killed by a signal). */
  waitExit(): Promise<number | null> {
    return this.exited;
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.running || !this.child?.pid) return;
    if (this.group) process.kill(-this.child.pid, signal);
    else this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if the node has not exited within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
