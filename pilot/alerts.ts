import { promises as fs } from 'node:fs';
import { request } from 'undici';

export interface AlertTargets {
  slackWebhookUrl?: string;
  telegramApiUrl: string;
  telegramTokenFile?: string;
  telegramChatId?: string;
}

/** Sends a plain-text alert to every configured target; returns the failures, one line each. */
export async function sendAlert(t: AlertTargets, text: string, timeoutMs = 10_000): Promise<string[]> {
  const failures: string[] = [];
  const post = async (what: string, url: string, body: unknown, secret = '') => {
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      await res.body.text();
      if (res.statusCode >= 300) failures.push(`${what}: HTTP ${res.statusCode}`);
    } catch (error) {
      const msg = (error as Error).message;
      // The Telegram URL carries the bot token: never let it reach a log line.
      failures.push(`${what}: ${secret ? msg.split(secret).join('***') : msg}`);
    }
  };
  if (t.slackWebhookUrl) await post('slack', t.slackWebhookUrl, { text });
  if (t.telegramTokenFile && t.telegramChatId) {
    const token = (await fs.readFile(t.telegramTokenFile, 'utf8')).trim();
    const base = t.telegramApiUrl.replace(/\/$/, '');
    await post('telegram', `${base}/bot${token}/sendMessage`, { chat_id: t.telegramChatId, text }, token);
  }
  return failures;
}

/** Raises an alert once when a condition starts and once when it clears. */
export class Latch {
  private on = false;
  /** Returns 'raised' / 'cleared' on a change, null otherwise. */
  set(active: boolean): 'raised' | 'cleared' | null {
    if (active === this.on) return null;
    this.on = active;
    return active ? 'raised' : 'cleared';
  }
}
