/**
 * The node's p2p port: real TCP. Any connection is accepted; one that sends the Beam devnet
 * handshake line within `handshake_timeout` becomes a peer (inbound peers capped by
 * `max_num_inbound_peers`, unconditional ids exempt); anything else is closed at the timeout,
 * so floods occupy real sockets as they would on CometBFT. Peers then exchange requests and
 * answers, `{rq: id, body}` → `{rs: id, body}` (CometBFT's blocksync and state sync channels: block
 * store ranges, blocks, snapshots, chunks), answered by `serve`.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import * as z from 'zod';
import { onLines, parseHostPort, sendLine } from './wire.js';

const Request = z.object({ rq: z.number().int(), body: z.unknown() });
const Answer = z.object({ rs: z.number().int(), body: z.unknown() });

const Handshake = z.object({
  beamDevnetP2p: z.literal(1),
  id: z.string(),
  network: z.string(),
  moniker: z.string(),
  listenAddr: z.string(),
});
type Handshake = z.infer<typeof Handshake>;

export interface Peer {
  info: Handshake;
  outbound: boolean;
  remoteIp: string;
  socket: Socket;
  since: number;
}

export interface P2pOptions {
  self: Omit<Handshake, 'beamDevnetP2p'>;
  laddr: string;
  maxInbound: number;
  handshakeTimeoutMs: number;
  unconditionalIds: string[];
  retryMs?: number;
  /** Answers a peer's request (undefined: no answer, the asker times out). */
  serve?: (peer: Peer, body: unknown) => unknown;
  /** A peer joined (CometBFT's AddPeer: reactors greet it). */
  onPeer?: (peer: Peer) => void;
}

interface Pending {
  peerId: string;
  resolve: (body: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class P2p {
  readonly peers = new Map<string, Peer>();
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly dialing = new Map<string, NodeJS.Timeout | null>();
  private readonly pending = new Map<number, Pending>();
  private nextRequest = 1;
  private stopped = false;

  constructor(private readonly options: P2pOptions) {}

  /** The network (chain id) peers must share; known once the hub has answered. */
  setNetwork(network: string): void {
    this.options.self.network = network;
  }

  async listen(): Promise<void> {
    const { host, port } = parseHostPort(this.options.laddr);
    const server = createServer((socket) => this.handle(socket, false));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  }

  /** Dials `id@host:port` and keeps redialing while the connection is down. */
  dial(peer: string): void {
    const m = /^([0-9a-f]{40})@(.+)$/.exec(peer.trim());
    if (!m?.[1] || !m[2]) throw new Error(`invalid peer "${peer}": expected <40-hex node id>@host:port`);
    const [id, address] = [m[1], m[2]];
    if (this.dialing.has(id) || id === this.options.self.id) return;
    this.dialing.set(id, null);
    const attempt = () => {
      if (this.stopped) return;
      if (this.peers.has(id))
        return void this.dialing.set(id, setTimeout(attempt, this.options.retryMs ?? 500));
      const { host, port } = parseHostPort(address);
      const socket = connect({ host, port });
      socket.on('connect', () => this.handle(socket, true, id));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        if (!this.stopped) this.dialing.set(id, setTimeout(attempt, this.options.retryMs ?? 500));
      });
    };
    attempt();
  }

  /** Asks a peer; rejects when it does not answer within `timeoutMs` or leaves. */
  request(peerId: string, body: unknown, timeoutMs: number): Promise<unknown> {
    const peer = this.peers.get(peerId);
    if (!peer) return Promise.reject(new Error(`peer ${peerId} is not connected`));
    const rq = this.nextRequest++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settle(rq, new Error(`peer ${peerId} did not answer`)), timeoutMs);
      this.pending.set(rq, { peerId, resolve, reject, timer });
      sendLine(peer.socket, { rq, body });
    });
  }

  private settle(rq: number, outcome: { body: unknown } | Error): void {
    const p = this.pending.get(rq);
    if (!p) return;
    this.pending.delete(rq);
    clearTimeout(p.timer);
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome.body);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const rq of [...this.pending.keys()]) this.settle(rq, new Error('p2p stopped'));
    for (const t of this.dialing.values()) if (t) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private inboundCount(): number {
    return [...this.peers.values()].filter((p) => !p.outbound).length;
  }

  private handle(socket: Socket, outbound: boolean, expectedId?: string): void {
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      for (const [id, p] of this.peers) {
        if (p.socket !== socket) continue;
        this.peers.delete(id);
        for (const [rq, q] of this.pending)
          if (q.peerId === id) this.settle(rq, new Error(`peer ${id} left`));
      }
    });
    socket.on('error', () => socket.destroy());
    const timeout = setTimeout(() => socket.destroy(), this.options.handshakeTimeoutMs);
    socket.on('close', () => clearTimeout(timeout));
    const hello = () => sendLine(socket, { beamDevnetP2p: 1, ...this.options.self });
    if (outbound) hello();
    let peer: Peer | undefined;
    onLines(socket, (raw) => {
      if (peer) return this.receive(peer, raw);
      const parsed = Handshake.safeParse(raw);
      if (!parsed.success || parsed.data.network !== this.options.self.network) return void socket.destroy();
      const info = parsed.data;
      const unconditional = this.options.unconditionalIds.includes(info.id);
      const full = !outbound && !unconditional && this.inboundCount() >= this.options.maxInbound;
      if (full || this.peers.has(info.id) || (expectedId && info.id !== expectedId))
        return void socket.destroy();
      clearTimeout(timeout);
      if (!outbound) hello();
      peer = { info, outbound, remoteIp: socket.remoteAddress ?? '', socket, since: Date.now() };
      this.peers.set(info.id, peer);
      this.options.onPeer?.(peer);
    });
  }

  private receive(peer: Peer, raw: unknown): void {
    const answer = Answer.safeParse(raw);
    if (answer.success) {
      if (this.pending.get(answer.data.rs)?.peerId === peer.info.id)
        this.settle(answer.data.rs, { body: answer.data.body });
      return;
    }
    const request = Request.safeParse(raw);
    if (!request.success) return;
    const body = this.options.serve?.(peer, request.data.body);
    if (body !== undefined) sendLine(peer.socket, { rs: request.data.rq, body });
  }
}
