import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../pilot/config.js';

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../../pilot/cli.ts');
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/chain-registry');
let dir: string | undefined;

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('beam-pilot init --chain', () => {
  it('writes a config whose chain settings all come from the chain registry file', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-init-chain-'));
    const file = path.join(dir, 'pilot.toml');
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', CLI, 'init', '--config', file, '--chain', path.join(FIXTURES, 'osmosis.json')],
      { timeout: 30_000 },
    );
    expect(stdout).toContain(`wrote ${file}`);
    const text = await fs.readFile(file, 'utf8');
    const cfg = parseConfig(text, file);
    expect(cfg.node.chain_id).toBe('osmosis-1');
    expect(cfg.chain).toMatchObject({ denom: 'uosmo', bech32_prefix: 'osmo', gas_price: '0.025uosmo' });
    expect(cfg.validator).toMatchObject({ operator_address: 'osmovaloper1...', account_address: 'osmo1...' });
    // The comments stay: it is still the documented example.
    expect(text).toMatch(/^account_address = "osmo1\.\.\." # the authz granter$/m);
    expect(text).not.toMatch(/uatom|cosmoshub/);
  });
});
