/**
 * The two Slack Web API methods Beam posts with (`chat.postMessage`, `chat.update`), over `fetch`.
 * Processes that only post (the pilot API and tick Lambdas) use this instead of Bolt's WebClient,
 * whose dependencies (axios, form-data, …) would triple their bundles; the Bolt routes post through it
 * too, so there is one way messages leave. No retries: the notifier logs a failed delivery and its
 * next update or reminder tries again.
 */

export const SLACK_API_URL = 'https://slack.com/api/';
const TIMEOUT_MS = 10_000;

/** A Slack method that failed: `error` is Slack's error code (`channel_not_found`, `ratelimited`, …). */
export class SlackApiError extends Error {
  constructor(
    readonly method: string,
    readonly error: string,
  ) {
    super(`Slack ${method} failed: ${error}`);
    this.name = 'SlackApiError';
  }
}

export interface SlackPostArgs {
  channel: string;
  text: string;
  blocks: Record<string, unknown>[];
}

export interface SlackWebApiOptions {
  botToken: string;
  /** Web API base URL with its trailing slash; tests point it at a loopback fake. */
  apiUrl?: string;
}

export class SlackWebApi {
  private readonly apiUrl: string;

  constructor(private readonly options: SlackWebApiOptions) {
    this.apiUrl = options.apiUrl ?? SLACK_API_URL;
  }

  async postMessage(args: SlackPostArgs): Promise<{ channel: string; ts: string }> {
    const out = await this.call('chat.postMessage', args);
    if (typeof out.ts !== 'string') throw new SlackApiError('chat.postMessage', 'no ts in the answer');
    return { channel: typeof out.channel === 'string' ? out.channel : args.channel, ts: out.ts };
  }

  async update(args: SlackPostArgs & { ts: string }): Promise<void> {
    await this.call('chat.update', args);
  }

  /** One call; the token travels only in the Authorization header, never in an error. */
  private async call(method: string, body: object): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.apiUrl}${method}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.options.botToken}`,
        'content-type': 'application/json; charset=utf-8',
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (response.status === 429) {
      throw new SlackApiError(method, `ratelimited (retry after ${response.headers.get('retry-after')} s)`);
    }
    const out = (await response.json().catch(() => null)) as Record<string, unknown> | null;
    if (out?.ok !== true) {
      throw new SlackApiError(method, typeof out?.error === 'string' ? out.error : `HTTP ${response.status}`);
    }
    return out;
  }
}
