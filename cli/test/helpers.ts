import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  type ExecutionStatus,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { branchResultKey, manifestKey, planKey } from '../../lambdas/shared/keys.js';
import type { BranchResult, Manifest, Plan } from '../../lambdas/shared/schemas.js';
import type { Out } from '../src/watch.js';

export const STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Video';
export const OUTPUT_BUCKET = 'output-bucket';
export const UPLOAD_BUCKET = 'upload-bucket';
export const VIDEO_ID = 'clip-0123456789abcdef';

/** A writable that records what was written. */
export const captureOut = (isTTY = false): Out & { text: () => string } => {
  const chunks: string[] = [];
  return {
    isTTY,
    columns: 100,
    rows: 40,
    write: (s: string) => {
      chunks.push(s);
      return true;
    },
    text: () => chunks.join(''),
  };
};

/** An in-memory output bucket behind the mocked S3 client. */
export class FakeBucket {
  readonly objects = new Map<string, string>();

  put(key: string, value: unknown): void {
    this.objects.set(key, JSON.stringify(value));
  }

  install(s3: AwsClientStub<S3Client>): void {
    s3.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
      const text = this.objects.get(input.Key);
      if (text === undefined) {
        throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
      }
      return { Body: { transformToString: async () => text } };
    });
    s3.on(ListObjectsV2Command).callsFake(
      async (input: { Prefix?: string; Delimiter?: string }) => {
        const keys = [...this.objects.keys()]
          .filter((k) => k.startsWith(input.Prefix ?? ''))
          .sort();
        if (input.Delimiter) {
          const prefixes = new Set(
            keys.map((k) => {
              const rest = k.slice((input.Prefix ?? '').length);
              const at = rest.indexOf(input.Delimiter as string);
              return at < 0 ? undefined : `${input.Prefix ?? ''}${rest.slice(0, at + 1)}`;
            })
          );
          prefixes.delete(undefined);
          return {
            CommonPrefixes: [...prefixes].map((Prefix) => ({ Prefix })),
            IsTruncated: false,
          };
        }
        return {
          Contents: keys.map((Key) => ({
            Key,
            ETag: `"${createHash('md5')
              .update(this.objects.get(Key) ?? '')
              .digest('hex')}"`,
          })),
          IsTruncated: false,
        };
      }
    );
  }
}

/** A mocked execution whose status the test changes between polls. */
export class FakeExecution {
  status: ExecutionStatus | 'NOT_FOUND' = 'NOT_FOUND';
  readonly describedArns: string[] = [];

  install(sfn: AwsClientStub<SFNClient>): void {
    sfn.on(DescribeExecutionCommand).callsFake(async (input: { executionArn: string }) => {
      this.describedArns.push(input.executionArn);
      if (this.status === 'NOT_FOUND') {
        throw new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} });
      }
      return { status: this.status, executionArn: input.executionArn, startDate: new Date() };
    });
  }
}

export const planOf = (...ids: string[]): Plan => ({
  tasks: ids.map((id) =>
    id.startsWith('thumb')
      ? { id, kind: 'thumbnail' as const, atSec: 1, width: 320 }
      : id === 'metadata'
        ? { id, kind: 'metadata' as const }
        : { id, kind: 'rendition' as const, height: 360 }
  ),
});

export const succeeded = (
  taskId: string,
  kind: BranchResult['kind'],
  key: string
): BranchResult => ({
  taskId,
  kind,
  status: 'SUCCEEDED',
  artifacts: [{ key, contentType: 'image/jpeg', bytes: 1234 }],
  error: null,
  durationMs: 1500,
  finishedAt: '2025-01-01T00:00:02.000Z',
});

export const failed = (
  taskId: string,
  kind: BranchResult['kind'],
  message: string
): BranchResult => ({
  taskId,
  kind,
  status: 'FAILED',
  artifacts: [],
  error: { name: 'MediaToolError', message },
  durationMs: 800,
  finishedAt: '2025-01-01T00:00:02.000Z',
});

export const manifestFrom = (
  videoId: string,
  results: BranchResult[],
  overrides: Partial<Manifest> = {}
): Manifest => {
  const ok = results.filter((r) => r.status === 'SUCCEEDED').length;
  const status = ok === results.length ? 'COMPLETE' : ok === 0 ? 'FAILED' : 'PARTIAL';
  return {
    schemaVersion: 1,
    videoId,
    source: { bucket: UPLOAD_BUCKET, key: 'uploads/clip.mp4', etag: 'abc' },
    status,
    reason:
      status === 'COMPLETE' ? null : `${results.length - ok} of ${results.length} branches failed`,
    probe: null,
    branches: results.map((r) => ({
      name: r.taskId,
      kind: r.kind,
      status: r.status,
      artifacts: r.artifacts,
      error: r.error,
      durationMs: r.durationMs,
    })),
    counts: { total: results.length, succeeded: ok, failed: results.length - ok },
    createdAt: '2025-01-01T00:00:03.000Z',
    ...overrides,
  };
};

export const keys = {
  plan: (videoId = VIDEO_ID) => planKey(videoId),
  branch: (taskId: string, videoId = VIDEO_ID) => branchResultKey(videoId, taskId),
  manifest: (videoId = VIDEO_ID) => manifestKey(videoId),
};
