import { S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import {
  describeError,
  isNotFound,
  networkCodeOf,
  resolveRegion,
  useLocalTestCredentials,
} from '../src/aws.js';
import { CliError } from '../src/config.js';

const LOCAL = 'http://127.0.0.1:4566';

const connRefused = () => {
  const inner = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), {
    code: 'ECONNREFUSED',
  });
  return Object.assign(new AggregateError([inner], ''), { name: 'AggregateError' });
};

const serviceError = (name: string, message: string, status = 400) =>
  new S3ServiceException({
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status },
    message,
  });

describe('describeError', () => {
  it('turns a refused local connection into a hint to start the local runtime', () => {
    // Prepare
    const err = connRefused();

    // Act
    const line = describeError(err, LOCAL);

    // Assess
    expect(line).toBe('cannot reach http://127.0.0.1:4566: is `npm run local` running?');
  });

  it('finds the network code on a cause chain', () => {
    // Prepare
    const err = new Error('socket hang up', {
      cause: Object.assign(new Error('getaddrinfo'), { code: 'ENOTFOUND' }),
    });

    // Act
    const code = networkCodeOf(err);
    const line = describeError(err, 'https://example.invalid');

    // Assess
    expect(code).toBe('ENOTFOUND');
    expect(line).toBe('cannot reach https://example.invalid: ENOTFOUND');
  });

  it('explains credential errors and how to configure credentials', () => {
    // Prepare
    const err = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });

    // Act
    const line = describeError(err);

    // Assess
    expect(line).toMatch(
      /^AWS credentials problem \(CredentialsProviderError\): Could not load credentials from any providers\. Configure credentials/
    );
  });

  it('explains an expired token from the service', () => {
    // Prepare
    const err = serviceError('ExpiredToken', 'The provided token has expired.');

    // Act
    const line = describeError(err);

    // Assess
    expect(line).toContain('AWS credentials problem (ExpiredToken)');
  });

  it('passes a CliError message through unchanged', () => {
    // Prepare
    const err = new CliError('file not found: x.mp4');

    // Act
    const line = describeError(err, LOCAL);

    // Assess
    expect(line).toBe('file not found: x.mp4');
  });

  it('keeps only the first line of other errors', () => {
    // Prepare
    const err = serviceError('InternalError', 'boom\n    at somewhere', 500);

    // Act
    const line = describeError(err);

    // Assess
    expect(line).toBe('InternalError: boom');
  });
});

describe('isNotFound', () => {
  it.each([
    [serviceError('NoSuchKey', 'missing', 404), true],
    [serviceError('NotFound', '', 404), true],
    [serviceError('NoSuchBucket', 'no bucket', 404), false],
    [serviceError('AccessDenied', 'denied', 403), false],
  ])('classifies %s', (err, expected) => {
    // Prepare
    const input = err;

    // Act
    const notFound = isNotFound(input);

    // Assess
    expect(notFound).toBe(expected);
  });
});

describe('credentials and region defaults', () => {
  const noFiles = (_path: string): boolean => false;

  it('uses test/test for a local endpoint when nothing is configured', () => {
    // Prepare
    const env = {};

    // Act
    const useTest = useLocalTestCredentials(LOCAL, {}, env, noFiles);

    // Assess
    expect(useTest).toBe(true);
  });

  it.each([
    ['an access key in the environment', { AWS_ACCESS_KEY_ID: 'AKIA' }, {}, noFiles],
    ['AWS_PROFILE', { AWS_PROFILE: 'dev' }, {}, noFiles],
    ['--profile', {}, { profile: 'dev' }, noFiles],
    ['a shared credentials file', {}, {}, (_path: string): boolean => true],
  ])('leaves the default chain alone with %s', (_what, env, opts, exists) => {
    // Prepare
    const endpoint = LOCAL;

    // Act
    const useTest = useLocalTestCredentials(endpoint, opts, env, exists);

    // Assess
    expect(useTest).toBe(false);
  });

  it('never uses test credentials against AWS', () => {
    // Prepare
    const env = {};

    // Act
    const useTest = useLocalTestCredentials(undefined, {}, env, noFiles);

    // Assess
    expect(useTest).toBe(false);
  });

  it('takes --region, then the environment, then the stack ARN region', () => {
    // Prepare
    const arn = 'arn:aws:states:eu-central-1:1:stateMachine:V';

    // Act
    const fromFlag = resolveRegion({ region: 'us-west-2' }, arn, { AWS_REGION: 'eu-west-1' });
    const fromEnv = resolveRegion({}, arn, { AWS_DEFAULT_REGION: 'eu-west-1' });
    const fromArn = resolveRegion({}, arn, {});

    // Assess
    expect([fromFlag, fromEnv, fromArn]).toEqual(['us-west-2', 'eu-west-1', 'eu-central-1']);
  });
});
