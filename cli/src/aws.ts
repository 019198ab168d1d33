import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { isNotFound as isAwsNotFound } from '../../shared/aws-errors.js';
import { CliError, isLocalEndpoint, regionOfArn } from './config.js';

export interface AwsOptions {
  /** `--endpoint-url`; when absent the SDK honours AWS_ENDPOINT_URL itself. */
  endpointUrl?: string;
  region?: string;
  profile?: string;
}

export interface Clients {
  s3: S3Client;
  sfn: SFNClient;
  /** For `redrive dlq`. */
  sqs: SQSClient;
  /** The endpoint in use (explicit or AWS_ENDPOINT_URL), for error messages. */
  endpoint: string | undefined;
}

type Env = Record<string, string | undefined>;

/** The endpoint every client will talk to, if not AWS's own. */
export const effectiveEndpoint = (opts: AwsOptions, env: Env = process.env): string | undefined =>
  opts.endpointUrl || env.AWS_ENDPOINT_URL || undefined;

/** --region, then the environment, then the region of the stack's own ARN. */
export const resolveRegion = (
  opts: AwsOptions,
  stateMachineArn: string | undefined,
  env: Env = process.env
): string =>
  opts.region ||
  env.AWS_REGION ||
  env.AWS_DEFAULT_REGION ||
  (stateMachineArn ? regionOfArn(stateMachineArn) : undefined) ||
  'us-east-1';

/**
 * Local emulators accept any key, but the SDK refuses to sign without one. Use
 * `test`/`test` for a local endpoint unless the user configured credentials
 * some way the default chain would find them.
 */
export const useLocalTestCredentials = (
  endpoint: string | undefined,
  opts: AwsOptions,
  env: Env = process.env,
  fileExists: (path: string) => boolean = existsSync
): boolean => {
  if (!isLocalEndpoint(endpoint)) return false;
  if (opts.profile || env.AWS_PROFILE || env.AWS_ACCESS_KEY_ID) return false;
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) return false;
  const files = [
    env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), '.aws', 'credentials'),
    env.AWS_CONFIG_FILE ?? join(homedir(), '.aws', 'config'),
  ];
  return !files.some((f) => fileExists(f));
};

export const createClients = (opts: AwsOptions, stateMachineArn?: string): Clients => {
  const endpoint = effectiveEndpoint(opts);
  const common = {
    region: resolveRegion(opts, stateMachineArn),
    ...(opts.endpointUrl ? { endpoint: opts.endpointUrl } : {}),
    ...(opts.profile ? { profile: opts.profile } : {}),
    ...(useLocalTestCredentials(endpoint, opts)
      ? { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }
      : {}),
    maxAttempts: 3,
  };
  return {
    // Emulators serve path-style URLs; AWS serves both.
    s3: new S3Client({ ...common, forcePathStyle: endpoint !== undefined }),
    sfn: new SFNClient(common),
    sqs: new SQSClient(common),
    endpoint,
  };
};

const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'TokenRefreshRequired',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'ETIMEDOUT',
]);

/** The first network error code found on an error, its cause chain or an AggregateError. */
export const networkCodeOf = (err: unknown, depth = 0): string | undefined => {
  if (typeof err !== 'object' || err === null || depth > 5) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const code = networkCodeOf(inner, depth + 1);
      if (code) return code;
    }
  }
  return networkCodeOf(e.cause, depth + 1);
};

/** One line for any error the CLI can hit; never a stack trace. */
export const describeError = (err: unknown, endpoint?: string): string => {
  if (err instanceof CliError) return err.message;
  const code = networkCodeOf(err);
  const where = endpoint ?? 'AWS';
  if (code === 'ECONNREFUSED') {
    return isLocalEndpoint(endpoint)
      ? `cannot reach ${where}: is \`npm run local\` running?`
      : `cannot reach ${where}: connection refused`;
  }
  if (code) return `cannot reach ${where}: ${code}`;
  const e = err as { name?: string; message?: string; Code?: string } | undefined;
  const name = e?.name ?? 'Error';
  const message = (e?.message ?? String(err)).split('\n')[0];
  if (CREDENTIAL_ERRORS.has(name) || CREDENTIAL_ERRORS.has(e?.Code ?? '')) {
    return `AWS credentials problem (${name}): ${message}. Configure credentials (AWS_PROFILE / --profile, aws sso login, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).`;
  }
  if (name === 'NoSuchBucket') {
    return `bucket does not exist: ${message} (is the outputs file from another deployment?)`;
  }
  if (name === 'StateMachineDoesNotExist') {
    return `state machine does not exist: ${message} (is the outputs file from another deployment?)`;
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException') {
    return `access denied: ${message}`;
  }
  return `${name}: ${message}`;
};

/** S3 says "not there" with NoSuchKey on GET and a bare 404 (NotFound) on HEAD. */
/** A missing object or version (not a missing bucket, which the CLI reports as a setup error). */
export const isNotFound = (err: unknown): boolean =>
  (err as { name?: string } | undefined)?.name !== 'NoSuchBucket' && isAwsNotFound(err);

/** Error names by which a target says it has no such API. */
const MISSING_API = new Set(['UnknownOperationException', 'InvalidAction', 'NotImplemented']);
export const isMissingApi = (err: unknown): boolean => {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return (
    MISSING_API.has(e?.name ?? '') ||
    e?.$metadata?.httpStatusCode === 501 ||
    /not (yet )?(implemented|supported)/i.test(e?.message ?? '')
  );
};
