/**
 * Paging: critical alerts (by default) also go to PagerDuty's Events API v2 and to a generic
 * webhook. The alert key is PagerDuty's dedup key, so a trigger, its acknowledge and its resolve
 * land on one incident. Errors name the destination and the HTTP status, never the routing key,
 * the URL (it may embed a token) or a response body.
 */
import { createHmac } from 'node:crypto';
import type { FindingSeverity } from '../domain/health.js';
import type { PagingSettings } from '../alerting/settings.js';

export type PageAction = 'trigger' | 'acknowledge' | 'resolve';

export interface PageEvent {
  action: PageAction;
  /** The alert key: PagerDuty's dedup key. */
  key: string;
  kind: string;
  severity: FindingSeverity;
  summary: string;
  nodeId: string;
  chainId: string;
  detail: string;
  at: number;
}

export interface Pager {
  send(event: PageEvent): Promise<void>;
}

export class PageError extends Error {}

const TIMEOUT_MS = 10_000;

async function postJson(what: string, url: string, body: string, headers: Record<string, string> = {}) {
  let status: number;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    status = res.status;
    await res.body?.cancel();
  } catch (error) {
    throw new PageError(`${what} unreachable (${(error as Error).name})`);
  }
  if (status < 200 || status >= 300) throw new PageError(`${what} answered HTTP ${status}`);
}

/** PagerDuty Events API v2 (`POST /v2/enqueue`). */
export class PagerDutyEvents implements Pager {
  constructor(private readonly config: NonNullable<PagingSettings['pagerduty']>) {}

  /** The request body for an event (exported for the shape checks of the tests' fake). */
  body(event: PageEvent): object {
    const base = { routing_key: this.config.routingKey, event_action: event.action, dedup_key: event.key };
    if (event.action !== 'trigger') return base;
    return {
      ...base,
      payload: {
        summary: event.summary.slice(0, 1024),
        source: `${this.config.source}/${event.chainId}/${event.nodeId}`,
        severity: event.severity,
        timestamp: new Date(event.at).toISOString(),
        component: event.nodeId,
        group: event.chainId,
        class: event.kind,
        custom_details: { detail: event.detail, alert: event.key },
      },
    };
  }

  send(event: PageEvent): Promise<void> {
    return postJson('PagerDuty', this.config.eventsUrl, JSON.stringify(this.body(event)));
  }
}

/** Any HTTP endpoint: the event as JSON, signed when a secret is set. */
export class WebhookPager implements Pager {
  constructor(private readonly config: NonNullable<PagingSettings['webhook']>) {}

  send(event: PageEvent): Promise<void> {
    const body = JSON.stringify({
      action: event.action,
      key: event.key,
      kind: event.kind,
      severity: event.severity,
      summary: event.summary,
      nodeId: event.nodeId,
      chainId: event.chainId,
      detail: event.detail,
      at: new Date(event.at).toISOString(),
    });
    const { secret } = this.config;
    const headers = secret
      ? { 'x-beam-signature': `v1=${createHmac('sha256', secret).update(body).digest('hex')}` }
      : undefined;
    return postJson('paging webhook', this.config.url, body, headers);
  }
}

/** Every configured pager; throws (after trying all) when any failed, so the event is sent again. */
class AllPagers implements Pager {
  constructor(private readonly pagers: readonly Pager[]) {}

  async send(event: PageEvent): Promise<void> {
    const failures: string[] = [];
    for (const pager of this.pagers) {
      await pager.send(event).catch((error: Error) => failures.push(error.message));
    }
    if (failures.length > 0) throw new PageError(failures.join('; '));
  }
}

/** The pagers the settings configure, or undefined when none is. */
export function pagerFrom(settings: PagingSettings): Pager | undefined {
  const pagers: Pager[] = [];
  if (settings.pagerduty) pagers.push(new PagerDutyEvents(settings.pagerduty));
  if (settings.webhook) pagers.push(new WebhookPager(settings.webhook));
  return pagers.length > 0 ? new AllPagers(pagers) : undefined;
}
