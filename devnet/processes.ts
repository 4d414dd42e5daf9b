/** Node daemons as real child processes, logging to <home>/node.log. */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export class NodeProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(
    readonly name: string,
    readonly home: string,
    readonly command: string[],
  ) {}

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.running) throw new Error(`node ${this.name} is already running`);
    const [cmd, ...args] = this.command;
    if (!cmd) throw new Error(`node ${this.name}: empty command`);
    const log = openSync(join(this.home, 'node.log'), 'a');
    const child = spawn(cmd, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the exit code (null when killed by a signal). */
  waitExit(): Promise<number | null> {
    return this.exited;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child?.kill(signal);
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
