/**
 * What the commander's Lambda entry points share. Each function is built once per container, from its
 * own environment: the CDK stack gives it only the secrets and rights its route needs.
 */

/**
 * The value `build` makes, built on the first call and kept for the container's life; a failed build
 * is retried on the next invocation (a configuration fixed in Secrets Manager heals without a redeploy).
 */
export function onColdStart<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
}

/**
 * Whether this deployment runs sentry defence, whose EC2 calls the tick Lambda makes: the variables
 * that turn the tick's EC2 adapter on (adapters/ec2/config.ts `ec2ConfigFromEnv`), read here without
 * loading the EC2 client, which the pilot API and chat functions neither import nor may call.
 */
export function ec2InTick(env: Record<string, string | undefined>): boolean {
  return ['BEAM_FLEET', 'BEAM_EC2_REGION', 'BEAM_EC2_ENDPOINT'].some((name) => Boolean(env[name]?.trim()));
}
