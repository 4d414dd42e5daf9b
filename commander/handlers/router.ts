import type { HttpEventV2, HttpResultV2 } from './lambda-types.js';

/** What a route handler receives: the event with its body decoded to the raw UTF-8 text. */
export interface RouteRequest {
  event: HttpEventV2;
  headers: Readonly<Record<string, string | undefined>>;
  body: string;
}

export type RouteHandler = (request: RouteRequest) => Promise<HttpResultV2>;

export interface Route {
  method: 'GET' | 'POST';
  path: string;
  handle: RouteHandler;
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** Exact-path routing; the chat work adds `/slack/events` and `/telegram/webhook` as more routes. */
export function createRouter(routes: readonly Route[]): (event: HttpEventV2) => Promise<HttpResultV2> {
  const table = new Map(routes.map((r) => [`${r.method} ${r.path}`, r]));
  return async (event) => {
    const method = event.requestContext.http.method.toUpperCase();
    const path = event.rawPath;
    const route = table.get(`${method} ${path}`);
    if (!route) {
      const allowed = routes.filter((r) => r.path === path).map((r) => r.method);
      return allowed.length
        ? json(405, { error: 'method not allowed', detail: `use ${allowed.join(' or ')} for ${path}` })
        : json(404, { error: 'not found', detail: `no route ${method} ${path}` });
    }
    const body =
      event.body === undefined
        ? ''
        : event.isBase64Encoded
          ? Buffer.from(event.body, 'base64').toString('utf8')
          : event.body;
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(event.headers ?? {})) headers[k.toLowerCase()] = v;
    return route.handle({ event, headers, body });
  };
}
