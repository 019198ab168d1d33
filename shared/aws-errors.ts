import { TransientServiceError } from '../contract/errors.js';

/**
 * The one classifier of AWS SDK failures, for every service the functions and the CLI
 * call (S3, SNS, SFN). Transient failures become TransientServiceError, which
 * the state machine's Retry and the SQS redelivery pick up by name; anything
 * else propagates unchanged as terminal.
 */

/** Error names AWS services use for throttling and temporary unavailability. */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalError',
  'InternalFailure',
  'InternalErrorException',
  'KMSThrottlingException',
]);

/** Names S3 and the other services use for "no such thing" (HEAD answers a bare 404). */
const NOT_FOUND_NAMES = new Set(['NotFound', 'NoSuchKey', 'NoSuchVersion', 'NoSuchBucket']);

interface MaybeServiceError {
  name?: string;
  message?: string;
  code?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** True when a later attempt may succeed: throttling, 5xx, 429, or a dropped connection. */
export const isTransientAwsError = (err: unknown): boolean => {
  if (!(err instanceof Error)) return false;
  const e = err as MaybeServiceError;
  const status = e.$metadata?.httpStatusCode ?? 0;
  return (
    TRANSIENT_NAMES.has(e.name ?? '') ||
    status >= 500 ||
    status === 429 ||
    Boolean(e.$retryable) ||
    /ECONNRESET|ETIMEDOUT|EPIPE|ECONNREFUSED|socket hang up/i.test(
      `${e.code ?? ''} ${e.message ?? ''}`
    )
  );
};

/** True for a missing object, version or bucket. */
export const isNotFound = (err: unknown): boolean => {
  const e = err as MaybeServiceError | undefined;
  return NOT_FOUND_NAMES.has(e?.name ?? '') || e?.$metadata?.httpStatusCode === 404;
};

/** Wraps transient failures in TransientServiceError (retried by name); re-throws the rest. */
export const rethrowClassified = (err: unknown, action: string): never => {
  if (isTransientAwsError(err)) {
    const e = err as Error;
    throw new TransientServiceError(`${action}: ${e.name}: ${e.message}`.slice(0, 300), {
      cause: err,
    });
  }
  throw err;
};

/**
 * A conditional write that lost: 412 PreconditionFailed (If-Match or If-None-Match
 * did not hold) or 409 ConditionalRequestConflict (another conditional write to the
 * key is in progress). https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
export const isConditionFailure = (err: unknown): boolean => {
  const e = err as MaybeServiceError | undefined;
  return (
    e?.name === 'PreconditionFailed' ||
    e?.name === 'ConditionalRequestConflict' ||
    e?.$metadata?.httpStatusCode === 412 ||
    e?.$metadata?.httpStatusCode === 409
  );
};
