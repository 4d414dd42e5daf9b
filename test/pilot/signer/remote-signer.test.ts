import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Vote } from 'cosmjs-types/tendermint/types/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { proposalSignBytes, voteExtensionSignBytes, voteSignBytes } from '../../../cometbft/canonical.js';
import { frameMessage, type PrivvalMessage } from '../../../cometbft/privval.js';
import { generateCometKey } from '../../../pilot/custody.js';
import { ValidatorKey } from '../../../pilot/signer/key.js';
import { REFUSED, RemoteSigner, type SignEvent } from '../../../pilot/signer/remote-signer.js';
import { SignState } from '../../../pilot/signer/sign-state.js';
import { waitFor } from '../../helpers/wait.js';
import { type DaemonConn, FakeDaemon } from './daemon.js';
import { CHAIN, PRECOMMIT, PREVOTE, proposal, verifies, vote } from './helpers.js';

const cometKey = generateCometKey();
const key = ValidatorKey.fromCometKey(cometKey);

let dir: string;
let sock: string;
let state: SignState;
let signer: RemoteSigner;
let daemon: FakeDaemon | null;
let refusal: string | null;
let gateCalls: number;
let events: SignEvent[];
let logs: string[];

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'signer-'));
  sock = path.join(dir, 'pv.sock');
  state = SignState.open(path.join(dir, 'priv_validator_state.json'));
  refusal = null;
  gateCalls = 0;
  events = [];
  logs = [];
  daemon = null;
  signer = new RemoteSigner({
    laddr: `unix://${sock}`,
    chainId: CHAIN,
    key,
    state,
    gate: () => {
      gateCalls++;
      return refusal;
    },
    log: { info: (m) => logs.push(m), warn: (m) => logs.push(m) },
    onSigned: (e) => events.push(e),
  });
});

afterEach(async () => {
  await signer.stop();
  await daemon?.close();
  await fs.rm(dir, { recursive: true, force: true });
  // Key material never reaches the log.
  for (const line of logs) expect(line).not.toContain(cometKey.priv_key.value.slice(0, 16));
});

/** Starts the daemon, then the signer, and returns the signer's connection. */
async function connected(): Promise<DaemonConn> {
  daemon = await FakeDaemon.listen(sock);
  signer.start();
  const conn = await daemon.connection();
  await waitFor(() => signer.connected, 'the signer to see its connection');
  return conn;
}

const signVote = (v: Vote, chainId = CHAIN): PrivvalMessage => ({
  type: 'signVoteRequest',
  vote: v,
  chainId,
  skipExtensionSigning: false,
});

function signedVote(reply: PrivvalMessage): {
  vote: Vote;
  error: { code: number; description: string } | null;
} {
  if (reply.type !== 'signedVoteResponse') throw new Error(`got ${reply.type}, want signedVoteResponse`);
  return reply;
}

describe('RemoteSigner', () => {
  it('answers ping and the pubkey request even while the gate refuses', async () => {
    refusal = 'beam-pilot val-b does not hold the signing lease';
    const conn = await connected();
    expect(await conn.request({ type: 'pingRequest' })).toEqual({ type: 'pingResponse' });
    expect(await conn.request({ type: 'pubKeyRequest', chainId: CHAIN })).toEqual({
      type: 'pubKeyResponse',
      pubKey: key.pubKey,
      error: null,
    });
    expect(await conn.request({ type: 'pubKeyRequest', chainId: 'other-1' })).toEqual({
      type: 'pubKeyResponse',
      pubKey: null,
      error: { code: REFUSED, description: 'wrong chain id "other-1": this signer signs for beam-test-1' },
    });
  });

  it('signs a prevote, a precommit with its extension and a proposal, verifiable with node:crypto', async () => {
    const conn = await connected();
    const prevote = vote(PREVOTE, 10, 0);
    const a = signedVote(await conn.request(signVote(prevote)));
    expect(a.error).toBeNull();
    expect(verifies(key.pubKey, voteSignBytes(CHAIN, prevote), a.vote.signature)).toBe(true);
    expect(a.vote.extensionSignature).toHaveLength(0);

    const precommit = vote(PRECOMMIT, 10, 0, { extension: 'oracle prices' });
    const b = signedVote(await conn.request(signVote(precommit)));
    expect(b.error).toBeNull();
    expect(verifies(key.pubKey, voteSignBytes(CHAIN, precommit), b.vote.signature)).toBe(true);
    expect(verifies(key.pubKey, voteExtensionSignBytes(CHAIN, precommit), b.vote.extensionSignature)).toBe(
      true,
    );
    expect(b.vote.validatorAddress).toEqual(precommit.validatorAddress);

    const p = proposal(11, 0);
    const reply = await conn.request({ type: 'signProposalRequest', proposal: p, chainId: CHAIN });
    if (reply.type !== 'signedProposalResponse') throw new Error(reply.type);
    expect(reply.error).toBeNull();
    expect(verifies(key.pubKey, proposalSignBytes(CHAIN, p), reply.proposal.signature)).toBe(true);

    expect(state.mark).toEqual({ height: 11n, round: 0, step: 1 });
    expect(events.map((e) => [e.kind, e.height, e.round, e.refused])).toEqual([
      ['prevote', 10, 0, null],
      ['precommit', 10, 0, null],
      ['proposal', 11, 0, null],
    ]);
    expect(events.every((e) => e.ms >= 0)).toBe(true);
    expect(signer.lastRefusal).toBeNull();
  });

  it('answers pipelined requests in order', async () => {
    const conn = await connected();
    conn.send(
      Buffer.concat([
        frameMessage({ type: 'pingRequest' }),
        frameMessage(signVote(vote(PREVOTE, 5, 0))),
        frameMessage({ type: 'pubKeyRequest', chainId: CHAIN }),
        frameMessage(signVote(vote(PRECOMMIT, 5, 0))),
      ]),
    );
    const types = [];
    for (let i = 0; i < 4; i++) types.push((await conn.next())?.type);
    expect(types).toEqual(['pingResponse', 'signedVoteResponse', 'pubKeyResponse', 'signedVoteResponse']);
  });

  it('a refusal by the gate returns a RemoteSignerError, no signature, and leaves the mark', async () => {
    const conn = await connected();
    refusal = 'beam-pilot val-b does not hold the signing lease';
    const r = signedVote(await conn.request(signVote(vote(PREVOTE, 10, 0))));
    expect(r.error).toEqual({ code: REFUSED, description: refusal });
    expect(r.vote.signature).toHaveLength(0);
    expect(r.vote.height).toBe(0n);
    expect(state.mark).toEqual({ height: 0n, round: 0, step: 0 });
    expect(signer.lastRefusal).toBe(refusal);
    expect(events).toEqual([expect.objectContaining({ kind: 'prevote', height: 10, refused: refusal })]);

    const p = await conn.request({ type: 'signProposalRequest', proposal: proposal(10, 0), chainId: CHAIN });
    expect(p).toMatchObject({
      type: 'signedProposalResponse',
      error: { code: REFUSED, description: refusal },
    });
    if (p.type === 'signedProposalResponse') expect(p.proposal.signature).toHaveLength(0);

    refusal = null;
    expect(signedVote(await conn.request(signVote(vote(PREVOTE, 10, 0)))).vote.signature).toHaveLength(64);
    expect(signer.lastRefusal).toBeNull();
    expect(logs).toContain(
      `remote signer refusing to sign: ${'beam-pilot val-b does not hold the signing lease'}`,
    );
  });

  it('asks the gate at each signature request, and only then', async () => {
    const conn = await connected();
    await conn.request({ type: 'pubKeyRequest', chainId: CHAIN });
    await conn.request({ type: 'pingRequest' });
    expect(gateCalls).toBe(0);
    expect(signedVote(await conn.request(signVote(vote(PREVOTE, 20, 0)))).error).toBeNull();
    refusal = 'lease expired';
    expect(signedVote(await conn.request(signVote(vote(PRECOMMIT, 20, 0)))).error?.description).toBe(
      'lease expired',
    );
    refusal = null;
    expect(signedVote(await conn.request(signVote(vote(PRECOMMIT, 20, 0)))).error).toBeNull();
    expect(gateCalls).toBe(3);
  });

  it('the same height/round/step asked twice gets the same signature; a conflict is refused', async () => {
    const conn = await connected();
    const first = signedVote(await conn.request(signVote(vote(PRECOMMIT, 10, 0))));
    const second = signedVote(await conn.request(signVote(vote(PRECOMMIT, 10, 0))));
    expect(second.vote.signature).toEqual(first.vote.signature);
    const nil = signedVote(await conn.request(signVote(vote(PRECOMMIT, 10, 0, { block: null }))));
    expect(nil.error?.description).toMatch(/^conflicting data at height 10 round 0 step 3/);
    expect(nil.vote.signature).toHaveLength(0);
    const old = signedVote(await conn.request(signVote(vote(PREVOTE, 9, 0))));
    expect(old.error?.description).toMatch(/^height regression/);
  });

  it('refuses another chain id', async () => {
    const conn = await connected();
    const r = signedVote(await conn.request(signVote(vote(PREVOTE, 10, 0), 'other-1')));
    expect(r.error).toEqual({
      code: REFUSED,
      description: 'wrong chain id "other-1": this signer signs for beam-test-1',
    });
    expect(r.vote.signature).toHaveLength(0);
    expect(state.mark.height).toBe(0n);
  });

  it('redials when the daemon drops the connection', async () => {
    const conn = await connected();
    await conn.request({ type: 'pingRequest' });
    conn.socket.destroy();
    const again = await daemon!.connection();
    expect(await again.request({ type: 'pingRequest' })).toEqual({ type: 'pingResponse' });
    expect(daemon!.connections).toBe(2);
  });

  it('keeps dialing until the daemon opens its socket', async () => {
    signer.start();
    await waitFor(() => logs.some((l) => /waiting for the daemon .*ENOENT/.test(l)), 'a failed dial');
    expect(signer.connected).toBe(false);
    daemon = await FakeDaemon.listen(sock);
    const conn = await daemon.connection();
    expect(await conn.request({ type: 'pingRequest' })).toEqual({ type: 'pingResponse' });
    // One line per cause while waiting, not one per attempt.
    expect(logs.filter((l) => l.includes('waiting for the daemon'))).toHaveLength(1);
  });

  it('answers a valid frame, then closes on the garbage after it without signing anything else', async () => {
    const conn = await connected();
    const v = vote(PREVOTE, 10, 0);
    conn.send(Buffer.concat([frameMessage(signVote(v)), Buffer.from([0x05, 0xff, 0xff, 0xff, 0xff, 0xff])]));
    const answered = signedVote((await conn.next()) as PrivvalMessage);
    expect(verifies(key.pubKey, voteSignBytes(CHAIN, v), answered.vote.signature)).toBe(true);
    expect(await conn.next()).toBeNull();
    expect(logs.filter((l) => l.includes('closing the connection'))).toHaveLength(1);
    // ...and comes back for the next request.
    const again = await daemon!.connection();
    expect(await again.request({ type: 'pingRequest' })).toEqual({ type: 'pingResponse' });
  });

  it('closes on a response sent as a request, an oversize frame, or an unknown message', async () => {
    const inputs = [
      frameMessage({ type: 'signedVoteResponse', vote: vote(PREVOTE, 10, 0), error: null }),
      Buffer.from([0xff, 0xff, 0x01]),
      Buffer.from([0x02, 0x4a, 0x00]),
    ];
    let conn = await connected();
    for (const input of inputs) {
      conn.send(input);
      expect(await conn.next()).toBeNull();
      conn = await daemon!.connection();
    }
    expect(state.mark.height).toBe(0n);
    expect(events).toEqual([]);
  });

  it('stop closes the connection and stops redialing', async () => {
    const conn = await connected();
    await signer.stop();
    expect(signer.connected).toBe(false);
    expect(await conn.next()).toBeNull();
    await signer.stop();
    expect(daemon!.connections).toBe(1);
  });
});
