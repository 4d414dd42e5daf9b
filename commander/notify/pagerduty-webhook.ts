/**
 * PagerDuty's v3 webhooks, the other way: an incident acknowledged (or resolved) in PagerDuty
 * acknowledges Beam's alert of the same key. Every delivery is checked against the subscription's
 * signing secrets (`X-PagerDuty-Signature: v1=<hex HMAC-SHA256(secret, raw body)>`, several during a
 * rotation) before its body is even parsed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';

export function verifyPagerDutySignature(
  body: string,
  header: string | undefined,
  secrets: readonly string[],
): boolean {
  if (!header || secrets.length === 0) return false;
  const given = header
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('v1='))
    .map((s) => Buffer.from(s.slice(3), 'hex'));
  return secrets.some((secret) => {
    const expected = createHmac('sha256', secret).update(body, 'utf8').digest();
    return given.some((g) => g.length === expected.length && timingSafeEqual(g, expected));
  });
}

/** The parts of a v3 delivery Beam reads; everything else PagerDuty sends is allowed and ignored. */
export const PagerDutyDelivery = z.object({
  event: z.object({
    id: z.string().max(128),
    event_type: z.string().max(128),
    agent: z
      .object({ id: z.string().max(64).optional(), summary: z.string().max(256).optional() })
      .nullable()
      .optional(),
    data: z.object({ incident_key: z.string().max(255).nullable().optional() }),
  }),
});
export type PagerDutyDelivery = z.infer<typeof PagerDutyDelivery>;

/** What a delivery asks of Beam: acknowledge (or note the resolve of) the alert `key`; null: nothing. */
export function pagerDutyIntent(
  delivery: PagerDutyDelivery,
): { action: 'acknowledge' | 'resolve'; key: string; by: string } | null {
  const { event } = delivery;
  const key = event.data.incident_key;
  if (!key) return null;
  const action =
    event.event_type === 'incident.acknowledged'
      ? 'acknowledge'
      : event.event_type === 'incident.resolved'
        ? 'resolve'
        : null;
  if (!action) return null;
  const who = event.agent?.summary ?? event.agent?.id ?? 'automation';
  return { action, key, by: `pagerduty:${who}` };
}
