/** Pure pieces of the devnet daemon: sign bytes, last-sign-state rule, key files, config, JSON encodings. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rfc3339 } from '../../devnet/cometjson.js';
import { parseNodeConfig, renderConfigToml } from '../../devnet/config.js';
import {
  addressOf,
  generateEd25519,
  keyFromPrivKeyValue,
  privValidatorKeyJson,
  signEd25519,
  verifyEd25519,
} from '../../devnet/keys.js';
import { INITIAL_STATE, maySign, readPrivState, writePrivState } from '../../devnet/privstate.js';
import { precommitSignBytes } from '../../devnet/vote.js';

const GO_ZERO_TIME_MS = -62_135_596_800_000;

describe('precommit sign bytes', () => {
  it('match CometBFT test vector 1 (precommit, height 1, round 1, zero time, no block id)', () => {
    const bytes = precommitSignBytes({
      chainId: '',
      height: 1,
      round: 1,
      blockHash: new Uint8Array(),
      partsHash: new Uint8Array(),
      timestampMs: GO_ZERO_TIME_MS,
    });
    expect(Buffer.from(bytes).toString('hex')).toBe(
      '21' + '0802' + '110100000000000000' + '190100000000000000' + '2a0b088092b8c398feffffff01',
    );
  });

  it('depend on the block, time and chain, and verify with the signer key only', () => {
    const key = generateEd25519();
    const vote = {
      chainId: 'c',
      height: 5,
      round: 0,
      blockHash: Buffer.alloc(32, 1),
      partsHash: Buffer.alloc(32, 2),
      timestampMs: 1_700_000_000_123,
    };
    const bytes = precommitSignBytes(vote);
    const sig = signEd25519(key, bytes);
    expect(verifyEd25519(key.publicKey, bytes, sig)).toBe(true);
    expect(verifyEd25519(generateEd25519().publicKey, bytes, sig)).toBe(false);
    expect(
      verifyEd25519(key.publicKey, precommitSignBytes({ ...vote, timestampMs: vote.timestampMs + 1 }), sig),
    ).toBe(false);
    expect(verifyEd25519(key.publicKey, precommitSignBytes({ ...vote, chainId: 'd' }), sig)).toBe(false);
  });
});

describe('priv_validator_state', () => {
  it('allows signing only strictly after the stored height/round/step', () => {
    fc.assert(
      fc.property(
        fc.nat(1000),
        fc.nat(3),
        fc.nat(3),
        fc.nat(1000),
        fc.nat(3),
        fc.nat(3),
        (h, r, s, h2, r2, s2) => {
          const allowed = maySign({ height: String(h), round: r, step: s }, h2, r2, s2);
          const after = h2 > h || (h2 === h && (r2 > r || (r2 === r && s2 > s)));
          expect(allowed).toBe(after);
        },
      ),
    );
  });

  it('is written atomically in CometBFT JSON (height as a string)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pvs-'));
    try {
      const path = join(dir, 'priv_validator_state.json');
      writePrivState(path, INITIAL_STATE);
      expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ height: '0', round: 0, step: 0 });
      writePrivState(path, { height: '12', round: 0, step: 3 });
      expect(readPrivState(path).height).toBe('12');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('key files and config', () => {
  it('round-trips a priv_validator_key.json and rejects a mismatched public half', () => {
    const key = generateEd25519();
    const file = privValidatorKeyJson(key);
    expect(file.address).toBe(addressOf(key.publicKey));
    expect(Buffer.from(keyFromPrivKeyValue(file.priv_key.value).publicKey)).toEqual(
      Buffer.from(key.publicKey),
    );
    const other = privValidatorKeyJson(generateEd25519());
    const spliced = Buffer.concat([
      Buffer.from(file.priv_key.value, 'base64').subarray(0, 32),
      Buffer.from(other.pub_key.value, 'base64'),
    ]);
    expect(() => keyFromPrivKeyValue(spliced.toString('base64'))).toThrow(/does not match/);
  });

  it('renders a config.toml the node parses back, and names the bad field', () => {
    const text = renderConfigToml({
      moniker: 'val-a',
      hubAddress: '127.0.0.1:26658',
      rpcAddress: '127.0.0.2:26657',
      p2pAddress: '127.0.0.2:26656',
      persistentPeers: ['aa@127.0.0.3:26656', 'bb@127.0.0.4:26656'],
      privatePeerIds: [],
      unconditionalPeerIds: ['cc'],
      pex: false,
      externalAddress: '',
      doubleSignCheckHeight: 7,
      timeoutCommitMs: 250,
    });
    const config = parseNodeConfig(text, 'config.toml');
    expect(config.p2p.persistent_peers).toEqual(['aa@127.0.0.3:26656', 'bb@127.0.0.4:26656']);
    expect(config.p2p.unconditional_peer_ids).toEqual(['cc']);
    expect(config.p2p.handshake_timeout).toBe(20_000);
    expect(config.consensus.double_sign_check_height).toBe(7);
    expect(config.rpc.unsafe).toBe(true);
    expect(() =>
      parseNodeConfig(text.replace('handshake_timeout = "20s"', 'handshake_timeout = "soon"'), 'c.toml'),
    ).toThrow(/p2p\.handshake_timeout/);
  });

  it('formats times as RFC3339 with nanoseconds', () => {
    expect(rfc3339(Date.UTC(2026, 0, 2, 3, 4, 5, 67))).toBe('2026-01-02T03:04:05.067000000Z');
  });
});
