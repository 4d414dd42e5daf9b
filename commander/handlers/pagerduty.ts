/**
 * The PagerDuty Lambda: `POST /pagerduty/webhook`, PagerDuty's v3 webhook (an incident acknowledged
 * or resolved there acknowledges Beam's alert and edits its chat message, over fetch). It alone reads
 * the webhook's signing secret (BEAM_PAGERDUTY_WEBHOOK_SECRET_SECRET); it holds no enrollment token,
 * no node secrets and no EC2 rights.
 */
import { buildDeps } from '../deps.js';
import { settingsFromEnv } from '../env.js';
import { createChatTransports, lambdaChat } from './chat-common.js';
import { onColdStart } from './lambda-init.js';
import type { HttpEventV2, HttpResultV2 } from './lambda-types.js';
import { pagingRoutes } from './paging-routes.js';
import { handleRoutes } from './routes.js';

const ready = onColdStart(async () => {
  const [settings, chat] = await Promise.all([
    settingsFromEnv(process.env, { enrollmentToken: false }),
    lambdaChat(process.env, { slackPostOnly: true }),
  ]);
  const deps = buildDeps(settings, { transports: createChatTransports(chat.secrets), log: chat.log });
  const routes = pagingRoutes(deps);
  // Answered 404 until fixed, like a chat platform left out.
  if (routes.length === 0) {
    chat.log.error(
      {},
      'pagerduty route disabled: set paging.pagerduty in the settings and the webhook signing secret in its secret',
    );
  }
  return handleRoutes(deps.log, routes);
});

/** API Gateway HTTP API (payload v2) entry point. */
export async function handler(event: HttpEventV2): Promise<HttpResultV2> {
  return (await ready())(event);
}
