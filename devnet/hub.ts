/**
 * The hub: holds the chain and runs consensus over it, one round per `blockTimeMs`. A round's
 * proposer (CometBFT's proposer priority) proposes the next block; the validator nodes are asked
 * over a line-delimited JSON TCP link to sign (the proposer its proposal, every validator node a
 * prevote and a precommit), the background validators precommit in-hub. The hub verifies every
 * signed message against the canonical sign bytes it rebuilds itself, records every node
 * signature and turns double signing into evidence. A block commits as soon as precommits of more
 * than 2/3 of the voting power are in; later precommits of its round still join its commit until
 * the next height is proposed (CometBFT's timeout_commit). A round without +2/3 by its end gives
 * way to the next round (and proposer) of the same height: with more than 1/3 offline the chain
 * halts until enough return. Every committed block is announced to the nodes (`tip`: the network's
 * gossip, the oldest block the network's nodes still serve, and x/upgrade's history, which each
 * node's pre-blocker checks every block it executes against); each node reports the range of its
 * block store, which bounds what its RPC sees.
 */
import { createServer, type Server, type Socket } from 'node:net';
import * as z from 'zod';
import { ZERO_TIME, timestampToMs } from '../cometbft/canonical.js';
import { BackgroundValidators } from './background.js';
import { GENESIS_BINARY } from './binary.js';
import { DEFAULT_BLOCKSYNC_RATE } from './blocksync.js';
import { DEFAULT_RETAIN_BLOCKS, type StoreRange, retainHeight } from './blockstore.js';
import type {
  Block,
  ChainApp,
  Commit,
  CommitSig,
  DoubleSignEvidence,
  SignedKind,
  UpgradeChange,
  UpgradeStatus,
  ValidatorSetEntry,
} from './chain/types.js';
import { type ChainView, chainRpc } from './chainrpc.js';
import { b64, hex } from './cometjson.js';
import { DoubleSignDetector } from './evidence.js';
import { addressOf } from './keys.js';
import { RpcError } from './rpcerror.js';
import { blockHashOf, blockIdOf, extensionsEnabled, sameBlockId, voteExtensionFor } from './signatures.js';
import { type VerifyContext, verifyProposal, verifyVote } from './verify.js';
import { onLines, sendLine } from './wire.js';

export interface SignatureRecord {
  validatorAddress: string;
  kind: SignedKind;
  height: number;
  round: number;
  /** Uppercase hex hash of the block signed for; null for a nil vote. */
  blockHash: string | null;
  node: string;
  timestampMs: number;
  receivedAtMs: number;
  /** True when the signature made it into the block's commit (a precommit for the block, in time). */
  delivered: boolean;
}

export interface ValidatorLiveness {
  address: string;
  signed: number;
  missed: number;
  /** Missed blocks in a row up to the latest commit. */
  consecutiveMissed: number;
  lastSignedHeight: number;
}

export interface NodeSummary {
  name: string;
  nodeId: string;
  connected: boolean;
  partitioned: boolean;
  /** Its consensus stopped at an upgrade (or a binary that cannot run the chain). */
  halted: boolean;
  /** In state sync or blocksync: behind, not voting. */
  catchingUp: boolean;
  /** Height the node sees: its store's height (frozen while partitioned or halted). */
  viewHeight: number;
  validatorAddress: string | null;
  /** The version of the binary it runs. */
  version: string;
  rpcAddress: string;
  p2pAddress: string;
}

/** The consensus round in progress: the height being decided, its round and proposer. */
export interface RoundState {
  height: number;
  round: number;
  proposer: string;
  /** The round's proposal is out (all validators see the block). */
  proposed: boolean;
}

const Hello = z.object({
  m: z.literal('hello'),
  id: z.number(),
  name: z.string().min(1),
  nodeId: z.string(),
  pubkey: z.string().nullable(),
  rpcAddress: z.string(),
  p2pAddress: z.string(),
  version: z.string().default(''),
  /** The node's block store; a link that reports none (a test playing a node) sees the hub's view. */
  store: z.object({ base: z.number().int(), height: z.number().int() }).optional(),
});
const Rpc = z.object({
  m: z.literal('rpc'),
  id: z.number(),
  method: z.string(),
  params: z.record(z.string(), z.unknown()),
});
const SignedRecently = z.object({
  m: z.literal('signedRecently'),
  id: z.number(),
  address: z.string(),
  blocks: z.number(),
});
/** A signed tendermint.types.Vote, protobuf in base64. */
const VoteMessage = z.object({ m: z.literal('vote'), vote: z.string().base64() });
/** A signed tendermint.types.Proposal, protobuf in base64. */
const ProposalMessage = z.object({ m: z.literal('proposal'), proposal: z.string().base64() });
/** The node's consensus stopped at this height (the SDK's pre-blocker error). */
const HaltMessage = z.object({ m: z.literal('halt'), height: z.number().int().positive() });
/** The node's block store changed (or it switched between catching up and consensus). */
const StoreMessage = z.object({
  m: z.literal('store'),
  base: z.number().int().nonnegative(),
  height: z.number().int().nonnegative(),
  catchingUp: z.boolean(),
});
const NodeMessage = z.discriminatedUnion('m', [
  Hello,
  Rpc,
  SignedRecently,
  VoteMessage,
  ProposalMessage,
  HaltMessage,
  StoreMessage,
]);

interface Conn {
  socket: Socket;
  name: string;
  nodeId: string;
  pubkey: Uint8Array | null;
  address: string | null;
  version: string;
  rpcAddress: string;
  p2pAddress: string;
  store: StoreRange | null;
  catchingUp: boolean;
}

interface Round extends RoundState {
  block: Block;
  upgrade: UpgradeStatus;
  /** The block committed: +2/3 of the power precommitted it. */
  decided: boolean;
  /** Precommits of this round in time (for the block or nil), by validator address. */
  precommits: Map<string, CommitSig>;
  /** Records of node precommits for the block before it committed: delivered once it does. */
  records: SignatureRecord[];
  /** Nodes asked to take part so far. */
  asked: Set<string>;
}

/** Signature records kept: a validator node signs up to three a height (proposal, prevote, precommit). */
const MAX_RECORDS = 60_000;
/** Heights kept for double-sign detection; older signatures can no longer form evidence. */
const SIGNER_MEMORY_HEIGHTS = 1_000;

export interface HubOptions {
  chain: ChainApp;
  blockTimeMs: number;
  /** The rest of the network, signing in-hub (none: the nodes' validators hold all the power). */
  background?: BackgroundValidators;
  /** Loopback address for the node link; port 0 picks one. */
  host?: string;
  port?: number;
  /**
   * min-retain-blocks of the network's nodes (default 1000; 0 keeps every block): they serve the
   * blocks from tip - retainBlocks on, so a node further behind finds no one to blocksync from.
   */
  retainBlocks?: number;
  /** Blocks a second a node catching up fetches (default 300), told in the hub's hello. */
  blocksyncRate?: number;
}

export class Hub {
  readonly chain: ChainApp;
  readonly background: BackgroundValidators;
  blockTimeMs: number;
  private server: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly conns = new Map<string, Conn>();
  private readonly sockets = new Set<Socket>();
  /** Node name → height its view froze at. */
  private readonly partitions = new Map<string, number>();
  /** Node name → height below the one its consensus stopped at. */
  private readonly halted = new Map<string, number>();
  private current: Round | null = null;
  /** The commit of the latest block as the next proposal carries it (canonical once that block commits). */
  private lastCommit: Commit | null = null;
  private readonly detector = new DoubleSignDetector();
  private readonly records: SignatureRecord[] = [];
  private readonly liveness = new Map<string, ValidatorLiveness>();
  private pendingEvidence: DoubleSignEvidence[] = [];
  readonly evidence: DoubleSignEvidence[] = [];
  private lastTimeMs = 0;

  constructor(private readonly options: HubOptions) {
    if (options.blocksyncRate !== undefined && !(options.blocksyncRate >= 1))
      throw new Error(`blocksyncRate must be at least 1 block a second, got ${options.blocksyncRate}`);
    this.chain = options.chain;
    this.blockTimeMs = options.blockTimeMs;
    this.background =
      options.background ?? new BackgroundValidators([], options.chain.params.chainId, GENESIS_BINARY);
  }

  /** Listens for nodes; blocks start with `startProducing`. */
  async listen(): Promise<{ host: string; port: number }> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, host, () => resolve());
    });
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('hub: no TCP address');
    return { host, port: addr.port };
  }

  /** Proposes the first block at once, then steps every `blockTimeMs`. */
  startProducing(): void {
    if (this.timer) return;
    this.step();
    this.schedule();
  }

  async start(): Promise<{ host: string; port: number }> {
    const address = await this.listen();
    this.startProducing();
    return address;
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  setBlockTime(ms: number): void {
    this.blockTimeMs = ms;
    if (this.timer) {
      clearTimeout(this.timer);
      this.schedule();
    }
  }

  partition(name: string): void {
    if (!this.partitions.has(name)) this.partitions.set(name, this.chain.height());
  }

  heal(name: string): void {
    this.partitions.delete(name);
    const conn = this.conns.get(name);
    if (conn) sendLine(conn.socket, { t: 'tip', ...this.tipFor(name) });
  }

  isPartitioned(name: string): boolean {
    return this.partitions.has(name);
  }

  /** The height a node sees: the network's, frozen while partitioned or halted, within its block store. */
  viewHeight(name: string): number {
    return Math.min(
      this.networkHeight(name),
      this.conns.get(name)?.store?.height ?? Number.POSITIVE_INFINITY,
    );
  }

  /** The latest block the network lets a node have: frozen while it is partitioned or halted. */
  private networkHeight(name: string): number {
    return this.partitions.get(name) ?? this.halted.get(name) ?? this.chain.height();
  }

  /**
   * The tip announced to a node, with the oldest block the network's nodes still serve (0: no block
   * yet) and x/upgrade's history up to the block after it: what the node's pre-blocker checks each
   * block it executes against, as its own app state would tell it.
   */
  private tipFor(name: string): { height: number; base: number; upgrades: UpgradeChange[] } {
    const tip = this.chain.height();
    const retention = {
      minRetainBlocks: this.options.retainBlocks ?? DEFAULT_RETAIN_BLOCKS,
      snapshotInterval: 0,
      snapshotKeepRecent: 0,
    };
    const height = this.networkHeight(name);
    return {
      height,
      base: tip === 0 ? 0 : Math.max(1, retainHeight(tip, retention)),
      upgrades: this.chain.upgradeHistory().filter((c) => c.height <= height + 1),
    };
  }

  roundState(): RoundState | null {
    const r = this.current;
    return r && { height: r.height, round: r.round, proposer: r.proposer, proposed: r.proposed };
  }

  nodes(): NodeSummary[] {
    return [...this.conns.values()].map((c) => ({
      name: c.name,
      nodeId: c.nodeId,
      connected: !c.socket.destroyed,
      partitioned: this.partitions.has(c.name),
      halted: this.halted.has(c.name),
      catchingUp: c.catchingUp,
      viewHeight: this.viewHeight(c.name),
      validatorAddress: c.address,
      version: c.version,
      rpcAddress: c.rpcAddress,
      p2pAddress: c.p2pAddress,
    }));
  }

  signatures(filter: { address?: string; fromHeight?: number } = {}): SignatureRecord[] {
    return this.records.filter(
      (r) =>
        (!filter.address || r.validatorAddress === filter.address.toUpperCase()) &&
        (filter.fromHeight === undefined || r.height >= filter.fromHeight),
    );
  }

  validatorLiveness(): ValidatorLiveness[] {
    return [...this.liveness.values()];
  }

  /** Whether `address` signed a commit in the last `blocks` blocks (CometBFT's double_sign_check_height). */
  signedRecently(address: string, blocks: number): boolean {
    const latest = this.chain.height();
    for (let h = latest; h > Math.max(0, latest - blocks); h--) {
      const commit = h === latest ? this.seenCommit() : this.chain.block(h + 1)?.lastCommit;
      if (commit?.signatures.some((s) => s?.validatorAddress === address)) return true;
    }
    return this.current?.precommits.has(address) ?? false;
  }

  /**
   * The end of a round: once its block committed, the next height is proposed (round 0, with the
   * commit as its last commit); else the next round of the same height (the chain halts there).
   */
  step(): void {
    const r = this.current;
    if (r?.decided) {
      this.lastCommit = this.commitOf(r);
      this.countLiveness(this.lastCommit, this.chain.validatorSet(r.height));
    }
    this.propose(r && !r.decided ? r.round + 1 : 0);
  }

  /** The commit of the latest block: its round's precommits so far, or the one the next proposal carries. */
  private seenCommit(): Commit | null {
    const r = this.current;
    return r?.decided ? this.commitOf(r) : this.lastCommit;
  }

  private commitOf(r: Round): Commit {
    return {
      height: r.height,
      round: r.round,
      blockHash: r.block.hash,
      signatures: this.chain.validatorSet(r.height).map((v) => r.precommits.get(v.address) ?? null),
    };
  }

  /** Commits the round's block once more than 2/3 of the voting power precommitted it. */
  private decide(r: Round): void {
    if (r.decided || r !== this.current) return;
    const set = this.chain.validatorSet(r.height);
    const total = set.reduce((sum, v) => sum + v.votingPower, 0);
    const forBlock = set.reduce(
      (sum, v) => sum + (r.precommits.get(v.address)?.blockIdFlag === 'commit' ? v.votingPower : 0),
      0,
    );
    if (total === 0 || 3 * forBlock <= 2 * total) return;
    r.decided = true;
    this.chain.commitBlock(r.block);
    for (const conn of this.conns.values()) sendLine(conn.socket, { t: 'tip', ...this.tipFor(conn.name) });
    for (const record of r.records) record.delivered = true;
    this.pendingEvidence = this.pendingEvidence.filter((e) => !r.block.evidence.includes(e));
    this.background.vote(this.chain);
    this.background.unjail(this.chain, new Set(this.chain.validatorSet(r.height + 1).map((v) => v.address)));
  }

  private propose(round: number): void {
    const height = this.chain.height() + 1;
    const timeMs = Math.max(Date.now(), this.lastTimeMs + 1);
    this.lastTimeMs = timeMs;
    const block = this.chain.proposeBlock({
      timeMs,
      lastCommit: this.lastCommit,
      evidence: [...this.pendingEvidence],
      round,
    });
    const upgrade = this.chain.upgrade();
    const r: Round = {
      height,
      round,
      proposer: block.header.proposerAddress,
      proposed: false,
      block,
      upgrade,
      decided: false,
      precommits: new Map(),
      records: [],
      asked: new Set(),
    };
    this.current = r;
    this.detector.forgetBelow(height - SIGNER_MEMORY_HEIGHTS);
    this.ask(r);
    if (this.background.proposes(r.proposer, upgrade, height)) this.proposalOut(r);
  }

  /** The proposal reached the network: every node sees the block, background validators precommit. */
  private proposalOut(r: Round): void {
    r.proposed = true;
    this.ask(r);
    const precommits = this.background.precommits({
      height: r.height,
      round: r.round,
      blockHash: r.block.hash,
      upgrade: r.upgrade,
      timeMs: Date.now(),
    });
    for (const p of precommits) r.precommits.set(p.validatorAddress, p);
    this.decide(r);
  }

  /**
   * Asks the validator nodes of the height's set to take part, each once per round: the proposer's
   * nodes at once (to propose), the others once the proposal is out. A partitioned node saw no
   * proposal: it is told to vote nil at once (its votes are recorded, never counted). A halted
   * node is not asked. Every other node (a sentry, a node whose key is not in the set) follows the
   * height as a full node does: the proposal reaches it once out (`proposal`, with x/upgrade's
   * state, which its pre-blocker checks as a validator's does), never while partitioned.
   */
  private ask(r: Round): void {
    const set = this.chain.validatorSet(r.height);
    const extension = extensionsEnabled(this.chain.params.voteExtensionsEnableHeight, r.height)
      ? b64(voteExtensionFor(r.height))
      : null;
    for (const conn of this.conns.values()) {
      if (r.asked.has(conn.name) || this.halted.has(conn.name)) continue;
      const validatorIndex = set.findIndex((v) => v.address === conn.address);
      const partitioned = this.partitions.has(conn.name);
      if (validatorIndex < 0) {
        if (partitioned || !r.proposed) continue;
        r.asked.add(conn.name);
        sendLine(conn.socket, { t: 'proposal', height: r.height, round: r.round, upgrade: r.upgrade });
        continue;
      }
      const proposer = conn.address === r.proposer;
      if (!partitioned && !proposer && !r.proposed) continue;
      r.asked.add(conn.name);
      sendLine(conn.socket, {
        t: 'round',
        height: r.height,
        round: r.round,
        validatorIndex,
        block: partitioned ? null : { hash: hex(r.block.hash) },
        propose: proposer && !partitioned,
        extension,
        upgrade: r.upgrade,
      });
    }
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      try {
        this.step();
      } catch (error) {
        console.error('hub: consensus step failed:', error);
      }
      this.schedule();
    }, this.blockTimeMs);
  }

  private countLiveness(commit: Commit, set: ValidatorSetEntry[]): void {
    set.forEach((v, i) => {
      const l = this.liveness.get(v.address) ?? {
        address: v.address,
        signed: 0,
        missed: 0,
        consecutiveMissed: 0,
        lastSignedHeight: 0,
      };
      if (commit.signatures[i]) {
        l.signed++;
        l.consecutiveMissed = 0;
        l.lastSignedHeight = commit.height;
      } else {
        l.missed++;
        l.consecutiveMissed++;
      }
      this.liveness.set(v.address, l);
    });
  }

  private commitFor(name: string, height: number): { commit: Commit | null; canonical: boolean } {
    const next = this.chain.block(height + 1);
    if (next && height + 1 <= this.viewHeight(name)) return { commit: next.lastCommit, canonical: true };
    if (height === this.chain.height()) return { commit: this.seenCommit(), canonical: false };
    return { commit: next?.lastCommit ?? null, canonical: false };
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    // A closed node stays listed (connected: false) until it reconnects under the same name.
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let conn: Conn | undefined;
    onLines(socket, (raw) => {
      const parsed = NodeMessage.safeParse(raw);
      if (!parsed.success) return;
      const msg = parsed.data;
      if (msg.m === 'hello') {
        const pubkey = msg.pubkey ? Uint8Array.from(Buffer.from(msg.pubkey, 'base64')) : null;
        conn = {
          socket,
          name: msg.name,
          nodeId: msg.nodeId,
          pubkey,
          address: pubkey ? addressOf(pubkey) : null,
          version: msg.version,
          rpcAddress: msg.rpcAddress,
          p2pAddress: msg.p2pAddress,
          store: msg.store ?? null,
          catchingUp: false,
        };
        const previous = this.conns.get(msg.name);
        if (previous && previous.socket !== socket) previous.socket.destroy();
        this.conns.set(msg.name, conn);
        // A new process under this name: its consensus runs again (a halted one says so again).
        this.halted.delete(msg.name);
        sendLine(socket, {
          id: msg.id,
          result: {
            chainId: this.chain.params.chainId,
            ...this.tipFor(msg.name),
            blocksyncRate: this.options.blocksyncRate ?? DEFAULT_BLOCKSYNC_RATE,
          },
        });
        return;
      }
      if (!conn) return void socket.destroy();
      if (msg.m === 'vote') return this.receiveVote(conn, msg.vote);
      if (msg.m === 'proposal') return this.receiveProposal(conn, msg.proposal);
      if (msg.m === 'halt') {
        this.halted.set(conn.name, Math.min(msg.height - 1, this.chain.height()));
        return;
      }
      if (msg.m === 'store') {
        conn.store = { base: msg.base, height: msg.height };
        conn.catchingUp = msg.catchingUp;
        return;
      }
      if (msg.m === 'signedRecently') {
        sendLine(socket, { id: msg.id, result: this.signedRecently(msg.address, msg.blocks) });
        return;
      }
      this.answerRpc(conn, msg);
    });
  }

  private answerRpc(conn: Conn, msg: z.infer<typeof Rpc>): void {
    const name = conn.name;
    const view: ChainView = {
      chain: this.chain,
      viewHeight: this.viewHeight(name),
      base: conn.store?.base ?? 1,
      commitFor: (h) => this.commitFor(name, h),
    };
    try {
      sendLine(conn.socket, { id: msg.id, result: chainRpc(view, msg.method, msg.params) });
    } catch (error) {
      const e = error instanceof RpcError ? error : new RpcError(-32603, 'Internal error', String(error));
      sendLine(conn.socket, { id: msg.id, error: { code: e.code, message: e.message, data: e.data } });
    }
  }

  private verifyContext(): VerifyContext {
    return {
      chainId: this.chain.params.chainId,
      voteExtensionsEnableHeight: this.chain.params.voteExtensionsEnableHeight,
      proposedHeight: this.current?.height ?? this.chain.height(),
    };
  }

  private receiveVote(conn: Conn, encoded: string): void {
    const checked = verifyVote(this.verifyContext(), conn, encoded);
    if (typeof checked === 'string') {
      console.error(`hub: rejected a vote from ${conn.name}: ${checked}`);
      return;
    }
    const { vote, kind, address } = checked;
    const r = this.current;
    const height = Number(vote.height);
    const timestampMs = timestampToMs(vote.timestamp ?? ZERO_TIME);
    const blockHash = blockHashOf(vote.blockId);
    // A precommit of the round in progress, from a node in touch with the network, counts.
    const counts =
      kind === 'precommit' &&
      r !== null &&
      height === r.height &&
      vote.round === r.round &&
      !this.partitions.has(conn.name) &&
      !r.precommits.has(address) &&
      (blockHash === null || sameBlockId(vote.blockId, blockIdOf(r.block.hash)));
    const record = this.record(conn.name, address, {
      kind,
      height,
      round: vote.round,
      blockHash,
      timestampMs,
      signature: vote.signature,
      delivered: false,
    });
    if (!counts || !r) return;
    r.precommits.set(address, {
      blockIdFlag: blockHash === null ? 'nil' : 'commit',
      validatorAddress: address,
      timestampMs,
      signature: vote.signature,
    });
    if (blockHash === null) return;
    // After the block committed, a precommit for it still joins its commit (timeout_commit).
    if (r.decided) record.delivered = true;
    else r.records.push(record);
    this.decide(r);
  }

  private receiveProposal(conn: Conn, encoded: string): void {
    const checked = verifyProposal(this.verifyContext(), conn, encoded);
    if (typeof checked === 'string') {
      console.error(`hub: rejected a proposal from ${conn.name}: ${checked}`);
      return;
    }
    const { proposal, address } = checked;
    this.record(conn.name, address, {
      kind: 'proposal',
      height: Number(proposal.height),
      round: proposal.round,
      blockHash: blockHashOf(proposal.blockId),
      timestampMs: timestampToMs(proposal.timestamp ?? ZERO_TIME),
      signature: proposal.signature,
      delivered: false,
    });
    const r = this.current;
    const ours =
      r !== null &&
      !r.proposed &&
      Number(proposal.height) === r.height &&
      proposal.round === r.round &&
      address === r.proposer &&
      !this.partitions.has(conn.name) &&
      sameBlockId(proposal.blockId, blockIdOf(r.block.hash));
    if (!ours || !r) return;
    this.proposalOut(r);
  }

  /** Records a verified signature and checks it for double signing. */
  private record(
    node: string,
    validatorAddress: string,
    s: Omit<SignatureRecord, 'validatorAddress' | 'node' | 'receivedAtMs'> & { signature: Uint8Array },
  ): SignatureRecord {
    const { signature, ...fields } = s;
    const record = { validatorAddress, node, ...fields, receivedAtMs: Date.now() };
    this.records.push(record);
    if (this.records.length > MAX_RECORDS) this.records.splice(0, this.records.length - MAX_RECORDS);
    const evidence = this.detector.observe(
      {
        validatorAddress,
        kind: s.kind,
        height: s.height,
        round: s.round,
        vote: { node, blockHash: s.blockHash, timestampMs: s.timestampMs, signature: b64(signature) },
      },
      Date.now(),
    );
    if (evidence) {
      console.error(
        `hub: DOUBLE SIGN (${evidence.kind}) by ${validatorAddress} at height ${s.height} round ${s.round} ${s.kind} (${evidence.votes.map((v) => `${v.node}: ${v.blockHash ?? 'nil'}`).join(', ')})`,
      );
      this.evidence.push(evidence);
      this.pendingEvidence.push(evidence);
    }
    return record;
  }
}
