import { Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBeamApp } from '../../infra/beam-app.js';
import {
  COMMANDER_ENV,
  COMMANDER_FUNCTIONS,
  type CommanderStack,
  type SecretName,
} from '../../infra/commander-stack.js';
import { CommanderStack as Commander } from '../../infra/commander-stack.js';
import { acknowledgements, nagFindings, offlineApp, resourcesOf, templateOf } from './synth.js';

const FLEET = 'mainnet';
let stack: CommanderStack;
let template: Template;

type Statement = {
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
};
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesOfStatement = (s: Statement) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

function policyStatementsOfRole(roleId: string): Statement[] {
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter((p) => (p.Properties!.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
    .flatMap((p) => (p.Properties!.PolicyDocument as { Statement: Statement[] }).Statement);
}

function logicalId(construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

const NAMES = ['pilot', 'slack', 'telegram', 'pagerduty', 'tick'] as const;
const roleOf = (name: (typeof NAMES)[number]) => logicalId(stack.functions[name].role as Role);
const envOf = (name: (typeof NAMES)[number]) =>
  template.toJSON().Resources[logicalId(stack.functions[name])].Properties.Environment.Variables as Record<
    string,
    unknown
  >;

/** A role's policy as plain data: each statement's actions, and its resources by logical id or text. */
function policyOf(roleId: string) {
  const resource = (r: unknown): string => {
    const ref = (r as { Ref?: string }).Ref;
    const att = (r as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
    if (ref) return ref;
    if (att) return `${att[0]}.${att[1]}`;
    return typeof r === 'string' ? r : '<arn>';
  };
  return policyStatementsOfRole(roleId).map((s) => ({
    actions: actionsOf(s),
    resources: resourcesOfStatement(s).map(resource),
    ...(s.Condition ? { condition: s.Condition } : {}),
  }));
}

beforeAll(() => {
  const app = offlineApp({
    'beam:fleet': FLEET,
    'beam:tickRateMinutes': '5',
    'beam:alarmEmail': 'ops@example.com',
  });
  stack = buildBeamApp(app).commander;
  template = templateOf(stack);
});

describe('commander stack', () => {
  it('routes each path to its own Lambda with payload v2, and nothing else', () => {
    const integrations = resourcesOf(template, 'AWS::ApiGatewayV2::Integration');
    const routes = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route')).map((r) => {
      const target = (r.Properties!.Target as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1][1] as {
        Ref: string;
      };
      const integration = integrations[target.Ref]!.Properties!;
      expect(integration).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
      const fn = (integration.IntegrationUri as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      return `${r.Properties!.RouteKey} -> ${fn}`;
    });
    const to = (name: (typeof NAMES)[number]) => logicalId(stack.functions[name]);
    expect(routes.sort()).toEqual(
      [
        `GET /healthz -> ${to('pilot')}`,
        `POST /slack/events -> ${to('slack')}`,
        `POST /telegram/webhook -> ${to('telegram')}`,
        `POST /pagerduty/webhook -> ${to('pagerduty')}`,
        `POST /v1/pilot/enroll -> ${to('pilot')}`,
        `POST /v1/pilot/report -> ${to('pilot')}`,
      ].sort(),
    );
  });

  it('throttles the pilot routes apart from the chat routes, each route on its own', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      RouteSettings: {
        'POST /v1/pilot/report': { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
        'POST /v1/pilot/enroll': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
        'POST /slack/events': { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
        'POST /telegram/webhook': { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
        'POST /pagerduty/webhook': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      },
    });
    // Route settings name routes: the stage waits for them.
    const [stage] = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Stage'));
    const routeIds = Object.keys(resourcesOf(template, 'AWS::ApiGatewayV2::Route'));
    for (const id of routeIds.filter((id) => !id.includes('healthz')))
      expect(stage!.DependsOn as string[]).toContain(id);
    // The report route's limit grows with the fleet.
    const larger = templateOf(
      buildBeamApp(offlineApp({ 'beam:pilotRateLimit': '400', 'beam:pilotBurstLimit': '800' })).commander,
    );
    larger.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      RouteSettings: Match.objectLike({
        'POST /v1/pilot/report': { ThrottlingRateLimit: 400, ThrottlingBurstLimit: 800 },
      }),
    });
  });

  it('runs every handler on Node 22 arm64 from ESM bundles, with source maps and their own log groups', () => {
    expect(resourcesOf(template, 'AWS::Lambda::Function')).toSatisfy(
      (fns: object) => Object.keys(fns).length === NAMES.length,
    );
    for (const fn of NAMES.map((name) => stack.functions[name])) {
      const props = template.toJSON().Resources[logicalId(fn)].Properties;
      expect(props).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Environment: {
          Variables: expect.objectContaining({
            NODE_OPTIONS: '--enable-source-maps',
            BEAM_FLEET: FLEET,
            BEAM_AUTO_APPROVE_ROLES: 'sentry',
          }),
        },
      });
      const logGroupId = props.LoggingConfig.LogGroup.Ref as string;
      expect(template.toJSON().Resources[logGroupId]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 30 },
      });
    }
  });

  it('ticks on an EventBridge schedule at the configured rate, without retries', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(stack.functions.tick), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        }),
      ],
    });
  });

  it('keeps state in one retained, on-demand pk/sk table with PITR, TTL and deletion protection', () => {
    const tables = resourcesOf(template, 'AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toHaveLength(1);
    const [table] = Object.values(tables);
    expect(table).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(table!.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      DeletionProtectionEnabled: true,
    });
    expect(table!.Properties!.GlobalSecondaryIndexes).toBeUndefined();
  });

  it('keeps every secret in Secrets Manager and hands the Lambdas only their ARNs', () => {
    const secrets = resourcesOf(template, 'AWS::SecretsManager::Secret');
    expect(Object.keys(secrets)).toHaveLength(6);
    for (const secret of Object.values(secrets)) expect(secret.Properties!.SecretString).toBeUndefined();
    const generated = Object.entries(secrets).filter(([, s]) => s.Properties!.GenerateSecretString);
    expect(generated.map(([id]) => id).join(' ')).toMatch(
      /EnrollmentToken.*TelegramWebhookSecret|Telegram.*Enroll/,
    );

    const secretRef = (value: unknown) =>
      typeof value === 'object' &&
      value !== null &&
      Object.keys(secrets).includes((value as { Ref?: string }).Ref ?? '');
    const looksSecret = /xox[abpr]-|\d{6,}:[\w-]{30,}|-----BEGIN|[A-Za-z0-9+/]{40,}/;
    for (const fn of Object.values(resourcesOf(template, 'AWS::Lambda::Function'))) {
      const env = (fn.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
      for (const [name, value] of Object.entries(env)) {
        if (name === 'BEAM_KMS_KEY_ID') {
          // The key that seals node secrets: its ARN, never key material.
          expect(value).toEqual({ 'Fn::GetAtt': [logicalId(stack.nodeSecretsKey), 'Arn'] });
        } else if (/^BEAM_.*(SECRET|TOKEN|PASSWORD|KEY)/i.test(name)) {
          expect(name, `${name} must carry a secret's ARN`).toMatch(/_SECRET$/);
          expect(secretRef(value), `${name} must reference a Secrets Manager secret`).toBe(true);
        } else if (typeof value === 'string') {
          expect(value, `${name} looks like a secret`).not.toMatch(looksSecret);
        }
      }
      expect(JSON.stringify(env)).not.toMatch(/resolve:secretsmanager|SecretString/);
    }
  });

  it('reads secrets through the Parameters and Secrets extension layer for arm64', () => {
    for (const fn of NAMES.map((name) => stack.functions[name])) {
      const props = template.toJSON().Resources[logicalId(fn)].Properties;
      const [map, , key] = props.Layers[0]['Fn::FindInMap'];
      expect(template.toJSON().Mappings[map]['eu-west-1'][key]).toMatch(
        /^arn:aws:lambda:eu-west-1:\d{12}:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:\d+$/,
      );
      expect(props.Environment.Variables).toMatchObject({
        PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED: 'true',
      });
    }
  });

  it('gives each function exactly the secrets its route reads: the enrollment token to the pilot API alone', () => {
    const secretIds = Object.keys(resourcesOf(template, 'AWS::SecretsManager::Secret'));
    const expected: Record<(typeof NAMES)[number], SecretName[]> = {
      pilot: ['enrollmentToken', 'slackBotToken', 'telegramBotToken'],
      slack: ['slackSigningSecret', 'slackBotToken', 'telegramBotToken'],
      telegram: ['telegramWebhookSecret', 'telegramBotToken', 'slackBotToken'],
      pagerduty: ['pagerDutyWebhookSecret', 'slackBotToken', 'telegramBotToken'],
      tick: ['slackBotToken', 'telegramBotToken'],
    };
    for (const name of NAMES) {
      expect(COMMANDER_FUNCTIONS[name].secrets, name).toEqual(expected[name]);
      const env = envOf(name);
      const secretVars = Object.keys(env).filter((k) => k.endsWith('_SECRET') && k.startsWith('BEAM_'));
      expect(secretVars.sort(), name).toEqual(expected[name].map((s) => COMMANDER_ENV[s]).sort());
      const read = policyStatementsOfRole(roleOf(name))
        .filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'))
        .flatMap(resourcesOfStatement)
        .map((r) => (r as { Ref: string }).Ref);
      expect(read.sort(), name).toEqual(secretVars.map((v) => (env[v] as { Ref: string }).Ref).sort());
      for (const id of read) expect(secretIds).toContain(id);
    }
  });

  it('grants each role exactly its policy: its log group, its table actions, its secrets, EC2 for the tick alone', () => {
    const table = `${logicalId(stack.table)}.Arn`;
    const logs = (name: (typeof NAMES)[number]) => ({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [
        `${stack.getLogicalId(
          stack.node.findChild(`${COMMANDER_FUNCTIONS[name].id}Logs`).node.defaultChild as never,
        )}.Arn`,
      ],
    });
    const secret = (id: string) => ({
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resources: [stack.getLogicalId(stack.node.findChild(id).node.defaultChild as never)],
    });
    const ddb = (...actions: string[]) => ({
      actions: actions.map((a) => `dynamodb:${a}`),
      resources: [table],
    });
    const owned = { 'ec2:ResourceTag/beam:managed': 'true', 'ec2:ResourceTag/beam:fleet': FLEET };
    // Data keys for node secrets, only in a node secret's encryption context.
    const seal = {
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [`${logicalId(stack.nodeSecretsKey)}.Arn`],
      condition: { StringLike: { 'kms:EncryptionContext:purpose': 'beam node secret v1 *' } },
    };
    expect(policyOf(roleOf('pilot'))).toEqual([
      logs('pilot'),
      ddb('GetItem', 'BatchGetItem', 'PutItem'),
      seal,
      secret('EnrollmentToken'),
      secret('SlackBotToken'),
      secret('TelegramBotToken'),
    ]);
    expect(policyOf(roleOf('slack'))).toEqual([
      logs('slack'),
      ddb('GetItem', 'Query', 'PutItem'),
      seal,
      secret('SlackSigningSecret'),
      secret('SlackBotToken'),
      secret('TelegramBotToken'),
    ]);
    expect(policyOf(roleOf('telegram'))).toEqual([
      logs('telegram'),
      ddb('GetItem', 'Query', 'PutItem'),
      seal,
      secret('TelegramWebhookSecret'),
      secret('TelegramBotToken'),
      secret('SlackBotToken'),
    ]);
    // No node secrets: a PagerDuty delivery acknowledges alerts and edits their chat messages.
    expect(policyOf(roleOf('pagerduty'))).toEqual([
      logs('pagerduty'),
      ddb('GetItem', 'Query', 'PutItem'),
      secret('PagerDutyWebhookSecret'),
      secret('SlackBotToken'),
      secret('TelegramBotToken'),
    ]);
    const ownedSentry = { ...owned, 'ec2:ResourceTag/beam:role': 'sentry' };
    expect(policyOf(roleOf('tick'))).toEqual([
      logs('tick'),
      ddb('GetItem', 'Query', 'PutItem'),
      { actions: ['ec2:DescribeInstances', 'ec2:DescribeAddresses', 'ec2:DescribeTags'], resources: ['*'] },
      {
        actions: ['ec2:AssociateAddress', 'ec2:DisassociateAddress', 'ec2:ReleaseAddress'],
        resources: ['<arn>', '<arn>', '<arn>'],
        condition: { StringEquals: owned },
      },
      {
        actions: ['ec2:TerminateInstances'],
        resources: ['<arn>'],
        condition: { StringEquals: ownedSentry },
      },
      // Binding a proven sentry: its own sentries only, and the beam:node tag key alone.
      {
        actions: ['ec2:CreateTags'],
        resources: ['<arn>'],
        condition: {
          StringEquals: ownedSentry,
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['beam:node'] },
        },
      },
      {
        actions: ['ec2:AllocateAddress'],
        resources: ['<arn>'],
        condition: {
          StringEquals: { 'aws:RequestTag/beam:managed': 'true', 'aws:RequestTag/beam:fleet': FLEET },
        },
      },
      {
        actions: ['ec2:CreateTags'],
        resources: ['<arn>'],
        condition: { StringEquals: { 'ec2:CreateAction': 'AllocateAddress' } },
      },
      secret('SlackBotToken'),
      secret('TelegramBotToken'),
    ]);
    for (const name of NAMES) {
      // The table actions are the ones the stack declares (and test/commander/lambda-functions.test.ts measures).
      expect(policyOf(roleOf(name))[1]!.actions).toEqual(
        COMMANDER_FUNCTIONS[name].table.map((a) => `dynamodb:${a}`),
      );
      expect(template.toJSON().Resources[roleOf(name)].Properties.ManagedPolicyArns).toBeUndefined();
      // One policy per role: nothing else is attached anywhere.
      expect(
        Object.values(resourcesOf(template, 'AWS::IAM::Policy')).filter((p) =>
          (p.Properties!.Roles as { Ref: string }[]).some((r) => r.Ref === roleOf(name)),
        ),
      ).toHaveLength(1);
    }
  });

  it("conditions every changing EC2 action on the fleet's tags; only Describe is unconditioned", () => {
    const statements = policyStatementsOfRole(roleOf('tick')).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('ec2:')),
    );
    for (const s of statements) {
      if (!s.Condition) expect(actionsOf(s).every((a) => a.startsWith('ec2:Describe'))).toBe(true);
      else for (const resource of resourcesOfStatement(s)) expect(resource).not.toBe('*');
    }
  });

  it('alarms on Errors and Throttles of every function and on API 5xx, notifying the SNS topic', () => {
    const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties!);
    expect(alarms.map((a) => `${a.Namespace}:${a.MetricName}`).sort()).toEqual([
      'AWS/ApiGateway:5xx',
      ...NAMES.map(() => 'AWS/Lambda:Errors'),
      ...NAMES.map(() => 'AWS/Lambda:Throttles'),
    ]);
    const topicId = Object.keys(resourcesOf(template, 'AWS::SNS::Topic'))[0];
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('passes cdk-nag AwsSolutions, every acknowledgement giving its reason', () => {
    expect(nagFindings(stack)).toEqual([]);
    for (const ack of acknowledgements(stack))
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThan(40);
  });

  it('cdk-nag does report an unacknowledged wildcard (the check above can fail)', () => {
    const probe = new Stack(offlineApp(), 'Probe');
    new Role(probe, 'Wide', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') }).addToPolicy(
      new PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }),
    );
    templateOf(probe);
    expect(nagFindings(probe).join('\n')).toMatch(/AwsSolutions-IAM5/);
  });
});

describe('commander entries', () => {
  const missingEntries = {
    pilot: 'commander/handlers/not-there-pilot.ts',
    slack: 'commander/handlers/not-there-slack.ts',
    telegram: 'commander/handlers/not-there-telegram.ts',
    pagerduty: 'commander/handlers/not-there-pagerduty.ts',
    tick: 'commander/handlers/not-there-tick.ts',
  };
  it('synthesizes without the handler files while bundling is skipped, at the default 1-minute tick', () => {
    const app = offlineApp();
    const missing = new Commander(app, 'Missing', {
      fleet: FLEET,
      logRetention: RetentionDays.ONE_MONTH,
      entries: missingEntries,
    });
    const t = templateOf(missing);
    t.resourceCountIs('AWS::Lambda::Function', 5);
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    expect(resourcesOf(t, 'AWS::SNS::Topic')).toEqual({});
  });

  it('refuses to deploy a missing handler, naming the file', () => {
    const app = offlineApp({ 'aws:cdk:bundling-stacks': ['**'] }, undefined);
    expect(
      () =>
        new Commander(app, 'Bundled', {
          fleet: FLEET,
          logRetention: RetentionDays.ONE_MONTH,
          entries: missingEntries,
        }),
    ).toThrow(/missing commander\/handlers\/not-there-pilot\.ts: the commander handler must exist/);
  });
});
