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

describe('process supervisor with a hold', () => {
  it('starts nothing on its own while held (explicit starts still run), and starts the daemon once the hold ends', async () => {
    const holdDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-sup-hold-'));
    const log: string[] = [];
    let reason: string | null = 'maintenance window';
    let asked = 0;
    // The stand-in daemon records the environment it got (cosmovisor's DAEMON_NAME, from the pilot).
    const script = `require('fs').writeFileSync(process.env.HOLD_DIR + '/env-' + process.pid, process.env.DAEMON_NAME ?? ''); setInterval(() => {}, 1000)`;
    process.env['HOLD_DIR'] = holdDir;
    const held = new ProcessSupervisor([process.execPath, '-e', script], holdDir, {
      desired: 'running',
      onDesired: async () => undefined,
      backoffMs: 100,
      backoffMaxMs: 400,
      stopTimeoutMs: 500,
      log: (msg) => log.push(msg),
      hold: async () => {
        asked++;
        return reason;
      },
      env: { DAEMON_NAME: 'gaiad' },
    });
    try {
      await held.begin();
      expect(await held.isRunning()).toBe(false); // desired running, but held at start
      expect(held.held).toBe('maintenance window');
      await waitFor(() => asked >= 5, 'the watcher asking again');
      expect(await held.isRunning()).toBe(false);
      expect(log).toEqual(['daemon is down and stays down: maintenance window']); // said once

      reason = null;
      const first = await waitFor(
        async () => ((await held.isRunning()) ? daemonPid(holdDir) : null),
        'a start',
      );
      expect(held.held).toBeNull();
      expect(log).toContain('no longer keeping the daemon down (maintenance window)');
      expect(await waitFor(() => fs.readFile(path.join(holdDir, `env-${first}`), 'utf8'), 'its env')).toBe(
        'gaiad',
      );

      reason = 'halted for upgrade "v2"';
      process.kill(first, 'SIGKILL');
      await waitFor(() => held.held === 'halted for upgrade "v2"', 'the hold noticed');
      const seen = asked;
      await waitFor(() => asked >= seen + 4, 'the watcher asking again');
      expect(await held.isRunning()).toBe(false);
      expect(held.restarts).toBe(1); // the start after the first hold; none since

      await held.start(); // an explicit start is not asked
      expect(await held.isRunning()).toBe(true);
      expect(held.held).toBeNull();
    } finally {
      held.detach();
      await killDaemon(holdDir);
      await fs.rm(holdDir, { recursive: true, force: true });
    }
  });
});
