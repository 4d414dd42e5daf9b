import type { CfnFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Stack } from 'aws-cdk-lib';

/** Lambda refuses a function whose environment variables take more than 4 KB in all. */
export const LAMBDA_ENV_LIMIT_BYTES = 4096;

/**
 * What a value CloudFormation fills in at deploy (a `Ref` or `Fn::GetAtt`) is counted as: at least as
 * long as the ARNs and names this stack's resources get (a secret ARN with its generated name is
 * about 110 characters, a KMS key ARN 80, a table name 60).
 */
const DEPLOY_TIME_VALUE_BYTES = 160;

/** The bytes of `fn`'s environment as Lambda measures them (names and values), deploy-time values estimated. */
export function environmentBytes(fn: LambdaFunction): { total: number; byName: Record<string, number> } {
  const cfn = fn.node.defaultChild as CfnFunction;
  const resolved = Stack.of(fn).resolve(cfn.environment) as
    | { variables?: Record<string, unknown> }
    | undefined;
  const byName: Record<string, number> = {};
  for (const [name, value] of Object.entries(resolved?.variables ?? {})) {
    byName[name] =
      Buffer.byteLength(name) +
      (typeof value === 'string' ? Buffer.byteLength(value) : DEPLOY_TIME_VALUE_BYTES);
  }
  return { total: Object.values(byName).reduce((a, b) => a + b, 0), byName };
}
