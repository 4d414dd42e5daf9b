/**
 * The hub: holds the chain, produces a block every `blockTimeMs`, collects precommit signatures
 * from the nodes over a line-delimited JSON TCP link, records every signature (delivered in time or
 * not) and turns two signatures by one key at one height from different nodes into evidence.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { z } from 'zod';
import type { ChainApp, Commit, CommitSig, DoubleSignEvidence } from './chain/types.js';
import { type ChainView, chainRpc } from './chainrpc.js';
import { hex, partsHash } from './cometjson.js';
import { addressOf, verifyEd25519 } from './keys.js';
import { RpcError } from './rpcerror.js';
import { precommitSignBytes } from './vote.js';
import { onLines, sendLine } from './wire.js';

export interface SignatureRecord {
  validatorAddress: string;
  height: number;
  node: string;
  timestampMs: number;
  receivedAtMs: number;
  /** True when the signature made it into the block's commit. */
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
const Sig = z.object({
  m: z.literal('sig'),
  height: z.number(),
  round: z.number(),
  timestampMs: z.number(),
  signature: z.string(),
});
const NodeMessage = z.discriminatedUnion('m', [Hello, Rpc, SignedRecently, Sig]);

interface Conn {
  socket: Socket;
  name: string;
  nodeId: string;
  pubkey: Uint8Array | null;
  address: string | null;
  rpcAddress: string;
  p2pAddress: string;
}

const MAX_RECORDS = 20_000;
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
  private readonly signers = new Map<string, Map<string, SignatureRecord>>();
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
    const newHeight = block.header.height;
    this.forgetSignersBelow(newHeight - SIGNER_MEMORY_HEIGHTS);
    const signingSet = new Set(this.chain.validatorSet(newHeight).map((v) => v.address));
    for (const conn of this.conns.values()) {
      // Partitioned nodes still sign (their signatures are recorded, never counted).
      if (conn.address && signingSet.has(conn.address)) {
        sendLine(conn.socket, {
          t: 'sign',
          chainId: this.chain.params.chainId,
          height: newHeight,
          round: 0,
          blockHash: hex(block.hash),
          partsHash: hex(partsHash(block.hash)),
        });
      }
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
      if (msg.m === 'sig') return this.receiveSignature(conn, msg);
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

  private receiveSignature(conn: Conn, msg: z.infer<typeof Sig>): void {
    const block = this.chain.block(msg.height);
    if (!conn.pubkey || !conn.address || !block) return;
    const signature = Uint8Array.from(Buffer.from(msg.signature, 'base64'));
    const signBytes = precommitSignBytes({
      chainId: this.chain.params.chainId,
      height: msg.height,
      round: msg.round,
      blockHash: block.hash,
      partsHash: partsHash(block.hash),
      timestampMs: msg.timestampMs,
    });
    if (!verifyEd25519(conn.pubkey, signBytes, signature)) {
      console.error(`hub: rejected a bad signature from ${conn.name} at height ${msg.height}`);
      return;
    }
    const address = conn.address;
    const inTime =
      msg.height === this.chain.height() && !this.partitions.has(conn.name) && !this.collecting.has(address);
    if (inTime)
      this.collecting.set(address, { validatorAddress: address, timestampMs: msg.timestampMs, signature });
    const record: SignatureRecord = {
      validatorAddress: address,
      height: msg.height,
      node: conn.name,
      timestampMs: msg.timestampMs,
      receivedAtMs: Date.now(),
      delivered: inTime,
    };
    this.records.push(record);
    if (this.records.length > MAX_RECORDS) this.records.splice(0, this.records.length - MAX_RECORDS);
    this.detectDoubleSign(record);
  }

  private forgetSignersBelow(height: number): void {
    // Keys arrive in (nearly) ascending height order, so the oldest are first.
    for (const key of this.signers.keys()) {
      if (Number(key.split(':')[1]) >= height) break;
      this.signers.delete(key);
    }
  }

  private detectDoubleSign(record: SignatureRecord): void {
    const key = `${record.validatorAddress}:${record.height}`;
    const byNode = this.signers.get(key) ?? new Map<string, SignatureRecord>();
    this.signers.set(key, byNode);
    const isNewSigner = !byNode.has(record.node);
    byNode.set(record.node, record);
    if (!isNewSigner || byNode.size !== 2) return;
    const evidence: DoubleSignEvidence = {
      validatorAddress: record.validatorAddress,
      height: record.height,
      timeMs: Date.now(),
      nodes: [...byNode.keys()],
    };
    console.error(
      `hub: DOUBLE SIGN by ${evidence.validatorAddress} at height ${evidence.height} (${evidence.nodes.join(', ')})`,
    );
    this.evidence.push(evidence);
    this.pendingEvidence.push(evidence);
  }
}
