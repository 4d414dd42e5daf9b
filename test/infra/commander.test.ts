import { Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBeamApp } from '../../infra/beam-app.js';
import { COMMANDER_ENV, type CommanderStack } from '../../infra/commander-stack.js';
import { CommanderStack as Commander } from '../../infra/commander-stack.js';
import { acknowledgements, nagFindings, offlineApp, resourcesOf, templateOf } from './synth.js';

const FLEET = 'mainnet';
let stack: CommanderStack;
let template: Template;

type Statement = {
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, string>>;
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
  it('routes the pilot API, Slack and Telegram to the http Lambda with payload v2, and nothing else', () => {
    const routes = resourcesOf(template, 'AWS::ApiGatewayV2::Route');
    expect(
      Object.values(routes)
        .map((r) => r.Properties!.RouteKey)
        .sort(),
    ).toEqual([
      'GET /healthz',
      'POST /slack/events',
      'POST /telegram/webhook',
      'POST /v1/pilot/enroll',
      'POST /v1/pilot/report',
    ]);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [logicalId(stack.httpFunction), 'Arn'] },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
    });
  });

  it('runs both handlers on Node 22 arm64 from ESM bundles, with source maps and their own log groups', () => {
    for (const fn of [stack.httpFunction, stack.tickFunction]) {
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
            BEAM_AUTO_APPROVE_REQUIRE_INSTANCE_ID: 'true',
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
          Arn: { 'Fn::GetAtt': [logicalId(stack.tickFunction), 'Arn'] },
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
    expect(Object.keys(secrets)).toHaveLength(5);
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
        if (/^BEAM_.*(SECRET|TOKEN|PASSWORD|KEY)/i.test(name)) {
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
    for (const fn of [stack.httpFunction, stack.tickFunction]) {
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

  it('gives the tick only the secrets it needs, and the http handler all five', () => {
    const envOf = (fn: typeof stack.httpFunction) =>
      Object.keys(template.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables);
    expect(envOf(stack.httpFunction)).toEqual(
      expect.arrayContaining([
        COMMANDER_ENV.slackSigningSecret,
        COMMANDER_ENV.slackBotToken,
        COMMANDER_ENV.telegramBotToken,
        COMMANDER_ENV.telegramWebhookSecret,
        COMMANDER_ENV.enrollmentToken,
        COMMANDER_ENV.tableName,
        COMMANDER_ENV.fleet,
      ]),
    );
    const tickEnv = envOf(stack.tickFunction);
    expect(tickEnv).toEqual(
      expect.arrayContaining([
        COMMANDER_ENV.slackBotToken,
        COMMANDER_ENV.telegramBotToken,
        COMMANDER_ENV.enrollmentToken,
      ]),
    );
    expect(tickEnv).not.toContain(COMMANDER_ENV.slackSigningSecret);
    expect(tickEnv).not.toContain(COMMANDER_ENV.telegramWebhookSecret);
    const tickSecretReads = policyStatementsOfRole(logicalId(stack.tickFunction.role as Role))
      .filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'))
      .flatMap(resourcesOfStatement);
    expect(tickSecretReads).toHaveLength(3);
  });

  it('grants least privilege: no wildcard actions, table rights on the table only, no managed policies', () => {
    const tableArn = { 'Fn::GetAtt': [logicalId(stack.table), 'Arn'] };
    for (const fn of [stack.httpFunction, stack.tickFunction]) {
      const roleId = logicalId(fn.role as Role);
      expect(template.toJSON().Resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
      const statements = policyStatementsOfRole(roleId);
      for (const s of statements) for (const action of actionsOf(s)) expect(action).not.toContain('*');
      const dynamo = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
      expect(dynamo.length).toBeGreaterThan(0);
      for (const s of dynamo) {
        expect(
          resourcesOfStatement(s).filter((r) => !(r as { Ref?: string }).Ref?.startsWith('AWS::')),
        ).toEqual([tableArn]);
        expect(actionsOf(s)).not.toContain('dynamodb:Scan');
      }
      const logs = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));
      expect(logs.flatMap(resourcesOfStatement)).toHaveLength(1);
    }
  });

  it("conditions every changing EC2 action on the fleet's tags; only Describe is unconditioned", () => {
    const statements = policyStatementsOfRole(logicalId(stack.httpFunction.role as Role)).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('ec2:')),
    );
    const changing = new Set<string>();
    for (const s of statements) {
      const actions = actionsOf(s);
      if (!s.Condition) {
        expect(actions.every((a) => a.startsWith('ec2:Describe'))).toBe(true);
        continue;
      }
      for (const a of actions) changing.add(a);
      const equals = s.Condition.StringEquals!;
      if (actions.includes('ec2:AllocateAddress')) {
        expect(equals).toEqual({ 'aws:RequestTag/beam:managed': 'true', 'aws:RequestTag/beam:fleet': FLEET });
      } else if (equals['ec2:CreateAction']) {
        expect(actions).toEqual(['ec2:CreateTags']);
        expect(equals).toEqual({ 'ec2:CreateAction': 'AllocateAddress' });
      } else {
        expect(equals).toMatchObject({
          'ec2:ResourceTag/beam:managed': 'true',
          'ec2:ResourceTag/beam:fleet': FLEET,
        });
      }
      if (actions.includes('ec2:TerminateInstances'))
        expect(equals['ec2:ResourceTag/beam:role']).toBe('sentry');
      for (const resource of resourcesOfStatement(s)) expect(resource).not.toBe('*');
    }
    expect([...changing].sort()).toEqual([
      'ec2:AllocateAddress',
      'ec2:AssociateAddress',
      'ec2:CreateTags',
      'ec2:DisassociateAddress',
      'ec2:ReleaseAddress',
      'ec2:TerminateInstances',
    ]);
  });

  it('alarms on Errors and Throttles of both functions and on API 5xx, notifying the SNS topic', () => {
    const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).map((a) => a.Properties!);
    expect(alarms.map((a) => `${a.Namespace}:${a.MetricName}`).sort()).toEqual([
      'AWS/ApiGateway:5xx',
      'AWS/Lambda:Errors',
      'AWS/Lambda:Errors',
      'AWS/Lambda:Throttles',
      'AWS/Lambda:Throttles',
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
  it('synthesizes without the handler files while bundling is skipped, at the default 1-minute tick', () => {
    const app = offlineApp();
    const missing = new Commander(app, 'Missing', {
      fleet: FLEET,
      logRetention: RetentionDays.ONE_MONTH,
      entries: { http: 'commander/handlers/not-there-http.ts', tick: 'commander/handlers/not-there-tick.ts' },
    });
    const t = templateOf(missing);
    t.resourceCountIs('AWS::Lambda::Function', 2);
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
          entries: {
            http: 'commander/handlers/not-there-http.ts',
            tick: 'commander/handlers/not-there-tick.ts',
          },
        }),
    ).toThrow(/missing commander\/handlers\/not-there-http\.ts: the commander handler must exist/);
  });
});
