/**
 * The node's p2p port: real TCP. Any connection is accepted; one that sends the Beam devnet
 * handshake line within `handshake_timeout` becomes a peer (inbound peers capped by
 * `max_num_inbound_peers`, unconditional ids exempt); anything else is closed at the timeout,
 * so floods occupy real sockets as they would on CometBFT.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import * as z from 'zod';
import { onLines, parseHostPort, sendLine } from './wire.js';

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
}

export class P2p {
  readonly peers = new Map<string, Peer>();
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly dialing = new Map<string, NodeJS.Timeout | null>();
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

  async stop(): Promise<void> {
    this.stopped = true;
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
      for (const [id, p] of this.peers) if (p.socket === socket) this.peers.delete(id);
    });
    socket.on('error', () => socket.destroy());
    const timeout = setTimeout(() => socket.destroy(), this.options.handshakeTimeoutMs);
    socket.on('close', () => clearTimeout(timeout));
    const hello = () => sendLine(socket, { beamDevnetP2p: 1, ...this.options.self });
    if (outbound) hello();
    let shaken = false;
    onLines(socket, (raw) => {
      if (shaken) return;
      const parsed = Handshake.safeParse(raw);
      if (!parsed.success || parsed.data.network !== this.options.self.network) return void socket.destroy();
      const info = parsed.data;
      const unconditional = this.options.unconditionalIds.includes(info.id);
      const full = !outbound && !unconditional && this.inboundCount() >= this.options.maxInbound;
      if (full || this.peers.has(info.id) || (expectedId && info.id !== expectedId))
        return void socket.destroy();
      shaken = true;
      clearTimeout(timeout);
      if (!outbound) hello();
      this.peers.set(info.id, {
        info,
        outbound,
        remoteIp: socket.remoteAddress ?? '',
        socket,
        since: Date.now(),
      });
    });
  }
}
