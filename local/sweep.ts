/**
 * The last word of the local stack's stop: whatever still runs from the stack's folder (a daemon a
 * pilot restarted while it was being stopped, whose pid file it never got to write) is stopped too,
 * so Ctrl-C leaves nothing behind.
 */
import { promises as fs } from 'node:fs';

export interface StackProcess {
  pid: number;
  cmdline: string;
}

/** This process and its parents (`tsx` runs the stack as its child with the same arguments). */
async function ancestors(): Promise<Set<number>> {
  const chain = new Set<number>();
  for (let pid = process.pid; pid > 1 && !chain.has(pid); ) {
    chain.add(pid);
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
    pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  return chain;
}

/** Live processes (zombies excluded) whose command line names `dir`, this process and its parents excepted. */
export async function processesUnder(dir: string): Promise<StackProcess[]> {
  const found: StackProcess[] = [];
  const own = await ancestors();
  for (const entry of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry) || own.has(Number(entry))) continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (cmdline.includes(dir) && stat !== '' && !/^\d+ \(.*\) Z/.test(stat))
      found.push({ pid: Number(entry), cmdline: cmdline.replaceAll('\0', ' ').trim() });
  }
  return found;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/**
 * SIGTERM to every process under `dir`, SIGKILL to those still there after `graceMs`; again while
 * new ones appear (a pilot on its way out may still have started a daemon). Returns what it found.
 */
export async function sweep(dir: string, graceMs = 3000, rounds = 5): Promise<StackProcess[]> {
  const found = new Map<number, StackProcess>();
  for (let round = 0; round < rounds; round++) {
    const left = await processesUnder(dir);
    if (left.length === 0) break;
    for (const p of left) {
      found.set(p.pid, p);
      signal(p.pid, 'SIGCONT'); // a SIGSTOPped daemon (a chaos "hang") cannot act on SIGTERM
      signal(p.pid, 'SIGTERM');
    }
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && (await processesUnder(dir)).length > 0)
      await new Promise((r) => setTimeout(r, 50));
    for (const p of await processesUnder(dir)) signal(p.pid, 'SIGKILL');
  }
  return [...found.values()];
}
