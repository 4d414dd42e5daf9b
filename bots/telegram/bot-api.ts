/**
 * The two Bot API methods Beam posts with (`sendMessage`, `editMessageText`), over `fetch`. Processes
 * that only post (the pilot API and tick Lambdas) use this instead of Telegraf, whose HTTP stack
 * (node-fetch, whatwg-url, tr46) would double their bundles; the webhook bot posts through it too.
 * The token is part of every method URL (`/bot<token>/<method>`), so no URL ever enters an error.
 */

export const TELEGRAM_API_ROOT = 'https://api.telegram.org';
const TIMEOUT_MS = 10_000;

/** A Bot API method that failed, with Telegram's description (`Bad Request: chat not found`, …). */
export class TelegramApiError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    description: string,
  ) {
    super(`Telegram ${method} failed: ${code} ${description}`);
    this.name = 'TelegramApiError';
  }
}

export interface TelegramBotApiOptions {
  botToken: string;
  /** Bot API root; tests point it at a loopback fake. */
  apiRoot?: string;
}

export class TelegramBotApi {
  private readonly base: string;

  constructor(options: TelegramBotApiOptions) {
    this.base = `${(options.apiRoot ?? TELEGRAM_API_ROOT).replace(/\/+$/, '')}/bot${options.botToken}/`;
  }

  sendMessage(params: Record<string, unknown>): Promise<{ message_id: number }> {
    return this.call('sendMessage', params) as Promise<{ message_id: number }>;
  }

  async editMessageText(params: Record<string, unknown>): Promise<void> {
    await this.call('editMessageText', params);
  }

  private async call(method: string, params: Record<string, unknown>): Promise<unknown> {
    const response = await fetch(`${this.base}${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(params),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const out = (await response.json().catch(() => null)) as {
      ok?: boolean;
      result?: unknown;
      description?: string;
      error_code?: number;
    } | null;
    if (!out?.ok) {
      throw new TelegramApiError(
        method,
        out?.error_code ?? response.status,
        out?.description ?? `HTTP ${response.status}`,
      );
    }
    return out.result;
  }
}
