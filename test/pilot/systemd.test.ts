import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Desired, SystemdSupervisor } from '../../pilot/supervisor.js';
import { waitFor } from '../helpers/wait.js';

/**
 * systemd is not available here: a tiny systemctl stand-in manages one "unit" (a sleep process)
 * with the same command-line contract (start, stop, restart, kill, is-active --quiet exit codes).
 */
const SYSTEMCTL = `#!/bin/sh
pidfile="$UNIT_DIR/$(echo "$@" | awk '{print $NF}').pid"
echo "$@" >> "$UNIT_DIR/calls.log"
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
case "$1" in
  start) running || { sleep 300 >/dev/null 2>&1 & echo $! > "$pidfile"; } ;;
  stop) running && kill "$(cat "$pidfile")"; rm -f "$pidfile" ;;
  restart) running && kill "$(cat "$pidfile")"; sleep 300 >/dev/null 2>&1 & echo $! > "$pidfile" ;;
  kill) running && kill -9 "$(cat "$pidfile")" ;;
  is-active) running ;;
esac
`;

let dir: string;
const desiredLog: Desired[] = [];
let sup: SystemdSupervisor;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-systemd-'));
  await fs.writeFile(path.join(dir, 'systemctl'), SYSTEMCTL, { mode: 0o755 });
  process.env['UNIT_DIR'] = dir;
  sup = new SystemdSupervisor(
    'gaiad.service',
    {
      desired: 'running',
      onDesired: async (d) => {
        desiredLog.push(d);
      },
      backoffMs: 100,
      backoffMaxMs: 400,
      stopTimeoutMs: 2000,
      log: () => undefined,
    },
    path.join(dir, 'systemctl'),
  );
});

afterAll(async () => {
  sup.detach();
  await sup.stop().catch(() => undefined);
  await fs.rm(dir, { recursive: true, force: true });
});

describe('systemd supervisor', () => {
  it('starts the unit, restarts it after a crash, and keeps it stopped when told', async () => {
    expect(await sup.probe()).toBe(false);
    await sup.begin();
    await waitFor(() => sup.isRunning(), 'unit active');
    const pid = Number(await fs.readFile(path.join(dir, 'gaiad.service.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => (await sup.isRunning()) && sup.restarts >= 1, 'unit restarted');
    await sup.stop();
    expect(desiredLog).toEqual(['stopped']);
    expect(await sup.isRunning()).toBe(false);
    await new Promise((r) => setTimeout(r, 1500)); // several watch rounds: it must stay down
    expect(await sup.isRunning()).toBe(false);
    const calls = await fs.readFile(path.join(dir, 'calls.log'), 'utf8');
    expect(calls).toMatch(/^is-active --quiet gaiad\.service$/m);
    expect(calls).toMatch(/^stop gaiad\.service$/m);
  });
});
