/**
 * The commander's settings from CDK context: checked at synth with the commander's own schema, passed
 * to every Lambda, and read back by the commander's own loader from the synthesized template to the
 * same settings (no drift between synth and cold start); or named as an SSM parameter each function
 * may read, and only that one.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { settingsFromEnv } from '../../commander/env.js';
import type { CommanderSettings } from '../../commander/settings.js';
import { selfSignedCertificate } from '../../devnet/ec2/x509.js';
import { buildBeamApp } from '../../infra/beam-app.js';
import { REPO_ROOT } from '../../infra/bundle.js';
import { COMMANDER_ENV, type CommanderStack } from '../../infra/commander-stack.js';
import { deployedEnv, lambdaEnvironments, offlineApp, resourcesOf, templateOf } from './synth.js';

const EXAMPLE = 'infra/examples/settings.json';
const example = JSON.parse(readFileSync(path.join(REPO_ROOT, EXAMPLE), 'utf8'));
const TOKEN = 'fleet-token-0123456789abcdef';

function synth(context: Record<string, unknown>): CommanderStack {
  return buildBeamApp(offlineApp({ 'beam:fleet': 'mainnet', ...context })).commander;
}

/**
 * The settings as a handler loads them in `env` (only the pilot API, the function given the
 * enrollment token, reads it), secrets read from a stand-in Secrets Manager.
 */
const load = (env: Record<string, string>, fetchParameter?: (name: string) => Promise<string>) =>
  settingsFromEnv(env, {
    enrollmentToken: COMMANDER_ENV.enrollmentToken in env,
    fetchSecret: async (id) => (id.includes('EnrollmentToken') ? TOKEN : `secret-of-${id}`),
    fetchParameter:
      fetchParameter ??
      (async () => {
        throw new Error('no parameter expected');
      }),
  });

/** Settings without what differs by design: the table, the token and the key come from the deploy. */
const portable = ({ tableName: _t, enrollmentToken: _e, secrets: _s, ...rest }: CommanderSettings) => rest;

describe('commander settings from context', () => {
  it('the example settings file is what every Lambda loads at cold start, exactly as checked at synth', async () => {
    const stack = synth({ 'beam:settingsFile': EXAMPLE });
    expect(stack.settings).toMatchObject({ chat: example.chat, access: { slack: example.access.slack } });
    const envs = lambdaEnvironments(stack);
    expect(Object.keys(envs)).toHaveLength(5);
    for (const [id, env] of Object.entries(envs)) {
      expect(JSON.parse(env[COMMANDER_ENV.settingsJson] as string), id).toEqual(example);
      const loaded = await load(deployedEnv(env));
      expect(portable(loaded), id).toEqual(portable(stack.settings!));
      // The deploy's own table and key, not stand-ins.
      expect(loaded.tableName, id).toBe(
        `deployed-${stack.getLogicalId(stack.table.node.defaultChild as never)}`,
      );
      expect(loaded.secrets?.kmsKeyId, id).toBe(
        `deployed-${stack.getLogicalId(stack.nodeSecretsKey.node.defaultChild as never)}`,
      );
      expect(loaded.sentry.fleet).toBe('mainnet');
    }
  });

  it('takes inline settings as an object (cdk.json) or JSON text (-c), the same either way', () => {
    const inline = synth({ 'beam:settings': example }).settings;
    expect(synth({ 'beam:settings': JSON.stringify(example) }).settings).toEqual(inline);
    expect(synth({ 'beam:settingsFile': EXAMPLE }).settings).toEqual(inline);
  });

  it('refuses bad settings at synth, naming the context key, the field and the fix', () => {
    const refused = (settings: object) => () => synth({ 'beam:settings': settings });
    expect(refused({ chat: [{ platform: 'irc', chat: 'x' }] })).toThrow(
      /context beam:settings: chat\.0\.platform: Invalid option: expected one of "slack"\|"telegram"\|"console"/,
    );
    expect(refused({ access: { slack: { teamId: 'acme' } } })).toThrow(
      /context beam:settings: access\.slack\.teamId: use the workspace id \(T…\)/,
    );
    expect(refused({ failover: { mode: 'auto', autoApproveAfterMs: 1000 } })).toThrow(
      /context beam:settings: failover\.autoApproveAfterMs: only applies in confirm mode/,
    );
    expect(refused({ autoApprove: { roles: ['sentry'] } })).toThrow(
      /context beam:settings: autoApprove: set beam:autoApproveSentries instead/,
    );
    expect(refused({ sentry: { fleet: 'other' } })).toThrow(/sentry\.fleet: set beam:fleet instead/);
    expect(refused({ tableName: 'beam' })).toThrow(/tableName: the stack creates the table/);
    expect(() => synth({ 'beam:settingsFile': 'infra/examples/none.json' })).toThrow(
      /context beam:settingsFile \(infra\/examples\/none\.json\): ENOENT/,
    );
  });

  it('keeps secrets out of the template: inline paging secrets are refused, pointing to SSM and the webhook secret', () => {
    const pagerduty = { routingKey: 'R'.repeat(32) };
    expect(() => synth({ 'beam:settings': { paging: { pagerduty } } })).toThrow(
      /paging\.pagerduty\.routingKey: a secret here would be stored in plain text .* \(beam:settingsParameter\)/,
    );
    expect(() =>
      synth({
        'beam:settings': {
          paging: { webhook: { url: 'https://hooks.example.org', secret: 'S'.repeat(20) } },
        },
      }),
    ).toThrow(/paging\.webhook\.secret: a secret here/);
  });

  it("fails the synth past Lambda's 4 KB of environment, pointing to the SSM parameter; an identity certificate fits", () => {
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const certificate = selfSignedCertificate(keys, { organization: 'Amazon', commonName: 'ec2' });
    const identity = { ec2: { accountId: '111122223333', certificate } };
    expect(synth({ 'beam:settings': { ...example, identity } }).settings?.identity.ec2?.accountId).toBe(
      '111122223333',
    );
    const users = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`U${1000 + i}`, 'viewer']));
    expect(() => synth({ 'beam:settings': { ...example, access: { slack: { users } } } })).toThrow(
      /context beam:settings: the Pilot Lambda's environment would take about \d+ bytes, over Lambda's 4096 \(the settings \d+ of them\): put the settings in an SSM parameter instead \(beam:settingsParameter/,
    );
  });

  it('warns at synth about settings that leave chat silent, Slack refused or sentries waiting', () => {
    const warnings = (stack: CommanderStack) =>
      Annotations.fromStack(stack)
        .findWarning('*', Match.stringLikeRegexp('.*'))
        .map((w) => String(w.entry.data));
    expect(warnings(synth({}))).toEqual([
      expect.stringMatching(/no chat destination \(settings\.chat\)/),
      expect.stringMatching(/autoApproveSentries is on but settings\.identity\.ec2 is not set/),
    ]);
    const slack = synth({
      'beam:autoApproveSentries': false,
      'beam:settings': { chat: [{ platform: 'slack', chat: 'C1' }] },
    });
    expect(warnings(slack)).toEqual([expect.stringMatching(/access\.slack\.teamId is not set/)]);
  });
});

describe('commander settings in an SSM parameter', () => {
  const NAME = '/beam/mainnet/settings';
  const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-4e5f-6789-abcd-ef0123456789';

  function statements(stack: CommanderStack, fn: keyof CommanderStack['functions']) {
    const roleId = stack.getLogicalId(stack.functions[fn].role!.node.defaultChild as never);
    return Object.values(resourcesOf(templateOf(stack), 'AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties!.Roles).includes(roleId))
      .flatMap((p) => (p.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement);
  }
  const parameterArn = {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':ssm:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        ':parameter/beam/mainnet/settings',
      ],
    ],
  };

  it('names the parameter to every Lambda, which may get that one parameter and nothing else of SSM', () => {
    const stack = synth({ 'beam:settingsParameter': NAME });
    expect(stack.settings).toBeUndefined();
    for (const [id, env] of Object.entries(lambdaEnvironments(stack))) {
      expect(env[COMMANDER_ENV.settingsParameter], id).toBe(NAME);
      expect(env[COMMANDER_ENV.settingsJson], id).toBeUndefined();
    }
    for (const fn of Object.keys(stack.functions) as (keyof CommanderStack['functions'])[]) {
      const ssm = statements(stack, fn).filter((s) => JSON.stringify(s.Action).includes('ssm:'));
      expect(ssm, fn).toEqual([{ Action: 'ssm:GetParameter', Effect: 'Allow', Resource: parameterArn }]);
      // The AWS managed key aws/ssm needs no grant; nothing but node secrets' KMS rights remain.
      expect(JSON.stringify(statements(stack, fn)), fn).not.toContain('kms:ViaService');
    }
  });

  it('decrypts a SecureString with its customer managed key only through SSM and only for that parameter', () => {
    const stack = synth({ 'beam:settingsParameter': NAME, 'beam:settingsParameterKey': KEY });
    for (const fn of Object.keys(stack.functions) as (keyof CommanderStack['functions'])[]) {
      const decrypt = statements(stack, fn).filter((s) => s.Resource === KEY);
      expect(decrypt, fn).toEqual([
        {
          Action: 'kms:Decrypt',
          Effect: 'Allow',
          Resource: KEY,
          Condition: {
            StringEquals: {
              'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
              'kms:EncryptionContext:PARAMETER_ARN': parameterArn,
            },
          },
        },
      ]);
    }
  });

  it('is read at cold start by the commander’s loader, to the settings the same JSON gives at synth', async () => {
    const fromFile = synth({ 'beam:settingsFile': EXAMPLE }).settings!;
    const stack = synth({ 'beam:settingsParameter': NAME });
    const asked: string[] = [];
    for (const env of Object.values(lambdaEnvironments(stack))) {
      const loaded = await load(deployedEnv(env), async (name) => {
        asked.push(name);
        return JSON.stringify(example);
      });
      expect(portable(loaded)).toEqual(portable(fromFile));
    }
    expect(asked).toEqual(Array(5).fill(NAME));
    await expect(
      settingsFromEnv(
        {
          BEAM_TABLE_NAME: 'beam',
          BEAM_ENROLLMENT_TOKEN: TOKEN,
          BEAM_KMS_KEY_ID: 'k',
          BEAM_SETTINGS_PARAMETER: NAME,
        },
        { fetchParameter: async () => '{"chat":[{"platform":"irc"}]}' },
      ),
    ).rejects.toThrow(
      /invalid commander settings \(environment \/ SSM parameter \/beam\/mainnet\/settings\): chat\.0/,
    );
  });

  it('is one way of giving the settings: with inline settings too, the synth fails', () => {
    expect(() => synth({ 'beam:settingsParameter': NAME, 'beam:settingsFile': EXAMPLE })).toThrow(
      /context beam:settingsFile and beam:settingsParameter: give the commander settings one way only/,
    );
    expect(() => synth({ 'beam:settingsParameterKey': KEY })).toThrow(
      /context beam:settingsParameterKey: it decrypts beam:settingsParameter/,
    );
  });
});
