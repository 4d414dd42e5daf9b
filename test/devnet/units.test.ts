/**
 * Pure pieces of the devnet daemon: FilePV and its last-sign state, double-sign detection, key
 * files, config, JSON encodings, the x/upgrade pre-block rule and the binaries in cosmovisor's layout.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignedMsgType, type Vote } from 'cosmjs-types/tendermint/types/types';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { timestampFromMs, voteSignBytes } from '../../cometbft/canonical.js';
import {
  GENESIS_BINARY,
  cosmovisorPaths,
  currentBinary,
  layoutCosmovisor,
  linkCurrent,
  readBinary,
  readUpgradeInfo,
  stageUpgrade,
  writeUpgradeInfo,
} from '../../devnet/binary.js';
import { rfc3339 } from '../../devnet/cometjson.js';
import { parseNodeConfig, renderConfigToml } from '../../devnet/config.js';
import { DoubleSignDetector, type VerifiedSignature } from '../../devnet/evidence.js';
import { FilePV } from '../../devnet/filepv.js';
import { addressOf, generateEd25519, keyFromPrivKeyValue, privValidatorKeyJson } from '../../devnet/keys.js';
import { INITIAL_STATE, checkHRS, readPrivState, writePrivState } from '../../devnet/privstate.js';
import { upgradeAt, upgradeHalt } from '../../devnet/upgradecheck.js';
import {
  blockIdOf,
  nilBlockId,
  validExtensionSignature,
  validProposalSignature,
  validVoteSignature,
} from '../../devnet/signatures.js';

describe('priv_validator_state', () => {
  it("follows CometBFT's CheckHRS: a regression throws, the last HRS is a re-sign, anything later is new", () => {
    fc.assert(
      fc.property(
        fc.nat(1000),
        fc.nat(3),
        fc.nat(3),
        fc.nat(1000),
        fc.nat(3),
        fc.nat(3),
        (h, r, s, h2, r2, s2) => {
          const state = { height: String(h), round: r, step: s, signature: 'c2ln', signbytes: 'AA' };
          const after = h2 > h || (h2 === h && (r2 > r || (r2 === r && s2 > s)));
          const same = h2 === h && r2 === r && s2 === s;
          if (after) expect(checkHRS(state, h2, r2, s2)).toBe(false);
          else if (same) expect(checkHRS(state, h2, r2, s2)).toBe(true);
          else expect(() => checkHRS(state, h2, r2, s2)).toThrow(/regression/);
        },
      ),
    );
    const state = { height: '5', round: 1, step: 2 };
    expect(() => checkHRS(state, 4, 0, 3)).toThrow('height regression. Got 4, last height 5');
    expect(() => checkHRS(state, 5, 0, 3)).toThrow('round regression at height 5. Got 0, last round 1');
    expect(() => checkHRS(state, 5, 1, 1)).toThrow('step regression at height 5 round 1. Got 1, last step 2');
    expect(() => checkHRS(state, 5, 1, 2)).toThrow('no SignBytes found');
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

describe('FilePV', () => {
  const CHAIN = 'beam-devnet-1';
  const key = generateEd25519();
  const block = blockIdOf(Buffer.alloc(32, 7));
  let dir: string;
  let keyPath: string;
  let statePath: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'filepv-'));
    keyPath = join(dir, 'priv_validator_key.json');
    statePath = join(dir, 'priv_validator_state.json');
    writeFileSync(keyPath, JSON.stringify(privValidatorKeyJson(key)));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const vote = (type: SignedMsgType, height: number, overrides: Partial<Vote> = {}): Vote => ({
    type,
    height: BigInt(height),
    round: 0,
    blockId: block,
    timestamp: timestampFromMs(1_700_000_000_000 + height),
    validatorAddress: Buffer.from(addressOf(key.publicKey), 'hex'),
    validatorIndex: 0,
    signature: new Uint8Array(),
    extension: new Uint8Array(),
    extensionSignature: new Uint8Array(),
    ...overrides,
  });
  const PREVOTE = SignedMsgType.SIGNED_MSG_TYPE_PREVOTE;
  const PRECOMMIT = SignedMsgType.SIGNED_MSG_TYPE_PRECOMMIT;

  it('signs proposal, prevote and precommit (with its extension) in order, state on disk first', async () => {
    const pv = FilePV.load(keyPath, statePath);
    const proposal = await pv.signProposal(CHAIN, {
      type: SignedMsgType.SIGNED_MSG_TYPE_PROPOSAL,
      height: 3n,
      round: 0,
      polRound: -1,
      blockId: block,
      timestamp: timestampFromMs(1_700_000_000_000),
      signature: new Uint8Array(),
    });
    expect(validProposalSignature(CHAIN, key.publicKey, proposal)).toBe(true);
    expect(readPrivState(statePath)).toMatchObject({ height: '3', round: 0, step: 1 });
    const prevote = await pv.signVote(CHAIN, vote(PREVOTE, 3));
    expect(validVoteSignature(CHAIN, key.publicKey, prevote)).toBe(true);
    expect(prevote.extensionSignature).toHaveLength(0);
    const precommit = await pv.signVote(CHAIN, vote(PRECOMMIT, 3, { extension: Uint8Array.of(1, 2) }));
    expect(validVoteSignature(CHAIN, key.publicKey, precommit)).toBe(true);
    expect(validExtensionSignature(CHAIN, key.publicKey, precommit)).toBe(true);
    const state = readPrivState(statePath);
    expect(state).toMatchObject({
      height: '3',
      round: 0,
      step: 3,
      signature: Buffer.from(precommit.signature).toString('base64'),
    });
    expect(state.signbytes).toBe(Buffer.from(voteSignBytes(CHAIN, precommit)).toString('hex').toUpperCase());
    // A restarted FilePV reads the state back and refuses to go below it.
    await expect(FilePV.load(keyPath, statePath).signVote(CHAIN, vote(PREVOTE, 3))).rejects.toThrow(
      'step regression at height 3 round 0. Got 2, last step 3',
    );
  });

  it('answers a re-sign of the last message only for the same data, with the stored timestamp', async () => {
    const pv = FilePV.load(keyPath, statePath);
    const first = await pv.signVote(CHAIN, vote(PRECOMMIT, 4));
    expect(await pv.signVote(CHAIN, vote(PRECOMMIT, 4))).toMatchObject({ signature: first.signature });
    const later = await pv.signVote(
      CHAIN,
      vote(PRECOMMIT, 4, { timestamp: timestampFromMs(1_800_000_000_000) }),
    );
    expect(later.timestamp).toEqual(first.timestamp);
    expect(later.signature).toEqual(first.signature);
    expect(validVoteSignature(CHAIN, key.publicKey, later)).toBe(true);
    await expect(pv.signVote(CHAIN, vote(PRECOMMIT, 4, { blockId: nilBlockId() }))).rejects.toThrow(
      'conflicting data',
    );
  });

  it('refuses an extension on anything but a non-nil precommit', async () => {
    const pv = FilePV.load(keyPath, statePath);
    await expect(pv.signVote(CHAIN, vote(PREVOTE, 5, { extension: Uint8Array.of(1) }))).rejects.toThrow(
      'unexpected vote extension - extensions are only allowed in non-nil precommits',
    );
    const nil = await pv.signVote(CHAIN, vote(PRECOMMIT, 5, { blockId: nilBlockId() }));
    expect(nil.extensionSignature).toHaveLength(0);
  });
});

describe('double-sign detection', () => {
  const signed = (
    node: string,
    kind: VerifiedSignature['kind'],
    height: number,
    blockHash: string | null,
  ) => ({
    validatorAddress: 'AA',
    kind,
    height,
    round: 0,
    vote: { node, blockHash, timestampMs: height, signature: '' },
  });

  it('tells conflicting votes (any node) from a second signer (same block), once per validator and height', () => {
    const d = new DoubleSignDetector();
    expect(d.observe(signed('a', 'prevote', 1, 'B1'), 0)).toBeNull();
    expect(d.observe(signed('a', 'prevote', 1, 'B1'), 0)).toBeNull();
    expect(d.observe(signed('a', 'precommit', 1, 'B1'), 0)).toBeNull();
    const conflicting = d.observe(signed('b', 'precommit', 1, null), 7);
    expect(conflicting).toMatchObject({ kind: 'conflicting-votes', type: 'precommit', height: 1, timeMs: 7 });
    expect(conflicting?.votes.map((v) => v.blockHash)).toEqual([null, 'B1']);
    expect(d.observe(signed('b', 'prevote', 1, 'B1'), 0)).toBeNull();

    expect(d.observe(signed('a', 'proposal', 2, 'B2'), 0)).toBeNull();
    expect(d.observe(signed('b', 'proposal', 2, 'B2'), 0)).toMatchObject({
      kind: 'second-signer',
      type: 'proposal',
    });
    // One node voting for two blocks is evidence too.
    expect(d.observe(signed('a', 'prevote', 3, 'B3'), 0)).toBeNull();
    expect(d.observe(signed('a', 'prevote', 3, 'B4'), 0)).toMatchObject({ kind: 'conflicting-votes' });
    d.forgetBelow(4);
    expect(d.observe(signed('c', 'prevote', 3, null), 0)).toBeNull();
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
      privValidatorLaddr: 'unix:///tmp/home/data/priv_validator.sock',
    });
    const config = parseNodeConfig(text, 'config.toml');
    expect(config.p2p.persistent_peers).toEqual(['aa@127.0.0.3:26656', 'bb@127.0.0.4:26656']);
    expect(config.p2p.unconditional_peer_ids).toEqual(['cc']);
    expect(config.p2p.handshake_timeout).toBe(20_000);
    expect(config.consensus.double_sign_check_height).toBe(7);
    expect(config.rpc.unsafe).toBe(true);
    expect(config.priv_validator_laddr).toBe('unix:///tmp/home/data/priv_validator.sock');
    expect(() => parseNodeConfig(text.replace('unix:///tmp', 'tcp://127.0.0.1:26659/tmp'), 'c.toml')).toThrow(
      /priv_validator_laddr: .*unix sockets only/,
    );
    expect(() =>
      parseNodeConfig(text.replace('handshake_timeout = "20s"', 'handshake_timeout = "soon"'), 'c.toml'),
    ).toThrow(/p2p\.handshake_timeout/);
  });

  it('formats times as RFC3339 with nanoseconds', () => {
    expect(rfc3339(Date.UTC(2026, 0, 2, 3, 4, 5, 67))).toBe('2026-01-02T03:04:05.067000000Z');
  });
});

describe('x/upgrade pre-blocker', () => {
  const plan = { name: 'v2', height: 100, info: '{"binaries":{}}' };
  const genesis = GENESIS_BINARY;
  const v2 = { version: 'v2.0.0', upgrade: 'v2' };
  const pending = { plan, applied: null, appVersion: 0 };
  const applied = { plan: null, applied: { name: 'v2', height: 100 }, appVersion: 1 };

  it('halts an old binary at the plan height with UPGRADE NEEDED, and lets one with the handler apply it', () => {
    expect(upgradeHalt(genesis, pending, 99)).toBeNull();
    expect(upgradeHalt(genesis, pending, 100)).toEqual({
      message: 'UPGRADE "v2" NEEDED at height: 100: {"binaries":{}}',
      needed: plan,
    });
    expect(upgradeHalt(v2, pending, 100)).toBeNull();
  });

  it('halts a binary updated before the trigger, and an old binary after the upgrade', () => {
    expect(upgradeHalt(v2, pending, 99)?.message).toBe(
      'BINARY UPDATED BEFORE TRIGGER! UPGRADE "v2" - in binary but not executed on chain. Downgrade your binary',
    );
    expect(upgradeHalt(genesis, applied, 101)).toEqual({
      message: 'wrong app version 1, upgrade handler is missing for v2 upgrade plan',
      needed: null,
    });
    expect(upgradeHalt(v2, applied, 101)).toBeNull();
  });

  it("reads x/upgrade's state before any height from the chain's history of it", () => {
    const none = { plan: null, applied: null, appVersion: 0 };
    const history = [
      { height: 1, status: none },
      { height: 40, status: pending },
      { height: 101, status: applied },
    ];
    expect(upgradeAt(history, 1)).toEqual(none);
    expect(upgradeAt(history, 39)).toEqual(none);
    expect(upgradeAt(history, 40)).toEqual(pending);
    expect(upgradeAt(history, 100)).toEqual(pending);
    expect(upgradeAt(history, 101)).toEqual(applied);
    expect(upgradeAt(history, 5000)).toEqual(applied);
    expect(upgradeAt([], 7)).toEqual(none);
    // Blocksync through the plan height on each binary: the genesis one stops at 100, v2 before it.
    const firstHalt = (binary: typeof genesis) =>
      Array.from({ length: 200 }, (_, i) => i + 1).find((h) => upgradeHalt(binary, upgradeAt(history, h), h));
    expect(firstHalt(genesis)).toBe(100);
    expect(firstHalt(v2)).toBe(40);
  });
});

describe("binaries in cosmovisor's layout", () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'cosmovisor-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('lays out the genesis binary as current, stages an upgrade, and reads each one back', () => {
    const paths = cosmovisorPaths(home);
    expect(currentBinary(home)).toEqual(GENESIS_BINARY);
    layoutCosmovisor(home);
    expect(readFileSync(paths.genesisBin, 'utf8')).toMatch(/^#!\/bin\/sh\n/);
    expect(currentBinary(home)).toEqual(GENESIS_BINARY);
    const staged = stageUpgrade(home, 'v2', 'v2.0.0');
    expect(staged).toBe(join(home, 'cosmovisor', 'upgrades', 'v2', 'bin', 'devnetd'));
    expect(readBinary(staged)).toEqual({ version: 'v2.0.0', upgrade: 'v2' });
    linkCurrent(home, paths.upgradeDir('v2'));
    expect(currentBinary(home)).toEqual({ version: 'v2.0.0', upgrade: 'v2' });
    expect(() => stageUpgrade(home, '../x')).toThrow(/letters, digits/);
  });

  it('writes upgrade-info.json as the SDK does and reads it back', () => {
    const path = cosmovisorPaths(home).upgradeInfo;
    expect(readUpgradeInfo(path)).toBeNull();
    writeUpgradeInfo(path, { name: 'v2', height: 42, info: 'see https://example.com' });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({
      name: 'v2',
      time: '0001-01-01T00:00:00Z',
      height: 42,
      info: 'see https://example.com',
    });
    expect(readUpgradeInfo(path)).toEqual({ name: 'v2', height: 42, info: 'see https://example.com' });
  });
});
