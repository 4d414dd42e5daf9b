/**
 * The node's side of the hub link: request/response by id plus pushes (`round`: take part in a new
 * height; `proposal`: a full node sees a new height's proposal; `tip`: the network committed a block).
 */
import { connect, type Socket } from 'node:net';
import type { UpgradeChange } from './chain/types.js';
import { RpcError } from './rpcerror.js';
import { onLines, parseHostPort, sendLine } from './wire.js';

export interface HubPush {
  t: string;
  [key: string]: unknown;
}

/**
 * The hub's answer to hello: the chain, the network's tip (with x/upgrade's history up to the block
 * after it), and how fast blocksync goes (blocks/s).
 */
export interface HubHello {
  chainId: string;
  height: number;
  base: number;
  upgrades: UpgradeChange[];
  blocksyncRate: number;
}

/** Keeps one connection to the hub, reconnecting every `retryMs`; `onConnect` runs after each hello. */
export class HubLink {
  private socket: Socket | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly address: string,
    /** The hello body, built at each connection (it carries the node's block store). */
    private readonly hello: () => Record<string, unknown>,
    private readonly onPush: (push: HubPush) => void,
    private readonly onConnect: (hello: HubHello) => void,
    private readonly retryMs = 300,
  ) {}

  get connected(): boolean {
    return !!this.socket && !this.socket.destroyed;
  }

  start(): void {
    const { host, port } = parseHostPort(this.address);
    const socket = connect({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.request('hello', this.hello()).then(
        (r) => this.onConnect(r as HubHello),
        () => socket.destroy(),
      );
    });
    onLines(socket, (msg) => {
      const m = msg as {
        id?: number;
        result?: unknown;
        error?: { code: number; message: string; data: string };
        t?: string;
      };
      if (m.t) return this.onPush(m as HubPush);
      const waiter = m.id === undefined ? undefined : this.waiting.get(m.id);
      if (!waiter || m.id === undefined) return;
      this.waiting.delete(m.id);
      if (m.error) waiter.reject(new RpcError(m.error.code, m.error.message, m.error.data));
      else waiter.resolve(m.result);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      for (const w of this.waiting.values())
        w.reject(new RpcError(-32603, 'Internal error', 'hub connection lost'));
      this.waiting.clear();
      if (!this.stopped) this.retryTimer = setTimeout(() => this.start(), this.retryMs);
    });
  }

  request(m: string, body: Record<string, unknown>): Promise<unknown> {
    const socket = this.socket;
    if (!socket || socket.destroyed || (m !== 'hello' && socket.connecting)) {
      return Promise.reject(
        new RpcError(-32603, 'Internal error', 'not connected to the chain (hub unreachable)'),
      );
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      sendLine(socket, { ...body, m, id });
    });
  }

  send(message: Record<string, unknown>): void {
    if (this.socket) sendLine(this.socket, message);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.socket?.destroy();
  }
}
