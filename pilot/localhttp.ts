import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalEndpoints {
  status: () => unknown;
  healthy: () => boolean;
  metrics: () => Promise<{ contentType: string; body: string }>;
}

/** Serves /status (JSON), /healthz and /metrics on a local address. */
export async function serveLocal(
  listen: string,
  e: LocalEndpoints,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'text/plain', 'GET only\n');
    if (path === '/status') return send(200, 'application/json', JSON.stringify(e.status()));
    if (path === '/healthz')
      return e.healthy() ? send(200, 'text/plain', 'ok\n') : send(503, 'text/plain', 'stale\n');
    if (path === '/metrics') {
      e.metrics().then(
        (m) => send(200, m.contentType, m.body),
        (err) => send(500, 'text/plain', String(err)),
      );
      return;
    }
    send(404, 'text/plain', 'try /status, /healthz or /metrics\n');
  });
  const idx = listen.lastIndexOf(':');
  const host = listen.slice(0, idx);
  const port = Number(listen.slice(idx + 1));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return { server, url: `http://${host}:${addr.port}` };
}
