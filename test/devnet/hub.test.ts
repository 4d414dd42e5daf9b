/**
 * The hub's side of signing, in-process, with nodes played over its TCP link: who is asked to
 * propose and vote, which signed messages it accepts (canonical sign bytes, vote extensions), what
 * enters the commit, and double-sign evidence of both kinds, down to the block's JSON.
 */
import { type Socket, connect } from 'node:net';
import { toBech32 } from '@cosmjs/encoding';
import { Proposal, SignedMsgType, Vote } from 'cosmjs-types/tendermint/types/types';
import { afterEach, describe, expect, it } from 'vitest';
import {
  proposalSignBytes,
  timestampFromMs,
  voteExtensionSignBytes,
  voteSignBytes,
} from '../../cometbft/canonical.js';
import { createChain, defaultParams } from '../../devnet/chain/index.js';
import type { RoundPush } from '../../devnet/consensus.js';
import { Hub } from '../../devnet/hub.js';
import { type Ed25519Key, addressOf, generateEd25519, signEd25519 } from '../../devnet/keys.js';
import { blockIdOf, nilBlockId, voteExtensionFor } from '../../devnet/signatures.js';
import { onLines, sendLine } from '../../devnet/wire.js';
import { waitFor } from '../helpers/wait.js';

const CHAIN = 'hub-test-1';
const { PREVOTE, PRECOMMIT } = {
  PREVOTE: SignedMsgType.SIGNED_MSG_TYPE_PREVOTE,
  PRECOMMIT: SignedMsgType.SIGNED_MSG_TYPE_PRECOMMIT,
};
type Round = Omit<RoundPush, 'block'> & { block: { hash: string } | null };

/** A node as the hub sees it: hello, round pushes in, signed messages and RPC out. */
class FakeNode {
  readonly rounds: Round[] = [];
  private readonly replies = new Map<number, (result: unknown) => void>();
  private nextId = 1;

  private constructor(
    private readonly socket: Socket,
    readonly key: Ed25519Key,
  ) {
    onLines(socket, (raw) => {
      const m = raw as { t?: string; id?: number; result?: unknown };
      if (m.t === 'round') this.rounds.push(m as Round);
      else if (m.id !== undefined) this.replies.get(m.id)?.(m.result);
    });
  }

  static async join(port: number, name: string, key: Ed25519Key): Promise<FakeNode> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => socket.once('connect', resolve));
    const node = new FakeNode(socket, key);
    await node.request('hello', {
      name,
      nodeId: name,
      pubkey: Buffer.from(key.publicKey).toString('base64'),
      rpcAddress: '127.0.0.1:1',
      p2pAddress: '127.0.0.1:2',
    });
    return node;
  }

  request(m: string, body: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.replies.set(id, resolve);
      sendLine(this.socket, { ...body, m, id });
    });
  }

  round(height: number): Promise<Round> {
    return waitFor(() => this.rounds.find((r) => r.height === height), `round ${height}`);
  }

  /** A vote as a CometBFT node signs it; `tamper` changes it after signing. */
  vote(round: Round, type: SignedMsgType, tamper: (v: Vote) => void = () => undefined): Vote {
    const blockId = round.block ? blockIdOf(Buffer.from(round.block.hash, 'hex')) : nilBlockId();
    const vote: Vote = {
      type,
      height: BigInt(round.height),
      round: 0,
      blockId,
      timestamp: timestampFromMs(Date.now()),
      validatorAddress: Buffer.from(addressOf(this.key.publicKey), 'hex'),
      validatorIndex: round.validatorIndex,
      signature: new Uint8Array(),
      extension:
        type === PRECOMMIT && round.block && round.extension
          ? Buffer.from(round.extension, 'base64')
          : new Uint8Array(),
      extensionSignature: new Uint8Array(),
    };
    vote.signature = signEd25519(this.key, voteSignBytes(CHAIN, vote));
    if (vote.extension.length > 0)
      vote.extensionSignature = signEd25519(this.key, voteExtensionSignBytes(CHAIN, vote));
    tamper(vote);
    return vote;
  }

  sendVote(vote: Vote): void {
    sendLine(this.socket, { m: 'vote', vote: Buffer.from(Vote.encode(vote).finish()).toString('base64') });
  }

  sendProposal(round: Round, tamper: (p: Proposal) => void = () => undefined): void {
    const proposal: Proposal = {
      type: SignedMsgType.SIGNED_MSG_TYPE_PROPOSAL,
      height: BigInt(round.height),
      round: 0,
      polRound: -1,
      blockId: blockIdOf(Buffer.from(round.block?.hash ?? '', 'hex')),
      timestamp: timestampFromMs(Date.now()),
      signature: new Uint8Array(),
    };
    proposal.signature = signEd25519(this.key, proposalSignBytes(CHAIN, proposal));
    tamper(proposal);
    sendLine(this.socket, {
      m: 'proposal',
      proposal: Buffer.from(Proposal.encode(proposal).finish()).toString('base64'),
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

let hub: Hub | undefined;
const nodes: FakeNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) n.close();
  await hub?.stop();
});

/** A hub (no block timer: tests call produce) over a chain of `validators` equal validators. */
async function startHub(validators: number, voteExtensionsEnableHeight = 1) {
  const keys = Array.from({ length: validators }, () => generateEd25519());
  const accounts = keys.map((_, i) => toBech32('cosmos', new Uint8Array(20).fill(i + 1)));
  const chain = createChain({
    params: defaultParams({ chainId: CHAIN, voteExtensionsEnableHeight }),
    genesisTimeMs: Date.now(),
    accounts: accounts.map((address) => ({ address, coins: [{ denom: 'stake', amount: '1000000000' }] })),
    validators: keys.map((k, i) => ({
      moniker: `v${i}`,
      operatorAccount: accounts[i] ?? '',
      consensusPubkey: k.publicKey,
      selfDelegation: '100000000',
      commissionRate: '0.05',
    })),
  });
  hub = new Hub({ chain, blockTimeMs: 60_000 });
  const { port } = await hub.listen();
  const join = async (name: string, key: Ed25519Key) => {
    const node = await FakeNode.join(port, name, key);
    nodes.push(node);
    return node;
  };
  return { hub, keys, join };
}

describe('hub signing', () => {
  it('asks the proposer to propose and every validator to vote; only verified precommits for the block commit', async () => {
    const { hub, keys, join } = await startHub(2);
    const [n0, n1] = [await join('v0-a', keys[0]!), await join('v1-a', keys[1]!)];
    hub.produce();
    const rounds = [await n0.round(1), await n1.round(1)];
    const proposer = hub.chain.block(1)!.header.proposerAddress;
    expect(rounds.map((r) => r.propose)).toEqual(
      [n0, n1].map((n) => addressOf(n.key.publicKey) === proposer),
    );
    const blockHash = Buffer.from(hub.chain.block(1)!.hash).toString('hex').toUpperCase();
    expect(rounds.map((r) => r.block?.hash)).toEqual([blockHash, blockHash]);
    expect(rounds[0]!.extension).toBe(Buffer.from(voteExtensionFor(1)).toString('base64'));
    for (const [node, round] of [
      [n0, rounds[0]!],
      [n1, rounds[1]!],
    ] as const) {
      if (round.propose) node.sendProposal(round);
      node.sendVote(node.vote(round, PREVOTE));
      node.sendVote(node.vote(round, PRECOMMIT));
    }
    await waitFor(() => hub.signatures({ fromHeight: 1 }).length === 5, 'five signatures');
    const records = hub.signatures({ fromHeight: 1 });
    expect(records.map((r) => r.kind).sort()).toEqual([
      'precommit',
      'precommit',
      'prevote',
      'prevote',
      'proposal',
    ]);
    expect(records.filter((r) => r.delivered).map((r) => r.kind)).toEqual(['precommit', 'precommit']);
    expect(records.every((r) => r.blockHash === blockHash && r.round === 0)).toBe(true);
    hub.produce();
    const commit = hub.chain.block(2)!.lastCommit!;
    expect(commit.signatures.map((s) => s?.validatorAddress)).toEqual(
      hub.chain.validatorSet(1).map((v) => v.address),
    );
  });

  it('rejects bad signatures, wrong or missing extensions and votes naming another key', async () => {
    const { hub, keys, join } = await startHub(1);
    const node = await join('v0-a', keys[0]!);
    hub.produce();
    const round = await node.round(1);
    const flip = (b: Uint8Array) => {
      b[0] = (b[0] ?? 0) ^ 1;
    };
    node.sendProposal(round, (p) => flip(p.signature));
    node.sendVote(node.vote(round, PRECOMMIT, (v) => flip(v.signature)));
    node.sendVote(node.vote(round, PRECOMMIT, (v) => flip(v.extensionSignature)));
    node.sendVote(node.vote(round, PRECOMMIT, (v) => (v.extensionSignature = new Uint8Array())));
    // The app's extension for another height: rejected even though signed.
    const wrongExtension = node.vote(
      { ...round, extension: Buffer.from(voteExtensionFor(2)).toString('base64') },
      PRECOMMIT,
    );
    node.sendVote(wrongExtension);
    node.sendVote(
      node.vote(round, PREVOTE, (v) => {
        v.extension = Uint8Array.of(1);
      }),
    );
    const other = generateEd25519();
    node.sendVote(
      node.vote(round, PREVOTE, (v) => {
        v.validatorAddress = Buffer.from(addressOf(other.publicKey), 'hex');
        v.signature = signEd25519(node.key, voteSignBytes(CHAIN, v));
      }),
    );
    node.sendVote(node.vote(round, PRECOMMIT));
    await waitFor(() => hub.signatures().length > 0, 'the good precommit');
    expect(hub.signatures()).toMatchObject([{ kind: 'precommit', height: 1, node: 'v0-a', delivered: true }]);
  });

  it('with vote extensions off, announces none and takes precommits without one', async () => {
    const { hub, keys, join } = await startHub(1, 0);
    const node = await join('v0-a', keys[0]!);
    hub.produce();
    const round = await node.round(1);
    expect(round.extension).toBeNull();
    node.sendVote(node.vote({ ...round, extension: Buffer.from('x').toString('base64') }, PRECOMMIT));
    node.sendVote(node.vote(round, PRECOMMIT));
    await waitFor(() => hub.signatures().length > 0, 'the precommit');
    expect(hub.signatures()).toMatchObject([{ kind: 'precommit', delivered: true }]);
  });
});

describe('hub double-sign evidence', () => {
  it('conflicting votes across a partition and a second signer of the same block, once per validator and height', async () => {
    const { hub, keys, join } = await startHub(2);
    const [a0, b0] = [await join('v0-a', keys[0]!), await join('v0-b', keys[0]!)];
    const [a1, b1] = [await join('v1-a', keys[1]!), await join('v1-b', keys[1]!)];
    hub.partition('v0-b');
    hub.produce();
    const partitioned = await b0.round(1);
    // It saw no proposal: nil, and no proposal of its own.
    expect(partitioned).toMatchObject({ block: null, propose: false });
    a0.sendVote(a0.vote(await a0.round(1), PREVOTE));
    b0.sendVote(b0.vote(partitioned, PREVOTE));
    b0.sendVote(b0.vote(partitioned, PRECOMMIT));
    a1.sendVote(a1.vote(await a1.round(1), PRECOMMIT));
    b1.sendVote(b1.vote(await b1.round(1), PRECOMMIT));
    await waitFor(() => hub.evidence.length === 2, 'two evidences');
    const [v0, v1] = keys.map((k) => addressOf(k.publicKey));
    const blockHash = Buffer.from(hub.chain.block(1)!.hash).toString('hex').toUpperCase();
    expect(hub.evidence.find((e) => e.validatorAddress === v0)).toMatchObject({
      kind: 'conflicting-votes',
      height: 1,
      round: 0,
      type: 'prevote',
      votes: [
        { node: 'v0-b', blockHash: null },
        { node: 'v0-a', blockHash },
      ],
    });
    expect(hub.evidence.find((e) => e.validatorAddress === v1)).toMatchObject({
      kind: 'second-signer',
      type: 'precommit',
      votes: [
        { node: 'v1-a', blockHash },
        { node: 'v1-b', blockHash },
      ],
    });
    // Into the next block, rendered as CometBFT's DuplicateVoteEvidence.
    hub.produce();
    const block = (await a0.request('rpc', { method: 'block', params: { height: '2' } })) as {
      block: {
        evidence: {
          evidence: { type: string; value: { vote_a: { block_id: { hash: string }; type: number } } }[];
        };
      };
    };
    const json = block.block.evidence.evidence;
    expect(json).toHaveLength(2);
    expect(json.every((e) => e.type === 'tendermint/DuplicateVoteEvidence')).toBe(true);
    expect(json.map((e) => e.value.vote_a.block_id.hash).sort()).toEqual(['', blockHash]);
  });
});
