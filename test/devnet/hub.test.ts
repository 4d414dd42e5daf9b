/**
 * The hub in-process, with nodes played over its TCP link: who is asked to propose and vote, which
 * signed messages it accepts (canonical sign bytes, vote extensions), what enters the commit, the
 * +2/3 rule with background validators (flags, halts, rounds and proposers), the upgrade halt, and
 * double-sign evidence of both kinds, down to the block's JSON.
 */
import { type Socket, connect } from 'node:net';
import { fromBech32, toBech32 } from '@cosmjs/encoding';
import { Proposal, SignedMsgType, Vote } from 'cosmjs-types/tendermint/types/types';
import { afterEach, describe, expect, it } from 'vitest';
import {
  proposalSignBytes,
  timestampFromMs,
  voteExtensionSignBytes,
  voteSignBytes,
} from '../../cometbft/canonical.js';
import { MsgSoftwareUpgrade } from 'cosmjs-types/cosmos/upgrade/v1beta1/tx';
import { BackgroundValidators } from '../../devnet/background.js';
import { GENESIS_BINARY } from '../../devnet/binary.js';
import { moduleAddress } from '../../devnet/chain/codec.js';
import { createChain, defaultParams, proposerOf } from '../../devnet/chain/index.js';
import type { RoundPush } from '../../devnet/consensus.js';
import { Hub } from '../../devnet/hub.js';
import { type Ed25519Key, addressOf, generateEd25519, signEd25519 } from '../../devnet/keys.js';
import { blockIdOf, nilBlockId, voteExtensionFor } from '../../devnet/signatures.js';
import { upgradeAt } from '../../devnet/upgradecheck.js';
import type { UpgradeChange } from '../../devnet/chain/index.js';
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
  /** Every other push: `tip`, `proposal` (a full node's view of a height). */
  readonly pushes: { t: string; [key: string]: unknown }[] = [];
  private readonly replies = new Map<number, (result: unknown) => void>();
  private nextId = 1;

  /** Signs every round it is asked to, as a healthy validator node does. */
  autopilot = false;

  private constructor(
    private readonly socket: Socket,
    readonly key: Ed25519Key,
  ) {
    onLines(socket, (raw) => {
      const m = raw as { t?: string; id?: number; result?: unknown };
      if (m.t === 'round') {
        this.rounds.push(m as Round);
        if (this.autopilot) this.takePart(m as Round);
      } else if (m.t) this.pushes.push(m as { t: string });
      else if (m.id !== undefined) this.replies.get(m.id)?.(m.result);
    });
  }

  takePart(round: Round): void {
    if (round.propose) this.sendProposal(round);
    this.sendVote(this.vote(round, PREVOTE));
    this.sendVote(this.vote(round, PRECOMMIT));
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

  send(message: Record<string, unknown>): void {
    sendLine(this.socket, message);
  }

  request(m: string, body: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.replies.set(id, resolve);
      sendLine(this.socket, { ...body, m, id });
    });
  }

  round(height: number, round = 0): Promise<Round> {
    return waitFor(
      () => this.rounds.find((r) => r.height === height && r.round === round),
      `round ${height}/${round}`,
    );
  }

  /** A vote as a CometBFT node signs it; `tamper` changes it after signing. */
  vote(round: Round, type: SignedMsgType, tamper: (v: Vote) => void = () => undefined): Vote {
    const blockId = round.block ? blockIdOf(Buffer.from(round.block.hash, 'hex')) : nilBlockId();
    const vote: Vote = {
      type,
      height: BigInt(round.height),
      round: round.round,
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
      round: round.round,
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

/**
 * A hub (no block timer: tests call step) over a chain of `validators` node validators of 100
 * power, and `background` background validators of 95 (20 of them leave a node validator 5 %).
 */
async function startHub(
  validators: number,
  options: { voteExtensionsEnableHeight?: number; background?: number; votingPeriodMs?: number } = {},
) {
  const keys = Array.from({ length: validators + (options.background ?? 0) }, () => generateEd25519());
  const accounts = keys.map((_, i) => toBech32('cosmos', new Uint8Array(20).fill(i + 1)));
  const chain = createChain({
    params: defaultParams({
      chainId: CHAIN,
      voteExtensionsEnableHeight: options.voteExtensionsEnableHeight ?? 1,
      gov: { votingPeriodMs: options.votingPeriodMs ?? 30_000 },
    }),
    genesisTimeMs: Date.now(),
    accounts: accounts.map((address) => ({ address, coins: [{ denom: 'stake', amount: '1000000000' }] })),
    validators: keys.map((k, i) => ({
      moniker: `v${i}`,
      operatorAccount: accounts[i] ?? '',
      consensusPubkey: k.publicKey,
      selfDelegation: i < validators ? '100000000' : '95000000',
      commissionRate: '0.05',
    })),
  });
  const background = new BackgroundValidators(
    keys.slice(validators).map((k, i) => ({
      name: `bg${i + 1}`,
      seed: k.seed,
      publicKey: k.publicKey,
      account: accounts[validators + i] ?? '',
      operator: toBech32('cosmosvaloper', fromBech32(accounts[validators + i] ?? '', 90).data),
    })),
    CHAIN,
    GENESIS_BINARY,
  );
  hub = new Hub({ chain, blockTimeMs: 60_000, background });
  const { port } = await hub.listen();
  const join = async (name: string, key: Ed25519Key) => {
    const node = await FakeNode.join(port, name, key);
    nodes.push(node);
    return node;
  };
  return { hub, keys, join };
}

/** Commits `height`: the proposer's node proposes, then each node precommits the block. */
async function commitHeight(hub: Hub, signers: FakeNode[], height: number): Promise<void> {
  const proposer = signers.find((n) => addressOf(n.key.publicKey) === hub.roundState()?.proposer);
  if (proposer) proposer.sendProposal(await proposer.round(height));
  for (const n of signers) n.sendVote(n.vote(await n.round(height), PRECOMMIT));
  await waitFor(() => hub.chain.height() === height, `height ${height} committed`);
}

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

describe('hub signing', () => {
  it('asks the proposer to propose, the others once its proposal is out; +2/3 precommits commit the block', async () => {
    const { hub, keys, join } = await startHub(2);
    const [n0, n1] = [await join('v0-a', keys[0]!), await join('v1-a', keys[1]!)];
    hub.step();
    const proposerAddress = hub.roundState()?.proposer;
    const [proposer, other] = addressOf(n0.key.publicKey) === proposerAddress ? [n0, n1] : [n1, n0];
    const asked = await proposer.round(1);
    expect(asked.propose).toBe(true);
    expect(asked.extension).toBe(Buffer.from(voteExtensionFor(1)).toString('base64'));
    expect(asked.upgrade).toEqual({ plan: null, applied: null, appVersion: 0 });
    expect(other.rounds).toEqual([]);
    proposer.sendProposal(asked);
    const seen = await other.round(1);
    expect(seen).toMatchObject({ propose: false, block: asked.block });
    for (const [node, round] of [
      [proposer, asked],
      [other, seen],
    ] as const) {
      node.sendVote(node.vote(round, PREVOTE));
      node.sendVote(node.vote(round, PRECOMMIT));
    }
    await waitFor(() => hub.signatures({ fromHeight: 1 }).length === 5, 'five signatures');
    await waitFor(() => hub.chain.height() === 1, 'block 1 committed');
    const blockHash = hexOf(hub.chain.block(1)!.hash);
    expect(asked.block?.hash).toBe(blockHash);
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
    const commit = (await n0.request('rpc', { method: 'commit', params: { height: '1' } })) as {
      canonical: boolean;
      signed_header: { commit: { signatures: { block_id_flag: number; validator_address: string }[] } };
    };
    expect(commit.canonical).toBe(false);
    expect(commit.signed_header.commit.signatures).toMatchObject(
      hub.chain.validatorSet(1).map((v) => ({ block_id_flag: 2, validator_address: v.address })),
    );
  });

  it('rejects bad signatures, wrong or missing extensions and votes naming another key', async () => {
    const { hub, keys, join } = await startHub(1);
    const node = await join('v0-a', keys[0]!);
    hub.step();
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
    const { hub, keys, join } = await startHub(1, { voteExtensionsEnableHeight: 0 });
    const node = await join('v0-a', keys[0]!);
    hub.step();
    const round = await node.round(1);
    expect(round.extension).toBeNull();
    node.sendVote(node.vote({ ...round, extension: Buffer.from('x').toString('base64') }, PRECOMMIT));
    node.sendVote(node.vote(round, PRECOMMIT));
    await waitFor(() => hub.signatures().length > 0, 'the precommit');
    expect(hub.signatures()).toMatchObject([{ kind: 'precommit', delivered: true }]);
  });
});

describe('hub consensus with background validators', () => {
  /**
   * Steps rounds until `height` is committed, `node` (on autopilot) taking part: each round waits
   * for its proposal when the node proposes, and for its precommit once the proposal is out.
   */
  const stepTo = async (hub: Hub, node: FakeNode, height: number) => {
    const own = addressOf(node.key.publicKey);
    for (let rounds = 0; hub.chain.height() < height; rounds++) {
      expect(rounds).toBeLessThan(30);
      hub.step();
      const r = hub.roundState()!;
      if (r.proposer === own) await waitFor(() => hub.roundState()?.proposed, 'the node proposes');
      if (!hub.roundState()?.proposed) continue;
      await waitFor(
        () =>
          hub
            .signatures({ address: own, fromHeight: r.height })
            .some((s) => s.kind === 'precommit' && s.height === r.height && s.round === r.round),
        'the node precommits',
      );
    }
  };

  it('commits with more than 2/3, flags every validator, halts at more than 1/3 offline with rounds and proposers rotating, and resumes', async () => {
    const { hub, keys, join } = await startHub(1, { background: 20 });
    const node = await join('v0-a', keys[0]!);
    node.autopilot = true;
    const own = addressOf(node.key.publicKey);
    await stepTo(hub, node, 2);
    // The node's precommit joins the commit after the background's +2/3 committed the block.
    expect(
      hub.signatures({ address: own, fromHeight: 2 }).some((r) => r.kind === 'precommit' && r.delivered),
    ).toBe(true);
    hub.background.partition(2);
    hub.background.down(3);
    await stepTo(hub, node, 4);
    hub.step();
    const commit = (await node.request('rpc', { method: 'commit', params: { height: '4' } })) as {
      canonical: boolean;
      signed_header: { commit: { signatures: { block_id_flag: number; validator_address: string }[] } };
    };
    const flags = commit.signed_header.commit.signatures.map((s) => s.block_id_flag);
    expect(flags.filter((f) => f === 3)).toHaveLength(2);
    expect(flags.filter((f) => f === 1)).toHaveLength(3);
    expect(flags.filter((f) => f === 2)).toHaveLength(16);
    expect(
      commit.signed_header.commit.signatures
        .filter((s) => s.block_id_flag === 1)
        .every((s) => s.validator_address === ''),
    ).toBe(true);

    // 3 down and 2 partitioned (475 of 2000) still commit; 3 more down (760) is more than 1/3.
    hub.background.down(3);
    hub.step();
    const halted = hub.chain.height() + 1;
    const set = hub.chain.validatorSet(halted);
    const first = hub.roundState()?.round ?? 0;
    for (let round = first; round < first + 4; round++) {
      expect(hub.roundState()).toMatchObject({ height: halted, round });
      expect(hub.roundState()?.proposer).toBe(
        proposerOf({ validators: set, proposer: hub.chain.proposer(halted, 0) }, round),
      );
      hub.step();
    }
    expect(hub.chain.height()).toBe(halted - 1);
    hub.background.up();
    hub.background.heal();
    await stepTo(hub, node, halted);
    expect(hub.chain.block(halted)?.header.proposerAddress).toBe(
      hub.chain.proposer(halted, hub.roundState()?.round ?? 0),
    );
  });

  it('halts at an upgrade height until more than 2/3 run the upgrade: held background validators, a node switching, full nodes told x/upgrade with each proposal and tip', async () => {
    const { hub, keys, join } = await startHub(1, { background: 20, votingPeriodMs: 1 });
    const node = await join('v0-a', keys[0]!);
    node.autopilot = true;
    await stepTo(hub, node, 2);
    const planHeight = 6;
    const authority = moduleAddress('gov', 'cosmos');
    hub.chain.submitProposal({
      title: 'v2',
      summary: 'Upgrade to v2',
      proposer: toBech32('cosmos', new Uint8Array(20).fill(1)),
      votingPeriodMs: 1,
      messages: [
        {
          typeUrl: '/cosmos.upgrade.v1beta1.MsgSoftwareUpgrade',
          value: MsgSoftwareUpgrade.encode(
            MsgSoftwareUpgrade.fromPartial({
              authority,
              plan: { name: 'v2', height: BigInt(planHeight), info: 'v2 info' },
            }),
          ).finish(),
        },
      ],
      nowMs: Date.now(),
    });
    // The operators vote before the next block, which ends the 1 ms voting period.
    hub.background.vote(hub.chain);
    // 7 held (665 of 2000) and the node stopped: 1235 is not +2/3; with the node's 100 it is.
    hub.background.hold(7);
    // A full node (its key is no validator's) and one cut off from the network.
    const sentry = await join('sentry', generateEd25519());
    const cutOff = await join('cut-off', generateEd25519());
    hub.partition('cut-off');
    await stepTo(hub, node, planHeight - 1);
    const plan = { name: 'v2', height: planHeight, info: 'v2 info' };
    expect(hub.chain.upgrade().plan).toEqual(plan);
    // x/upgrade's state before each block: the genesis one, the plan from the block after the vote.
    const history = hub.chain.upgradeHistory();
    expect(history.map((c) => c.status.plan)).toEqual([null, plan]);
    // Every tip carries it, up to the block after the tip: what a node's pre-blocker checks.
    type Tip = { t: 'tip'; height: number; upgrades: UpgradeChange[] };
    const tipOf = (n: FakeNode, height: number) =>
      waitFor(() => n.pushes.find((p): p is Tip => p.t === 'tip' && p.height === height), `${height}'s tip`);
    expect(upgradeAt((await tipOf(sentry, planHeight - 1)).upgrades, planHeight).plan).toEqual(plan);
    // A partitioned node's tips stay at its partition, and so does what it knows of x/upgrade.
    expect((await tipOf(cutOff, 2)).upgrades).toEqual(history.slice(0, 1));
    node.autopilot = false;
    // The node stands for a daemon that halted at the plan height: asked, it does not sign.
    const own = addressOf(node.key.publicKey);
    for (let i = 0; i < 3 || !(hub.roundState()?.proposed || hub.roundState()?.proposer === own); i++) {
      expect(i).toBeLessThan(30);
      hub.step();
    }
    expect(hub.chain.height()).toBe(planHeight - 1);
    const asked = await node.round(planHeight, hub.roundState()?.round);
    expect(asked.upgrade.plan).toEqual({ name: 'v2', height: planHeight, info: 'v2 info' });
    // The full node sees the height's proposal, with x/upgrade's state its pre-blocker checks; the
    // partitioned one sees none, and a validator node is asked to sign instead.
    const proposalFor = (n: FakeNode) => n.pushes.find((p) => p.t === 'proposal' && p.height === planHeight);
    await waitFor(() => proposalFor(sentry), 'the proposal reaching the full node');
    expect(proposalFor(sentry)).toMatchObject({ upgrade: { plan, applied: null, appVersion: 0 } });
    expect(cutOff.pushes.filter((p) => p.t === 'proposal')).toEqual([]);
    expect(node.pushes.filter((p) => p.t === 'proposal')).toEqual([]);
    // It halts there (its pre-blocker): its view stays below the plan height, and it is asked no more.
    sentry.send({ m: 'halt', height: planHeight });
    await waitFor(() => hub.nodes().find((n) => n.name === 'sentry')?.halted, 'the full node halted');
    expect(hub.background.list().filter((b) => b.version === 'v2')).toHaveLength(13);
    node.autopilot = true;
    await stepTo(hub, node, planHeight);
    expect(hub.chain.upgrade()).toMatchObject({
      plan: null,
      applied: { name: 'v2', height: planHeight },
      appVersion: 1,
    });
    const held = hub.background.list().filter((b) => b.held);
    expect(held.every((b) => b.version === GENESIS_BINARY.version)).toBe(true);
    const commit = hub.chain.block(planHeight + 1);
    expect(commit).toBeUndefined();
    expect(hub.chain.upgradeHistory().at(-1)).toEqual({
      height: planHeight + 1,
      status: { plan: null, applied: { name: 'v2', height: planHeight }, appVersion: 1 },
    });
    expect(hub.nodes().find((n) => n.name === 'sentry')).toMatchObject({
      halted: true,
      viewHeight: planHeight - 1,
    });
    expect(sentry.pushes.filter((p) => p.t === 'tip' && (p.height as number) >= planHeight)).toEqual([]);
    const proposals = sentry.pushes.filter((p) => p.t === 'proposal').length;
    hub.step();
    expect(sentry.pushes.filter((p) => p.t === 'proposal')).toHaveLength(proposals);
    hub.background.release();
    await stepTo(hub, node, planHeight + 2);
    const last = hub.chain.block(planHeight + 2)!.lastCommit!;
    expect(last.signatures.filter((s) => s?.blockIdFlag === 'commit')).toHaveLength(21);
  });
});

describe('hub double-sign evidence', () => {
  it('conflicting votes across a partition and a second signer of the same block, once per validator and height', async () => {
    const { hub, keys, join } = await startHub(2);
    const [a0, b0] = [await join('v0-a', keys[0]!), await join('v0-b', keys[0]!)];
    const [a1, b1] = [await join('v1-a', keys[1]!), await join('v1-b', keys[1]!)];
    hub.partition('v0-b');
    hub.step();
    const partitioned = await b0.round(1);
    // It saw no proposal: nil, and no proposal of its own.
    expect(partitioned).toMatchObject({ block: null, propose: false });
    const proposer = addressOf(keys[0]!.publicKey) === hub.roundState()?.proposer ? a0 : a1;
    proposer.sendProposal(await proposer.round(1));
    a0.sendVote(a0.vote(await a0.round(1), PREVOTE));
    b0.sendVote(b0.vote(partitioned, PREVOTE));
    b0.sendVote(b0.vote(partitioned, PRECOMMIT));
    a1.sendVote(a1.vote(await a1.round(1), PRECOMMIT));
    b1.sendVote(b1.vote(await b1.round(1), PRECOMMIT));
    await waitFor(() => hub.evidence.length === 2, 'two evidences');
    const [v0, v1] = keys.map((k) => addressOf(k.publicKey));
    const blockHash = (await a0.round(1)).block?.hash;
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
    a0.sendVote(a0.vote(await a0.round(1), PRECOMMIT));
    await waitFor(() => hub.chain.height() === 1, 'block 1');
    hub.step();
    await commitHeight(hub, [a0, a1], 2);
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
