/** Line-delimited JSON over a TCP socket: the hub ⇄ node link. */
import type { Socket } from 'node:net';

export function sendLine(socket: Socket, message: unknown): void {
  if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(message)}\n`);
}

/** Calls `onMessage` with each parsed line; a line that is not JSON closes the connection. */
export function onLines(socket: Socket, onMessage: (message: unknown) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.trim()) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        socket.destroy();
        return;
      }
      onMessage(parsed);
    }
  });
}

/** Splits "host:port" or "tcp://host:port". */
export function parseHostPort(address: string): { host: string; port: number } {
  const m = /^(?:tcp:\/\/)?([^:/]+):(\d+)$/.exec(address.trim());
  if (!m?.[1] || !m[2])
    throw new Error(`invalid address "${address}": expected host:port or tcp://host:port`);
  return { host: m[1], port: Number(m[2]) };
}
