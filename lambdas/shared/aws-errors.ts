import { TransientServiceError } from './errors.js';

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

interface MaybeServiceError {
  name?: string;
  message?: string;
  code?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** True when a later attempt may succeed: throttling, 5xx, or a dropped connection. */
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
