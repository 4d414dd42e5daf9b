/**
 * The hub: holds the chain and produces a block every `blockTimeMs`. Each new height it asks the
 * validator nodes over a line-delimited JSON TCP link to take part (the proposer signs the
 * proposal, every validator node a prevote and a precommit), verifies every signed message against
 * the canonical sign bytes it rebuilds itself, puts the verified precommits for the block into the
 * commit, records every signature (delivered in time or not) and turns double signing into evidence.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Proposal, Vote } from 'cosmjs-types/tendermint/types/types';
import { z } from 'zod';
import { ZERO_TIME, timestampToMs } from '../cometbft/canonical.js';
import type { Block, ChainApp, Commit, CommitSig, DoubleSignEvidence, SignedKind } from './chain/types.js';
import { type ChainView, chainRpc } from './chainrpc.js';
import { b64, hex } from './cometjson.js';
import { DoubleSignDetector } from './evidence.js';
import { addressOf } from './keys.js';
import { RpcError } from './rpcerror.js';
import {
  blockHashOf,
  blockIdOf,
  extensionsEnabled,
  isBlockPrecommit,
  sameBlockId,
  sameBytes,
  validExtensionSignature,
  validProposalSignature,
  validVoteSignature,
  voteExtensionFor,
  voteKind,
} from './signatures.js';
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
  /** Height the node sees (frozen while partitioned). */
  viewHeight: number;
  validatorAddress: string | null;
  rpcAddress: string;
  p2pAddress: string;
}

const Hello = z.object({
  m: z.literal('hello'),
  id: z.number(),
  name: z.string().min(1),
  nodeId: z.string(),
  pubkey: z.string().nullable(),
  rpcAddress: z.string(),
  p2pAddress: z.string(),
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
const NodeMessage = z.discriminatedUnion('m', [Hello, Rpc, SignedRecently, VoteMessage, ProposalMessage]);

interface Conn {
  socket: Socket;
  name: string;
  nodeId: string;
  pubkey: Uint8Array | null;
  address: string | null;
  rpcAddress: string;
  p2pAddress: string;
}

/** Signature records kept: a validator node signs up to three a height (proposal, prevote, precommit). */
const MAX_RECORDS = 60_000;
/** Heights kept for double-sign detection; older signatures can no longer form evidence. */
const SIGNER_MEMORY_HEIGHTS = 1_000;

export interface HubOptions {
  chain: ChainApp;
  blockTimeMs: number;
  /** Loopback address for the node link; port 0 picks one. */
  host?: string;
  port?: number;
}

export class Hub {
  readonly chain: ChainApp;
  blockTimeMs: number;
  private server: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly conns = new Map<string, Conn>();
  private readonly sockets = new Set<Socket>();
  /** Node name → height its view froze at. */
  private readonly partitions = new Map<string, number>();
  /** Signatures delivered in time for the height being collected. */
  private collecting = new Map<string, CommitSig>();
  private readonly detector = new DoubleSignDetector();
  private readonly records: SignatureRecord[] = [];
  private readonly liveness = new Map<string, ValidatorLiveness>();
  private pendingEvidence: DoubleSignEvidence[] = [];
  readonly evidence: DoubleSignEvidence[] = [];
  private lastTimeMs = 0;

  constructor(private readonly options: HubOptions) {
    this.chain = options.chain;
    this.blockTimeMs = options.blockTimeMs;
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

  /** Produces a block at once and then one every `blockTimeMs`. */
  startProducing(): void {
    if (this.timer) return;
    this.produce();
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
  }

  isPartitioned(name: string): boolean {
    return this.partitions.has(name);
  }

  viewHeight(name: string): number {
    return this.partitions.get(name) ?? this.chain.height();
  }

  nodes(): NodeSummary[] {
    return [...this.conns.values()].map((c) => ({
      name: c.name,
      nodeId: c.nodeId,
      connected: !c.socket.destroyed,
      partitioned: this.partitions.has(c.name),
      viewHeight: this.viewHeight(c.name),
      validatorAddress: c.address,
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
      const commit = this.chain.block(h)?.lastCommit;
      if (commit?.signatures.some((s) => s?.validatorAddress === address)) return true;
    }
    return this.collecting.has(address);
  }

  /** Produces the next block with the commit of the current one. */
  produce(): void {
    const height = this.chain.height();
    const lastCommit = height > 0 ? this.buildCommit(height) : null;
    if (lastCommit) this.countLiveness(lastCommit, height);
    const timeMs = Math.max(Date.now(), this.lastTimeMs + 1);
    this.lastTimeMs = timeMs;
    const evidence = this.pendingEvidence;
    this.pendingEvidence = [];
    const block = this.chain.produceBlock({ timeMs, lastCommit, evidence });
    this.collecting = new Map();
    this.detector.forgetBelow(block.header.height - SIGNER_MEMORY_HEIGHTS);
    this.announce(block);
  }

  /**
   * Asks every validator node of the block's signing set to take part in its height. A partitioned
   * node saw no proposal: it is told to vote nil (its votes are recorded, never counted).
   */
  private announce(block: Block): void {
    const height = block.header.height;
    const set = this.chain.validatorSet(height);
    const extension = extensionsEnabled(this.chain.params.voteExtensionsEnableHeight, height)
      ? b64(voteExtensionFor(height))
      : null;
    for (const conn of this.conns.values()) {
      const validatorIndex = set.findIndex((v) => v.address === conn.address);
      if (validatorIndex < 0) continue;
      const seesBlock = !this.partitions.has(conn.name);
      sendLine(conn.socket, {
        t: 'round',
        height,
        round: 0,
        validatorIndex,
        block: seesBlock ? { hash: hex(block.hash) } : null,
        propose: seesBlock && conn.address === block.header.proposerAddress,
        extension,
      });
    }
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      try {
        this.produce();
      } catch (error) {
        console.error('hub: block production failed:', error);
      }
      this.schedule();
    }, this.blockTimeMs);
  }

  private buildCommit(height: number): Commit {
    const block = this.chain.block(height);
    if (!block) throw new Error(`hub: block ${height} missing`);
    return {
      height,
      round: 0,
      blockHash: block.hash,
      signatures: this.chain.validatorSet(height).map((v) => this.collecting.get(v.address) ?? null),
    };
  }

  private countLiveness(commit: Commit, height: number): void {
    const set = this.chain.validatorSet(height);
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
        l.lastSignedHeight = height;
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
    if (height === this.chain.height()) return { commit: this.buildCommit(height), canonical: false };
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
          rpcAddress: msg.rpcAddress,
          p2pAddress: msg.p2pAddress,
        };
        const previous = this.conns.get(msg.name);
        if (previous && previous.socket !== socket) previous.socket.destroy();
        this.conns.set(msg.name, conn);
        sendLine(socket, {
          id: msg.id,
          result: { chainId: this.chain.params.chainId, height: this.viewHeight(msg.name) },
        });
        return;
      }
      if (!conn) return void socket.destroy();
      if (msg.m === 'vote') return this.receiveVote(conn, msg.vote);
      if (msg.m === 'proposal') return this.receiveProposal(conn, msg.proposal);
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
      commitFor: (h) => this.commitFor(name, h),
    };
    try {
      sendLine(conn.socket, { id: msg.id, result: chainRpc(view, msg.method, msg.params) });
    } catch (error) {
      const e = error instanceof RpcError ? error : new RpcError(-32603, 'Internal error', String(error));
      sendLine(conn.socket, { id: msg.id, error: { code: e.code, message: e.message, data: e.data } });
    }
  }

  private receiveVote(conn: Conn, encoded: string): void {
    const checked = this.checkVote(conn, encoded);
    if (typeof checked === 'string') {
      console.error(`hub: rejected a vote from ${conn.name}: ${checked}`);
      return;
    }
    const { vote, kind, address, block } = checked;
    const height = block.header.height;
    const timestampMs = timestampToMs(vote.timestamp ?? ZERO_TIME);
    const inTime =
      kind === 'precommit' &&
      sameBlockId(vote.blockId, blockIdOf(block.hash)) &&
      height === this.chain.height() &&
      !this.partitions.has(conn.name) &&
      !this.collecting.has(address);
    if (inTime)
      this.collecting.set(address, { validatorAddress: address, timestampMs, signature: vote.signature });
    this.record(conn.name, address, {
      kind,
      height,
      round: vote.round,
      blockHash: blockHashOf(vote.blockId),
      timestampMs,
      signature: vote.signature,
      delivered: inTime,
    });
  }

  /** The verified vote with its validator and block, or why it is rejected. */
  private checkVote(
    conn: Conn,
    encoded: string,
  ): { vote: Vote; kind: SignedKind; address: string; block: Block } | string {
    let vote: Vote;
    try {
      vote = Vote.decode(Buffer.from(encoded, 'base64'));
    } catch {
      return 'not a tendermint.types.Vote';
    }
    const kind = voteKind(vote.type);
    const where = `${kind ?? `type ${vote.type}`} at height ${vote.height}`;
    if (!kind) return `${where}: neither a prevote nor a precommit`;
    const block = this.chain.block(Number(vote.height));
    if (!block) return `${where}: no block at that height`;
    const key = this.signingKey(conn, vote.validatorAddress);
    if (typeof key === 'string') return `${where}: ${key}`;
    const problem = this.voteProblem(key.pubkey, vote);
    if (problem) return `${where}: ${problem}`;
    return { vote, kind, address: key.address, block };
  }

  private receiveProposal(conn: Conn, encoded: string): void {
    const checked = this.checkProposal(conn, encoded);
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
  }

  /** The verified proposal with its validator, or why it is rejected. */
  private checkProposal(conn: Conn, encoded: string): { proposal: Proposal; address: string } | string {
    let proposal: Proposal;
    try {
      proposal = Proposal.decode(Buffer.from(encoded, 'base64'));
    } catch {
      return 'not a tendermint.types.Proposal';
    }
    const where = `at height ${proposal.height}`;
    if (!this.chain.block(Number(proposal.height))) return `${where}: no block at that height`;
    const key = this.signingKey(conn, null);
    if (typeof key === 'string') return `${where}: ${key}`;
    if (!validProposalSignature(this.chain.params.chainId, key.pubkey, proposal))
      return `${where}: invalid signature`;
    return { proposal, address: key.address };
  }

  /** The node's validator key, when it may sign: it has one, and the message names that key. */
  private signingKey(conn: Conn, named: Uint8Array | null): { pubkey: Uint8Array; address: string } | string {
    if (!conn.pubkey || !conn.address) return 'the node has no validator key';
    if (named && hex(named) !== conn.address) return `it names validator ${hex(named)}, not its own key`;
    return { pubkey: conn.pubkey, address: conn.address };
  }

  /** CometBFT's checks on a vote: its signature, and an extension exactly where extensions belong. */
  private voteProblem(pubkey: Uint8Array, vote: Vote): string | null {
    const { chainId, voteExtensionsEnableHeight } = this.chain.params;
    if (!validVoteSignature(chainId, pubkey, vote)) return 'invalid signature';
    if (isBlockPrecommit(vote) && extensionsEnabled(voteExtensionsEnableHeight, Number(vote.height))) {
      // The devnet app's VerifyVoteExtension accepts only the extension it asked for.
      if (!sameBytes(vote.extension, voteExtensionFor(Number(vote.height))))
        return 'vote extension rejected by the app';
      if (!validExtensionSignature(chainId, pubkey, vote)) return 'invalid extension signature';
      return null;
    }
    if (vote.extension.length > 0 || vote.extensionSignature.length > 0) return 'unexpected vote extension';
    return null;
  }

  /** Records a verified signature and checks it for double signing. */
  private record(
    node: string,
    validatorAddress: string,
    s: Omit<SignatureRecord, 'validatorAddress' | 'node' | 'receivedAtMs'> & { signature: Uint8Array },
  ): void {
    const { signature, ...fields } = s;
    this.records.push({ validatorAddress, node, ...fields, receivedAtMs: Date.now() });
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
    if (!evidence) return;
    console.error(
      `hub: DOUBLE SIGN (${evidence.kind}) by ${validatorAddress} at height ${s.height} round ${s.round} ${s.kind} (${evidence.votes.map((v) => `${v.node}: ${v.blockHash ?? 'nil'}`).join(', ')})`,
    );
    this.evidence.push(evidence);
    this.pendingEvidence.push(evidence);
  }
}
