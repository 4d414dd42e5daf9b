/** Drives `npm start` as a person would: type lines into its console chat, read the transcript. */
import { type ChildProcess, spawn } from 'node:child_process';
import { waitFor } from '../helpers/wait.js';

/** One message as the console printed it: a post, or an in-place update of message `id`. */
export interface ChatLine {
  id: string;
  updated: boolean;
  severity: string | null;
  title: string;
  body: string;
}

export class ConsoleDriver {
  private out = '';
  private err = '';
  private readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(args: string[], cwd: string) {
    this.child = spawn('npm', ['start', '--silent', '--', ...args], {
      cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.out += chunk.toString('utf8');
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.err += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Everything printed to stdout so far (the chat transcript). */
  get transcript(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  /** A position in the transcript; `expect` looks only after it. */
  mark(): number {
    return this.out.length;
  }

  type(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Waits until the transcript after `from` matches, and returns the match. */
  async expect(pattern: RegExp, from = 0, timeoutMs = 30_000): Promise<RegExpExecArray> {
    try {
      return await waitFor(
        () => pattern.exec(this.out.slice(from)) ?? undefined,
        `console output ${pattern}`,
        {
          timeoutMs,
        },
      );
    } catch (error) {
      const tail = `--- transcript since mark ---\n${this.out.slice(from).slice(-4000)}\n--- stderr ---\n${this.err.slice(-2000)}`;
      throw new Error(`${(error as Error).message}\n${tail}`);
    }
  }

  /**
   * The chat messages printed after `from`, in order: each post (`[n] (severity) title`) and each
   * in-place update (`updated: [n] …`) with the lines that follow it.
   */
  messages(from = 0): ChatLine[] {
    const found: ChatLine[] = [];
    const head = /^(updated: )?\[(\d+)\] (?:\((\w+)\) )?(.*)$/;
    for (const line of this.out.slice(from).split('\n')) {
      const m = head.exec(line);
      if (m)
        found.push({
          id: m[2]!,
          updated: m[1] !== undefined,
          severity: m[3] ?? null,
          title: m[4]!,
          body: '',
        });
      else if (found.length > 0) found.at(-1)!.body += `${line}\n`;
    }
    return found;
  }

  /** Waits until message `id` (posted or updated after `from`) reads as `pattern` wants. */
  async expectMessage(id: string, pattern: RegExp, from = 0, timeoutMs = 30_000): Promise<ChatLine> {
    try {
      return await waitFor(
        () =>
          this.messages(from)
            .filter((m) => m.id === id)
            .find((m) => pattern.test(`${m.title}\n${m.body}`)),
        `message [${id}] ${pattern}`,
        { timeoutMs },
      );
    } catch (error) {
      const shown = this.messages(from)
        .filter((m) => m.id === id)
        .at(-1);
      throw new Error(
        `${(error as Error).message}\n--- its latest version ---\n${shown?.title}\n${shown?.body}`,
      );
    }
  }

  /** Types a line and waits for the answer. */
  async ask(line: string, answer: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
    const from = this.mark();
    this.type(line);
    return this.expect(answer, from, timeoutMs);
  }

  /** Ctrl-C: the stack stops everything it started. */
  async interrupt(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    try {
      process.kill(-this.child.pid!, 'SIGINT');
    } catch {
      // gone already
    }
    return this.exited;
  }
}
