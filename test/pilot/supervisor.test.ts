import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Desired, ProcessSupervisor } from '../../pilot/supervisor.js';
import { waitFor } from '../helpers/wait.js';
import { daemonPid, isLive, killDaemon } from './harness.js';

let dir: string;
let sup: ProcessSupervisor;
const desired: Desired[] = [];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-sup-'));
  // A stand-in daemon that ignores SIGTERM (so stopping it needs the SIGKILL bound) and says when it does.
  process.env['SUP_READY'] = path.join(dir, 'ready-');
  const script =
    "process.on('SIGTERM', () => {}); require('fs').writeFileSync(process.env.SUP_READY + process.pid, ''); setInterval(() => {}, 1000)";
  const command = [process.execPath, '-e', script];
  sup = new ProcessSupervisor(command, dir, {
    desired: 'stopped',
    onDesired: async (d) => {
      desired.push(d);
    },
    backoffMs: 100,
    backoffMaxMs: 400,
    stopTimeoutMs: 500,
    log: () => undefined,
  });
});

afterAll(async () => {
  sup.detach();
  await killDaemon(dir);
  await fs.rm(dir, { recursive: true, force: true });
});

describe('process supervisor', () => {
  it('restarts a stopped daemon on request, restarts it after crashes, and SIGKILLs one that ignores SIGTERM', async () => {
    expect(await sup.probe()).toBe(false);
    await sup.begin();
    expect(await sup.isRunning()).toBe(false); // desired stopped: begin starts nothing
    await sup.restart();
    const first = await daemonPid(dir);
    expect(isLive(first)).toBe(true);
    process.kill(first, 'SIGKILL');
    const second = await waitFor(async () => {
      const pid = await daemonPid(dir);
      return pid !== first && (await sup.isRunning()) ? pid : null;
    }, 'a crash restart');
    expect(sup.restarts).toBe(1);
    await waitFor(() => fs.stat(path.join(dir, `ready-${second}`)), 'the handler installed');
    const started = Date.now();
    await sup.stop();
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(isLive(second)).toBe(false);
    expect(desired).toEqual(['running', 'stopped']);
  });
});
