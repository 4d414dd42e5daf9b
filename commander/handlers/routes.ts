import { handleEnroll, handleReport } from '../app/pilot-api.js';
import type { CommanderDeps } from '../app/context.js';
import type { HttpEventV2, HttpResultV2 } from './lambda-types.js';
import { type Route, createRouter, json } from './router.js';

/** The pilot API and health check; pass `extra` for more routes (chat webhooks). */
export function pilotRoutes(deps: CommanderDeps): Route[] {
  return [
    { method: 'GET', path: '/healthz', handle: async () => json(200, { ok: true, time: deps.now() }) },
    {
      method: 'POST',
      path: '/v1/pilot/enroll',
      handle: async (r) => {
        const reply = await handleEnroll(deps, r);
        return json(reply.status, reply.body);
      },
    },
    {
      method: 'POST',
      path: '/v1/pilot/report',
      handle: async (r) => {
        const reply = await handleReport(deps, r);
        return json(reply.status, reply.body, reply.headers);
      },
    },
  ];
}

/** The HTTP entry for a set of deps: bad input is a 4xx from the routes; only our own faults are a 500. */
export function createHttpHandler(
  deps: CommanderDeps,
  extra: readonly Route[] = [],
): (event: HttpEventV2) => Promise<HttpResultV2> {
  const route = createRouter([...pilotRoutes(deps), ...extra]);
  return async (event) => {
    try {
      return await route(event);
    } catch (error) {
      deps.log.error({ err: (error as Error).message, path: event.rawPath }, 'request failed');
      return json(500, {
        error: 'internal error',
        detail: 'the commander failed; the request can be retried',
      });
    }
  };
}
