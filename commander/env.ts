import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { describeZodError } from '../protocol/index.js';
import { CommanderSettings } from './settings.js';

/**
 * Lambda configuration. Secrets come by Secrets Manager id (ARN or name) through the AWS Parameters
 * and Secrets Lambda extension (no SDK needed), or as plain values for local runs.
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
  /** JSON with `thresholds`, `alerts` and `chat` (see CommanderSettings). */
  BEAM_SETTINGS_JSON: z.string().optional(),
  /** The fleet's `beam:fleet` tag (sentry defence's EC2 scope); overrides `sentry.fleet` of the JSON. */
  BEAM_FLEET: z.string().optional(),
});

export type SecretFetcher = (secretId: string) => Promise<string>;

/** Reads a secret through the Parameters and Secrets Lambda extension on localhost. */
export const extensionSecretFetcher: SecretFetcher = async (secretId) => {
  const port = process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? '2773';
  const token = process.env.AWS_SESSION_TOKEN;
  if (!token)
    throw new Error(
      'AWS_SESSION_TOKEN is not set: secret ids work only inside Lambda; pass the value instead',
    );
  const response = await fetch(
    `http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`,
    {
      headers: { 'X-Aws-Parameters-Secrets-Token': token },
    },
  );
  if (!response.ok) {
    throw new Error(
      `reading secret ${secretId} failed with HTTP ${response.status}: add the AWS Parameters and Secrets Lambda extension layer and grant secretsmanager:GetSecretValue`,
    );
  }
  const { SecretString } = (await response.json()) as { SecretString?: string };
  if (!SecretString) throw new Error(`secret ${secretId} has no string value`);
  return SecretString;
};

/** What a function reads besides the table. Only the pilot API checks the fleet enrollment token. */
export interface EnvNeeds {
  enrollmentToken: boolean;
}

export async function settingsFromEnv(
  env: Record<string, string | undefined>,
  fetchSecret: SecretFetcher = extensionSecretFetcher,
  needs: EnvNeeds = { enrollmentToken: true },
): Promise<CommanderSettings> {
  const parsed = Env.safeParse(env);
  if (!parsed.success) throw new Error(`invalid commander environment: ${describeZodError(parsed.error)}`);
  const e = parsed.data;
  let enrollmentToken = e.BEAM_ENROLLMENT_TOKEN;
  if (!needs.enrollmentToken) {
    // The chat and tick functions are not given the token (least privilege) and never enroll; the
    // settings want one, so a random value stands in that no request can match.
    enrollmentToken = randomBytes(32).toString('hex');
  } else if (!enrollmentToken && e.BEAM_ENROLLMENT_TOKEN_SECRET) {
    enrollmentToken = await fetchSecret(e.BEAM_ENROLLMENT_TOKEN_SECRET);
  }
  if (!enrollmentToken) {
    throw new Error(
      'invalid commander environment: set BEAM_ENROLLMENT_TOKEN_SECRET to a Secrets Manager ARN or name, or BEAM_ENROLLMENT_TOKEN to the value (local runs)',
    );
  }
  let extra: Record<string, unknown> = {};
  if (e.BEAM_SETTINGS_JSON) {
    try {
      extra = JSON.parse(e.BEAM_SETTINGS_JSON);
    } catch (error) {
      throw new Error(
        `invalid commander environment: BEAM_SETTINGS_JSON is not JSON (${(error as Error).message})`,
      );
    }
  }
  const result = CommanderSettings.safeParse({
    ...extra,
    ...(e.BEAM_FLEET ? { sentry: { ...(extra.sentry as object | undefined), fleet: e.BEAM_FLEET } } : {}),
    tableName: e.BEAM_TABLE_NAME,
    enrollmentToken,
    ...(e.BEAM_DYNAMODB_ENDPOINT ? { dynamodbEndpoint: e.BEAM_DYNAMODB_ENDPOINT } : {}),
    ...(e.BEAM_REPORT_INTERVAL_MS !== undefined ? { reportIntervalMs: e.BEAM_REPORT_INTERVAL_MS } : {}),
    autoApprove: {
      roles: e.BEAM_AUTO_APPROVE_ROLES ? e.BEAM_AUTO_APPROVE_ROLES.split(',').map((r) => r.trim()) : [],
    },
    ...(e.BEAM_KMS_KEY_ID || e.BEAM_SECRETS_KEY_FILE
      ? {
          secrets: {
            ...(extra.secrets as object | undefined),
            ...(e.BEAM_KMS_KEY_ID ? { kmsKeyId: e.BEAM_KMS_KEY_ID } : {}),
            ...(e.BEAM_SECRETS_KEY_FILE ? { keyFile: e.BEAM_SECRETS_KEY_FILE } : {}),
          },
        }
      : {}),
  });
  if (!result.success) {
    throw new Error(
      `invalid commander settings (environment / BEAM_SETTINGS_JSON): ${describeZodError(result.error)}`,
    );
  }
  if (!result.data.secrets) {
    throw new Error(
      'invalid commander environment: set BEAM_KMS_KEY_ID to the KMS key that seals node secrets at rest, or BEAM_SECRETS_KEY_FILE to a local key file (local runs)',
    );
  }
  return result.data;
}
