import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_CONFIG, parseConfig } from '../../pilot/config.js';
import { systemdProblems } from '../../pilot/doctor-systemd.js';
import { type Desired, SystemdSupervisor } from '../../pilot/supervisor.js';
import { polkitPkla, polkitRules } from '../../pilot/systemd-files.js';
import { waitFor } from '../helpers/wait.js';

/**
 * systemd is not available here: a tiny systemctl stand-in manages one "unit" (a sleep process)
 * with the same command-line contract (start, stop, restart, kill, is-active --quiet exit codes, and
 * show -p ExecStart --value).
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
  show) [ "$3" = "ExecStart" ] && echo "{ path=$UNIT_DIR/gaiad ; argv[]=$UNIT_DIR/gaiad start ; ignore_errors=no }" ;;
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

describe('systemd supervisor with a hold', () => {
  it('records the ExecStart executable a start ran from, and leaves a held unit down', async () => {
    const bin = path.join(dir, 'gaiad');
    await fs.writeFile(bin, '#!/bin/sh\n', { mode: 0o755 });
    let reason: string | null = 'maintenance window';
    let asked = 0;
    const held = new SystemdSupervisor(
      'held.service',
      {
        desired: 'running',
        onDesired: async () => undefined,
        backoffMs: 100,
        backoffMaxMs: 400,
        stopTimeoutMs: 2000,
        log: () => undefined,
        hold: async () => {
          asked++;
          return reason;
        },
      },
      path.join(dir, 'systemctl'),
    );
    try {
      expect((await held.executable())?.path).toBe(bin);
      expect(await held.probe()).toBe(false);
      await held.begin();
      expect(held.held).toBe('maintenance window');
      expect(await held.isRunning()).toBe(false);
      reason = null;
      await waitFor(
        async () => (await held.isRunning()) && held.startedFrom?.path === bin,
        'a start noticed',
      );
      expect(held.held).toBeNull();

      reason = 'halted for upgrade "v2"';
      process.kill(Number(await fs.readFile(path.join(dir, 'held.service.pid'), 'utf8')), 'SIGKILL');
      await waitFor(() => held.held === reason, 'the hold noticed', { timeoutMs: 10_000 });
      const seen = asked;
      await waitFor(() => asked >= seen + 2, 'the watcher asking again', { timeoutMs: 10_000 });
      expect(await held.isRunning()).toBe(false);
    } finally {
      held.detach();
      await held.stop();
    }
  });
});

describe('doctor in systemd mode', () => {
  it("checks the daemon unit's TimeoutStopSec against stop_timeout_ms, and the polkit rule", async () => {
    const cfg = parseConfig(EXAMPLE_CONFIG, 'pilot.toml');
    const show = path.join(dir, 'systemctl-show');
    const env = (polkitFiles: string[]) => ({ systemctl: show, polkitFiles, user: 'gaia' });
    const script = (timeout: string) =>
      fs.writeFile(
        show,
        `#!/bin/sh\n[ "$*" = "show -p TimeoutStopUSec --value gaiad.service" ] && echo "${timeout}"\n`,
        {
          mode: 0o755,
        },
      );
    const rules = path.join(dir, '50-beam-pilot.rules');
    const pkla = path.join(dir, '50-beam-pilot.pkla');

    await script('1min 30s');
    const problems = await systemdProblems(cfg, '/etc/beam/pilot.toml', env([rules, pkla]));
    expect(problems).toEqual([
      'gaiad.service stops with TimeoutStopSec=1min 30s, longer than daemon.stop_timeout_ms 10000: a fencing pilot would wait that long for systemctl stop: run beam-pilot init --systemd --config /etc/beam/pilot.toml as root (it writes TimeoutStopSec=10000ms into a drop-in), then systemctl daemon-reload',
      expect.stringMatching(
        /^polkit: no rule lets gaia start, stop, restart and kill gaiad\.service .*install\.sh/,
      ),
    ]);

    await script('10s');
    await fs.writeFile(rules, polkitRules('gaia', 'gaiad.service').replace(',"kill"', ''));
    expect(await systemdProblems(cfg, 'c', env([rules, pkla]))).toEqual([
      expect.stringMatching(/^polkit: .*50-beam-pilot\.rules does not name verb kill \(checked for gaia/),
    ]);
    await fs.writeFile(rules, polkitRules('gaia', 'gaiad.service'));
    expect(await systemdProblems(cfg, 'c', env([rules, pkla]))).toEqual([]);
    // Ubuntu 22.04's polkit: a .pkla does.
    await fs.rm(rules);
    await fs.writeFile(pkla, polkitPkla('gaia'));
    expect(await systemdProblems(cfg, 'c', env([rules, pkla]))).toEqual([]);
  });
});
