import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  Annotations,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import {
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Alarm, ComparisonOperator, type Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import {
  Architecture,
  Code,
  ParamsAndSecretsLayerVersion,
  ParamsAndSecretsLogLevel,
  ParamsAndSecretsVersions,
  Runtime,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { CommanderSettings } from '../commander/settings.js';
import { COMMANDER_ENTRIES, type CommanderEntries, LAMBDA_BUNDLE, REPO_ROOT } from './bundle.js';
import { checkSettings, type SettingsSource, settingsWarnings } from './commander-settings.js';
import { fleetEc2Statements } from './ec2-policy.js';
import { environmentBytes, LAMBDA_ENV_LIMIT_BYTES } from './lambda-env.js';
import { localBundling, requireFiles } from './local-bundling.js';

/** Node 22: the runtime the bundles target (LAMBDA_BUNDLE.target). */
export const LAMBDA_RUNTIME = Runtime.NODEJS_22_X;

/**
 * The environment variables the commander's Lambdas get (commander/env.ts reads them). A secret is
 * passed as `<NAME>_SECRET`, its ARN; the handlers read its value at runtime through the AWS
 * Parameters and Secrets Lambda extension.
 */
export const COMMANDER_ENV = {
  tableName: 'BEAM_TABLE_NAME',
  fleet: 'BEAM_FLEET',
  autoApproveRoles: 'BEAM_AUTO_APPROVE_ROLES',
  slackSigningSecret: 'BEAM_SLACK_SIGNING_SECRET_SECRET',
  slackBotToken: 'BEAM_SLACK_BOT_TOKEN_SECRET',
  telegramBotToken: 'BEAM_TELEGRAM_BOT_TOKEN_SECRET',
  telegramWebhookSecret: 'BEAM_TELEGRAM_WEBHOOK_SECRET_SECRET',
  enrollmentToken: 'BEAM_ENROLLMENT_TOKEN_SECRET',
  pagerDutyWebhookSecret: 'BEAM_PAGERDUTY_WEBHOOK_SECRET_SECRET',
  nodeSecretsKey: 'BEAM_KMS_KEY_ID',
  settingsJson: 'BEAM_SETTINGS_JSON',
  settingsParameter: 'BEAM_SETTINGS_PARAMETER',
} as const;

export type SecretName =
  | 'slackSigningSecret'
  | 'slackBotToken'
  | 'telegramBotToken'
  | 'telegramWebhookSecret'
  | 'enrollmentToken'
  | 'pagerDutyWebhookSecret';

/** The DynamoDB actions the store adapter (commander/adapters/store/store.ts) sends. */
export type TableAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'PutItem';

export interface CommanderFunction {
  /** Construct id: `<id>`, `<id>Role`, `<id>Logs`, `<id>Errors`, … */
  id: string;
  /** API routes (`METHOD /path`) it serves; none for the scheduled tick. */
  routes: readonly string[];
  /** Its actions on the table, exactly what its routes call (test/commander/lambda-functions.test.ts). */
  table: readonly TableAction[];
  /** The secrets it may read. */
  secrets: readonly SecretName[];
  /** Sentry defence's EC2 rights (infra/ec2-policy.ts). */
  ec2: boolean;
  /**
   * KMS data keys for node secrets at rest: `seal` creates one (enrollment, approval), `open` reads
   * one (every signed report and reply). commander/adapters/secrets.
   */
  nodeSecrets: 'seal' | 'open' | 'none';
  memorySize: number;
  timeout: Duration;
}

/**
 * The commander's Lambdas, one per route family, and each one's rights: nothing a route does not
 * call. commander/README.md lists the same. All post to chat (enrollment, failover, alerts,
 * operations), hence the bot tokens everywhere; only the pilot API checks the enrollment token, only
 * each webhook route (Slack, Telegram, PagerDuty) verifies its own sender's requests, only the tick
 * calls EC2. Nobody may UpdateItem, DeleteItem or Scan: every write is a conditional PutItem, and
 * removal is a TTL.
 */
export const COMMANDER_FUNCTIONS: Record<keyof CommanderEntries, CommanderFunction> = {
  pilot: {
    id: 'Pilot',
    routes: ['POST /v1/pilot/enroll', 'POST /v1/pilot/report', 'GET /healthz'],
    table: ['GetItem', 'BatchGetItem', 'PutItem'],
    secrets: ['enrollmentToken', 'slackBotToken', 'telegramBotToken'],
    ec2: false,
    nodeSecrets: 'seal',
    memorySize: 512,
    timeout: Duration.seconds(15),
  },
  slack: {
    id: 'Slack',
    routes: ['POST /slack/events'],
    table: ['GetItem', 'Query', 'PutItem'],
    secrets: ['slackSigningSecret', 'slackBotToken', 'telegramBotToken'],
    ec2: false,
    nodeSecrets: 'seal',
    memorySize: 512,
    timeout: Duration.seconds(15),
  },
  telegram: {
    id: 'Telegram',
    routes: ['POST /telegram/webhook'],
    table: ['GetItem', 'Query', 'PutItem'],
    secrets: ['telegramWebhookSecret', 'telegramBotToken', 'slackBotToken'],
    ec2: false,
    nodeSecrets: 'seal',
    memorySize: 512,
    timeout: Duration.seconds(15),
  },
  pagerduty: {
    id: 'PagerDuty',
    routes: ['POST /pagerduty/webhook'],
    table: ['GetItem', 'Query', 'PutItem'],
    secrets: ['pagerDutyWebhookSecret', 'slackBotToken', 'telegramBotToken'],
    ec2: false,
    nodeSecrets: 'none',
    memorySize: 256,
    timeout: Duration.seconds(15),
  },
  tick: {
    id: 'Tick',
    routes: [],
    table: ['GetItem', 'Query', 'PutItem'],
    secrets: ['slackBotToken', 'telegramBotToken'],
    ec2: true,
    nodeSecrets: 'none',
    memorySize: 512,
    timeout: Duration.seconds(50),
  },
};

/**
 * API Gateway throttles per route (requests per second, burst), each route its own bucket: a flood of
 * one cannot starve another. The report route's comes from `beam:pilotRateLimit` (it grows with the
 * fleet); people and their chat platforms need little; the stage default covers `/healthz`.
 */
export const ROUTE_THROTTLES = {
  'POST /v1/pilot/enroll': { rateLimit: 5, burstLimit: 10 },
  'POST /slack/events': { rateLimit: 10, burstLimit: 20 },
  'POST /telegram/webhook': { rateLimit: 10, burstLimit: 20 },
  'POST /pagerduty/webhook': { rateLimit: 5, burstLimit: 10 },
  default: { rateLimit: 10, burstLimit: 20 },
} as const satisfies Record<string, ThrottleSettings>;

export interface CommanderStackProps extends StackProps {
  fleet: string;
  /** Interval of the tick Lambda (default 1 minute). */
  tickRate?: Duration;
  /** Throttle of `POST /v1/pilot/report` (default 100 requests per second, burst 200). */
  pilotThrottle?: ThrottleSettings;
  logRetention: RetentionDays;
  /**
   * Sentries that prove their instance (EC2 identity document, `identity.ec2` in the settings) are
   * approved without a chat click, by the tick once EC2 agrees (default false).
   */
  autoApproveSentries?: boolean;
  /** E-mail subscribed to an SNS topic that receives the alarms; no topic when absent. */
  alarmEmail?: string;
  /** Lambda entry files relative to the repository root (default COMMANDER_ENTRIES). */
  entries?: CommanderEntries;
  /** The commander's settings (default: none, i.e. its defaults: no chat destination, nobody allowed). */
  settings?: SettingsSource;
}

export class CommanderStack extends Stack {
  readonly table: Table;
  readonly api: HttpApi;
  /** The commander's base URL (the API's `$default` stage), for pilots. */
  readonly url: string;
  readonly enrollmentToken: Secret;
  readonly nodeSecretsKey: Key;
  readonly functions: Record<keyof CommanderEntries, NodejsFunction>;
  readonly alarms: Alarm[] = [];
  /** The settings the Lambdas will run with, as checked at synth; undefined when they come from SSM. */
  readonly settings: CommanderSettings | undefined;

  constructor(scope: Construct, id: string, props: CommanderStackProps) {
    super(scope, id, props);
    const entries = props.entries ?? COMMANDER_ENTRIES;

    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'ttl',
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const secrets = this.createSecrets();
    this.enrollmentToken = secrets.enrollmentToken;
    // Seals each node's HMAC secret in the table (envelope encryption, one data key per secret).
    this.nodeSecretsKey = new Key(this, 'NodeSecretsKey', {
      description: `Beam ${props.fleet}: seals node secrets at rest`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const settings = props.settings ?? { kind: 'json', json: {}, from: 'beam:settings' };
    const environment: Record<string, string> = {
      [COMMANDER_ENV.nodeSecretsKey]: this.nodeSecretsKey.keyArn,
      [COMMANDER_ENV.tableName]: this.table.tableName,
      [COMMANDER_ENV.fleet]: props.fleet,
      [COMMANDER_ENV.autoApproveRoles]: props.autoApproveSentries ? 'sentry' : '',
      ...(settings.kind === 'parameter'
        ? { [COMMANDER_ENV.settingsParameter]: settings.name }
        : Object.keys(settings.json).length > 0
          ? { [COMMANDER_ENV.settingsJson]: JSON.stringify(settings.json) }
          : {}),
    };
    // Checked now, as the commander will parse them at cold start: a deploy never ships settings the
    // commander refuses (those in SSM are checked when read).
    this.settings = settings.kind === 'json' ? checkSettings(settings, environment) : undefined;
    if (this.settings) {
      for (const warning of settingsWarnings(this.settings, props.autoApproveSentries ?? false)) {
        Annotations.of(this).addWarningV2('beam:settings', `${settings.from}: ${warning}`);
      }
    }
    const build = (name: keyof CommanderEntries) => {
      const fn = this.commanderFunction(
        COMMANDER_FUNCTIONS[name],
        entries[name],
        props,
        environment,
        secrets,
      );
      checkEnvironmentSize(fn, settings.from);
      return fn;
    };
    this.functions = {
      pilot: build('pilot'),
      slack: build('slack'),
      telegram: build('telegram'),
      pagerduty: build('pagerduty'),
      tick: build('tick'),
    };

    new Rule(this, 'TickSchedule', {
      description: 'Beam commander tick: health, alerts, failover and governance timers',
      schedule: Schedule.rate(props.tickRate ?? Duration.minutes(1)),
      // A missed tick is superseded by the next one; retrying it would only pile up.
      targets: [
        new LambdaFunction(this.functions.tick, { retryAttempts: 0, maxEventAge: Duration.minutes(1) }),
      ],
    });

    this.api = this.createApi(props.logRetention, props.pilotThrottle ?? { rateLimit: 100, burstLimit: 200 });
    this.url = this.api.apiEndpoint;
    this.createAlarms(props.alarmEmail);

    new CfnOutput(this, 'CommanderUrl', { value: this.url, description: 'commander.url for pilots' });
    new CfnOutput(this, 'SlackRequestUrl', { value: `${this.url}/slack/events` });
    new CfnOutput(this, 'TelegramWebhookUrl', { value: `${this.url}/telegram/webhook` });
    new CfnOutput(this, 'PagerDutyWebhookUrl', { value: `${this.url}/pagerduty/webhook` });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    for (const [name, secret] of Object.entries(secrets)) {
      new CfnOutput(this, `${name[0]!.toUpperCase()}${name.slice(1)}SecretArn`, { value: secret.secretArn });
    }
  }

  private createSecrets() {
    const operatorSet = (id: string, what: string) =>
      new Secret(this, id, {
        description: `${what}; set by the operator after deploy (aws secretsmanager put-secret-value)`,
      });
    // Telegram accepts 1-256 characters of A-Z a-z 0-9 _ - as webhook secret token.
    const generated = (id: string, what: string, length: number) =>
      new Secret(this, id, {
        description: `${what}; generated at deploy`,
        generateSecretString: { passwordLength: length, excludePunctuation: true, includeSpace: false },
      });
    const secrets = {
      slackSigningSecret: operatorSet('SlackSigningSecret', 'Slack app signing secret'),
      slackBotToken: operatorSet('SlackBotToken', 'Slack bot token (xoxb-…)'),
      telegramBotToken: operatorSet('TelegramBotToken', 'Telegram bot token from @BotFather'),
      telegramWebhookSecret: generated('TelegramWebhookSecret', 'Telegram webhook secret token', 64),
      enrollmentToken: generated('EnrollmentToken', 'Fleet enrollment token for new pilots', 48),
      pagerDutyWebhookSecret: operatorSet(
        'PagerDutyWebhookSecret',
        "PagerDuty v3 webhook subscription's signing secret (two, whitespace-separated, while rotating)",
      ),
    };
    for (const secret of Object.values(secrets)) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Slack, Telegram and PagerDuty issue their tokens, so AWS cannot rotate them; the webhook secret ' +
          'and the enrollment token are rotated by the operator (put-secret-value), since a rotation must be ' +
          'coordinated with Telegram setWebhook and with pilots still to enroll.',
      });
    }
    return secrets;
  }

  /**
   * A commander Lambda bundled by NodejsFunction with LAMBDA_BUNDLE, its own log group and a role
   * limited to that log group, its table actions, its secrets, the settings parameter (when the settings
   * are in SSM) and (the tick) the fleet's EC2 resources.
   */
  private commanderFunction(
    spec: CommanderFunction,
    entry: string,
    props: CommanderStackProps,
    environment: Record<string, string>,
    secrets: Record<SecretName, Secret>,
  ): NodejsFunction {
    const { id } = spec;
    const logGroup = new LogGroup(this, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(this, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Beam commander ${id.toLowerCase()} Lambda`,
    });
    logGroup.grantWrite(role);
    this.table.grant(role, ...spec.table.map((action) => `dynamodb:${action}`));
    if (spec.ec2) {
      for (const statement of fleetEc2Statements(props.fleet)) role.addToPolicy(statement);
      acknowledgeFleetEc2Wildcards(role);
    }
    if (props.settings?.kind === 'parameter') this.grantSettingsParameter(role, props.settings);
    if (spec.nodeSecrets !== 'none') {
      // Only data keys bound to a node secret's context (commander/adapters/secrets/box.ts).
      role.addToPolicy(
        new PolicyStatement({
          actions: spec.nodeSecrets === 'seal' ? ['kms:GenerateDataKey', 'kms:Decrypt'] : ['kms:Decrypt'],
          resources: [this.nodeSecretsKey.keyArn],
          conditions: { StringLike: { 'kms:EncryptionContext:purpose': 'beam node secret v1 *' } },
        }),
      );
    }
    const secretArns: Record<string, string> = {};
    for (const name of spec.secrets) {
      secrets[name].grantRead(role);
      secretArns[COMMANDER_ENV[name]] = secrets[name].secretArn;
    }

    const fn = new NodejsFunction(this, id, {
      ...this.bundledCode(entry),
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: spec.memorySize,
      timeout: spec.timeout,
      role,
      logGroup,
      // Serves GetSecretValue on localhost with a cache: a rotated secret reaches the handlers in 5 min.
      paramsAndSecrets: ParamsAndSecretsLayerVersion.fromVersion(ParamsAndSecretsVersions.V1_0_103, {
        secretsManagerTtl: Duration.minutes(5),
        logLevel: ParamsAndSecretsLogLevel.WARN,
      }),
      environment: { ...environment, ...secretArns, NODE_OPTIONS: '--enable-source-maps' },
      description: `Beam commander ${id.toLowerCase()} handler (${entry})`,
    });
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to Node.js 22, the target of the bundles and of the whole code base (docs/architecture.md).',
    });
    return fn;
  }

  /**
   * NodejsFunction insists that its entry exists even when CDK skips bundling this stack, and the
   * commander's handlers are built apart from infra. A missing entry is therefore handed to CDK as a
   * bundling step that fails with a clear message, which only a bundled synth (a deploy) ever runs.
   */
  private bundledCode(entry: string) {
    if (existsSync(path.resolve(REPO_ROOT, entry))) {
      return {
        entry: path.resolve(REPO_ROOT, entry),
        projectRoot: REPO_ROOT,
        depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
        bundling: {
          format: OutputFormat.ESM,
          target: LAMBDA_BUNDLE.target,
          minify: LAMBDA_BUNDLE.minify,
          sourceMap: LAMBDA_BUNDLE.sourceMap,
          externalModules: [...LAMBDA_BUNDLE.externalModules],
          mainFields: [...LAMBDA_BUNDLE.mainFields],
          banner: LAMBDA_BUNDLE.banner,
        },
      };
    }
    return {
      handler: 'index.handler',
      code: Code.fromAsset(REPO_ROOT, {
        bundling: localBundling(() =>
          requireFiles(REPO_ROOT, [entry], 'the commander handler must exist before this stack is deployed'),
        ),
      }),
    };
  }

  /**
   * Settings in SSM: the function may read that one parameter (the extension's GetParameter) and, for
   * a SecureString under a customer managed key, decrypt with that key only through SSM and only for
   * that parameter. The AWS managed key aws/ssm needs no grant: its key policy allows SSM's callers.
   */
  private grantSettingsParameter(role: Role, settings: Extract<SettingsSource, { kind: 'parameter' }>): void {
    const parameterArn = this.formatArn({
      service: 'ssm',
      resource: 'parameter',
      resourceName: settings.name.replace(/^\//, ''),
    });
    role.addToPolicy(new PolicyStatement({ actions: ['ssm:GetParameter'], resources: [parameterArn] }));
    if (settings.kmsKeyArn) {
      role.addToPolicy(
        new PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [settings.kmsKeyArn],
          conditions: {
            StringEquals: {
              'kms:ViaService': `ssm.${this.region}.amazonaws.com`,
              'kms:EncryptionContext:PARAMETER_ARN': parameterArn,
            },
          },
        }),
      );
    }
  }

  /** The HTTP API: each route to its function, each with its own throttle (ROUTE_THROTTLES). */
  private createApi(logRetention: RetentionDays, pilotThrottle: ThrottleSettings): HttpApi {
    const api = new HttpApi(this, 'Api', {
      description: 'Beam commander: pilot API, Slack events, Telegram and PagerDuty webhooks',
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const stage = new HttpStage(this, 'DefaultStage', {
      httpApi: api,
      autoDeploy: true,
      throttle: ROUTE_THROTTLES.default,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });
    const throttles: Record<string, ThrottleSettings> = {
      ...ROUTE_THROTTLES,
      'POST /v1/pilot/report': pilotThrottle,
    };
    // CloudFormation passes this map on as JSON: its keys are route keys, its fields PascalCase.
    const routeSettings: Record<string, { ThrottlingRateLimit?: number; ThrottlingBurstLimit?: number }> = {};
    for (const [name, spec] of Object.entries(COMMANDER_FUNCTIONS)) {
      const fn = this.functions[name as keyof CommanderEntries];
      const integration = new HttpLambdaIntegration(spec.id, fn);
      for (const routeKey of spec.routes) {
        const [method, path] = routeKey.split(' ') as [keyof typeof HttpMethod, string];
        const [added] = api.addRoutes({ path, methods: [HttpMethod[method]], integration });
        Validations.of(added!).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'Each route authenticates in the handler with its own scheme, which API Gateway authorizers ' +
            'cannot express: per-node HMAC signatures (pilot API), the Slack signing secret, the Telegram ' +
            'secret-token header; /healthz reveals nothing.',
        });
        const throttle = throttles[routeKey];
        if (throttle) {
          routeSettings[routeKey] = {
            ThrottlingRateLimit: throttle.rateLimit,
            ThrottlingBurstLimit: throttle.burstLimit,
          };
          // Route settings name routes that must exist before the stage is updated.
          stage.node.addDependency(added!);
        }
      }
    }
    (stage.node.defaultChild as CfnStage).routeSettings = routeSettings;
    return api;
  }

  private createAlarms(alarmEmail: string | undefined): void {
    const topic = alarmEmail ? new Topic(this, 'AlarmTopic', { enforceSSL: true }) : undefined;
    if (topic && alarmEmail) topic.addSubscription(new EmailSubscription(alarmEmail));
    const alarm = (id: string, metric: Metric, description: string) => {
      const created = new Alarm(this, id, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (topic) created.addAlarmAction(new SnsAction(topic));
      this.alarms.push(created);
    };
    const period = Duration.minutes(5);
    for (const [key, { id: name }] of Object.entries(COMMANDER_FUNCTIONS)) {
      const fn = this.functions[key as keyof CommanderEntries];
      alarm(
        `${name}Errors`,
        fn.metricErrors({ period }),
        `Beam ${name.toLowerCase()} Lambda returned errors`,
      );
      alarm(
        `${name}Throttles`,
        fn.metricThrottles({ period }),
        `Beam ${name.toLowerCase()} Lambda was throttled`,
      );
    }
    alarm('Api5xx', this.api.metricServerError({ period }), 'Beam commander API answered 5xx');
  }
}

/**
 * Refuses a function whose environment Lambda would refuse at deploy (over 4 KB): settings that big
 * belong in SSM, where they share no limit with the stack's variables (4 KB a standard parameter,
 * 8 KB an advanced one) and stay out of the template.
 */
function checkEnvironmentSize(fn: NodejsFunction, settingsFrom: string): void {
  const { total, byName } = environmentBytes(fn);
  if (total <= LAMBDA_ENV_LIMIT_BYTES) return;
  const settingsBytes = byName[COMMANDER_ENV.settingsJson] ?? 0;
  throw new Error(
    `Beam CDK context is invalid:\n  context ${settingsFrom}: the ${fn.node.id} Lambda's environment would take about ` +
      `${total} bytes, over Lambda's ${LAMBDA_ENV_LIMIT_BYTES} (the settings ${settingsBytes} of them): put the settings ` +
      'in an SSM parameter instead (beam:settingsParameter, a SecureString if they hold secrets)',
  );
}

/** The fleet EC2 policy's wildcards, each with the reason it cannot be narrower. */
function acknowledgeFleetEc2Wildcards(role: Role): void {
  Validations.of(role).acknowledge(
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'EC2 Describe actions do not support resource-level permissions; they only read.',
    },
    ...['elastic-ip', 'instance', 'network-interface'].map((resource) => ({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:${resource}/*]`,
      reason:
        'Elastic IPs and sentries come and go at runtime, so their ids are unknown here; every action on ' +
        'them is conditioned on the beam:managed and beam:fleet tags (and allocation on request tags).',
    })),
  );
}
