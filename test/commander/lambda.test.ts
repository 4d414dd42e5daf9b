import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../commander/adapters/store/client.js';
import { ensureTable } from '../../commander/adapters/store/table.js';
import { createBenchFleet, handleReports } from '../../commander/bench-kit.js';
import { settingsFromEnv } from '../../commander/env.js';
import { handler as pilotHandler } from '../../commander/handlers/pilot.js';
import { handler as tickHandler } from '../../commander/handlers/tick.js';
import { sampleReport } from '../fixtures/report.js';
import { TOKEN, httpEvent, parseResult, startDynalite } from './helpers.js';

let db: Awaited<ReturnType<typeof startDynalite>>;
/** The key file a local run seals node secrets with (BEAM_SECRETS_KEY_FILE; KMS in AWS). */
let keyDir: string;
beforeAll(async () => {
  db = await startDynalite();
  keyDir = mkdtempSync(path.join(os.tmpdir(), 'beam-lambda-'));
  writeFileSync(path.join(keyDir, 'node-secrets.key'), randomBytes(32).toString('hex'), { mode: 0o600 });
});
afterAll(async () => {
  for (const name of [
    'BEAM_TABLE_NAME',
    'BEAM_ENROLLMENT_TOKEN',
    'BEAM_DYNAMODB_ENDPOINT',
    'BEAM_LOG_LEVEL',
    'BEAM_SECRETS_KEY_FILE',
  ]) {
    delete process.env[name];
  }
  await db.close();
  rmSync(keyDir, { recursive: true, force: true });
});

describe('Lambda settings from the environment', () => {
  it('names the variable and the fix', async () => {
    await expect(settingsFromEnv({})).rejects.toThrow(/BEAM_TABLE_NAME: set BEAM_TABLE_NAME/);
    await expect(settingsFromEnv({ BEAM_TABLE_NAME: 'beam' })).rejects.toThrow(
      /set BEAM_ENROLLMENT_TOKEN_SECRET to a Secrets Manager ARN or name, or BEAM_ENROLLMENT_TOKEN/,
    );
    await expect(
      settingsFromEnv({ BEAM_TABLE_NAME: 'beam', BEAM_ENROLLMENT_TOKEN: 'short' }),
    ).rejects.toThrow(/enrollmentToken: use at least 16 characters/);
    await expect(
      settingsFromEnv({
        BEAM_TABLE_NAME: 'beam',
        BEAM_ENROLLMENT_TOKEN: TOKEN,
        BEAM_SETTINGS_JSON: '{"thresholds":{"silentIntervals":0}}',
      }),
    ).rejects.toThrow(/thresholds\.silentIntervals/);
    // Node secrets are sealed at rest: a Lambda without its KMS key does not start.
    await expect(settingsFromEnv({ BEAM_TABLE_NAME: 'beam', BEAM_ENROLLMENT_TOKEN: TOKEN })).rejects.toThrow(
      /set BEAM_KMS_KEY_ID to the KMS key that seals node secrets/,
    );
    await expect(
      settingsFromEnv({
        BEAM_TABLE_NAME: 'beam',
        BEAM_ENROLLMENT_TOKEN: TOKEN,
        BEAM_KMS_KEY_ID: 'alias/beam',
        BEAM_AUTO_APPROVE_ROLES: 'sentry,validator',
      }),
    ).rejects.toThrow(/autoApprove\.roles: validators are never auto-approved/);
  });

  it('reads the token by secret id through the fetcher, and parses roles and JSON settings', async () => {
    const settings = await settingsFromEnv(
      {
        BEAM_TABLE_NAME: 'beam',
        BEAM_ENROLLMENT_TOKEN_SECRET: 'arn:aws:secretsmanager:eu-west-1:1:secret:beam',
        BEAM_AUTO_APPROVE_ROLES: 'sentry',
        BEAM_KMS_KEY_ID: 'alias/beam-node-secrets',
        BEAM_SETTINGS_JSON: JSON.stringify({
          alerts: { renotifyCriticalMs: 1000 },
          chat: [{ platform: 'slack', chat: 'C1' }],
        }),
      },
      { fetchSecret: async (id) => (id.endsWith(':beam') ? TOKEN : 'wrong') },
    );
    expect(settings).toMatchObject({
      enrollmentToken: TOKEN,
      autoApprove: { roles: ['sentry'] },
      secrets: { kmsKeyId: 'alias/beam-node-secrets' },
      alerts: { renotifyCriticalMs: 1000 },
      chat: [{ platform: 'slack', chat: 'C1', minSeverity: 'info' }],
      thresholds: { silentIntervals: 3 },
    });
  });

  const base = { BEAM_TABLE_NAME: 'beam', BEAM_ENROLLMENT_TOKEN: TOKEN, BEAM_KMS_KEY_ID: 'alias/beam' };

  it('reads the settings from the SSM parameter it names, never from both a parameter and the variable', async () => {
    const asked: string[] = [];
    const settings = await settingsFromEnv(
      { ...base, BEAM_SETTINGS_PARAMETER: '/beam/mainnet/settings' },
      {
        fetchParameter: async (name) => {
          asked.push(name);
          return '{"chat":[{"platform":"telegram","chat":"-5"}]}';
        },
      },
    );
    expect(asked).toEqual(['/beam/mainnet/settings']);
    expect(settings.chat).toEqual([{ platform: 'telegram', chat: '-5', minSeverity: 'info' }]);
    await expect(
      settingsFromEnv({ ...base, BEAM_SETTINGS_PARAMETER: 'p', BEAM_SETTINGS_JSON: '{}' }),
    ).rejects.toThrow(/set BEAM_SETTINGS_JSON or BEAM_SETTINGS_PARAMETER, not both/);
    await expect(
      settingsFromEnv({ ...base, BEAM_SETTINGS_PARAMETER: 'p' }, { fetchParameter: async () => '[1, 2]' }),
    ).rejects.toThrow(/SSM parameter p must hold a JSON object of settings/);
    await expect(
      settingsFromEnv({ ...base, BEAM_SETTINGS_PARAMETER: 'p' }, { fetchParameter: async () => '{"chat":' }),
    ).rejects.toThrow(/SSM parameter p is not JSON/);
  });

  it("gives PagerDuty's webhook its signing secrets from their own secret, only where PagerDuty is configured", async () => {
    const pagerduty = { routingKey: 'R'.repeat(32) };
    const env = { ...base, BEAM_PAGERDUTY_WEBHOOK_SECRET_SECRET: 'arn:pd' };
    const fetchSecret = async (id: string) =>
      id === 'arn:pd' ? `${'a'.repeat(20)}\n${'b'.repeat(20)}\n` : 'x';
    const settings = await settingsFromEnv(
      { ...env, BEAM_SETTINGS_JSON: JSON.stringify({ paging: { pagerduty } }) },
      { fetchSecret },
    );
    expect(settings.paging.pagerduty?.webhookSecrets).toEqual(['a'.repeat(20), 'b'.repeat(20)]);
    // Without PagerDuty settings there is no webhook to verify: the secret is left out.
    expect((await settingsFromEnv(env, { fetchSecret })).paging.pagerduty).toBeUndefined();
  });
});

describe('the Lambda entry points', () => {
  it('serve the pilot API and run the tick from environment settings', async () => {
    await ensureTable(createDynamoClient({ endpoint: db.endpoint }), 'lambda-table');
    Object.assign(process.env, {
      BEAM_TABLE_NAME: 'lambda-table',
      BEAM_ENROLLMENT_TOKEN: TOKEN,
      BEAM_DYNAMODB_ENDPOINT: db.endpoint,
      BEAM_LOG_LEVEL: 'warn',
      BEAM_SECRETS_KEY_FILE: path.join(keyDir, 'node-secrets.key'),
    });
    const health = parseResult(await pilotHandler(httpEvent('GET', '/healthz')));
    expect(health).toMatchObject({ status: 200, body: { ok: true } });
    const summary = await tickHandler({ 'detail-type': 'Scheduled Event' });
    expect(summary).toMatchObject({ nodes: 0, findings: 0 });
    const body = Buffer.from('{"broken"', 'utf8').toString('base64');
    const bad = await pilotHandler({ ...httpEvent('POST', '/v1/pilot/enroll', body), isBase64Encoded: true });
    expect(parseResult(bad)).toMatchObject({ status: 400, body: { error: 'malformed JSON' } });
  });
});

describe('bench kit', () => {
  it('handles N reports at a fixed store cost per report, whatever the fleet size', async () => {
    for (const size of [3, 12]) {
      const fleet = await createBenchFleet({ endpoint: db.endpoint, nodes: size });
      const run = await handleReports(
        fleet,
        24,
        (n) => sampleReport({ nodeId: n.id, seq: n.seq, role: n.role, chainId: n.chainId }),
        4,
      );
      expect(run.failures).toBe(0);
      expect(run.latenciesMs).toHaveLength(24);
      expect(run.storeCallsPerReport).toBe(2);
    }
  });
});
