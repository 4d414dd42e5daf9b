// AWS errors → CloudError: a kind the domain can act on and a message that tells an operator what to do.
import { CloudError } from './port.js';

interface AwsErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const TRANSIENT_CODES = new Set([
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'TimeoutError',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
]);

const CONFLICT_CODES = new Set([
  'Resource.AlreadyAssociated',
  'InvalidIPAddress.InUse',
  'IncorrectInstanceState',
]);

function codeOf(error: AwsErrorShape): string | undefined {
  if (typeof error.code === 'string') return error.code; // Node network errors
  return typeof error.name === 'string' && error.name !== 'Error' ? error.name : undefined;
}

/** Maps anything an EC2 call threw to a CloudError naming the action and region. */
export function toCloudError(error: unknown, action: string, region: string): CloudError {
  if (error instanceof CloudError) return error;
  const shape: AwsErrorShape = typeof error === 'object' && error !== null ? (error as AwsErrorShape) : {};
  const code = codeOf(shape);
  const status = shape.$metadata?.httpStatusCode;
  const detail = typeof shape.message === 'string' ? shape.message : String(error);
  const make = (kind: CloudError['kind'], message: string) =>
    new CloudError(kind, message, code, { cause: error });

  if (code === 'AddressLimitExceeded') {
    return make(
      'limit',
      `Elastic IP limit reached in ${region}: release unused addresses or request a limit increase`,
    );
  }
  if (code === 'UnauthorizedOperation' || code?.startsWith('AccessDenied')) {
    return make(
      'unauthorized',
      `The commander is not allowed to call ec2:${action} in ${region}: add ec2:${action} to its IAM policy`,
    );
  }
  if (code === 'AuthFailure' || code === 'InvalidClientTokenId' || code === 'SignatureDoesNotMatch') {
    return make(
      'unauthorized',
      `AWS rejected the commander's credentials for ec2:${action} in ${region} (${code}): check its access keys or role`,
    );
  }
  if (code?.endsWith('.NotFound')) {
    return make(
      'not-found',
      `ec2:${action} in ${region}: ${detail} (${code}); refresh the fleet view and retry`,
    );
  }
  if (code !== undefined && CONFLICT_CODES.has(code)) {
    return make(
      'conflict',
      `ec2:${action} in ${region} conflicts with the current state: ${detail} (${code})`,
    );
  }
  // An SDK error without an HTTP status never got an answer (timeout, reset): worth retrying.
  const unanswered = shape.$metadata !== undefined && status === undefined;
  if (
    (code !== undefined && TRANSIENT_CODES.has(code)) ||
    unanswered ||
    (status !== undefined && status >= 500)
  ) {
    return make(
      'transient',
      `ec2:${action} in ${region} failed temporarily (${code ?? 'no response'}): ${detail}; it will be retried`,
    );
  }
  return make(
    'invalid',
    `EC2 rejected ${action} in ${region} (${code ?? `HTTP ${status ?? '?'}`}): ${detail}`,
  );
}
