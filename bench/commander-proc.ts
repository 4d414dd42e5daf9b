/** Starts bench/commander-child.ts (the self-hosted commander) in its own process and talks to it. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const BENCH_TOKEN = 'bench-enrollment-token-0123456789';

export interface CommanderProcess {
  url: string;
  dynamodbEndpoint: string;
  tableName: string;
  pid: number;
  request<T>(message: Record<string, unknown>): Promise<T>;
  storeCalls(): Promise<{ calls: number; byCommand: Record<string, number> }>;
  stop(): Promise<void>;
}

export async function startCommander(
  options: { tick?: string; reportIntervalMs?: number } = {},
): Promise<CommanderProcess> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'beam-bench-commander-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(HERE, 'commander-child.ts'),
      stateDir,
      BENCH_TOKEN,
      options.tick ?? '*/5 * * * * *',
      String(options.reportIntervalMs ?? 5000),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, BEAM_LOG_LEVEL: 'warn' },
    },
  );
  let err = '';
  child.stderr!.on('data', (d) => {
    err = (err + d).slice(-4000);
  });
  const ready = await new Promise<{ listening: string; dynamodbEndpoint: string; tableName: string }>(
    (resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`commander did not start in 60 s: ${err}`)), 60_000);
      child.stdout!.on('data', (d) => {
        out += d;
        const line = out.split('\n').find((l) => l.startsWith('{"listening"'));
        if (line) {
          clearTimeout(timer);
          resolve(JSON.parse(line));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`commander exited with ${code}: ${err}`));
      });
    },
  );
  child.stdout!.resume();
  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  child.on('message', (raw) => {
    const m = raw as { id: number; value?: unknown; error?: string };
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(m.error));
    else p.resolve(m.value);
  });
  const request = <T>(message: Record<string, unknown>) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ ...message, id });
    });
  return {
    url: ready.listening,
    dynamodbEndpoint: ready.dynamodbEndpoint,
    tableName: ready.tableName,
    pid: child.pid!,
    request,
    storeCalls: () => request({ type: 'calls' }),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.disconnect();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
