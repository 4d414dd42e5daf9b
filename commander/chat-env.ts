/**
 * Chat credentials: Slack and Telegram tokens from the environment, or (in Lambda) from Secrets
 * Manager through the Parameters and Secrets extension. The values never reach a log line: the bots'
 * logger is given them to redact, and errors name variables, never values.
 */
import { z } from 'zod';
import { describeZodError } from '../protocol/index.js';
import { extensionSecretFetcher, type SecretFetcher } from './env.js';

export interface SlackSecrets {
  botToken: string;
  /** Verifies `POST /slack/events`; absent when only Socket Mode is used. */
  signingSecret?: string;
  /** App-level token (`xapp-…`) for Socket Mode (self-hosted). */
  appToken?: string;
  /** The bot's ids (from `auth.test`: `bot_id`, `user_id`), so that no cold start calls auth.test. */
  botId: string;
  botUserId: string;
  /** Web API base URL, e.g. a loopback fake in tests. */
  apiUrl?: string;
}

export interface TelegramSecrets {
  botToken: string;
  /** The setWebhook `secret_token`; with it `POST /telegram/webhook` is served, without it serve polls. */
  webhookSecret?: string;
  /** The bot's username (without @), preset as botInfo so no cold start calls getMe. */
  username: string;
  /** Bot API root, e.g. a loopback fake in tests. */
  apiRoot?: string;
}

export interface ChatSecrets {
  slack?: SlackSecrets;
  telegram?: TelegramSecrets;
}

/** Every secret value, for the redacting logger. */
export function secretValues(secrets: ChatSecrets): string[] {
  const { slack, telegram } = secrets;
  return [
    slack?.botToken,
    slack?.signingSecret,
    slack?.appToken,
    telegram?.botToken,
    telegram?.webhookSecret,
  ].filter((s): s is string => typeof s === 'string' && s.length > 0);
}

const Optional = z.string().min(1).optional();

const ChatEnv = z.object({
  SLACK_BOT_TOKEN: z
    .string()
    .regex(/^xox[a-z]-/, 'use the bot token, starting with xoxb-')
    .optional(),
  SLACK_SIGNING_SECRET: Optional,
  SLACK_APP_TOKEN: z
    .string()
    .regex(/^xapp-/, 'use the app-level token, starting with xapp-')
    .optional(),
  /** Secrets Manager id of a JSON secret `{ "botToken", "signingSecret", "appToken"? }`. */
  BEAM_SLACK_SECRET: Optional,
  SLACK_BOT_ID: z
    .string()
    .regex(/^B[A-Z0-9]+$/, 'use the bot id from auth.test (B…)')
    .optional(),
  SLACK_BOT_USER_ID: z
    .string()
    .regex(/^[UW][A-Z0-9]+$/, 'use the bot user id from auth.test (U…)')
    .optional(),
  SLACK_API_URL: z.url({ error: 'use a URL ending in /api/' }).optional(),
  TELEGRAM_BOT_TOKEN: z
    .string()
    .regex(/^\d+:[A-Za-z0-9_-]+$/, 'use the token BotFather gave, <id>:<secret>')
    .optional(),
  TELEGRAM_WEBHOOK_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,256}$/, 'use 1-256 characters of A-Z a-z 0-9 _ - (Telegram allows no others)')
    .optional(),
  /** Secrets Manager id of a JSON secret `{ "botToken", "webhookSecret"? }`. */
  BEAM_TELEGRAM_SECRET: Optional,
  TELEGRAM_BOT_USERNAME: z
    .string()
    .regex(/^@?[A-Za-z0-9_]{5,32}$/, 'use the bot username from BotFather')
    .optional(),
  TELEGRAM_API_ROOT: z.url().optional(),
});

const SlackJson = z.object({
  botToken: z.string().min(1),
  signingSecret: z.string().min(1).optional(),
  appToken: z.string().min(1).optional(),
});
const TelegramJson = z.object({
  botToken: z.string().min(1),
  webhookSecret: z.string().min(1).optional(),
});

async function secretJson<T>(
  schema: z.ZodType<T>,
  id: string,
  variable: string,
  fetchSecret: SecretFetcher,
): Promise<T> {
  const text = await fetchSecret(id);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${variable}: secret ${id} is not JSON; store an object such as {"botToken": "…"}`);
  }
  const parsed = schema.safeParse(value);
  // Only field names and problems: never the values.
  if (!parsed.success) throw new Error(`${variable}: secret ${id}: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

/**
 * Reads the chat configuration. A platform is on when its bot token is given (as a value, or in the
 * JSON secret named by `BEAM_SLACK_SECRET` / `BEAM_TELEGRAM_SECRET`); then its ids must be given too.
 */
export async function chatSecretsFromEnv(
  env: Record<string, string | undefined>,
  fetchSecret: SecretFetcher = extensionSecretFetcher,
): Promise<ChatSecrets> {
  const parsed = ChatEnv.safeParse(env);
  if (!parsed.success) throw new Error(`invalid chat environment: ${describeZodError(parsed.error)}`);
  const e = parsed.data;
  const out: ChatSecrets = {};

  const slackStored = e.BEAM_SLACK_SECRET
    ? await secretJson(SlackJson, e.BEAM_SLACK_SECRET, 'BEAM_SLACK_SECRET', fetchSecret)
    : undefined;
  const slackToken = e.SLACK_BOT_TOKEN ?? slackStored?.botToken;
  if (slackToken) {
    if (!e.SLACK_BOT_ID || !e.SLACK_BOT_USER_ID) {
      throw new Error(
        'invalid chat environment: Slack needs SLACK_BOT_ID and SLACK_BOT_USER_ID (bot_id and user_id from auth.test)',
      );
    }
    const signingSecret = e.SLACK_SIGNING_SECRET ?? slackStored?.signingSecret;
    const appToken = e.SLACK_APP_TOKEN ?? slackStored?.appToken;
    if (!signingSecret && !appToken) {
      throw new Error(
        'invalid chat environment: Slack needs SLACK_SIGNING_SECRET (events over HTTPS) or SLACK_APP_TOKEN (Socket Mode)',
      );
    }
    out.slack = {
      botToken: slackToken,
      botId: e.SLACK_BOT_ID,
      botUserId: e.SLACK_BOT_USER_ID,
      ...(signingSecret ? { signingSecret } : {}),
      ...(appToken ? { appToken } : {}),
      ...(e.SLACK_API_URL ? { apiUrl: e.SLACK_API_URL } : {}),
    };
  }

  const telegramStored = e.BEAM_TELEGRAM_SECRET
    ? await secretJson(TelegramJson, e.BEAM_TELEGRAM_SECRET, 'BEAM_TELEGRAM_SECRET', fetchSecret)
    : undefined;
  const telegramToken = e.TELEGRAM_BOT_TOKEN ?? telegramStored?.botToken;
  if (telegramToken) {
    if (!e.TELEGRAM_BOT_USERNAME) {
      throw new Error('invalid chat environment: Telegram needs TELEGRAM_BOT_USERNAME (the bot username)');
    }
    const webhookSecret = e.TELEGRAM_WEBHOOK_SECRET ?? telegramStored?.webhookSecret;
    out.telegram = {
      botToken: telegramToken,
      username: e.TELEGRAM_BOT_USERNAME.replace(/^@/, ''),
      ...(webhookSecret ? { webhookSecret } : {}),
      ...(e.TELEGRAM_API_ROOT ? { apiRoot: e.TELEGRAM_API_ROOT } : {}),
    };
  }
  return out;
}
