import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_CONFIG } from '../../pilot/config.js';
import { generateCometKey } from '../../pilot/custody.js';

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../../pilot/cli.ts');
let dir: string;

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', CLI, ...args], { timeout: 30_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-cli-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('beam-pilot CLI', () => {
  it('prints help, per-command help and the version; init writes a config doctor can read', async () => {
    expect((await cli('--help')).out).toMatch(/doctor +check config/);
    expect((await cli('doctor', '--help')).out).toMatch(/one line each/);
    expect((await cli('version')).out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const file = path.join(dir, 'init.toml');
    expect((await cli('init', '--config', file)).code).toBe(0);
    expect(await fs.readFile(file, 'utf8')).toBe(EXAMPLE_CONFIG);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect((await cli('init', '--config', file)).out).toMatch(/--force/);
    expect((await cli('bogus')).code).toBe(2);
  });

  it('doctor names every config problem with its fix', async () => {
    const file = path.join(dir, 'bad.toml');
    await fs.writeFile(
      file,
      EXAMPLE_CONFIG.replace('role = "validator"', 'role = "boss"').replace(
        'rpc_url = "http://127.0.0.1:26657"',
        'rpc_url = "nope"',
      ),
    );
    const { code, out } = await cli('doctor', '--config', file);
    expect(code).toBe(1);
    expect(out).toMatch(/^✗ config .*bad\.toml: node\.role: /m);
    expect(out).toMatch(/^✗ config .*: daemon\.rpc_url: use a full URL/m);
  });

  it('doctor reports each broken part of the environment on its own line, with the fix', async () => {
    const home = path.join(dir, 'home');
    await fs.mkdir(path.join(home, 'config'), { recursive: true });
    await fs.writeFile(path.join(home, 'config', 'config.toml'), '[p2p]\npex = \n');
    const key = generateCometKey();
    const keyFile = path.join(dir, 'real_key.json');
    await fs.writeFile(keyFile, JSON.stringify(key), { mode: 0o644 });
    await fs.chmod(keyFile, 0o644);
    const cfg = EXAMPLE_CONFIG.replace(
      'state_dir = "/var/lib/beam-pilot"',
      `state_dir = "${dir}/missing-state"`,
    )
      .replace('mode = "systemd"', 'mode = "process"')
      .replace('unit = "gaiad.service"', `command = ["${dir}/no-such-daemon", "start"]`)
      .replace('home = "/home/gaia/.gaia"', `home = "${home}"`)
      .replace('rpc_url = "http://127.0.0.1:26657"', 'rpc_url = "http://127.0.0.1:9"')
      .replace('url = "https://beam.example.com"', 'url = "http://127.0.0.1:9"')
      .replace('/var/lib/beam-pilot/enrollment-token', `${dir}/token`)
      .replace('/etc/beam/priv_validator_key.json', keyFile)
      .replace('/etc/beam/hot-mnemonic', `${dir}/hot`);
    const file = path.join(dir, 'env.toml');
    await fs.writeFile(file, cfg);
    const { code, out } = await cli('doctor', '--config', file);
    expect(code).toBe(1);
    const lines = out.trim().split('\n');
    const expectLine = (re: RegExp) =>
      expect(
        lines.some((l) => re.test(l)),
        `${re} in\n${out}`,
      ).toBe(true);
    expectLine(/^✗ node\.state_dir .*missing-state is missing or not writable: run mkdir -p/);
    expectLine(/^✗ daemon\.command: .*no-such-daemon is not an executable file/);
    expectLine(/^✗ .*config\.toml is not valid TOML .*: fix the file by hand/);
    expectLine(/^✗ daemon\.rpc_url http:\/\/127\.0\.0\.1:9 does not answer status .*: start the daemon/);
    expectLine(/^✗ commander\.url http:\/\/127\.0\.0\.1:9 is unreachable/);
    expectLine(/^✗ enrollment token file .*token does not exist: create it \(mode 0600/);
    expectLine(/^✗ validator key file .*real_key\.json has mode 644: run chmod 600 /);
    expectLine(/^✗ hot key mnemonic file .*hot does not exist/);
    expect(lines.at(-1)).toBe(`${lines.length - 1} problem(s)`);
  });

  // The bundle itself runs in release.test.ts (npm run release builds it).

  it('init --systemd writes the daemon unit a stop timeout within daemon.stop_timeout_ms', async () => {
    const file = path.join(dir, 'systemd.toml');
    await fs.writeFile(file, EXAMPLE_CONFIG.replace('stop_timeout_ms = 10000', 'stop_timeout_ms = 7000'));
    const units = path.join(dir, 'units');
    const { code, out } = await cli('init', '--systemd', '--config', file, '--dir', units);
    expect(code, out).toBe(0);
    expect(out).toMatch(/systemctl daemon-reload/);
    const dropIn = await fs.readFile(
      path.join(units, 'gaiad.service.d', '50-beam-stop-timeout.conf'),
      'utf8',
    );
    expect(dropIn).toMatch(/^\[Service\]\nTimeoutStopSec=7000ms\nSendSIGKILL=yes$/m);
  });

  it('maintenance names a bad flag or verb, and keeps its window in the state folder', async () => {
    const stateDir = path.join(dir, 'maintenance-state');
    await fs.mkdir(stateDir);
    const file = path.join(dir, 'maintenance.toml');
    await fs.writeFile(
      file,
      EXAMPLE_CONFIG.replace('state_dir = "/var/lib/beam-pilot"', `state_dir = "${stateDir}"`),
    );
    const maintenance = (...args: string[]) => cli('maintenance', ...args, '--config', file);
    expect(await maintenance('on', '--for', '8d')).toEqual({
      code: 2,
      out: '--for 8d: at most 7d (run it again to extend a window)\n',
    });
    expect((await maintenance('on', '--for', '90')).out).toMatch(
      /^--for 90: use a whole number and a unit s, m, h or d/,
    );
    expect((await maintenance('on', '--for')).out).toMatch(/^--for --config: use a whole number/);
    expect((await maintenance('on', '--reason', 'x'.repeat(201))).out).toMatch(
      /^--reason: at most 200 characters/,
    );
    expect(await maintenance('soon')).toMatchObject({
      code: 2,
      out: expect.stringMatching(/^usage: beam-pilot maintenance on/),
    });
    expect((await maintenance('status')).out).toBe('no maintenance window\n');

    const on = await maintenance('on'); // 1h by default
    expect(on.code).toBe(0);
    const window = JSON.parse(await fs.readFile(path.join(stateDir, 'maintenance.json'), 'utf8'));
    expect(window).toMatchObject({ by: 'node', reason: '' });
    expect(window.until - Date.now()).toBeGreaterThan(3_500_000);
    expect(window.until - Date.now()).toBeLessThanOrEqual(3_600_000);
    expect((await maintenance('status')).out).toBe(
      `maintenance window until ${new Date(window.until).toISOString()} (set by the node's operator)\n`,
    );
    expect((await maintenance('off')).out).toMatch(/^ended the maintenance window until /);
    expect((await maintenance('off')).out).toBe('no maintenance window was running\n');
    expect(await fs.readdir(stateDir)).toEqual([]);
  });

  it('grants prints the authz commands for the hot key', async () => {
    const { DirectSecp256k1HdWallet } = await import('@cosmjs/proto-signing');
    const wallet = await DirectSecp256k1HdWallet.generate(12);
    const [acct] = await wallet.getAccounts();
    const mnemonicFile = path.join(dir, 'hot-mnemonic');
    await fs.writeFile(mnemonicFile, wallet.mnemonic, { mode: 0o600 });
    const file = path.join(dir, 'grants.toml');
    await fs.writeFile(
      file,
      EXAMPLE_CONFIG.replace('/etc/beam/hot-mnemonic', mnemonicFile).replace(
        'cosmosvaloper1...',
        'cosmosvaloper1own',
      ),
    );
    const { code, out } = await cli('grants', '--config', file, '--from', 'val');
    expect(code).toBe(0);
    expect(out).toContain(
      `gaiad tx authz grant ${acct!.address} generic --msg-type /cosmos.gov.v1.MsgVote --from val`,
    );
    expect(out).toContain(
      `gaiad tx authz grant ${acct!.address} delegate --allowed-validators cosmosvaloper1own`,
    );
  });
});
