import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as z from 'zod';
import { daemonBinaryProblems } from './pilot-boot.js';

const RETENTION_DAYS = Object.values(RetentionDays).filter(
  (v): v is number => typeof v === 'number' && v > 0,
);

/**
 * The CDK context keys Beam reads (`cdk.json` "context", or `cdk deploy -c key=value`). Values given
 * on the command line arrive as strings, hence the coercion of numbers.
 */
const count = (fallback: number) => z.coerce.number().int().min(0).max(100).default(fallback);
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

/**
 * A JSON object: as written in cdk.json, or as JSON text on the command line (`-c 'key={…}'`, which
 * arrives as a string). Text that is no JSON stays a string, for the schema to refuse with its hint.
 */
const jsonObject = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }, schema);

const amiId = z.string().regex(/^ami-[0-9a-f]{8,17}$/, 'use an AMI id such as "ami-0123456789abcdef0"');

export const BeamContext = z.strictObject({
  /** Fleet name: tags every managed resource (`beam:fleet`) and scopes the commander's EC2 rights. */
  'beam:fleet': z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,30}$/, 'use 1-31 lowercase letters, digits or dashes, e.g. "mainnet"')
    .default('beam'),
  'beam:chainId': z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,49}$/, 'use a Cosmos chain id such as "cosmoshub-4"')
    .default('cosmoshub-4'),
  /** systemd unit of the chain daemon the pilot supervises, and the daemon's home directory. */
  'beam:daemonUnit': z
    .string()
    .regex(/^[a-zA-Z0-9@_.-]+\.service$/, 'use a systemd unit name such as "gaiad.service"')
    .default('gaiad.service'),
  'beam:daemonHome': z
    .string()
    .regex(/^\/[\w./-]*$/, 'use an absolute path such as "/home/gaia/.gaia"')
    .default('/home/gaia/.gaia'),
  /** The daemon's user; the pilot runs as this user too (pilot/packaging/beam-pilot.service). */
  'beam:daemonUser': z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'use a Linux user name such as "gaia"')
    .default('gaia'),
  /**
   * The chain binary a new sentry installs before its daemon's first start (then it state-syncs): a
   * chain-registry `codebase.binaries` URL, its sha256 (unless the URL ends in ?checksum=sha256:…),
   * and the executable the daemon unit runs, inside beam:daemonHome. Checked together at synth.
   */
  'beam:daemonBinaryUrl': optionalText.pipe(
    z.url('use the https URL of the chain binary, e.g. a chain registry codebase.binaries value').optional(),
  ),
  'beam:daemonBinarySha256': optionalText.pipe(
    z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'use the 64 hex characters sha256sum prints for the binary')
      .optional(),
  ),
  'beam:daemonBinaryPath': optionalText.pipe(
    z
      .string()
      .regex(/^\/[\w./-]*$/, 'use an absolute path inside beam:daemonHome')
      .optional(),
  ),
  'beam:validatorInstanceType': z.string().min(1).default('m7g.xlarge'),
  'beam:sentryInstanceType': z.string().min(1).default('m7g.large'),
  'beam:validatorVolumeGiB': z.coerce.number().int().min(20).max(16_384).default(500),
  'beam:sentryVolumeGiB': z.coerce.number().int().min(20).max(16_384).default(200),
  'beam:sentryMin': count(2),
  'beam:sentryDesired': count(2),
  'beam:sentryMax': count(4),
  'beam:natGateways': z.coerce.number().int().min(1).max(2).default(1),
  /** Let sentries that prove an EC2 instance id enroll without a chat approval (they autoscale). */
  'beam:autoApproveSentries': z
    .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
    .default(true),
  'beam:tickRateMinutes': z.coerce.number().int().min(1).max(60).default(1),
  /**
   * API Gateway throttle of `POST /v1/pilot/report` (requests per second, burst): a node reports every
   * 5 s, so the default serves 500 nodes; the chat routes and enrollment have smaller limits of their own.
   */
  'beam:pilotRateLimit': z.coerce.number().int().min(1).max(10_000).default(100),
  'beam:pilotBurstLimit': z.coerce.number().int().min(1).max(5_000).default(200),
  'beam:logRetentionDays': z.coerce
    .number()
    .refine(
      (days) => RETENTION_DAYS.includes(days),
      `use one of CloudWatch's retention periods: ${RETENTION_DAYS.join(', ')}`,
    )
    .default(30),
  /** Alarm notifications go to an SNS topic with this e-mail subscription; no topic when empty. */
  'beam:alarmEmail': optionalText.pipe(z.email('use an e-mail address, or "" for no alarm topic').optional()),
  /** The validator's 40-hex consensus address; the example network stack is built only when it is set. */
  'beam:validatorConsensusAddress': optionalText.pipe(
    z
      .string()
      .regex(
        /^[0-9A-F]{40}$/,
        'use the 40-hex uppercase consensus address (`gaiad tendermint show-address` hex)',
      )
      .optional(),
  ),
  /** Commander URL and enrollment secret for a network stack deployed apart from the commander stack. */
  'beam:commanderUrl': optionalText.pipe(
    z.url('use the commander URL, e.g. https://abc.execute-api…').optional(),
  ),
  'beam:enrollmentTokenSecretArn': optionalText.pipe(
    z
      .string()
      .regex(/^arn:aws[a-z-]*:secretsmanager:/, 'use the full ARN of the enrollment token secret')
      .optional(),
  ),
  /**
   * The commander's settings (commander/settings.ts: chat, access, identity, failover, governance,
   * alerts, …) as a JSON object, checked at synth and passed to every Lambda (infra/commander-settings.ts).
   */
  'beam:settings': jsonObject(
    z.record(z.string(), z.unknown(), { error: 'use a JSON object of commander settings' }),
  ).default({}),
  /** The same in a JSON file, relative to the folder `cdk` runs in (where cdk.json is). */
  'beam:settingsFile': optionalText.pipe(
    z
      .string()
      .regex(/\.json$/, 'use the path of a .json file, e.g. "infra/examples/settings.json"')
      .optional(),
  ),
  /** Or an SSM parameter (String or SecureString) holding that JSON, read by the Lambdas at cold start. */
  'beam:settingsParameter': optionalText.pipe(
    z
      .string()
      .max(1011)
      .regex(
        /^(\/[a-zA-Z0-9_.-]+)+$|^[a-zA-Z0-9_.-]+$/,
        'use an SSM parameter name such as "/beam/mainnet/settings"',
      )
      .optional(),
  ),
  /** The customer managed KMS key of a SecureString settings parameter; not needed for aws/ssm. */
  'beam:settingsParameterKey': optionalText.pipe(
    z
      .string()
      .regex(
        /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/,
        'use the ARN of the KMS key (arn:aws:kms:<region>:<account>:key/<id>), not an alias',
      )
      .optional(),
  ),
  /**
   * The example network's AMI per architecture, pinned: a new Amazon Linux release then replaces
   * no instance. Without one, the latest Amazon Linux 2023 AMI is looked up once and kept in
   * cdk.context.json (`cdk context --reset` to move on).
   */
  'beam:ami': jsonObject(
    z.strictObject(
      { arm64: amiId.optional(), x86_64: amiId.optional() },
      { error: 'use {"arm64": "ami-…", "x86_64": "ami-…"} (the architectures your instance types need)' },
    ),
  ).default({}),
});
export type BeamContext = z.infer<typeof BeamContext>;
export const CONTEXT_KEYS = Object.keys(BeamContext.shape) as (keyof BeamContext)[];

/**
 * Validates the app's context (`app.node.getAllContext()`): only `beam:` keys are Beam's, and one it does
 * not know is an error (most likely a typo that would otherwise be ignored silently).
 */
export function parseBeamContext(raw: Record<string, unknown>): BeamContext {
  const own = Object.fromEntries(Object.entries(raw).filter(([key]) => key.startsWith('beam:')));
  const result = BeamContext.safeParse(own);
  if (!result.success) {
    const problems = result.error.issues.map((issue) =>
      issue.code === 'unrecognized_keys' && issue.path.length === 0
        ? `unknown context key(s) ${issue.keys.join(', ')}: known keys are ${CONTEXT_KEYS.join(', ')}`
        : `context ${issue.path.join('.')}: ${issue.message}`,
    );
    throw new Error(`Beam CDK context is invalid:\n  ${problems.join('\n  ')}`);
  }
  const ctx = result.data;
  if (
    !(
      ctx['beam:sentryMin'] <= ctx['beam:sentryDesired'] && ctx['beam:sentryDesired'] <= ctx['beam:sentryMax']
    )
  ) {
    throw new Error(
      'Beam CDK context is invalid:\n  context beam:sentryMin/Desired/Max: use sentryMin <= sentryDesired <= sentryMax',
    );
  }
  const settingsFrom = [
    Object.keys(ctx['beam:settings']).length > 0 && 'beam:settings',
    ctx['beam:settingsFile'] && 'beam:settingsFile',
    ctx['beam:settingsParameter'] && 'beam:settingsParameter',
  ].filter(Boolean);
  if (settingsFrom.length > 1) {
    throw new Error(
      `Beam CDK context is invalid:\n  context ${settingsFrom.join(' and ')}: give the commander settings one way only`,
    );
  }
  if (ctx['beam:settingsParameterKey'] && !ctx['beam:settingsParameter']) {
    throw new Error(
      'Beam CDK context is invalid:\n  context beam:settingsParameterKey: it decrypts beam:settingsParameter: set that too, or remove the key',
    );
  }
  const binary = daemonBinaryProblems(
    {
      url: ctx['beam:daemonBinaryUrl'],
      sha256: ctx['beam:daemonBinarySha256'],
      path: ctx['beam:daemonBinaryPath'],
    },
    ctx['beam:daemonHome'],
  );
  if (binary.length > 0) throw new Error(`Beam CDK context is invalid:\n  ${binary.join('\n  ')}`);
  if (Boolean(ctx['beam:commanderUrl']) !== Boolean(ctx['beam:enrollmentTokenSecretArn'])) {
    throw new Error(
      'Beam CDK context is invalid:\n  context beam:commanderUrl and beam:enrollmentTokenSecretArn: set both (network ' +
        'stack apart from the commander stack) or neither (taken from the commander stack)',
    );
  }
  return ctx;
}
