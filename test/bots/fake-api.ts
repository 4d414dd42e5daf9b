import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  path: string;
  /** The API method: last path segment. */
  method: string;
  headers: IncomingMessage['headers'];
  /** JSON bodies parsed; form bodies as an object (Slack's JSON-valued fields parsed too). */
  body: Record<string, unknown>;
}

function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (contentType?.startsWith('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    try {
      out[key] = /^[[{]/.test(value) ? JSON.parse(value) : value;
    } catch {
      out[key] = value;
    }
  }
  return out;
}

/**
 * A loopback HTTP server standing in for a platform API: records every call and answers with
 * `answer(call)` (a JSON value, or `{ status, body }` for an HTTP error).
 */
export async function startFakeApi(
  answer: (call: RecordedCall) => unknown | { status: number; body: unknown },
) {
  const calls: RecordedCall[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const call: RecordedCall = {
        path,
        method: path.split('?')[0]!.split('/').filter(Boolean).pop() ?? '',
        headers: req.headers,
        body: parseBody(Buffer.concat(chunks).toString('utf8'), req.headers['content-type']),
      };
      calls.push(call);
      const result = answer(call) as { status?: number; body?: unknown };
      const status = typeof result?.status === 'number' && 'body' in result ? result.status : 200;
      const body = typeof result?.status === 'number' && 'body' in result ? result.body : result;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    /** Calls of one API method, in order. */
    of: (method: string) => calls.filter((c) => c.method === method),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Collects pino's output lines. */
export function captureLines() {
  const lines: string[] = [];
  return { lines, stream: { write: (line: string) => lines.push(line) } };
}
