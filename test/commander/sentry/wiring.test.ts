/**
 * Sentry defence wired into the commander, on dynalite and the EC2 emulation: configuration, people's
 * requests, and a tick that carries a replacement through EC2, the registry, audit and chat.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ec2Config, ec2ConfigFromEnv } from '../../../commander/adapters/ec2/config.js';
import { Ec2Cloud } from '../../../commander/adapters/ec2/ec2-cloud.js';
import type { CommanderDeps } from '../../../commander/app/context.js';
import { requestReplacement, requestRotation } from '../../../commander/app/sentry-ops.js';
import { runSentryTick } from '../../../commander/app/sentry-step.js';
import { runTick } from '../../../commander/app/tick.js';
import { settingsFromEnv } from '../../../commander/env.js';
import { loadServeConfig } from '../../../commander/server/serve.js';
import { CommanderSettings } from '../../../commander/settings.js';
import { loadSentryState } from '../../../commander/sentry/index.js';
import { type Ec2Emulator, startEc2Emulator } from '../../../devnet/ec2/emulator.js';
import { OPERATOR, TOKEN, enroll, enrollRequest, makeCommander, startDynalite } from '../helpers.js';
import { node } from './fixtures.js';

let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let ec2: Ec2Emulator;
let cloud: Ec2Cloud;

beforeAll(async () => {
  dynamo = await startDynalite();
  ec2 = await startEc2Emulator();
  cloud = new Ec2Cloud({
    endpoint: ec2.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'devnet', secretAccessKey: 'devnet' },
  });
});
afterAll(async () => {
  cloud.close();
  await ec2.stop();
  await dynamo.close();
});

describe('sentry defence configuration', () => {
  it('reads the ec2 section and the sentry settings, naming bad fields', () => {
    expect(Ec2Config.parse({ endpoint: 'http://127.0.0.1:4566' })).toMatchObject({ maxAttempts: 3 });
    const half = Ec2Config.safeParse({ accessKeyId: 'AKIA' });
    expect(half.error?.issues[0]?.path).toEqual(['secretAccessKey']);
    expect(Ec2Config.safeParse({ endpoint: 'not a url' }).error?.issues[0]?.path).toEqual(['endpoint']);

    const settings = CommanderSettings.parse({ tableName: 'beam', enrollmentToken: TOKEN });
    expect(settings.sentry).toMatchObject({ fleet: 'beam', floodReportsToAct: 3, minHealthySentries: 2 });
    const bad = CommanderSettings.safeParse({
      tableName: 'beam',
      enrollmentToken: TOKEN,
      sentry: { freshReportMs: 20_000, replaceAfterMs: 10_000 },
    });
    expect(bad.error?.issues[0]?.path).toEqual(['sentry', 'replaceAfterMs']);

    const dir = mkdtempSync(join(tmpdir(), 'beam-sentry-config-'));
    try {
      const file = join(dir, 'commander.toml');
      writeFileSync(
        file,
        [
          '[ec2]',
          'endpoint = "http://127.0.0.1:4566"',
          'region = "eu-west-1"',
          'accessKeyId = "devnet"',
          'secretAccessKey = "devnet"',
          '[settings.sentry]',
          'fleet = "mainnet"',
          'minHealthySentries = 3',
          '[settings.sentry.floodThresholds]',
          'synRecv = 100',
        ].join('\n'),
      );
      const config = loadServeConfig({ config: file }, { BEAM_ENROLLMENT_TOKEN: TOKEN });
      expect(config.ec2).toMatchObject({ endpoint: 'http://127.0.0.1:4566', region: 'eu-west-1' });
      expect(config.settings.sentry).toMatchObject({
        fleet: 'mainnet',
        minHealthySentries: 3,
        floodThresholds: { synRecv: 100 },
      });
      writeFileSync(file, '[ec2]\nregion = "eu-west-1"\nsecretAccessKey = "x"\n');
      expect(() => loadServeConfig({ config: file }, { BEAM_ENROLLMENT_TOKEN: TOKEN })).toThrow(
        /ec2\.secretAccessKey: give both accessKeyId and secretAccessKey/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('turns EC2 on in Lambda with the fleet or an explicit region or endpoint', async () => {
    expect(ec2ConfigFromEnv({})).toBeNull();
    expect(ec2ConfigFromEnv({ BEAM_FLEET: 'mainnet' })).toEqual({ maxAttempts: 3 });
    expect(ec2ConfigFromEnv({ BEAM_EC2_REGION: 'eu-west-1', BEAM_EC2_ENDPOINT: ec2.url })).toMatchObject({
      region: 'eu-west-1',
      endpoint: ec2.url,
    });
    expect(() => ec2ConfigFromEnv({ BEAM_EC2_ENDPOINT: 'nope' })).toThrow(/BEAM_EC2_ENDPOINT.*endpoint/);
    const settings = await settingsFromEnv({
      BEAM_TABLE_NAME: 'beam',
      BEAM_ENROLLMENT_TOKEN: TOKEN,
      BEAM_KMS_KEY_ID: 'alias/beam-node-secrets',
      BEAM_FLEET: 'mainnet',
      BEAM_SETTINGS_JSON: JSON.stringify({ sentry: { minHealthySentries: 1 } }),
    });
    expect(settings.sentry).toMatchObject({ fleet: 'mainnet', minHealthySentries: 1 });
  });
});

describe('sentry defence in the commander', () => {
  it('answers requests it cannot carry out, and audits refusals', async () => {
    const c = await makeCommander(dynamo.endpoint);
    const noCloud = await requestRotation(c.deps, { sentry: 'sentry-a', actor: OPERATOR });
    expect(noCloud).toMatchObject({ accepted: false, summary: expect.stringMatching(/configure EC2/) });
    expect(await runSentryTick(c.deps)).toBeNull();

    const deps: CommanderDeps = { ...c.deps, cloud };
    const badName = await requestRotation(deps, { sentry: 'Sentry A!', actor: OPERATOR });
    expect(badName).toMatchObject({ accepted: false, summary: expect.stringMatching(/not a node name/) });
    const unknown = await requestReplacement(deps, { sentry: 'sentry-z', actor: OPERATOR });
    expect(unknown).toEqual({
      accepted: false,
      summary: 'Not started: sentry-z is not a sentry in the registry',
    });
    const audit = await c.store.listAudit(10);
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: 'sentry.replace',
        target: 'sentry-z',
        outcome: 'denied',
        actor: 'slack:U123 (alice)',
      }),
    );
  });

  it('terminates a sentry on request at the next tick, removes it from the registry and re-wires the validator', async () => {
    const c = await makeCommander(dynamo.endpoint, {
      sentry: { fleet: 'wiring', minHealthySentries: 1 },
      autoApprove: { roles: ['sentry'] },
    });
    const deps: CommanderDeps = { ...c.deps, cloud };
    const tags = { 'beam:managed': 'true', 'beam:fleet': 'wiring', 'beam:role': 'sentry' };
    const doomed = ec2.addInstance({ name: 'sentry-a', tags: { ...tags, 'beam:node': 'sentry-a' } });
    const kept = ec2.addInstance({ name: 'sentry-b', tags: { ...tags, 'beam:node': 'sentry-b' } });
    const at = c.clock.now();
    const registry = [
      node('sentry-a', 'sentry', 1, { instanceId: doomed.instanceId, lastSeen: at }),
      node('sentry-b', 'sentry', 2, { instanceId: kept.instanceId, lastSeen: at }),
      node('val-1', 'validator', 11, { lastSeen: at }),
    ];
    for (const n of registry) {
      await c.store.putNode(n, null);
      await c.store.putSecretOnce(n.id, `secret-${n.id}`);
    }
    // A first tick starts the state with the registry's sentries wired, and changes nothing else.
    expect(await runSentryTick(deps)).toMatchObject({ cloudCalls: 0 });
    expect((await c.store.getNode('val-1'))?.value.actions).toEqual([]);

    const answer = await requestReplacement(deps, { sentry: 'sentry-a', actor: OPERATOR });
    expect(answer).toMatchObject({ accepted: true, operationId: 'rep-sentry-a-1' });
    expect(ec2.instance(doomed.instanceId).state).toBe('running'); // the cloud call waits for the tick
    expect(c.transport.posts.map((p) => p.message.title)).toContain(
      'Replacing sentry-a: terminating its instance',
    );

    expect(await runSentryTick(deps)).toMatchObject({ cloudCalls: 1 });
    await ec2.idle();
    expect(ec2.instance(doomed.instanceId).state).toBe('terminated');
    expect(ec2.instance(kept.instanceId).state).toBe('running');
    const state = (await loadSentryState(c.store, 'wiring')).state;
    expect(state.ops['rep-sentry-a-1']).toMatchObject({ phase: 'awaiting-replacement' });

    // Gone from the registry (node and secret), while the validator's config drops it.
    expect(await c.store.getNode('sentry-a')).toBeNull();
    expect(await c.store.getSecret('sentry-a')).toBeNull();
    expect((await c.store.listNodes()).map((n) => n.value.id).sort()).toEqual(['sentry-b', 'val-1']);
    const validator = (await c.store.getNode('val-1'))!.value;
    expect(validator.desiredConfig?.patch.p2p?.persistent_peers).toEqual([
      `${'02'.repeat(20)}@10.0.0.2:26656`,
    ]);
    expect(validator.actions.map((a) => a.type)).toEqual(['apply-config']);
    const actions = (await c.store.listAudit(20)).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['sentry.replacement.started', 'sentry.replacement.terminated']),
    );
    expect(c.transport.updates.map((u) => u.message.title)).toContain(
      'Replacing sentry-a: waiting for the new sentry to enroll',
    );

    // The name is free again: a replacement may enroll under it (a claimed instance id waits for a
    // person; a proven one is approved at once, test/security/instance-claim.test.ts).
    const again = await enroll(
      c,
      enrollRequest({ name: 'sentry-a', role: 'sentry', claim: 'd'.repeat(64), instanceId: 'i-new' }),
    );
    expect(again.body).toMatchObject({ status: 'pending', nodeId: 'sentry-a' });
  });
  it('fails a rotation EC2 refuses: the sentry is started again, and chat offers to try again', async () => {
    const c = await makeCommander(dynamo.endpoint, {
      sentry: { fleet: 'refused', minHealthySentries: 1, cooldownMs: 0 },
    });
    const deps: CommanderDeps = { ...c.deps, cloud };
    const tags = { 'beam:managed': 'true', 'beam:fleet': 'refused', 'beam:role': 'sentry' };
    const at = c.clock.now();
    for (const [i, id] of ['sentry-a', 'sentry-b'].entries()) {
      const instance = ec2.addInstance({ name: id, tags: { ...tags, 'beam:node': id } });
      await c.store.putNode(
        node(id, 'sentry', i + 1, { instanceId: instance.instanceId, lastSeen: at }),
        null,
      );
    }
    const answer = await requestRotation(deps, { sentry: 'sentry-a', actor: OPERATOR });
    expect(answer).toMatchObject({ accepted: true, operationId: 'rot-sentry-a-1' });
    const queued = (await c.store.getNode('sentry-a'))!.value.actions;
    expect(queued.map((a) => [a.id, a.type])).toEqual([['rot-sentry-a-1.stop', 'stop-daemon']]);

    // The pilot stopped the daemon; EC2 then refuses the allocation (the IAM policy lacks it).
    const stopped = (await c.store.getNode('sentry-a'))!;
    const result = { id: 'rot-sentry-a-1.stop', type: 'stop-daemon', ok: true, finishedAt: at };
    await c.store.putNode(
      {
        ...stopped.value,
        lastSeq: 2,
        lastReport: { ...stopped.value.lastReport!, seq: 2 },
        actions: [],
        recentResults: [result],
      },
      stopped.version,
    );
    ec2.setPermissionDenied('AllocateAddress');
    try {
      await runTick(deps); // the whole tick: sentry defence, then the alerts from its findings
    } finally {
      ec2.setPermissionDenied('AllocateAddress', false);
    }
    const op = (await loadSentryState(c.store, 'refused')).state.ops['rot-sentry-a-1'];
    expect(op).toMatchObject({
      phase: 'failed',
      failure: expect.stringMatching(/^unauthorized: .*ec2:AllocateAddress/),
    });
    // Never left stopped: the daemon is started again with its old address.
    const restore = (await c.store.getNode('sentry-a'))!.value.actions;
    expect(restore.filter((a) => a.id.startsWith('rot-')).map((a) => [a.id, a.type])).toEqual([
      ['rot-sentry-a-1.restore', 'start-daemon'],
    ]);
    const failed = c.transport.updates.find((u) => u.message.title === 'IP rotation of sentry-a failed');
    expect(failed?.message.buttons?.map((b) => b.label)).toEqual(['Rotate again']);
    const alert = (await c.store.getAlert('sentry:sentry-a:rotation-failed'))?.value;
    expect(alert).toMatchObject({
      state: 'open',
      severity: 'critical',
      title: 'IP rotation of sentry-a failed',
    });
    // Told in sentry-a's alert message (with whatever else is wrong with it).
    const told = [...c.transport.posts, ...c.transport.updates].map(
      (m) => `${m.message.title}\n${m.message.text}`,
    );
    expect(told.some((t) => t.includes('IP rotation of sentry-a failed'))).toBe(true);

    // A newer rotation of that sentry clears the alert (no cooldown in this fleet's settings).
    const retry = await requestRotation(deps, { sentry: 'sentry-a', actor: OPERATOR });
    expect(retry).toMatchObject({ accepted: true, operationId: 'rot-sentry-a-2' });
    await runTick(deps);
    expect((await c.store.getAlert('sentry:sentry-a:rotation-failed'))?.value.state).toBe('resolved');
    expect(ec2.addresses().filter((a) => a.tags['beam:fleet'] === 'refused')).toEqual([]);
  });
});
