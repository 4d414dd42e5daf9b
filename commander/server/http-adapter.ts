import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { MAX_BODY_BYTES } from '../../protocol/index.js';
import type { HttpEventV2, HttpResultV2 } from '../handlers/lambda-types.js';

/**
 * Keeps at most `limit` bytes (one past the cap is enough to reject an oversize body) and drains
 * the rest, so the socket stays usable for the 413 reply.
 */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    if (size < limit) chunks.push(buf.subarray(0, limit - size));
    size += buf.length;
  }
  return Buffer.concat(chunks);
}

function isText(contentType: string | undefined): boolean {
  return !contentType || /^(text\/|application\/(json|x-www-form-urlencoded|xml))/i.test(contentType);
}

/** Turns a node:http request into the API Gateway v2 event the Lambda handler receives. */
export async function toEvent(req: IncomingMessage, bodyLimit = MAX_BODY_BYTES + 1): Promise<HttpEventV2> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const raw = await readBody(req, bodyLimit);
  const text = isText(headers['content-type']);
  const method = (req.method ?? 'GET').toUpperCase();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(raw.length > 0 ? { body: text ? raw.toString('utf8') : raw.toString('base64') } : {}),
    isBase64Encoded: raw.length > 0 && !text,
    requestContext: {
      http: { method, path: url.pathname, sourceIp: req.socket.remoteAddress ?? '' },
      requestId: randomUUID(),
      timeEpoch: Date.now(),
    },
  };
}

function send(res: ServerResponse, result: HttpResultV2): void {
  const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body, 'utf8');
  res.writeHead(result.statusCode, { ...result.headers, 'content-length': String(body.length) });
  res.end(body);
}

/** A node:http server that runs the Lambda HTTP handler for every request. */
export function createLambdaServer(handler: (event: HttpEventV2) => Promise<HttpResultV2>): Server {
  return createServer((req, res) => {
    toEvent(req)
      .then(handler)
      .then((result) => send(res, result))
      .catch(() => {
        if (!res.headersSent)
          send(res, { statusCode: 500, body: JSON.stringify({ error: 'internal error' }) });
      });
  });
}

/** Starts `server` on host:port (port 0: a free one) and resolves with the address it got. */
export function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolvePromise(server.address() as AddressInfo));
  });
}
