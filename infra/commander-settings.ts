import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Token } from 'aws-cdk-lib';
import { parseCommanderEnv, settingsInput } from '../commander/env.js';
import { CommanderSettings } from '../commander/settings.js';
import type { BeamContext } from './config.js';

/**
 * Where the commander's Lambdas get their settings (commander/settings.ts): a JSON object from
 * context, passed in `BEAM_SETTINGS_JSON` and checked at synth; or an SSM parameter, passed by name
 * in `BEAM_SETTINGS_PARAMETER` and read at cold start. `from` names the source in error messages.
 */
export type SettingsSource =
  | { kind: 'json'; json: Record<string, unknown>; from: string }
  | { kind: 'parameter'; name: string; kmsKeyArn?: string; from: string };

/** The settings source `beam:settings`, `beam:settingsFile` or `beam:settingsParameter` gives (none: `{}`). */
export function settingsSourceOf(ctx: BeamContext, cwd = process.cwd()): SettingsSource {
  const parameter = ctx['beam:settingsParameter'];
  if (parameter) {
    const key = ctx['beam:settingsParameterKey'];
    return {
      kind: 'parameter',
      name: parameter,
      ...(key ? { kmsKeyArn: key } : {}),
      from: 'beam:settingsParameter',
    };
  }
  const file = ctx['beam:settingsFile'];
  if (!file) return { kind: 'json', json: ctx['beam:settings'], from: 'beam:settings' };
  const from = `beam:settingsFile (${file})`;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path.resolve(cwd, file), 'utf8'));
  } catch (error) {
    throw new Error(`Beam CDK context is invalid:\n  context ${from}: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`Beam CDK context is invalid:\n  context ${from}: the file must hold a JSON object`);
  }
  return { kind: 'json', json: json as Record<string, unknown>, from };
}

const SECRET_IN_TEMPLATE =
  'a secret here would be stored in plain text in the template and the Lambda configuration: put the settings in an SSM SecureString parameter (beam:settingsParameter) instead';

/**
 * Settings the stack gives itself, or that must not sit in plain text, each with its fix. The
 * environment would override the first kind silently; a synth error says so instead.
 */
const NOT_IN_CONTEXT: Record<string, string> = {
  tableName: 'the stack creates the table: remove it',
  dynamodbEndpoint: 'the Lambdas use DynamoDB in their own region: remove it',
  enrollmentToken: 'the stack generates it (output EnrollmentTokenSecretArn): remove it',
  secrets: 'the stack seals node secrets with its own KMS key (NodeSecretsKey): remove it',
  autoApprove: 'set beam:autoApproveSentries instead',
  'sentry.fleet': 'set beam:fleet instead',
  'paging.pagerduty.routingKey': SECRET_IN_TEMPLATE,
  'paging.pagerduty.webhookSecrets':
    "put the signing secret into the stack's PagerDuty webhook secret (output PagerDutyWebhookSecretArn) instead",
  'paging.webhook.secret': SECRET_IN_TEMPLATE,
};

const valueAt = (json: unknown, dotted: string): unknown =>
  dotted
    .split('.')
    .reduce<unknown>(
      (at, key) => (at && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined),
      json,
    );

/** What stands in for a value CloudFormation fills in at deploy (the table name, the key ARN, a secret). */
const STAND_IN = 'synth-check-stand-in-value';

/**
 * Parses `source.json` exactly as the commander will (commander/env.ts `settingsInput`, then
 * CommanderSettings) under `environment`, the variables the stack sets besides the settings, with
 * stand-ins for what is only known at deploy; the PagerDuty function's webhook secret included. Returns
 * the settings; throws naming the context key, the field and the fix.
 */
export function checkSettings(
  source: Extract<SettingsSource, { kind: 'json' }>,
  environment: Record<string, string>,
): CommanderSettings {
  const problems = Object.entries(NOT_IN_CONTEXT)
    .filter(([field]) => valueAt(source.json, field) !== undefined)
    .map(([field, fix]) => `${field}: ${fix}`);
  if (problems.length === 0) {
    const env = parseCommanderEnv(
      Object.fromEntries(
        Object.entries(environment).map(([k, v]) => [k, Token.isUnresolved(v) ? STAND_IN : v]),
      ),
    );
    const result = CommanderSettings.safeParse(
      settingsInput(env, source.json, { enrollmentToken: STAND_IN, pagerDutyWebhookSecrets: [STAND_IN] }),
    );
    if (result.success) return result.data;
    problems.push(
      ...result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  throw new Error(
    `Beam CDK context is invalid:\n${problems.map((p) => `  context ${source.from}: ${p}`).join('\n')}`,
  );
}

/**
 * What checked settings leave the commander unable to do that people likely expect of it: said at
 * synth (`cdk synth` prints warnings; `--strict` fails on them), since the commander can only log it.
 */
export function settingsWarnings(settings: CommanderSettings, autoApproveSentries: boolean): string[] {
  const warnings: string[] = [];
  if (settings.chat.length === 0) {
    warnings.push(
      'no chat destination (settings.chat): the commander tells nobody about enrollments or alerts',
    );
  }
  if (settings.chat.some((route) => route.platform === 'slack') && !settings.access.slack.teamId) {
    warnings.push(
      'settings.access.slack.teamId is not set: the Slack function refuses every request until it is',
    );
  }
  if (autoApproveSentries && !settings.identity.ec2) {
    warnings.push(
      'beam:autoApproveSentries is on but settings.identity.ec2 is not set: no identity document is checked, so every sentry waits for an admin',
    );
  }
  return warnings;
}
