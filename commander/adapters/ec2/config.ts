// How the commander reaches EC2: a config section (self-hosted) or environment variables (Lambda).
import * as z from 'zod';
import { describeZodError } from '../../../protocol/index.js';
import { Ec2Cloud } from './ec2-cloud.js';

/**
 * The `ec2` section of the self-hosted config. Credentials come from the normal AWS chain
 * (environment, profile, instance role) unless both keys are given; the devnet EC2 emulation
 * accepts any (e.g. `accessKeyId = "devnet"`).
 */
export const Ec2Config = z
  .strictObject({
    /** Region of the sentry fleet; AWS_REGION / AWS_DEFAULT_REGION when absent. */
    region: z.string().min(1).optional(),
    /** Endpoint override, e.g. the devnet EC2 emulation's URL. */
    endpoint: z.url('use a URL such as http://127.0.0.1:4566').optional(),
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    sessionToken: z.string().min(1).optional(),
    /** Attempts per EC2 call including the SDK's retries of throttling and 5xx answers. */
    maxAttempts: z.number().int().min(1).max(10).default(3),
  })
  .refine((c) => (c.accessKeyId === undefined) === (c.secretAccessKey === undefined), {
    message: 'give both accessKeyId and secretAccessKey, or neither (to use the AWS credential chain)',
    path: ['secretAccessKey'],
  });
export type Ec2Config = z.output<typeof Ec2Config>;
export type Ec2ConfigInput = z.input<typeof Ec2Config>;

/** The EC2 adapter for a parsed config; throws a CloudError naming a missing region. */
export function createCloud(config: Ec2Config): Ec2Cloud {
  return new Ec2Cloud({
    ...(config.region ? { region: config.region } : {}),
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    maxAttempts: config.maxAttempts,
    ...(config.accessKeyId && config.secretAccessKey
      ? {
          credentials: {
            accessKeyId: config.accessKeyId,
            secretAccessKey: config.secretAccessKey,
            ...(config.sessionToken ? { sessionToken: config.sessionToken } : {}),
          },
        }
      : {}),
  });
}

/**
 * Lambda: a fleet (`BEAM_FLEET`, as the CDK app sets it) or `BEAM_EC2_REGION` / `BEAM_EC2_ENDPOINT`
 * turns the EC2 adapter on. The region is `BEAM_EC2_REGION`, else the function's own (`AWS_REGION`);
 * credentials are the function's role. None of them: null (no cloud, sentry defence off).
 */
export function ec2ConfigFromEnv(env: Record<string, string | undefined>): Ec2Config | null {
  const region = env.BEAM_EC2_REGION?.trim();
  const endpoint = env.BEAM_EC2_ENDPOINT?.trim();
  if (!region && !endpoint && !env.BEAM_FLEET?.trim()) return null;
  const parsed = Ec2Config.safeParse({
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
  });
  if (!parsed.success) {
    throw new Error(
      `invalid commander environment: BEAM_EC2_REGION / BEAM_EC2_ENDPOINT: ${describeZodError(parsed.error)}`,
    );
  }
  return parsed.data;
}

/** The EC2 adapter the Lambda environment asks for, or undefined (sentry defence off). */
export function cloudFromEnv(env: Record<string, string | undefined>): Ec2Cloud | undefined {
  const config = ec2ConfigFromEnv(env);
  return config ? createCloud(config) : undefined;
}
