import type { CommanderDeps } from '../app/context.js';
import { handlePagerDutyWebhook } from '../app/pagerduty-webhook.js';
import { type Route, json } from './router.js';

/** `POST /pagerduty/webhook`, where `paging.pagerduty.webhookSecrets` configures PagerDuty's v3 webhook. */
export function pagingRoutes(deps: CommanderDeps): Route[] {
  if (!deps.settings.paging.pagerduty?.webhookSecrets.length) return [];
  return [
    {
      method: 'POST',
      path: '/pagerduty/webhook',
      handle: async (r) => {
        const reply = await handlePagerDutyWebhook(deps, r);
        return json(reply.status, reply.body);
      },
    },
  ];
}
