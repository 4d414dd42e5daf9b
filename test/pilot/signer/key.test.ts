import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCometKey } from '../../../pilot/custody.js';
import { ValidatorKey } from '../../../pilot/signer/key.js';
import { verifies } from './helpers.js';

let dir: string;
const cometKey = generateCometKey();

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'validator-key-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function keyFile(name: string, content: unknown, mode = 0o600): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, JSON.stringify(content), { mode });
  await fs.chmod(file, mode);
  return file;
}

describe('ValidatorKey', () => {
  it('loads a CometBFT key file: pubkey, consensus address, signatures node:crypto verifies', async () => {
    const key = await ValidatorKey.load(await keyFile('ok.json', cometKey));
    expect(Buffer.from(key.pubKey).toString('base64')).toBe(cometKey.pub_key.value);
    expect(key.address).toBe(cometKey.address);
    const message = new TextEncoder().encode('canonical vote');
    expect(verifies(key.pubKey, message, key.sign(message))).toBe(true);
  });

  it('refuses an insecure, malformed, non-ed25519 or inconsistent key without echoing it', async () => {
    const other = generateCometKey();
    const cases: [string, unknown, number, RegExp][] = [
      ['open.json', cometKey, 0o644, /has mode 644: run chmod 600/],
      ['shape.json', { priv_key: cometKey.priv_key }, 0o600, /is not a priv_validator_key\.json/],
      [
        'secp.json',
        { ...cometKey, priv_key: { ...cometKey.priv_key, type: 'tendermint/PrivKeySecp256k1' } },
        0o600,
        /ed25519 keys .* only/,
      ],
      ['short.json', { ...cometKey, priv_key: { ...cometKey.priv_key, value: 'AAAA' } }, 0o600, /64 bytes/],
      ['mixed.json', { ...cometKey, pub_key: other.pub_key }, 0o600, /does not match the private key/],
    ];
    for (const [name, content, mode, problem] of cases) {
      const error = await ValidatorKey.load(await keyFile(name, content, mode)).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(problem);
      expect((error as Error).message).not.toContain(cometKey.priv_key.value.slice(0, 12));
    }
    await expect(ValidatorKey.load(path.join(dir, 'missing.json'))).rejects.toThrow(/does not exist/);
  });
});
