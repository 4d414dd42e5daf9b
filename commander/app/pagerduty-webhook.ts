/**
 * `POST /pagerduty/webhook`: PagerDuty's v3 webhook, so an incident acknowledged (or resolved) there
 * acknowledges Beam's alert of the same key, edits its chat message, and is audited. Deliveries are
 * verified against `paging.pagerduty.webhookSecrets` before anything else; PagerDuty retries any
 * non-2xx, so a verified delivery Beam has nothing to do with is still a 200.
 */
import { acknowledge } from '../alerting/alerts.js';
import { PagerDutyDelivery, pagerDutyIntent, verifyPagerDutySignature } from '../notify/pagerduty-webhook.js';
import { changeAlerts } from './alerting.js';
import type { CommanderDeps } from './context.js';

export interface WebhookReply {
  status: number;
  body: { ok: boolean; detail: string };
}

export async function handlePagerDutyWebhook(
  deps: CommanderDeps,
  request: { headers: Readonly<Record<string, string | undefined>>; body: string },
): Promise<WebhookReply> {
  const secrets = deps.settings.paging.pagerduty?.webhookSecrets ?? [];
  if (secrets.length === 0)
    return { status: 404, body: { ok: false, detail: 'no PagerDuty webhook is configured' } };
  if (!verifyPagerDutySignature(request.body, request.headers['x-pagerduty-signature'], secrets)) {
    deps.log.warn({ route: 'pagerduty' }, 'PagerDuty webhook refused: bad or missing signature');
    return { status: 401, body: { ok: false, detail: 'bad or missing X-PagerDuty-Signature' } };
  }
  let json: unknown;
  try {
    json = JSON.parse(request.body);
  } catch {
    return { status: 400, body: { ok: false, detail: 'the body is not JSON' } };
  }
  const delivery = PagerDutyDelivery.safeParse(json);
  if (!delivery.success) return { status: 400, body: { ok: false, detail: 'not a v3 webhook event' } };
  const intent = pagerDutyIntent(delivery.data);
  if (!intent) return { status: 200, body: { ok: true, detail: 'nothing for Beam to do' } };
  const now = deps.now();
  // PagerDuty knows already: recording what it did keeps Beam from telling it back.
  const { changed } = await changeAlerts(deps, intent.key, (a) => {
    if (a.state !== 'open') return a;
    const acked = a.acknowledgedBy === null ? acknowledge(a, intent.by, now) : a;
    const paged =
      intent.action === 'resolve' ? 'resolved' : a.paged === 'triggered' ? 'acknowledged' : a.paged;
    return acked === a && paged === a.paged ? a : { ...acked, paged };
  });
  await deps.store.appendAudit({
    at: now,
    actor: intent.by,
    action: `pagerduty.${intent.action}`,
    target: intent.key,
    outcome: changed.length > 0 ? 'ok' : 'denied',
    detail: changed.length > 0 ? null : 'no open alert with that key',
  });
  return { status: 200, body: { ok: true, detail: changed.length > 0 ? 'acknowledged' : 'no open alert' } };
}
