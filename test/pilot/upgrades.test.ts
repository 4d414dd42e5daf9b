/**
 * The pilot's decisions around chain upgrades and maintenance windows, on real files: the halt and
 * the executable that may not be started again, double_sign_check_height's zeroing and restore,
 * cosmovisor's layout, the maintenance window's file and lengths, and their config keys.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigError, EXAMPLE_CONFIG, parseConfig } from '../../pilot/config.js';
import { cosmovisorSettings, haltedFor, isStaged, readUpgradeInfo } from '../../pilot/cosmovisor.js';
import { planCheckHeight } from '../../pilot/double-sign-check.js';
import { identifyExecutable } from '../../pilot/executable.js';
import {
  describeMaintenance,
  MAX_WINDOW_MS,
  parseDuration,
  readMaintenance,
  windowProblem,
  writeMaintenance,
} from '../../pilot/maintenance.js';
import { haltHold, nextHaltRecord } from '../../pilot/upgrade-halt.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-upgrades-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const plan = { name: 'v2', height: 100, info: '' };

describe('an upgrade halt without cosmovisor', () => {
  it('keeps the daemon down while its executable is the one that halted, and forgets the halt past its height', async () => {
    const bin = path.join(dir, 'gaiad-v1');
    await fs.writeFile(bin, '#!/bin/sh\necho v1\n', { mode: 0o755 });
    const link = path.join(dir, 'gaiad');
    await fs.symlink(bin, link);
    const v1 = (await identifyExecutable(link))!;
    expect(v1.path).toBe(bin); // the link resolved

    // Halted (upgrade-info names 100, the node is at 99) when the daemon started from v1 exits.
    const record = nextHaltRecord(null, haltedFor(plan, 99), 99, v1)!;
    expect(record).toEqual({ name: 'v2', height: 100, executable: v1 });
    expect(haltHold(record, await identifyExecutable(link))).toBe(
      `halted for upgrade "v2" at height 100: waiting for the new binary (${bin} is unchanged)`,
    );
    expect(haltHold(record, null)).toMatch(/waiting for the new binary/); // mid-replacement: still down

    // A new binary written over the same file (another size and mtime) may start.
    await fs.writeFile(bin, '#!/bin/sh\necho v2.0.0\n');
    await fs.utimes(bin, new Date(), new Date(Date.now() + 5000));
    expect(haltHold(record, await identifyExecutable(link))).toBeNull();
    // So may the link pointed at another file.
    const v2 = path.join(dir, 'gaiad-v2');
    await fs.copyFile(bin, v2);
    await fs.rm(link);
    await fs.symlink(v2, link);
    expect((await identifyExecutable(link))!.path).toBe(v2);
    expect(haltHold(record, await identifyExecutable(link))).toBeNull();

    // The remembered halt stays while the node is below its height (the new binary may crash there,
    // still "halted" by upgrade-info.json, and must then be restarted), and goes once it is past.
    const v2id = (await identifyExecutable(link))!;
    expect(nextHaltRecord(record, haltedFor(plan, 99), 99, v2id)).toBe(record);
    expect(nextHaltRecord(record, null, 100, null)).toBeNull();
    // No halt: an upgrade-info.json of an earlier upgrade, or no height seen yet.
    expect(nextHaltRecord(null, haltedFor(plan, 100), 100, v1)).toBeNull();
    expect(nextHaltRecord(null, haltedFor(plan, null), null, v1)).toBeNull();
    expect(haltHold(null, v1)).toBeNull();
    expect(await identifyExecutable(path.join(dir, 'missing'))).toBeNull();
  });
});

describe('double_sign_check_height through an upgrade', () => {
  const base = { configured: 10, held: null, pendingHeight: null, planGone: true, height: 50 };

  it('is set to 0 while a plan is pending and put back once the node is past the upgrade by more than it', () => {
    expect(planCheckHeight(base)).toEqual({ write: null, held: null });
    const zeroed = planCheckHeight({ ...base, pendingHeight: 100 });
    expect(zeroed).toEqual({ write: 0, held: { replaced: 10, upgradeHeight: 100 } });
    const held = zeroed.held!;
    // Pending, or halted at 99 (upgrade-info.json names 100): it stays 0.
    expect(planCheckHeight({ ...base, configured: 0, held, pendingHeight: 100, height: 99 })).toEqual({
      write: null,
      held,
    });
    // Applied at 100 (the plan is gone): 0 up to 100 + 10, the blocks its old signatures are in.
    for (const height of [100, 105, 110])
      expect(planCheckHeight({ ...base, configured: 0, held, height })).toEqual({ write: null, held });
    expect(planCheckHeight({ ...base, configured: 0, held, height: 111 })).toEqual({ write: 10, held: null });
  });

  it('keeps a later value, follows a rescheduled plan, and restores early only for a plan known to be cancelled', () => {
    const held = { replaced: 10, upgradeHeight: 100 };
    // Raised again while pending (an operator's edit, a promote): 0 again, and that value is restored.
    expect(planCheckHeight({ ...base, configured: 4, held, pendingHeight: 100 })).toEqual({
      write: 0,
      held: { replaced: 4, upgradeHeight: 100 },
    });
    expect(planCheckHeight({ ...base, configured: 0, held, pendingHeight: 120 })).toEqual({
      write: null,
      held: { replaced: 10, upgradeHeight: 120 },
    });
    // Cancelled below its height: restored at once; a failed plan query proves nothing.
    expect(planCheckHeight({ ...base, configured: 0, held, height: 60 })).toEqual({ write: 10, held: null });
    expect(planCheckHeight({ ...base, configured: 0, held, height: 60, planGone: false })).toEqual({
      write: null,
      held,
    });
    // Set by someone else after the upgrade: that value stands.
    expect(planCheckHeight({ ...base, configured: 7, held, height: 105 })).toEqual({
      write: null,
      held: null,
    });
    // Already 0 before the plan: nothing to restore.
    expect(planCheckHeight({ ...base, configured: 0, pendingHeight: 100 })).toEqual({
      write: null,
      held: null,
    });
  });
});

describe("cosmovisor's layout and upgrade-info.json", () => {
  it('reads the halt file, tells a halt from an old file, and finds staged binaries', async () => {
    const home = path.join(dir, 'home');
    await fs.mkdir(path.join(home, 'data'), { recursive: true });
    expect(await readUpgradeInfo(home)).toBeNull();
    await fs.writeFile(
      path.join(home, 'data', 'upgrade-info.json'),
      '{"name":"v2","time":"0001-01-01T00:00:00Z","height":100,"info":"{}"}',
    );
    const info = await readUpgradeInfo(home);
    expect(info).toEqual({ name: 'v2', height: 100, info: '{}' });
    expect(haltedFor(info, 99)).toEqual(info);
    expect(haltedFor(info, 100)).toBeNull();
    await fs.writeFile(path.join(home, 'data', 'upgrade-info.json'), '{"name":"v2"}');
    await expect(readUpgradeInfo(home)).rejects.toThrow(/upgrade-info\.json: not an upgrade-info\.json/);

    const cfg = parseConfig(
      EXAMPLE_CONFIG.replace('home = "/home/gaia/.gaia"', `home = "${home}"`).replace(
        '# [daemon.cosmovisor]\n# name = "gaiad"',
        '[daemon.cosmovisor]\nname = "gaiad"',
      ),
      'x.toml',
    );
    const c = cosmovisorSettings(cfg)!;
    expect(c).toEqual({ name: 'gaiad', home });
    const staged = path.join(home, 'cosmovisor', 'upgrades', 'v2', 'bin', 'gaiad');
    expect(await isStaged(c, 'v2')).toBe(false);
    await fs.mkdir(path.dirname(staged), { recursive: true });
    await fs.writeFile(staged, '#!/bin/sh\n', { mode: 0o644 });
    expect(await isStaged(c, 'v2')).toBe(false); // not executable
    await fs.chmod(staged, 0o755);
    expect(await isStaged(c, 'v2')).toBe(true);
    expect(cosmovisorSettings(parseConfig(EXAMPLE_CONFIG, 'x.toml'))).toBeNull();
  });

  it('names each bad [daemon.cosmovisor] key and its fix', () => {
    const problems = (section: string) => {
      try {
        parseConfig(EXAMPLE_CONFIG.replace('# [daemon.cosmovisor]', section), 'bad.toml');
        return '';
      } catch (error) {
        return (error as ConfigError).problems.join('\n');
      }
    };
    expect(problems('[daemon.cosmovisor]\nname = "bin/gaiad"\nhome = "gaia"')).toMatch(
      /daemon\.cosmovisor\.name: use DAEMON_NAME, the file name of the daemon binary in <home>\/cosmovisor\/genesis\/bin\/, e\.g\. "gaiad"\ndaemon\.cosmovisor\.home: use DAEMON_HOME, an absolute path/,
    );
    expect(problems('[daemon.cosmovisor]')).toBe(
      'daemon.cosmovisor.name: missing: add it under [daemon.cosmovisor] (see beam-pilot init)',
    );
    expect(parseConfig(EXAMPLE_CONFIG, 'x.toml').limits.allow_unjail).toBe(true);
  });
});

describe('maintenance windows', () => {
  it('takes lengths in s, m, h or d up to 7d, naming the flag otherwise', () => {
    expect(parseDuration('45s')).toBe(45_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('7d')).toBe(MAX_WINDOW_MS);
    expect(() => parseDuration('8d')).toThrow('--for 8d: at most 7d');
    expect(() => parseDuration('0m')).toThrow('--for 0m: use a length above zero');
    for (const bad of ['10', '1.5h', '10x', '', '-1h'])
      expect(() => parseDuration(bad)).toThrow(`--for ${bad}: use a whole number and a unit s, m, h or d`);
    expect(windowProblem(2000, 1000)).toBeNull();
    expect(windowProblem(1000, 1000)).toMatch(/not in the future/);
  });

  it('keeps the window in a file that ends by itself at until', async () => {
    const stateDir = path.join(dir, 'state');
    await fs.mkdir(stateDir);
    expect(await readMaintenance(stateDir, 0)).toBeNull();
    const window = { until: 10_000, by: 'node' as const, reason: 'disk swap' };
    await writeMaintenance(stateDir, window);
    expect((await fs.stat(path.join(stateDir, 'maintenance.json'))).mode & 0o777).toBe(0o600);
    expect(await readMaintenance(stateDir, 9_999)).toEqual(window);
    expect(await readMaintenance(stateDir, 10_000)).toBeNull();
    expect(describeMaintenance(window)).toBe(
      "maintenance window until 1970-01-01T00:00:10.000Z (set by the node's operator: disk swap)",
    );
    await writeMaintenance(stateDir, null);
    expect(await readMaintenance(stateDir, 0)).toBeNull();
    await fs.writeFile(path.join(stateDir, 'maintenance.json'), '{"until":"soon"}');
    await expect(readMaintenance(stateDir, 0)).rejects.toThrow(/is not a maintenance window: remove it/);
  });
});
