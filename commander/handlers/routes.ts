import { handleEnroll, handleReport, type PilotReply } from '../app/pilot-api.js';
import type { CommanderDeps, Logger } from '../app/context.js';
import { RefusalSampler } from '../app/refusals.js';
import type { HttpEventV2, HttpResultV2 } from './lambda-types.js';
import { pagingRoutes } from './paging-routes.js';
import { type Route, type RouteRequest, createRouter, json } from './router.js';

/** What a refusal sample may say: one line, clipped (a JSON parse error quotes the body it choked on). */
const sampleText = (text: string) => text.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 300);

/**
 * The pilot API and health check. Anonymous refusals (malformed, wrong token, unknown node, bad
 * signature) are counted and sampled into the audit per kind and minute (app/refusals.ts).
 */
export function pilotRoutes(deps: CommanderDeps): Route[] {
  const refusals = new RefusalSampler(
    (window, version) =>
      deps.store.putAudit(
        window.key,
        {
          at: window.startedAt,
          actor: 'anonymous',
          action: 'request-refused',
          target: window.kind,
          outcome: 'denied',
          detail: `${window.count} refused within a minute; the first: ${window.first}`,
          count: window.count,
        },
        version,
      ),
    deps.log,
    deps.now,
  );
  const answer = async (r: RouteRequest, reply: PilotReply) => {
    if (reply.refused) {
      const { error, detail } = reply.body as { error: string; detail?: string };
      refusals.record(
        reply.refused,
        sampleText(
          `${r.event.rawPath} from ${r.event.requestContext.http.sourceIp}: ${error}: ${detail ?? ''}`,
        ),
      );
    }
    await refusals.settle();
    return json(reply.status, reply.body, reply.headers);
  };
  return [
    { method: 'GET', path: '/healthz', handle: async () => json(200, { ok: true, time: deps.now() }) },
    { method: 'POST', path: '/v1/pilot/enroll', handle: async (r) => answer(r, await handleEnroll(deps, r)) },
    { method: 'POST', path: '/v1/pilot/report', handle: async (r) => answer(r, await handleReport(deps, r)) },
  ];
}

/** The HTTP entry for a set of routes: bad input is a 4xx from the routes; only our own faults are a 500. */
export function handleRoutes(
  log: Logger,
  routes: readonly Route[],
): (event: HttpEventV2) => Promise<HttpResultV2> {
  const route = createRouter(routes);
  return async (event) => {
    try {
      return await route(event);
    } catch (error) {
      log.error({ err: (error as Error).message, path: event.rawPath }, 'request failed');
      return json(500, {
        error: 'internal error',
        detail: 'the commander failed; the request can be retried',
      });
    }
  };
}

/**
 * The pilot API, health check and PagerDuty webhook plus `extra` routes (the chat webhooks,
 * self-hosted), for one set of deps.
 */
export function createHttpHandler(
  deps: CommanderDeps,
  extra: readonly Route[] = [],
): (event: HttpEventV2) => Promise<HttpResultV2> {
  return handleRoutes(deps.log, [...pilotRoutes(deps), ...pagingRoutes(deps), ...extra]);
}
