/**
 * Chat credentials: Slack and Telegram tokens from the environment, or (in Lambda) from Secrets
 * Manager through the Parameters and Secrets extension (`<NAME>_SECRET` holds the secret's ARN or
 * name, as for the enrollment token). The values never reach a log line: the loggers are given them
 * to redact, and errors name variables, never values.
 */
import * as z from 'zod';
import { describeZodError } from '../protocol/index.js';
import { extensionSecretFetcher, type SecretFetcher } from './env.js';

export interface SlackSecrets {
  botToken: string;
  /** Verifies `POST /slack/events`; absent when only Socket Mode is used. */
  signingSecret?: string;
  /** App-level token (`xapp-…`) for Socket Mode (self-hosted). */
  appToken?: string;
  /** The bot's ids (from `auth.test`: `bot_id`, `user_id`); without them Bolt calls auth.test once per process. */
  botId?: string;
  botUserId?: string;
  /** Web API base URL, e.g. a loopback fake in tests. */
  apiUrl?: string;
}

export interface TelegramSecrets {
  botToken: string;
  /** The setWebhook `secret_token`; with it `POST /telegram/webhook` is served, without it serve polls. */
  webhookSecret?: string;
  /** The bot's username (without @), preset as botInfo; without it Telegraf calls getMe once per process. */
  username?: string;
  /** Bot API root, e.g. a loopback fake in tests. */
  apiRoot?: string;
}

export interface ChatSecrets {
  slack?: SlackSecrets;
  telegram?: TelegramSecrets;
}

/** Every secret value, for the redacting loggers. */
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

const SLACK_BOT_TOKEN = /^xoxb-[A-Za-z0-9-]+$/;
const SLACK_APP_TOKEN = /^xapp-[A-Za-z0-9-]+$/;
const TELEGRAM_BOT_TOKEN = /^\d+:[A-Za-z0-9_-]+$/;
const TELEGRAM_WEBHOOK_SECRET = /^[A-Za-z0-9_-]{1,256}$/;

const Optional = z.string().min(1).optional();

const ChatEnv = z.object({
  SLACK_BOT_TOKEN: z.string().regex(SLACK_BOT_TOKEN, 'use the bot token, starting with xoxb-').optional(),
  BEAM_SLACK_BOT_TOKEN_SECRET: Optional,
  SLACK_SIGNING_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9]{16,128}$/, 'use the app’s signing secret (Basic Information page)')
    .optional(),
  BEAM_SLACK_SIGNING_SECRET_SECRET: Optional,
  SLACK_APP_TOKEN: z
    .string()
    .regex(SLACK_APP_TOKEN, 'use the app-level token, starting with xapp-')
    .optional(),
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
    .regex(TELEGRAM_BOT_TOKEN, 'use the token BotFather gave, <id>:<secret>')
    .optional(),
  BEAM_TELEGRAM_BOT_TOKEN_SECRET: Optional,
  TELEGRAM_WEBHOOK_SECRET: z
    .string()
    .regex(TELEGRAM_WEBHOOK_SECRET, 'use 1-256 characters of A-Z a-z 0-9 _ - (Telegram allows no others)')
    .optional(),
  BEAM_TELEGRAM_WEBHOOK_SECRET_SECRET: Optional,
  TELEGRAM_BOT_USERNAME: z
    .string()
    .regex(/^@?[A-Za-z0-9_]{5,32}$/, 'use the bot username from BotFather')
    .optional(),
  TELEGRAM_API_ROOT: z.url().optional(),
});

export interface ChatEnvOptions {
  fetchSecret?: SecretFetcher;
  /**
   * Lenient reading (Lambda): a problem leaves that platform out and is told here, so that a chat
   * misconfiguration never stops the pilot API. Without it the first problem throws (serve, at start).
   */
  onProblem?: (problem: string) => void;
  /**
   * A process that takes no Slack requests (the pilot API, Telegram and tick Lambdas) and only posts:
   * the bot token is all it reads, and it needs no signing secret or app token.
   */
  slackPostOnly?: boolean;
}

/**
 * Reads the chat configuration. A platform is on when its bot token is given, as a value or by secret
 * id. A value read from Secrets Manager must look like what it is (a freshly deployed secret holds a
 * random placeholder until the operator sets it).
 */
export async function chatSecretsFromEnv(
  env: Record<string, string | undefined>,
  options: ChatEnvOptions = {},
): Promise<ChatSecrets> {
  const fetchSecret = options.fetchSecret ?? extensionSecretFetcher;
  const problem = (text: string) => {
    const message = `chat environment: ${text}`;
    if (!options.onProblem) throw new Error(`invalid ${message}`);
    options.onProblem(message);
  };
  const parsed = ChatEnv.safeParse(env);
  if (!parsed.success) {
    problem(describeZodError(parsed.error));
    return {};
  }
  const e = parsed.data;

  /** The value, or the secret's value checked against `shape`; undefined (and a problem) otherwise. */
  const read = async (
    value: string | undefined,
    idVariable: string,
    id: string | undefined,
    shape: RegExp,
    what: string,
  ): Promise<string | undefined> => {
    if (value !== undefined || id === undefined) return value;
    let fetched: string;
    try {
      fetched = (await fetchSecret(id)).trim();
    } catch (error) {
      problem(`${idVariable}: ${(error as Error).message}`);
      return undefined;
    }
    if (!shape.test(fetched)) {
      problem(
        `${idVariable}: secret ${id} does not hold ${what}; set it with \`aws secretsmanager put-secret-value --secret-id ${id} --secret-string …\``,
      );
      return undefined;
    }
    return fetched;
  };

  const out: ChatSecrets = {};
  const slackToken = await read(
    e.SLACK_BOT_TOKEN,
    'BEAM_SLACK_BOT_TOKEN_SECRET',
    e.BEAM_SLACK_BOT_TOKEN_SECRET,
    SLACK_BOT_TOKEN,
    'a Slack bot token (xoxb-…)',
  );
  if (slackToken && options.slackPostOnly) {
    out.slack = { botToken: slackToken, ...(e.SLACK_API_URL ? { apiUrl: e.SLACK_API_URL } : {}) };
  } else if (slackToken) {
    const signingSecret = await read(
      e.SLACK_SIGNING_SECRET,
      'BEAM_SLACK_SIGNING_SECRET_SECRET',
      e.BEAM_SLACK_SIGNING_SECRET_SECRET,
      /^[A-Za-z0-9]{16,128}$/,
      'a Slack signing secret',
    );
    if (!signingSecret && !e.SLACK_APP_TOKEN) {
      problem(
        'Slack needs SLACK_SIGNING_SECRET / BEAM_SLACK_SIGNING_SECRET_SECRET (events over HTTPS) or SLACK_APP_TOKEN (Socket Mode)',
      );
    } else {
      out.slack = {
        botToken: slackToken,
        ...(e.SLACK_BOT_ID && e.SLACK_BOT_USER_ID
          ? { botId: e.SLACK_BOT_ID, botUserId: e.SLACK_BOT_USER_ID }
          : {}),
        ...(signingSecret ? { signingSecret } : {}),
        ...(e.SLACK_APP_TOKEN ? { appToken: e.SLACK_APP_TOKEN } : {}),
        ...(e.SLACK_API_URL ? { apiUrl: e.SLACK_API_URL } : {}),
      };
    }
  }

  const telegramToken = await read(
    e.TELEGRAM_BOT_TOKEN,
    'BEAM_TELEGRAM_BOT_TOKEN_SECRET',
    e.BEAM_TELEGRAM_BOT_TOKEN_SECRET,
    TELEGRAM_BOT_TOKEN,
    'a Telegram bot token (<id>:<secret>)',
  );
  if (telegramToken) {
    const webhookSecret = await read(
      e.TELEGRAM_WEBHOOK_SECRET,
      'BEAM_TELEGRAM_WEBHOOK_SECRET_SECRET',
      e.BEAM_TELEGRAM_WEBHOOK_SECRET_SECRET,
      TELEGRAM_WEBHOOK_SECRET,
      'a webhook secret of 1-256 characters A-Z a-z 0-9 _ -',
    );
    out.telegram = {
      botToken: telegramToken,
      ...(e.TELEGRAM_BOT_USERNAME ? { username: e.TELEGRAM_BOT_USERNAME.replace(/^@/, '') } : {}),
      ...(webhookSecret ? { webhookSecret } : {}),
      ...(e.TELEGRAM_API_ROOT ? { apiRoot: e.TELEGRAM_API_ROOT } : {}),
    };
  }
  return out;
}
