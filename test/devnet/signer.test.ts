/**
 * Validator nodes in signer mode (priv_validator_laddr, no key in the home), as real processes
 * with test signers on their unix sockets: the pubkey at start, proposals, prevotes and precommits
 * with vote extensions through the signer, CometBFT's start failure without a signer, refusals,
 * bad signatures, timeouts and reconnects survived, and double-sign evidence of both kinds.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignedMsgType } from 'cosmjs-types/tendermint/types/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Devnet, startDevnet } from '../../devnet/index.js';
import { voteExtensionFor } from '../../devnet/signatures.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase } from './ports.js';
import { type SignerBehaviour, TestSigner } from './signer.js';

describe('devnet nodes with a remote signer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devnet-signer-'));
  let devnet: Devnet;
  const signers = new Map<string, TestSigner>();
  const node = (name: string) => devnet.info.nodes.find((n) => n.name === name)!;
  const validator = (name: string) => devnet.info.validators.find((v) => v.name === name)!;
  const log = (name: string) => readFileSync(join(node(name).home, 'node.log'), 'utf8');
  const height = () => devnet.hub.chain.height();
  /** Starts a signer with `validatorName`'s key on `nodeName`'s socket, then the node. */
  const startWithSigner = (nodeName: string, validatorName: string) => {
    const signer = TestSigner.withKeyFile(
      node(nodeName).signerLaddr ?? '',
      validator(validatorName).keyFile,
    ).connect();
    signers.set(nodeName, signer);
    devnet.startNode(nodeName);
    return signer;
  };
  /** Heights above `from` whose commit holds `nodeName`'s precommit. */
  const delivered = (nodeName: string, from: number) =>
    devnet.hub
      .signatures({ fromHeight: from + 1 })
      .filter((r) => r.node === nodeName && r.delivered)
      .map((r) => r.height);

  /** Runs the signer badly for a few heights: none of them commits, the node logs and carries on. */
  const misbehave = async (behaviour: SignerBehaviour, logged: RegExp[], heights = 3) => {
    const signer = signers.get('val-a')!;
    const before = log('val-a').length;
    signer.behaviour = behaviour;
    const first = height() + 1;
    await waitFor(
      () => height() >= first + heights && logged.every((l) => l.test(log('val-a').slice(before))),
      `${behaviour} logged`,
      {
        timeoutMs: 20_000,
      },
    );
    signer.behaviour = 'sign';
    const last = height() - 1;
    expect(delivered('val-a', first - 1).filter((h) => h <= last)).toEqual([]);
    await waitFor(() => delivered('val-a', last + 1).length >= 2, `val-a signing again after ${behaviour}`);
    expect(devnet.node('val-a').running).toBe(true);
  };

  beforeAll(async () => {
    devnet = await startDevnet({
      dir,
      keyMode: 'signer',
      validators: 2,
      standby: 1,
      sentries: 0,
      grants: false,
      startNodes: false,
      blockTimeMs: 300,
      portBase: await freePortBase(4),
      // Nodes start after the first blocks and miss some on purpose: a long window keeps them unjailed.
      params: { slashing: { signedBlocksWindow: 1000 } },
      // 30 % each: val proposes often, and the rest commits while val's signer misbehaves.
      powerShare: 0.3,
    });
    startWithSigner('val-a', 'val');
    startWithSigner('val2-a', 'val2');
    await waitFor(
      () => delivered('val-a', 0).length >= 2 && delivered('val2-a', 0).length >= 2,
      'both validators signing',
      { timeoutMs: 30_000 },
    );
  });
  afterAll(async () => {
    for (const s of signers.values()) s.disconnect();
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lays out validator homes for a signer: a socket address, no key and no sign state', () => {
    for (const name of ['val-a', 'val-b', 'val2-a', 'val2-b']) {
      const { home, signerLaddr } = node(name);
      expect(signerLaddr).toBe(`unix://${join(home, 'data', 'priv_validator.sock')}`);
      expect(readFileSync(join(home, 'config', 'config.toml'), 'utf8')).toContain(
        `priv_validator_laddr = "${signerLaddr}"`,
      );
      expect(existsSync(join(home, 'config', 'priv_validator_key.json'))).toBe(false);
      expect(existsSync(join(home, 'data', 'priv_validator_state.json'))).toBe(false);
    }
    expect(validator('val').keyFile).toBe(join(dir, 'keys', 'val', 'priv_validator_key.json'));
  });

  it('asks the pubkey for its chain, then signs proposals, prevotes and precommits with extensions through the signer', async () => {
    const signer = signers.get('val-a')!;
    expect(signer.requests[0]).toEqual({ type: 'pubKeyRequest', chainId: devnet.info.chainId });
    const address = validator('val').consensusAddress;
    await waitFor(
      () => new Set(devnet.hub.signatures({ address }).map((r) => r.kind)).size === 3,
      'a proposal, prevotes and precommits',
    );
    const records = devnet.hub.signatures({ address });
    // Rounds above 0 happen: a proposer whose node was not up yet leaves its round to the next.
    expect(records.every((r) => r.node === 'val-a' && r.blockHash !== null)).toBe(true);
    expect(records.filter((r) => r.delivered).every((r) => r.kind === 'precommit')).toBe(true);
    const precommit = records.find((r) => r.delivered)!;
    expect(devnet.hub.chain.block(precommit.height + 1)?.lastCommit?.signatures).toContainEqual(
      expect.objectContaining({ validatorAddress: address }),
    );
    // Each block precommit carried the app's extension, whose signature the hub verified.
    const precommits = signer.requests.flatMap((m) =>
      m.type === 'signVoteRequest' && m.vote.type === SignedMsgType.SIGNED_MSG_TYPE_PRECOMMIT ? [m.vote] : [],
    );
    expect(precommits.length).toBeGreaterThan(0);
    for (const v of precommits) expect(v.extension).toEqual(voteExtensionFor(Number(v.height)));
  });

  it("exits non-zero with CometBFT's error when no signer answers", async () => {
    devnet.startNode('val-b');
    expect(await devnet.node('val-b').waitExit()).not.toBe(0);
    expect(log('val-b')).toContain(
      "Error: error with private validator socket client: can't get pubkey: send: endpoint connection timed out",
    );
  });

  it('logs a refusal as CometBFT does, misses those heights and signs again once the signer accepts', async () => {
    await misbehave('refuse', [
      /failed signing vote.*signerEndpoint returned error #1: test signer refuses to sign/,
      /propose step; failed signing proposal.*signerEndpoint returned error #1/,
    ]);
  });

  it('never delivers a bad signature from the signer', async () => {
    await misbehave('bad-signature', [
      /failed signing vote.*remote signer's answer rejected: invalid signature/,
    ]);
  });

  it('drops a signer that does not answer within the read timeout and signs again once it has redialed', async () => {
    await misbehave('hang', [/failed signing .*i\/o timeout: endpoint read timed out/], 1);
  });

  it('waits for a signer that disconnected and signs again once it is back', async () => {
    const signer = signers.get('val-a')!;
    signer.disconnect();
    const from = height();
    await waitFor(() => height() >= from + 4, 'four blocks without the signer');
    signer.connect();
    await waitFor(() => delivered('val-a', from + 4).length >= 2, 'val-a signing again');
    expect(devnet.node('val-a').running).toBe(true);
  });

  it('records second-signer evidence when two nodes sign the same heights with one key', async () => {
    startWithSigner('val-b', 'val');
    const evidence = await waitFor(
      () => devnet.hub.evidence.find((e) => e.validatorAddress === validator('val').consensusAddress),
      'evidence against val',
      { timeoutMs: 20_000 },
    );
    expect(evidence.kind).toBe('second-signer');
    expect(evidence.votes.map((v) => v.node).sort()).toEqual(['val-a', 'val-b']);
    expect(evidence.votes[0].blockHash).toBe(evidence.votes[1].blockHash);
  });

  it('pings an idle signer to keep the connection alive', async () => {
    // Tombstoned, val is out of the set: its nodes are asked nothing, only pinged.
    const signer = signers.get('val-a')!;
    const before = signer.requests.length;
    await waitFor(() => signer.requests.slice(before).some((m) => m.type === 'pingRequest'), 'a ping', {
      timeoutMs: 10_000,
    });
  });

  it('records conflicting-votes evidence when a partitioned node votes nil beside the block', async () => {
    devnet.hub.partition('val2-b');
    startWithSigner('val2-b', 'val2');
    const evidence = await waitFor(
      () => devnet.hub.evidence.find((e) => e.validatorAddress === validator('val2').consensusAddress),
      'evidence against val2',
      { timeoutMs: 20_000 },
    );
    expect(evidence).toMatchObject({ kind: 'conflicting-votes', round: 0 });
    expect(evidence.votes).toMatchObject([
      { node: 'val2-b', blockHash: null },
      { node: 'val2-a', blockHash: expect.stringMatching(/^[0-9A-F]{64}$/) },
    ]);
  });
});
