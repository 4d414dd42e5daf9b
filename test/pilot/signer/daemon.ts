/**
 * Plays the chain daemon's side of privval: listens on a unix socket, as a daemon with
 * priv_validator_laddr does, and exchanges framed messages with the signer that dials in.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { decodeMessage, FrameReader, frameMessage, type PrivvalMessage } from '../../../cometbft/privval.js';

/** One connection from the signer. */
export class DaemonConn {
  private readonly reader = new FrameReader();
  private readonly inbox: PrivvalMessage[] = [];
  private readonly waiters: ((m: PrivvalMessage | null) => void)[] = [];
  closed = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.reader.push(chunk)) {
        const m = decodeMessage(frame);
        const waiter = this.waiters.shift();
        if (waiter) waiter(m);
        else this.inbox.push(m);
      }
    });
    socket.on('close', () => {
      this.closed = true;
      for (const waiter of this.waiters.splice(0)) waiter(null);
    });
    socket.on('error', () => {});
  }

  send(m: PrivvalMessage | Uint8Array): void {
    this.socket.write(m instanceof Uint8Array ? m : frameMessage(m));
  }

  /** The signer's next message, or null once the connection has closed. */
  next(): Promise<PrivvalMessage | null> {
    const m = this.inbox.shift();
    if (m) return Promise.resolve(m);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async request(m: PrivvalMessage): Promise<PrivvalMessage> {
    this.send(m);
    const reply = await this.next();
    if (!reply) throw new Error(`the signer closed the connection instead of answering ${m.type}`);
    return reply;
  }
}

export class FakeDaemon {
  private readonly queued: DaemonConn[] = [];
  private readonly waiters: ((c: DaemonConn) => void)[] = [];
  private readonly sockets = new Set<Socket>();
  connections = 0;

  private constructor(readonly server: Server) {
    server.on('connection', (socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const conn = new DaemonConn(socket);
      const waiter = this.waiters.shift();
      if (waiter) waiter(conn);
      else this.queued.push(conn);
    });
  }

  static async listen(socketPath: string): Promise<FakeDaemon> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, resolve);
    });
    return new FakeDaemon(server);
  }

  /** The signer's next connection (already made or yet to come). */
  connection(): Promise<DaemonConn> {
    const conn = this.queued.shift();
    if (conn) return Promise.resolve(conn);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      // Connections still open would keep close() waiting.
      for (const socket of this.sockets) socket.destroy();
    });
  }
}
