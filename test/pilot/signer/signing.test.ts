/** Signer-mode custody: the daemon pointed at the signer, the key kept out of its home, promote and demote. */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../pilot/config.js';
import { generateCometKey } from '../../../pilot/custody.js';
import { LeaseClock } from '../../../pilot/lease.js';
import { SignerCustody } from '../../../pilot/signing.js';
import { StateStore } from '../../../pilot/state.js';

const key = generateCometKey();
const CONFIG_TOML = `# CometBFT config
proxy_app = "tcp://127.0.0.1:26658"
moniker = "val-a"
priv_validator_laddr = "" # remote signer

[p2p]
laddr = "tcp://0.0.0.0:26656"
`;
let dir: string;
let home: string;

async function open(): Promise<{ custody: SignerCustody; store: StateStore }> {
  const laddr = `unix://${path.join(home, 'data', 'priv_validator.sock')}`;
  const cfg = parseConfig(
    `[node]
name = "val-a"
role = "validator"
chain_id = "beam-test-1"
state_dir = "${path.join(dir, 'state')}"
[daemon]
mode = "process"
command = ["true"]
home = "${home}"
[commander]
url = "http://127.0.0.1:9"
[validator]
consensus_address = "${key.address}"
key_mode = "signer"
key_file = "${path.join(dir, 'priv_validator_key.json')}"
signer_laddr = "${laddr}"
`,
    'pilot.toml',
  );
  const store = await StateStore.open(cfg.node.state_dir);
  const lease = new LeaseClock(0);
  const log = { info: () => {}, warn: () => {} };
  return { custody: await SignerCustody.open({ cfg, store, lease, log }), store };
}

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-signing-'));
  home = path.join(dir, 'home');
  await fs.mkdir(path.join(home, 'config'), { recursive: true });
  await fs.mkdir(path.join(home, 'data'));
  await fs.writeFile(path.join(home, 'config', 'config.toml'), CONFIG_TOML);
  await fs.writeFile(path.join(dir, 'priv_validator_key.json'), JSON.stringify(key), { mode: 0o600 });
});
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

describe('signer-mode custody', () => {
  it('points the daemon at the signer, changing that one line of its config.toml', async () => {
    const { custody } = await open();
    expect(await custody.configureDaemon()).toBe(true);
    const text = await fs.readFile(path.join(home, 'config', 'config.toml'), 'utf8');
    expect(text).toBe(
      CONFIG_TOML.replace(
        'priv_validator_laddr = ""',
        `priv_validator_laddr = "unix://${path.join(home, 'data', 'priv_validator.sock')}"`,
      ),
    );
    expect(await custody.configureDaemon()).toBe(false);
  });

  it('refuses to start while the daemon home still holds the validator key', async () => {
    await fs.writeFile(path.join(home, 'config', 'priv_validator_key.json'), JSON.stringify(key));
    await expect(open()).rejects.toThrow(/daemon home still holds the validator key/);
  });

  it('promote raises the mark above the floor before it enables signing; demote reports the mark', async () => {
    const { custody, store } = await open();
    const now = Date.now();
    const promote = {
      id: 'p1',
      issuedAt: now,
      type: 'promote' as const,
      epoch: 3,
      leaseExpiresAt: now + 10_000,
      minHeight: 41,
    };
    const out = await custody.promote(promote, now, 0, now);
    expect(out).toMatchObject({ ok: true, height: 41 });
    expect(custody.state.mark).toMatchObject({ height: 42n, round: 0, step: 0 });
    expect(store.get()).toMatchObject({ signing: true, highestEpoch: 3 });
    expect(custody.facts(null)).toMatchObject({
      mode: 'signer',
      holdsValidatorKey: true,
      signMark: { height: 42 },
    });
    const demoted = await custody.demote(4);
    expect(demoted).toMatchObject({ ok: true, height: 42 });
    expect(store.get()).toMatchObject({ signing: false, highestEpoch: 4 });
    expect(custody.facts(null).holdsValidatorKey).toBe(false);
  });

  it('refuses a promote whose lease has already run out', async () => {
    const { custody, store } = await open();
    const now = Date.now();
    const promote = {
      id: 'p1',
      issuedAt: now,
      type: 'promote' as const,
      epoch: 3,
      leaseExpiresAt: now - 1,
      minHeight: 41,
    };
    expect(await custody.promote(promote, now, 0, now)).toMatchObject({ ok: false });
    expect(store.get().signing).toBe(false);
    expect(custody.state.mark.height).toBe(0n);
  });
});
