/**
 * The node's end of privval, CometBFT's SignerListenerEndpoint over a unix socket: the node listens
 * and the remote signer dials in. One connection serves at a time (a signer dialing while another
 * is connected waits its turn, as in the accept backlog CometBFT leaves it in); requests go one at
 * a time under CometBFT's timeouts; an idle connection is pinged so a dead signer is noticed.
 * Unlike CometBFT, which notices a closed connection only when a read or a ping fails, the node
 * drops it at once and takes the next signer that dials in.
 */
import { existsSync, lstatSync, rmSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { FrameReader, type PrivvalMessage, decodeMessage, frameMessage } from '../cometbft/privval.js';
import { cometLog } from './cometlog.js';

/** CometBFT's defaultTimeoutAcceptSeconds and defaultTimeoutReadWriteSeconds. */
export const ACCEPT_TIMEOUT_MS = 3_000;
export const READ_WRITE_TIMEOUT_MS = 5_000;
/** SignerListenerEndpoint's ping interval: two thirds of the read/write timeout. */
const PING_INTERVAL_MS = Math.floor((READ_WRITE_TIMEOUT_MS * 2) / 3);

interface Connection {
  socket: Socket;
  reader: FrameReader;
}

interface PendingReply {
  conn: Connection;
  resolve(message: PrivvalMessage): void;
  reject(error: Error): void;
}

const log = (level: 'info' | 'error', message: string) => cometLog(level, message, { module: 'privval' });

export class SignerListener {
  private conn: Connection | null = null;
  private readonly backlog: Socket[] = [];
  private waiters: (() => void)[] = [];
  private reply: PendingReply | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private pingTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  /** Listens on `unix://PATH`, first removing a socket file a killed node left behind. */
  static async listen(laddr: string): Promise<SignerListener> {
    const path = laddr.replace(/^unix:\/\//, '');
    if (existsSync(path) && lstatSync(path).isSocket()) rmSync(path);
    const server = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
    } catch (error) {
      throw new Error(`listen unix ${path}: ${(error as Error).message}`);
    }
    const listener = new SignerListener(server, path);
    server.on('connection', (socket) => listener.accept(socket));
    return listener;
  }

  /** Sends one request and resolves with the signer's reply; requests queue behind each other. */
  request(message: PrivvalMessage): Promise<PrivvalMessage> {
    const result = this.queue.then(() => this.exchange(message));
    this.queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.pingTimer);
    this.conn?.socket.destroy();
    for (const socket of this.backlog) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    socket.on('error', () => undefined);
    if (!this.conn && !this.closed) {
      this.use(socket);
      return;
    }
    socket.pause();
    this.backlog.push(socket);
    socket.once('close', () => {
      const i = this.backlog.indexOf(socket);
      if (i >= 0) this.backlog.splice(i, 1);
    });
  }

  private use(socket: Socket): void {
    const conn: Connection = { socket, reader: new FrameReader() };
    this.conn = conn;
    log('info', 'SignerListener: Connected');
    socket.on('data', (chunk: Buffer) => this.receive(conn, chunk));
    socket.once('close', () => this.drop(conn));
    socket.resume();
    for (const wake of this.waiters.splice(0)) wake();
    this.schedulePing();
  }

  /** Closes `conn` and fails its pending request with `error`; the next signer waiting takes over. */
  private drop(conn: Connection, error = new Error('EOF')): void {
    conn.socket.destroy();
    if (this.conn !== conn) return;
    this.conn = null;
    if (this.reply?.conn === conn) this.reply.reject(error);
    const next = this.backlog.shift();
    if (next && !this.closed) this.use(next);
  }

  /** Frames nobody asked for are not read, as CometBFT reads only while it waits for a reply. */
  private receive(conn: Connection, chunk: Buffer): void {
    try {
      for (const frame of conn.reader.push(chunk)) {
        const reply = this.reply;
        if (reply?.conn === conn) reply.resolve(decodeMessage(frame));
      }
    } catch (error) {
      this.drop(conn, error as Error);
    }
  }

  private async exchange(message: PrivvalMessage): Promise<PrivvalMessage> {
    const conn = await this.connection();
    clearTimeout(this.pingTimer);
    try {
      return await new Promise<PrivvalMessage>((resolve, reject) => {
        // CometBFT drops the connection on a read timeout; the signer has to dial again.
        const timer = setTimeout(
          () => this.drop(conn, new Error(`read unix ${this.path}->@: i/o timeout: endpoint read timed out`)),
          READ_WRITE_TIMEOUT_MS,
        );
        const settle = () => {
          clearTimeout(timer);
          this.reply = null;
        };
        this.reply = {
          conn,
          resolve: (m) => {
            settle();
            resolve(m);
          },
          reject: (e) => {
            settle();
            reject(e);
          },
        };
        conn.socket.write(frameMessage(message));
      });
    } finally {
      this.schedulePing();
    }
  }

  /** The signer's connection, waiting up to CometBFT's accept timeout for one to dial in. */
  private async connection(): Promise<Connection> {
    if (this.conn) return this.conn;
    if (this.closed) throw new Error('endpoint is closing');
    log('info', 'SignerListener: Blocking for connection');
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        reject(new Error('endpoint connection timed out'));
      }, ACCEPT_TIMEOUT_MS);
      this.waiters.push(wake);
    });
    if (!this.conn) throw new Error('endpoint connection timed out');
    return this.conn;
  }

  private schedulePing(): void {
    clearTimeout(this.pingTimer);
    if (this.closed || !this.conn) return;
    this.pingTimer = setTimeout(() => void this.ping(), PING_INTERVAL_MS);
    this.pingTimer.unref();
  }

  private async ping(): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    try {
      await this.request({ type: 'pingRequest' });
    } catch {
      log('error', 'SignerListener: Ping timeout');
      this.drop(conn);
    }
  }
}
