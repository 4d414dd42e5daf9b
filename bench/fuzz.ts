/** Runs the fuzz tests (test/fuzz) with FUZZ_RUNS inputs per route and collects their counts. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../infra/bundle.js';

export interface FuzzRoute {
  file: string;
  route: string;
  runs: number;
  seed: number;
  outcomes: Record<string, number>;
}

export interface FuzzFigures {
  runsPerRoute: number;
  seed: number;
  routes: FuzzRoute[];
  totalInputs: number;
  failedFiles: number;
  seconds: number;
  settings: Record<string, unknown>;
}

export async function runFuzz(options: { runs: number; seed: number; log: (line: string) => void }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'beam-bench-fuzz-'));
  const started = performance.now();
  try {
    const code = await new Promise<number>((resolve) => {
      const child = spawn(
        process.execPath,
        [path.join(REPO_ROOT, 'node_modules/vitest/vitest.mjs'), 'run', 'test/fuzz'],
        {
          cwd: REPO_ROOT,
          env: {
            ...process.env,
            FUZZ_RUNS: String(options.runs),
            FUZZ_SEED: String(options.seed),
            FUZZ_SUMMARY_DIR: dir,
            FUZZ_TIMEOUT_MS: String(Math.max(120_000, options.runs * 60)),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
      });
      child.stderr!.on('data', (d) => {
        out += d;
      });
      child.on('exit', (c) => {
        if (c !== 0) options.log(out.slice(-6000));
        resolve(c ?? 1);
      });
    });
    const routes: FuzzRoute[] = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .flatMap((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as FuzzRoute[]);
    routes.sort((a, b) => a.route.localeCompare(b.route));
    return {
      runsPerRoute: options.runs,
      seed: options.seed,
      routes,
      totalInputs: routes.reduce((a, r) => a + r.runs, 0),
      failedFiles: code === 0 ? 0 : 1,
      seconds: Math.round((performance.now() - started) / 1000),
      settings: {
        tool: 'fast-check through vitest (test/fuzz/*.test.ts)',
        reproduce: `FUZZ_RUNS=${options.runs} FUZZ_SEED=${options.seed} npx vitest run test/fuzz`,
        properties:
          'no crash, no 5xx, every rejection a 4xx / error naming the problem, store unchanged by rejected input',
      },
    } satisfies FuzzFigures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
