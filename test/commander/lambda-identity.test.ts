/**
 * Sentries that prove their instance, on AWS: the pilot API Lambda has no EC2 client or rights, so
 * it checks the identity document, records the proven instance and approves nobody; the tick Lambda
 * asks EC2 about the instance, then approves and binds it (`beam:node`), or leaves it to an admin.
 * Both run in the environment the CDK stack gives them, on dynalite and the EC2 emulation.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../commander/adapters/store/client.js';
import { ensureTable } from '../../commander/adapters/store/table.js';
import { CommanderApp } from '../../commander/app/commander-app.js';
import { buildDeps } from '../../commander/deps.js';
import { settingsFromEnv } from '../../commander/env.js';
import { handler as pilotHandler } from '../../commander/handlers/pilot.js';
import { handler as tickHandler } from '../../commander/handlers/tick.js';
import { type Ec2Emulator, startEc2Emulator } from '../../devnet/ec2/emulator.js';
import { COMMANDER_ENV } from '../../infra/commander-stack.js';
import type { EnrollRequest } from '../../protocol/index.js';
import { FLEET, identityOf, launchSentry, sentryEnrollment } from '../security/ec2-kit.js';
import { httpEvent, OPERATOR, parseResult, startDynalite, TOKEN } from './helpers.js';

const TABLE = 'lambda-identity';
let db: Awaited<ReturnType<typeof startDynalite>>;
let ec2: Ec2Emulator;
let keyDir: string;
let env: Record<string, string>;
const saved = { ...process.env };

beforeAll(async () => {
  db = await startDynalite();
  await ensureTable(createDynamoClient({ endpoint: db.endpoint }), TABLE);
  ec2 = await startEc2Emulator();
  keyDir = mkdtempSync(path.join(os.tmpdir(), 'beam-lambda-identity-'));
  writeFileSync(path.join(keyDir, 'node-secrets.key'), randomBytes(32).toString('hex'), { mode: 0o600 });
  env = {
    // What the stack sets on both functions (beam:autoApproveSentries on, beam:fleet mainnet) ...
    [COMMANDER_ENV.tableName]: TABLE,
    [COMMANDER_ENV.fleet]: FLEET,
    [COMMANDER_ENV.autoApproveRoles]: 'sentry',
    [COMMANDER_ENV.settingsJson]: JSON.stringify({
      identity: { ec2: { accountId: ec2.accountId, certificate: ec2.identityCertificate } },
    }),
    // ... and where this machine's services stand in for AWS's.
    BEAM_ENROLLMENT_TOKEN: TOKEN,
    BEAM_DYNAMODB_ENDPOINT: db.endpoint,
    BEAM_SECRETS_KEY_FILE: path.join(keyDir, 'node-secrets.key'),
    BEAM_EC2_ENDPOINT: ec2.url,
    BEAM_LOG_LEVEL: 'fatal',
    AWS_REGION: ec2.region,
    AWS_ACCESS_KEY_ID: 'devnet',
    AWS_SECRET_ACCESS_KEY: 'devnet',
  };
  Object.assign(process.env, env);
}, 30_000);

afterAll(async () => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  await ec2?.stop();
  await db?.close();
  rmSync(keyDir, { recursive: true, force: true });
});

const enroll = async (request: EnrollRequest) =>
  parseResult(await pilotHandler(httpEvent('POST', '/v1/pilot/enroll', JSON.stringify(request))));

/** The commander's view of the table (a process with neither EC2 nor the Lambdas' containers). */
async function nodeOf(name: string) {
  const deps = buildDeps(await settingsFromEnv(env), { log: { info() {}, warn() {}, error() {} } });
  return (await deps.store.getNode(name))?.value;
}

describe('identity-proven sentries on AWS', () => {
  it('are recorded by the pilot API without any EC2 call, approved by the tick once EC2 agrees', async () => {
    const good = launchSentry(ec2, '10.0.1.10');
    // Another fleet's instance in the same account: a genuine document, but not one of ours.
    const foreign = ec2.addInstance({
      privateIp: '10.0.1.11',
      tags: { 'beam:managed': 'true', 'beam:fleet': 'testnet', 'beam:role': 'sentry' },
    });
    const names = { good: `sentry-${good.instanceId}`, foreign: `sentry-${foreign.instanceId}` };
    ec2.clearRequests();

    for (const [name, instance, ip, n] of [
      [names.good, good, '10.0.1.10', 1],
      [names.foreign, foreign, '10.0.1.11', 2],
    ] as const) {
      const reply = await enroll(
        sentryEnrollment(name, n, ip, { instanceIdentity: await identityOf(ec2, instance.instanceId) }),
      );
      expect(reply).toMatchObject({ status: 202, body: { status: 'pending' } });
      expect(await nodeOf(name)).toMatchObject({
        status: 'pending',
        identity: { kind: 'ec2', instanceId: instance.instanceId, region: ec2.region },
      });
    }
    expect(ec2.requests()).toEqual([]); // the pilot API asked EC2 nothing

    const tick = await tickHandler({ 'detail-type': 'Scheduled Event' });
    expect(tick.proven).toEqual({ approved: [names.good], bound: [] });
    expect(await nodeOf(names.good)).toMatchObject({
      status: 'approved',
      decidedBy: 'system:auto-approve policy',
    });
    expect(ec2.instance(good.instanceId).tags['beam:node']).toBe(names.good);
    // EC2 disagrees about the other: it waits for an admin, its instance untouched.
    expect(await nodeOf(names.foreign)).toMatchObject({ status: 'pending' });
    expect(ec2.instance(foreign.instanceId).tags['beam:node']).toBeUndefined();
    const tagged = ec2.requests().filter((r) => r.action === 'CreateTags');
    expect(tagged.map((r) => r.params['ResourceId.1'])).toEqual([good.instanceId]);

    // The approved sentry's pilot collects its secret on its next poll.
    const collected = await enroll(
      sentryEnrollment(names.good, 1, '10.0.1.10', {
        instanceIdentity: await identityOf(ec2, good.instanceId),
      }),
    );
    expect(collected).toMatchObject({ status: 200, body: { status: 'approved', nodeId: names.good } });
  });

  it('binds a proven sentry an admin approved in chat (no EC2 there) at the next tick', async () => {
    const sentry = launchSentry(ec2, '10.0.1.12');
    const name = `sentry-${sentry.instanceId}`;
    await enroll(
      sentryEnrollment(name, 3, '10.0.1.12', { instanceIdentity: await identityOf(ec2, sentry.instanceId) }),
    );
    // As the Slack function does it: sentry operations are the tick's, so the approval tags nothing.
    const chat = buildDeps(await settingsFromEnv(env, { enrollmentToken: false }), {
      ec2InTick: true,
      log: { info() {}, warn() {}, error() {} },
    });
    await new CommanderApp(chat).approveNode(OPERATOR, name);
    expect(ec2.instance(sentry.instanceId).tags['beam:node']).toBeUndefined();

    expect((await tickHandler({})).proven).toEqual({ approved: [], bound: [name] });
    expect(ec2.instance(sentry.instanceId).tags['beam:node']).toBe(name);
    expect(await nodeOf(name)).toMatchObject({ status: 'approved', decidedBy: 'slack:U123 (alice)' });
  });
});
