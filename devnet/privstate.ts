/**
 * data/priv_validator_state.json — CometBFT's last-sign state. Written atomically (temp file, fsync,
 * rename, fsync of the directory) before any signature leaves the process, so a SIGKILL at any
 * moment leaves either the old or the new state, never a torn file.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import * as z from 'zod';
import { readJsonFile } from './jsonfile.js';

export const PrivValidatorState = z.object({
  height: z.string().regex(/^\d+$/, 'height must be a decimal string, e.g. "0"'),
  round: z.number().int().nonnegative(),
  step: z.number().int().nonnegative(),
  signature: z.string().optional(),
  signbytes: z.string().optional(),
});
export type PrivValidatorState = z.infer<typeof PrivValidatorState>;

export const INITIAL_STATE: PrivValidatorState = { height: '0', round: 0, step: 0 };

export function readPrivState(path: string): PrivValidatorState {
  return readJsonFile(path, PrivValidatorState);
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

/**
 * CometBFT's FilePVLastSignState.CheckHRS: refuses a regression (with CometBFT's error text) and
 * tells whether the height/round/step is the one last signed, where only a re-sign of the same
 * data may be answered.
 */
export function checkHRS(state: PrivValidatorState, height: number, round: number, step: number): boolean {
  const last = Number(state.height);
  if (last > height) throw new Error(`height regression. Got ${height}, last height ${last}`);
  if (last !== height) return false;
  if (state.round > round)
    throw new Error(`round regression at height ${height}. Got ${round}, last round ${state.round}`);
  if (state.round !== round) return false;
  if (state.step > step)
    throw new Error(
      `step regression at height ${height} round ${round}. Got ${step}, last step ${state.step}`,
    );
  if (state.step !== step) return false;
  if (!state.signbytes || !state.signature) throw new Error('no SignBytes found');
  return true;
}
