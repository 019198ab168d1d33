import { readFileSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * What the end-to-end suite runs against. The suite only knows an endpoint
 * (undefined = real AWS through the default credential chain) and a
 * `cdk deploy --outputs-file`-shaped file, so the same cases run on the local
 * runtime, on LocalStack and on AWS.
 */
export interface E2ETarget {
  /** `local`, `localstack` or `aws`: used in messages and to look up known gaps. */
  readonly name: string;
  readonly endpoint?: string;
  readonly outputsFile: string;
  /** Set when the target is unavailable and skipping is allowed (never in CI). */
  readonly skipReason?: string;
}

export interface StackOutputs {
  UploadBucketName: string;
  OutputBucketName: string;
  StateMachineArn: string;
  UploadTopicArn: string;
  ProcessedTopicArn: string;
  StartWorkflowQueueUrl: string;
  StartWorkflowDeadLetterQueueUrl: string;
  UploadAuditQueueUrl: string;
  AlertsQueueUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    e2eTarget: E2ETarget;
  }
}

/** Reads the outputs file; accepts `{Stack: {...}}` (cdk's shape) or a flat object. */
export const readOutputs = (file: string): StackOutputs => {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  if ('UploadBucketName' in raw) return raw as unknown as StackOutputs;
  const stacks = Object.values(raw) as StackOutputs[];
  const stack = stacks.find((s) => s && typeof s === 'object' && 'UploadBucketName' in s);
  if (!stack) throw new Error(`${file} has no stack with an UploadBucketName output`);
  return stack;
};

export const clientsFor = (target: E2ETarget) => {
  const config = {
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(target.endpoint
      ? {
          endpoint: target.endpoint,
          credentials: {
            accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test',
            secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
          },
        }
      : {}),
  };
  return {
    s3: new S3Client({ ...config, forcePathStyle: Boolean(target.endpoint) }),
    sfn: new SFNClient(config),
    sns: new SNSClient(config),
    sqs: new SQSClient(config),
  };
};

/** Is something listening at the endpoint? Used to decide between skip and fail. */
export const reachable = async (endpoint: string): Promise<boolean> => {
  try {
    await fetch(endpoint, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
};

/** CI and E2E_REQUIRE_LOCALSTACK=1 turn a missing LocalStack from a printed skip into a failure. */
export const localStackRequired = (): boolean =>
  process.env.CI === 'true' || process.env.E2E_REQUIRE_LOCALSTACK === '1';

/**
 * The one LocalStack gate of every suite that runs there (the e2e projects and the
 * conformance suite): why it cannot run (undefined when it can), or an error when
 * LocalStack is required. `more` is the caller's own check once LocalStack answers.
 */
export const localStackProblem = async (
  suite: string,
  endpoint: string,
  more?: () => string | undefined
): Promise<string | undefined> => {
  const problem = (await reachable(`${endpoint}/_localstack/health`))
    ? more?.()
    : `no LocalStack answers at ${endpoint}`;
  if (problem && localStackRequired()) {
    throw new Error(`${suite} required (CI or E2E_REQUIRE_LOCALSTACK=1) but ${problem}`);
  }
  return problem;
};
