import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_CONFIG } from '../../../pilot/config.js';
import { generateCometKey } from '../../../pilot/custody.js';
import { doctor } from '../../../pilot/doctor.js';

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../../../pilot/cli.ts');
let dir: string;
let home: string;
let configFile: string;
let stateFile: string;
const key = generateCometKey();
const LADDR = 'unix:///home/gaia/.gaia/data/priv_validator.sock';

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
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-signer-cli-'));
  home = path.join(dir, 'home');
  await fs.mkdir(path.join(home, 'config'), { recursive: true });
  await fs.mkdir(path.join(dir, 'state'));
  const keyFile = path.join(dir, 'priv_validator_key.json');
  await fs.writeFile(keyFile, JSON.stringify(key), { mode: 0o600 });
  configFile = path.join(dir, 'pilot.toml');
  stateFile = path.join(dir, 'state', 'priv_validator_state.json');
  await fs.writeFile(
    configFile,
    EXAMPLE_CONFIG.replace('state_dir = "/var/lib/beam-pilot"', `state_dir = "${dir}/state"`)
      .replace('home = "/home/gaia/.gaia"', `home = "${home}"`)
      .replace('/etc/beam/priv_validator_key.json', keyFile)
      .replace('0123456789ABCDEF0123456789ABCDEF01234567', key.address)
      // Nothing the doctor probes is reachable: only the signer checks are looked at.
      .replace('rpc_url = "http://127.0.0.1:26657"', 'rpc_url = "http://127.0.0.1:9"')
      .replace('url = "https://beam.example.com"', 'url = "http://127.0.0.1:9"'),
  );
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const state = (height: string, round: number, step: number) => JSON.stringify({ height, round, step });

describe('beam-pilot signer state', () => {
  it('exports without creating the file, imports only upward, and says what changed', async () => {
    expect((await cli('signer', '--help')).out).toMatch(/Stop the pilot first/);
    expect((await cli('--help')).out).toMatch(/signer +export or import the validator's sign state/);

    const empty = await cli('signer', 'state', 'export', '--config', configFile);
    expect(empty).toEqual({ code: 0, out: '{\n  "height": "0",\n  "round": 0,\n  "step": 0\n}\n' });
    await expect(fs.access(stateFile)).rejects.toThrow(/ENOENT/);

    const higher = path.join(dir, 'higher.json');
    await fs.writeFile(higher, state('100', 1, 3));
    const raised = await cli('signer', 'state', 'import', higher, '--config', configFile);
    expect(raised.code).toBe(0);
    expect(raised.out.trim()).toBe(
      `raised ${stateFile} from height 0 round 0 step 0 (none) to height 100 round 1 step 3 (precommit)`,
    );

    const out = path.join(dir, 'exported.json');
    expect((await cli('signer', 'state', 'export', '--config', configFile, '--out', out)).code).toBe(0);
    expect(JSON.parse(await fs.readFile(out, 'utf8'))).toEqual({ height: '100', round: 1, step: 3 });
    expect((await fs.stat(out)).mode & 0o777).toBe(0o600);

    const same = await cli('signer', 'state', 'import', out, '--config', configFile);
    expect(same.out).toMatch(/^unchanged: .* is already at height 100 round 1 step 3/);

    const lower = path.join(dir, 'lower.json');
    await fs.writeFile(lower, state('99', 7, 3));
    const refused = await cli('signer', 'state', 'import', lower, '--config', configFile);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(
      /refusing to lower the sign state: .*lower\.json is at height 99 round 7 step 3 \(precommit\), below .* at height 100 round 1 step 3/,
    );
    expect(JSON.parse(await fs.readFile(stateFile, 'utf8'))).toEqual({ height: '100', round: 1, step: 3 });

    expect((await cli('signer', 'state', 'import', '--config', configFile)).code).toBe(2);
    expect((await cli('signer', 'state', 'reset', '--config', configFile)).code).toBe(2);
  });
});

describe('doctor in signer mode', () => {
  const signerLines = async () =>
    (await doctor(configFile)).filter((p) => /priv_validator|holds the validator key|ed25519/.test(p));

  it('flags the key in the daemon home and a daemon not pointed at the signer', async () => {
    const configToml = path.join(home, 'config', 'config.toml');
    await fs.writeFile(configToml, 'priv_validator_key_file = "keys/pv.json"\npriv_validator_laddr = ""\n');
    await fs.mkdir(path.join(home, 'keys'));
    await fs.writeFile(path.join(home, 'config', 'priv_validator_key.json'), JSON.stringify(key));
    await fs.writeFile(path.join(home, 'keys', 'pv.json'), JSON.stringify(key));
    const lines = await signerLines();
    expect(lines).toEqual([
      `${configToml}: priv_validator_laddr is empty (the daemon signs with its own key file), not validator.signer_laddr: set priv_validator_laddr = "${LADDR}" and restart the daemon (beam-pilot start does this)`,
      expect.stringMatching(/config\/priv_validator_key\.json holds the validator key: .*run rm /),
      expect.stringMatching(/keys\/pv\.json holds the validator key/),
    ]);

    await fs.writeFile(configToml, `priv_validator_laddr = "unix:///elsewhere.sock"\n`);
    await fs.writeFile(
      path.join(home, 'config', 'priv_validator_key.json'),
      JSON.stringify(generateCometKey()),
    );
    expect(await signerLines()).toEqual([
      expect.stringMatching(/priv_validator_laddr is "unix:\/\/\/elsewhere\.sock"/),
    ]);

    await fs.writeFile(configToml, `priv_validator_laddr = "${LADDR}"\n`);
    expect(await signerLines()).toEqual([]);
  });

  it('flags a key file the signer cannot sign with', async () => {
    const keyFile = path.join(dir, 'priv_validator_key.json');
    const original = await fs.readFile(keyFile, 'utf8');
    await fs.writeFile(
      keyFile,
      JSON.stringify({
        ...key,
        priv_key: { type: 'tendermint/PrivKeySecp256k1', value: key.priv_key.value },
      }),
    );
    try {
      expect(await signerLines()).toEqual([
        expect.stringMatching(
          /priv_key\.type is tendermint\/PrivKeySecp256k1: the pilot signs with ed25519 keys/,
        ),
      ]);
    } finally {
      await fs.writeFile(keyFile, original);
    }
  });
});
