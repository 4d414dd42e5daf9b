/** Connection floods against a node's p2p port: real TCP connections held open, then closed. */
import { type Socket, connect } from 'node:net';

export class Flooder {
  private readonly sockets = new Set<Socket>();

  /** Opens `count` connections to host:port and closes them after `durationMs`; resolves with how many opened. */
  async flood(host: string, port: number, count: number, durationMs: number): Promise<number> {
    const opened = await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<Socket | null>((resolve) => {
            const socket = connect({ host, port });
            socket.once('connect', () => resolve(socket));
            socket.once('error', () => resolve(null));
          }),
      ),
    );
    const live = opened.filter((s): s is Socket => s !== null && !s.destroyed);
    for (const s of live) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.once('close', () => this.sockets.delete(s));
    }
    setTimeout(() => {
      for (const s of live) s.destroy();
    }, durationMs).unref();
    return live.length;
  }

  stop(): void {
    for (const s of this.sockets) s.destroy();
  }
}
