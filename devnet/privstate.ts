/**
 * data/priv_validator_state.json — CometBFT's last-sign state. Written atomically (temp file, fsync,
 * rename, fsync of the directory) before any signature leaves the process, so a SIGKILL at any
 * moment leaves either the old or the new state, never a torn file.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';

export const PrivValidatorState = z.object({
  height: z.string().regex(/^\d+$/, 'height must be a decimal string, e.g. "0"'),
  round: z.number().int().nonnegative(),
  step: z.number().int().nonnegative(),
  signature: z.string().optional(),
  signbytes: z.string().optional(),
});
export type PrivValidatorState = z.infer<typeof PrivValidatorState>;

export const INITIAL_STATE: PrivValidatorState = { height: '0', round: 0, step: 0 };
export const PRECOMMIT_STEP = 3;

export function readPrivState(path: string): PrivValidatorState {
  const parsed = PrivValidatorState.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success)
    throw new Error(
      `${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

export function writeFileAtomic(path: string, content: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

export function writePrivState(path: string, state: PrivValidatorState): void {
  writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`);
}

/** CometBFT's rule: sign only strictly after the last signed height/round/step. */
export function maySign(state: PrivValidatorState, height: number, round: number, step: number): boolean {
  const h = Number(state.height);
  if (height !== h) return height > h;
  if (round !== state.round) return round > state.round;
  return step > state.step;
}
