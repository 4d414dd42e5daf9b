import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  proposalSignBytes,
  timestampFromMs,
  voteExtensionSignBytes,
  voteSignBytes,
} from '../../../cometbft/canonical.js';
import { SignRefusal, SignState } from '../../../pilot/signer/sign-state.js';
import { CHAIN, PRECOMMIT, PREVOTE, proposal, T0, testKey, verifies, vote } from './helpers.js';

let dir: string;
let file: string;
const key = testKey();

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sign-state-'));
  file = path.join(dir, 'priv_validator_state.json');
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const onDisk = () => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

/** A signer that counts its signatures. */
function counting() {
  const signer = {
    count: 0,
    sign(m: Uint8Array) {
      signer.count++;
      return key.sign(m);
    },
  };
  return signer;
}

describe('SignState', () => {
  it('starts at height 0 in CometBFT JSON, mode 0600, and persists each signature before returning it', async () => {
    const state = SignState.open(file);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ height: '0', round: 0, step: 0 });
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);

    const v = vote(PREVOTE, 10, 0);
    const signed = state.signVote(CHAIN, v, key);
    const signBytes = voteSignBytes(CHAIN, v);
    expect(verifies(key.pubKey, signBytes, signed.signature)).toBe(true);
    expect(onDisk()).toEqual({
      height: '10',
      round: 0,
      step: 2,
      signature: Buffer.from(signed.signature).toString('base64'),
      signbytes: hex(signBytes),
    });
    expect(state.mark).toEqual({ height: 10n, round: 0, step: 2 });
    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('returns no signature when the state cannot be written, and keeps the old mark', async () => {
    const state = SignState.open(file);
    state.signVote(CHAIN, vote(PREVOTE, 10, 0), key);
    await fs.rm(dir, { recursive: true });
    expect(() => state.signVote(CHAIN, vote(PRECOMMIT, 10, 0), key)).toThrow(/ENOENT/);
    expect(state.mark).toEqual({ height: 10n, round: 0, step: 2 });
  });

  it('refuses height, round and step regressions, naming both positions', () => {
    const state = SignState.open(file);
    state.signVote(CHAIN, vote(PREVOTE, 10, 2), key);
    const signer = counting();
    expect(() => state.signVote(CHAIN, vote(PRECOMMIT, 9, 5), signer)).toThrow(
      /^height regression: asked to sign height 9 round 5 step 3 \(precommit\), already signed height 10 round 2 step 2 \(prevote\)$/,
    );
    expect(() => state.signVote(CHAIN, vote(PRECOMMIT, 10, 1), signer)).toThrow(
      /^round regression: .*round 1/,
    );
    expect(() => state.signProposal(CHAIN, proposal(10, 2), signer)).toThrow(
      /^step regression: asked to sign height 10 round 2 step 1 \(proposal\)/,
    );
    expect(() => state.signVote(CHAIN, vote(PRECOMMIT, 9, 5), signer)).toThrow(SignRefusal);
    expect(signer.count).toBe(0);
    expect(onDisk()).toMatchObject({ height: '10', round: 2, step: 2 });
    // Forward in any component is fine.
    state.signVote(CHAIN, vote(PRECOMMIT, 10, 2), key);
    state.signVote(CHAIN, vote(PREVOTE, 10, 3), key);
    state.signProposal(CHAIN, proposal(11, 0), key);
    expect(state.mark).toEqual({ height: 11n, round: 0, step: 1 });
  });

  it('at the same height/round/step returns the stored signature for the same sign bytes, without signing', () => {
    const state = SignState.open(file);
    const first = state.signVote(CHAIN, vote(PREVOTE, 10, 0), key);
    const signer = counting();
    const again = state.signVote(CHAIN, vote(PREVOTE, 10, 0), signer);
    expect(again.signature).toEqual(first.signature);
    expect(signer.count).toBe(0);
    const p = state.signProposal(CHAIN, proposal(11, 0), key);
    expect(state.signProposal(CHAIN, proposal(11, 0), signer).signature).toEqual(p.signature);
    expect(signer.count).toBe(0);
  });

  it('when only the timestamp differs, returns the stored signature and the stored timestamp', () => {
    const state = SignState.open(file);
    const first = state.signVote(CHAIN, vote(PRECOMMIT, 10, 0, { ms: T0 }), key);
    const retry = state.signVote(CHAIN, vote(PRECOMMIT, 10, 0, { ms: T0 + 1500 }), key);
    expect(retry.signature).toEqual(first.signature);
    expect(retry.timestamp).toEqual(timestampFromMs(T0));
    expect(verifies(key.pubKey, voteSignBytes(CHAIN, retry), retry.signature)).toBe(true);

    const p = state.signProposal(CHAIN, proposal(11, 0, { ms: T0 + 5000 }), key);
    const pRetry = state.signProposal(CHAIN, proposal(11, 0, { ms: T0 + 9000 }), key);
    expect(pRetry.signature).toEqual(p.signature);
    expect(pRetry.timestamp).toEqual(timestampFromMs(T0 + 5000));
    expect(verifies(key.pubKey, proposalSignBytes(CHAIN, pRetry), pRetry.signature)).toBe(true);
  });

  it('refuses different data at the same height/round/step: nil vs a block, another block, another chain', () => {
    const state = SignState.open(file);
    state.signVote(CHAIN, vote(PREVOTE, 10, 0, { block: null }), key);
    expect(() => state.signVote(CHAIN, vote(PREVOTE, 10, 0, { block: 1 }), key)).toThrow(
      /^conflicting data at height 10 round 0 step 2/,
    );
    expect(() => state.signVote('other-chain', vote(PREVOTE, 10, 0, { block: null }), key)).toThrow(
      /conflicting data/,
    );
    state.signProposal(CHAIN, proposal(11, 0, { block: 1 }), key);
    expect(() => state.signProposal(CHAIN, proposal(11, 0, { block: 2 }), key)).toThrow(/conflicting data/);
    expect(onDisk()).toMatchObject({ height: '11', round: 0, step: 1 });
  });

  it('signs the extension of a non-nil precommit every time, and refuses extensions elsewhere', () => {
    const state = SignState.open(file);
    const v = vote(PRECOMMIT, 10, 0, { extension: 'ext-a' });
    const signed = state.signVote(CHAIN, v, key);
    expect(verifies(key.pubKey, voteSignBytes(CHAIN, v), signed.signature)).toBe(true);
    expect(verifies(key.pubKey, voteExtensionSignBytes(CHAIN, v), signed.extensionSignature)).toBe(true);
    // A re-request with another extension reuses the vote signature but signs the new extension.
    const v2 = vote(PRECOMMIT, 10, 0, { extension: 'ext-b' });
    const again = state.signVote(CHAIN, v2, key);
    expect(again.signature).toEqual(signed.signature);
    expect(verifies(key.pubKey, voteExtensionSignBytes(CHAIN, v2), again.extensionSignature)).toBe(true);
    // An empty extension of a non-nil precommit is signed too.
    const plain = state.signVote(CHAIN, vote(PRECOMMIT, 11, 0), key);
    expect(plain.extensionSignature).toHaveLength(64);
    expect(
      state.signVote(CHAIN, vote(PRECOMMIT, 12, 0, { block: null }), key).extensionSignature,
    ).toHaveLength(0);
    expect(
      state.signVote(CHAIN, vote(PRECOMMIT, 13, 0), key, { signExtension: false }).extensionSignature,
    ).toHaveLength(0);
    expect(() => state.signVote(CHAIN, vote(PREVOTE, 14, 0, { extension: 'x' }), key)).toThrow(
      /unexpected vote extension/,
    );
    expect(() => state.signVote(CHAIN, vote(PRECOMMIT, 14, 0, { block: null, extension: 'x' }), key)).toThrow(
      /unexpected vote extension/,
    );
    expect(state.mark).toEqual({ height: 13n, round: 0, step: 3 });
  });

  it('refuses message types it does not sign', () => {
    const state = SignState.open(file);
    expect(() => state.signVote(CHAIN, { ...vote(PREVOTE, 10, 0), type: 32 }, key)).toThrow(
      /message type 32/,
    );
    expect(() => state.signProposal(CHAIN, { ...proposal(10, 0), type: PREVOTE }, key)).toThrow(
      /proposal of message type 1/,
    );
    expect(state.mark.height).toBe(0n);
  });

  it('survives a reopen: the mark and the stored signature come back from the file', () => {
    const first = SignState.open(file).signVote(CHAIN, vote(PRECOMMIT, 10, 3), key);
    const reopened = SignState.open(file);
    expect(reopened.mark).toEqual({ height: 10n, round: 3, step: 3 });
    expect(reopened.signVote(CHAIN, vote(PRECOMMIT, 10, 3, { ms: T0 + 7 }), key).signature).toEqual(
      first.signature,
    );
    expect(() => reopened.signVote(CHAIN, vote(PREVOTE, 10, 3), key)).toThrow(/step regression/);
  });

  it('raiseTo only raises, to the start of the height', () => {
    const state = SignState.open(file);
    state.signVote(CHAIN, vote(PREVOTE, 10, 4), key);
    expect(state.raiseTo(9)).toBe(false);
    expect(state.raiseTo(10)).toBe(false);
    expect(state.mark).toEqual({ height: 10n, round: 4, step: 2 });
    expect(state.raiseTo(20)).toBe(true);
    expect(onDisk()).toEqual({ height: '20', round: 0, step: 0 });
    expect(() => state.signVote(CHAIN, vote(PRECOMMIT, 19, 9), key)).toThrow(/height regression/);
    expect(
      verifies(
        key.pubKey,
        voteSignBytes(CHAIN, vote(PREVOTE, 20, 0)),
        state.signVote(CHAIN, vote(PREVOTE, 20, 0), key).signature,
      ),
    ).toBe(true);
  });

  it('exports CometBFT JSON that another state imports; import only raises', () => {
    const a = SignState.open(file);
    a.signVote(CHAIN, vote(PRECOMMIT, 10, 1), key);
    const exported = a.exportState();
    expect(Object.keys(JSON.parse(exported))).toEqual(['height', 'round', 'step', 'signature', 'signbytes']);
    expect(exported).toBe(readFileSync(file, 'utf8'));

    const b = SignState.open(path.join(dir, 'b.json'));
    expect(b.importState(exported)).toEqual({
      changed: true,
      before: { height: 0n, round: 0, step: 0 },
      after: { height: 10n, round: 1, step: 3 },
    });
    expect(readFileSync(path.join(dir, 'b.json'), 'utf8')).toBe(exported);
    // The imported signature is what the same request gets.
    const signed = b.signVote(CHAIN, vote(PRECOMMIT, 10, 1), key);
    expect(Buffer.from(signed.signature).toString('base64')).toBe(JSON.parse(exported).signature);

    expect(b.importState(exported).changed).toBe(false);
    expect(() => b.importState({ height: '9', round: 5, step: 3 }, 'old.json')).toThrow(
      /^refusing to lower the sign state: old\.json is at height 9 round 5 step 3 \(precommit\), below .*b\.json at height 10 round 1 step 3 \(precommit\)/,
    );
    expect(b.mark).toEqual({ height: 10n, round: 1, step: 3 });
    // TMKMS writes the round as a string and keeps a block id.
    expect(b.importState('{"height":"12","round":"2","step":2,"block_id":null}').after).toEqual({
      height: 12n,
      round: 2,
      step: 2,
    });
    // Without sign bytes the same position cannot be re-signed: refused rather than guessed.
    expect(() => b.signVote(CHAIN, vote(PREVOTE, 12, 2), key)).toThrow(/no sign bytes stored/);
    expect(() => b.importState('{"height":12}')).toThrow(/height: .*; round: .*; step: /);
  });

  it('refuses a corrupt file with its name and the fix, and leaves it untouched', async () => {
    for (const text of [
      '',
      '{"height":"12","round":0',
      '{"height":12,"round":0,"step":0}',
      '{"height":"1","round":0,"step":7}',
      '{"height":"1","round":0,"step":3,"signbytes":"AB"}',
    ]) {
      await fs.writeFile(file, text);
      expect(() => SignState.open(file)).toThrow(
        new RegExp(
          `^sign state ${file} is corrupt \\(.+\\): restore it from a backup or import .*beam-pilot signer state import`,
        ),
      );
      expect(readFileSync(file, 'utf8')).toBe(text);
    }
  });

  it('open without create writes nothing until the first change', async () => {
    const state = SignState.open(file, { create: false });
    expect(state.exportState()).toBe('{\n  "height": "0",\n  "round": 0,\n  "step": 0\n}\n');
    await expect(fs.access(file)).rejects.toThrow(/ENOENT/);
    state.raiseTo(5);
    expect(onDisk()).toEqual({ height: '5', round: 0, step: 0 });
  });
});
