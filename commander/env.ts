import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { describeZodError } from '../protocol/index.js';
import { CommanderSettings } from './settings.js';

/**
 * Lambda configuration. Secrets come by Secrets Manager id (ARN or name) and the settings by SSM
 * parameter name, both through the AWS Parameters and Secrets Lambda extension (no SDK needed), or
 * as plain values for local runs.
 */
const Env = z.object({
  BEAM_TABLE_NAME: z.string({ error: 'set BEAM_TABLE_NAME to the DynamoDB table name' }).min(1),
  BEAM_ENROLLMENT_TOKEN: z.string().optional(),
  BEAM_ENROLLMENT_TOKEN_SECRET: z.string().optional(),
  BEAM_DYNAMODB_ENDPOINT: z
    .url({ error: 'set BEAM_DYNAMODB_ENDPOINT to a URL such as http://127.0.0.1:4567' })
    .optional(),
  BEAM_REPORT_INTERVAL_MS: z.coerce
    .number({ error: 'set BEAM_REPORT_INTERVAL_MS to milliseconds' })
    .int()
    .optional(),
  BEAM_AUTO_APPROVE_ROLES: z.string().optional(),
  /** The KMS key that seals node secrets at rest (its id, ARN or alias). */
  BEAM_KMS_KEY_ID: z.string().min(1).optional(),
  /** Local runs: a key file instead of KMS (secrets.keyFile). */
  BEAM_SECRETS_KEY_FILE: z.string().min(1).optional(),
  /** The settings as JSON (CommanderSettings without what the variables here set). */
  BEAM_SETTINGS_JSON: z.string().optional(),
  /** Or the name of an SSM parameter (String or SecureString) holding that JSON, read at cold start. */
  BEAM_SETTINGS_PARAMETER: z.string().min(1).optional(),
  /**
   * The PagerDuty v3 webhook's signing secret(s) by Secrets Manager id (two, whitespace-separated,
   * while rotating): `paging.pagerduty.webhookSecrets`, kept out of the settings and of every other
   * function.
   */
  BEAM_PAGERDUTY_WEBHOOK_SECRET_SECRET: z.string().min(1).optional(),
  /** The fleet's `beam:fleet` tag (sentry defence's EC2 scope); overrides `sentry.fleet` of the JSON. */
  BEAM_FLEET: z.string().optional(),
});
export type CommanderEnv = z.infer<typeof Env>;

export type SecretFetcher = (secretId: string) => Promise<string>;
export type ParameterFetcher = (name: string) => Promise<string>;

/** GETs `path` from the Parameters and Secrets Lambda extension on localhost. */
async function fromExtension(path: string, what: string, grant: string): Promise<unknown> {
  const port = process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? '2773';
  const token = process.env.AWS_SESSION_TOKEN;
  if (!token)
    throw new Error(`AWS_SESSION_TOKEN is not set: ${what} works only inside Lambda; pass the value instead`);
  const response = await fetch(`http://localhost:${port}${path}`, {
    headers: { 'X-Aws-Parameters-Secrets-Token': token },
  });
  if (!response.ok) {
    throw new Error(
      `reading ${what} failed with HTTP ${response.status}: add the AWS Parameters and Secrets Lambda extension layer and grant ${grant}`,
    );
  }
  return response.json();
}

/** Reads a secret through the Parameters and Secrets Lambda extension. */
export const extensionSecretFetcher: SecretFetcher = async (secretId) => {
  const { SecretString } = (await fromExtension(
    `/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`,
    `secret ${secretId}`,
    'secretsmanager:GetSecretValue',
  )) as { SecretString?: string };
  if (!SecretString) throw new Error(`secret ${secretId} has no string value`);
  return SecretString;
};

/** Reads an SSM parameter (a SecureString decrypted) through the Parameters and Secrets Lambda extension. */
export const extensionParameterFetcher: ParameterFetcher = async (name) => {
  const { Parameter } = (await fromExtension(
    `/systemsmanager/parameters/get?name=${encodeURIComponent(name)}&withDecryption=true`,
    `SSM parameter ${name}`,
    'ssm:GetParameter (and kms:Decrypt on the key of a SecureString)',
  )) as { Parameter?: { Value?: string } };
  if (!Parameter?.Value) throw new Error(`SSM parameter ${name} has no value`);
  return Parameter.Value;
};

export interface EnvOptions {
  fetchSecret?: SecretFetcher;
  fetchParameter?: ParameterFetcher;
  /**
   * Only the pilot API checks the fleet enrollment token (default true); the chat, tick and
   * PagerDuty functions are not given it.
   */
  enrollmentToken?: boolean;
}

/** What a commander environment names but does not hold: values read from Secrets Manager. */
export interface EnvSecrets {
  enrollmentToken: string;
  pagerDutyWebhookSecrets?: string[];
}

/**
 * The settings object a commander environment describes, before CommanderSettings parses it:
 * `settings` (BEAM_SETTINGS_JSON or the SSM parameter) under what the variables set. The one
 * composition for settingsFromEnv and for the CDK app, which parses it at synth with stand-ins for
 * the secrets (infra/commander-settings.ts), so the two cannot drift apart.
 */
export function settingsInput(
  e: CommanderEnv,
  settings: Record<string, unknown>,
  secrets: EnvSecrets,
): Record<string, unknown> {
  const paging = settings.paging as { pagerduty?: object } | undefined;
  return {
    ...settings,
    ...(e.BEAM_FLEET ? { sentry: { ...(settings.sentry as object | undefined), fleet: e.BEAM_FLEET } } : {}),
    // The webhook secret belongs to PagerDuty's settings; without them there is no webhook to verify.
    ...(secrets.pagerDutyWebhookSecrets && paging?.pagerduty
      ? {
          paging: {
            ...paging,
            pagerduty: { ...paging.pagerduty, webhookSecrets: secrets.pagerDutyWebhookSecrets },
          },
        }
      : {}),
    tableName: e.BEAM_TABLE_NAME,
    enrollmentToken: secrets.enrollmentToken,
    ...(e.BEAM_DYNAMODB_ENDPOINT ? { dynamodbEndpoint: e.BEAM_DYNAMODB_ENDPOINT } : {}),
    ...(e.BEAM_REPORT_INTERVAL_MS !== undefined ? { reportIntervalMs: e.BEAM_REPORT_INTERVAL_MS } : {}),
    autoApprove: {
      roles: e.BEAM_AUTO_APPROVE_ROLES ? e.BEAM_AUTO_APPROVE_ROLES.split(',').map((r) => r.trim()) : [],
    },
    ...(e.BEAM_KMS_KEY_ID || e.BEAM_SECRETS_KEY_FILE
      ? {
          secrets: {
            ...(settings.secrets as object | undefined),
            ...(e.BEAM_KMS_KEY_ID ? { kmsKeyId: e.BEAM_KMS_KEY_ID } : {}),
            ...(e.BEAM_SECRETS_KEY_FILE ? { keyFile: e.BEAM_SECRETS_KEY_FILE } : {}),
          },
        }
      : {}),
  };
}

/** Parses the environment's variables; throws naming the variable and the fix. */
export function parseCommanderEnv(env: Record<string, string | undefined>): CommanderEnv {
  const parsed = Env.safeParse(env);
  if (!parsed.success) throw new Error(`invalid commander environment: ${describeZodError(parsed.error)}`);
  if (parsed.data.BEAM_SETTINGS_JSON && parsed.data.BEAM_SETTINGS_PARAMETER) {
    throw new Error(
      'invalid commander environment: set BEAM_SETTINGS_JSON or BEAM_SETTINGS_PARAMETER, not both',
    );
  }
  return parsed.data;
}

/** The settings JSON, from the variable or the SSM parameter it names; `{}` when neither is set. */
async function settingsJson(
  e: CommanderEnv,
  fetchParameter: ParameterFetcher,
): Promise<Record<string, unknown>> {
  const [source, text] = e.BEAM_SETTINGS_PARAMETER
    ? [`SSM parameter ${e.BEAM_SETTINGS_PARAMETER}`, await fetchParameter(e.BEAM_SETTINGS_PARAMETER)]
    : ['BEAM_SETTINGS_JSON', e.BEAM_SETTINGS_JSON];
  if (!text) return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`invalid commander environment: ${source} is not JSON (${(error as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`invalid commander environment: ${source} must hold a JSON object of settings`);
  }
  return json as Record<string, unknown>;
}

export async function settingsFromEnv(
  env: Record<string, string | undefined>,
  options: EnvOptions = {},
): Promise<CommanderSettings> {
  const fetchSecret = options.fetchSecret ?? extensionSecretFetcher;
  const e = parseCommanderEnv(env);
  let enrollmentToken = e.BEAM_ENROLLMENT_TOKEN;
  if (options.enrollmentToken === false) {
    // The chat, tick and PagerDuty functions are not given the token (least privilege) and never
    // enroll; the settings want one, so a random value stands in that no request can match.
    enrollmentToken = randomBytes(32).toString('hex');
  } else if (!enrollmentToken && e.BEAM_ENROLLMENT_TOKEN_SECRET) {
    enrollmentToken = await fetchSecret(e.BEAM_ENROLLMENT_TOKEN_SECRET);
  }
  if (!enrollmentToken) {
    throw new Error(
      'invalid commander environment: set BEAM_ENROLLMENT_TOKEN_SECRET to a Secrets Manager ARN or name, or BEAM_ENROLLMENT_TOKEN to the value (local runs)',
    );
  }
  const settings = await settingsJson(e, options.fetchParameter ?? extensionParameterFetcher);
  const pagerDutyWebhookSecrets = e.BEAM_PAGERDUTY_WEBHOOK_SECRET_SECRET
    ? (await fetchSecret(e.BEAM_PAGERDUTY_WEBHOOK_SECRET_SECRET)).split(/\s+/).filter(Boolean)
    : undefined;
  const result = CommanderSettings.safeParse(
    settingsInput(e, settings, {
      enrollmentToken,
      ...(pagerDutyWebhookSecrets ? { pagerDutyWebhookSecrets } : {}),
    }),
  );
  if (!result.success) {
    const source = e.BEAM_SETTINGS_PARAMETER
      ? `SSM parameter ${e.BEAM_SETTINGS_PARAMETER}`
      : 'BEAM_SETTINGS_JSON';
    throw new Error(
      `invalid commander settings (environment / ${source}): ${describeZodError(result.error)}`,
    );
  }
  if (!result.data.secrets) {
    throw new Error(
      'invalid commander environment: set BEAM_KMS_KEY_ID to the KMS key that seals node secrets at rest, or BEAM_SECRETS_KEY_FILE to a local key file (local runs)',
    );
  }
  return result.data;
}
