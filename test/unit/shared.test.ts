import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod/mini';
import { MULTIPART_PART_SIZE as PART_SIZE, TransientServiceError } from '../../contract/index.js';
import { useMediaTools } from '../../fixtures/media.js';
import { runTool, stderrTail } from '../../lambdas/shared/media.js';
import { logger, metrics } from '../../lambdas/shared/powertools.js';
import { getJsonIfExists, headIfExists, putFile, putJson, s3 } from '../../lambdas/shared/s3.js';
import { decodeS3Key, parseS3EventBody, uploadsIn } from '../../lambdas/shared/s3-events.js';
import { defineStateTask } from '../../lambdas/shared/state-task.js';
import { isNotFound, isTransientAwsError, rethrowClassified } from '../../shared/aws-errors.js';
import { mapLimit } from '../../shared/concurrency.js';
import {
  jsonBody,
  lambdaContextFactory,
  s3ErrorFactory,
  s3TestEventMessage,
  snsEnvelopedS3Message,
  snsRawS3Message,
  sourceFactory,
} from '../helpers/factories.js';

const s3Mock = mockClient(s3);

describe('putFile (lib-storage)', () => {
  let dir: string;
  let big: string;
  let small: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'putfile-'));
    big = join(dir, 'big.mp4');
    small = join(dir, 'small.mp4');
    await writeFile(big, Buffer.alloc(PART_SIZE * 2 + 10, 1));
    await writeFile(small, Buffer.from('tiny'));
  });
  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(PutObjectCommand).resolves({});
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u-1' });
    s3Mock.on(UploadPartCommand).callsFake((input: { PartNumber: number }) => ({
      ETag: `"etag-${input.PartNumber}"`,
    }));
    s3Mock.on(CompleteMultipartUploadCommand).resolves({});
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses 16 MiB parts', () => {
    // Assess
    expect(PART_SIZE).toBe(16 * 1024 * 1024);
  });

  it('sends a small file in one PutObject with its content type', async () => {
    // Act
    const bytes = await putFile('b', 'k', small, 'video/mp4');

    // Assess
    expect(bytes).toBe(4);
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'b',
      Key: 'k',
      ContentType: 'video/mp4',
    });
    expect(s3Mock).toHaveReceivedCommandTimes(CreateMultipartUploadCommand, 0);
  });

  it('sends a large file as ordered parts and completes the upload', async () => {
    // Act
    const bytes = await putFile('b', 'k', big, 'video/mp4');

    // Assess
    expect(bytes).toBe(PART_SIZE * 2 + 10);
    const parts = s3Mock
      .commandCalls(UploadPartCommand)
      .map((c) => ({
        n: c.args[0].input.PartNumber,
        size: (c.args[0].input.Body as Buffer).length,
      }))
      .sort((a, b) => (a.n ?? 0) - (b.n ?? 0));
    expect(parts).toEqual([
      { n: 1, size: PART_SIZE },
      { n: 2, size: PART_SIZE },
      { n: 3, size: 10 },
    ]);
    const complete = s3Mock.commandCalls(CompleteMultipartUploadCommand)[0].args[0].input;
    expect(complete.UploadId).toBe('u-1');
    expect(complete.MultipartUpload?.Parts).toEqual([
      expect.objectContaining({ ETag: '"etag-1"', PartNumber: 1 }),
      expect.objectContaining({ ETag: '"etag-2"', PartNumber: 2 }),
      expect.objectContaining({ ETag: '"etag-3"', PartNumber: 3 }),
    ]);
  });

  it('aborts the multipart upload and reports a transient failure', async () => {
    // Prepare
    s3Mock.on(UploadPartCommand).rejects(s3ErrorFactory('SlowDown', 503));

    // Act
    const result = putFile('b', 'k', big, 'video/mp4');

    // Assess
    await expect(result).rejects.toThrow(TransientServiceError);
    expect(s3Mock).toHaveReceivedCommandWith(AbortMultipartUploadCommand, { UploadId: 'u-1' });
    expect(s3Mock).toHaveReceivedCommandTimes(CompleteMultipartUploadCommand, 0);
  });

  it('lets a terminal failure through unchanged', async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).rejects(s3ErrorFactory('AccessDenied', 403));

    // Act
    const result = putFile('b', 'k', small, 'video/mp4');

    // Assess
    await expect(result).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});

describe('putJson and getJsonIfExists', () => {
  beforeEach(() => s3Mock.reset());

  it('writes pretty JSON with a trailing newline and returns its size', async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).resolves({});

    // Act
    const bytes = await putJson('b', 'k.json', { a: 1 });

    // Assess
    expect(bytes).toBe(13);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Key: 'k.json',
      ContentType: 'application/json',
    });
    const body = s3Mock.commandCalls(PutObjectCommand)[0].args[0].input.Body;
    expect(String(body)).toBe('{\n  "a": 1\n}\n');
  });

  it('returns undefined for a missing object and the document otherwise', async () => {
    // Prepare
    s3Mock.on(GetObjectCommand, { Key: 'missing' }).rejects(s3ErrorFactory('NoSuchKey', 404));
    s3Mock.on(GetObjectCommand, { Key: 'present' }).resolves({ Body: jsonBody({ a: 1 }) });

    // Act
    const [missing, present] = await Promise.all([
      getJsonIfExists('b', 'missing'),
      getJsonIfExists('b', 'present'),
    ]);

    // Assess
    expect(missing).toBeUndefined();
    expect(present).toEqual({ a: 1 });
  });

  it('does not hide a transient failure as a missing object', async () => {
    // Prepare
    s3Mock.on(GetObjectCommand).rejects(s3ErrorFactory('SlowDown', 503));

    // Act
    const result = getJsonIfExists('b', 'k');

    // Assess
    await expect(result).rejects.toThrow(TransientServiceError);
  });
});

describe('headIfExists', () => {
  beforeEach(() => s3Mock.reset());

  it('HEADs the exact version', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 7 });
    const source = sourceFactory({ versionId: 'v3' });

    // Act
    const head = await headIfExists(source);

    // Assess
    expect(head?.ContentLength).toBe(7);
    expect(s3Mock).toHaveReceivedCommandWith(HeadObjectCommand, {
      Bucket: source.bucket,
      Key: source.key,
      VersionId: 'v3',
    });
  });

  it.each([
    { description: 'NotFound (a bare 404 on HEAD)', error: s3ErrorFactory('NotFound', 404) },
    { description: 'NoSuchVersion', error: s3ErrorFactory('NoSuchVersion', 404) },
  ])('is undefined when the object is gone: $description', async ({ error }) => {
    // Prepare
    s3Mock.on(HeadObjectCommand).rejects(error);

    // Act
    const head = await headIfExists(sourceFactory());

    // Assess
    expect(head).toBeUndefined();
  });

  it.each([
    { error: s3ErrorFactory('ServiceUnavailable', 503), name: 'TransientServiceError' },
    { error: s3ErrorFactory('AccessDenied', 403), name: 'AccessDenied' },
  ])('rejects with $name for $error.name', async ({ error, name }) => {
    // Prepare
    s3Mock.on(HeadObjectCommand).rejects(error);

    // Act
    const result = headIfExists(sourceFactory());

    // Assess
    await expect(result).rejects.toMatchObject({ name });
  });
});

describe('AWS error classification', () => {
  it.each([
    { error: s3ErrorFactory('SlowDown', 503), expected: true },
    { error: s3ErrorFactory('InternalError', 500), expected: true },
    { error: s3ErrorFactory('TooManyRequestsException', 429), expected: true },
    { error: Object.assign(new Error('x'), { name: 'ThrottlingException' }), expected: true },
    { error: new Error('read ECONNRESET'), expected: true },
    { error: s3ErrorFactory('AccessDenied', 403), expected: false },
    { error: s3ErrorFactory('NoSuchKey', 404), expected: false },
    { error: new Error('boom'), expected: false },
    { error: 'not an error', expected: false },
  ])('classifies $error as transient=$expected', ({ error, expected }) => {
    // Act
    const transient = isTransientAwsError(error);

    // Assess
    expect(transient).toBe(expected);
  });

  it.each([
    { error: s3ErrorFactory('NotFound', 404), expected: true },
    { error: s3ErrorFactory('NoSuchKey', 404), expected: true },
    { error: s3ErrorFactory('NoSuchBucket', 404), expected: true },
    { error: s3ErrorFactory('AccessDenied', 403), expected: false },
    { error: new Error('boom'), expected: false },
    { error: undefined, expected: false },
  ])('isNotFound($error) is $expected', ({ error, expected }) => {
    // Act
    const notFound = isNotFound(error);

    // Assess
    expect(notFound).toBe(expected);
  });

  it('wraps a transient error with the action and keeps the cause', () => {
    // Prepare
    const cause = s3ErrorFactory('SlowDown', 503);

    // Act
    const error = (() => {
      try {
        return rethrowClassified(cause, 'PutObject s3://b/k');
      } catch (e) {
        return e as Error;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(TransientServiceError);
    expect(error.message).toBe('PutObject s3://b/k: SlowDown: SlowDown');
    expect(error.cause).toBe(cause);
  });
});

describe('mapLimit', () => {
  it('keeps order and never exceeds the limit, whatever order the work finishes in', async () => {
    // Prepare
    let inFlight = 0;
    let peak = 0;
    const items = Array.from({ length: 20 }, (_, i) => i);

    // Act
    const out = await mapLimit(items, 3, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      // A different number of event-loop turns per item scrambles the finishing order.
      for (let turn = 0; turn < (20 - n) % 4; turn++) await new Promise(setImmediate);
      inFlight--;
      return n * 2;
    });

    // Assess
    expect(out).toEqual(items.map((n) => n * 2));
    expect(peak).toBe(3);
  });

  it('handles an empty list', async () => {
    // Act
    const out = await mapLimit([] as number[], 16, async (n) => n);

    // Assess
    expect(out).toEqual([]);
  });

  it('after a failure starts nothing new and rejects only once the started items settled', async () => {
    // Prepare: item 1 fails while items 0 and 2 are still running
    const started: number[] = [];
    const settled: number[] = [];
    const items = Array.from({ length: 10 }, (_, i) => i);

    // Act
    const result = mapLimit(items, 3, async (n) => {
      started.push(n);
      for (let turn = 0; turn < (n === 1 ? 1 : 5); turn++) await new Promise(setImmediate);
      settled.push(n);
      if (n === 1) throw new Error('item 1 failed');
      return n;
    });

    // Assess: what had settled when the promise rejected, and what it rejected with
    const atRejection = await result.then(
      () => 'resolved',
      (err: Error) => ({ message: err.message, settled: [...settled].sort() })
    );
    expect(atRejection).toEqual({ message: 'item 1 failed', settled: [0, 1, 2] });
    expect(started.sort()).toEqual([0, 1, 2]);
  });

  it('treats a limit below 1 as 1 instead of never starting', async () => {
    // Act
    const out = await mapLimit([1, 2], 0, async (n) => n + 1);

    // Assess
    expect(out).toEqual([2, 3]);
  });
});

describe('runTool', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('kills a tool that exceeds its timeout', async () => {
    // Prepare: ffmpeg reading an endless test pattern in real time never exits by itself.
    useMediaTools();
    const args = ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc', '-f', 'null', '-'];

    // Act
    const result = runTool('ffmpeg', args, { timeoutMs: 300 });

    // Assess
    await expect(result).rejects.toMatchObject({
      name: 'MediaToolError',
      message: expect.stringMatching(/^ffmpeg timed out after \d+s$/),
    });
  });

  it('names the missing binary when it is not on PATH', async () => {
    // Prepare
    vi.stubEnv('FFPROBE_PATH', '/nonexistent/ffprobe');

    // Act
    const result = runTool('ffprobe', ['-version'], { timeoutMs: 5000 });

    // Assess
    await expect(result).rejects.toMatchObject({
      name: 'MediaToolError',
      message: expect.stringContaining('not found: is /nonexistent/ffprobe on PATH?'),
    });
  });

  it('resolves with a non-zero exit code instead of rejecting', async () => {
    // Prepare
    useMediaTools();

    // Act
    const res = await runTool('ffprobe', ['-v', 'error', '/nonexistent/input.mp4'], {
      timeoutMs: 10_000,
    });

    // Assess
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('No such file or directory');
  });

  it('masks local temp paths in stderr', () => {
    // Prepare
    const stderr = `${join(tmpdir(), 'branch-abc123', 'source')}: Invalid data found when processing input\n`;

    // Act
    const tail = stderrTail(stderr);

    // Assess
    expect(tail).toBe('<file>: Invalid data found when processing input');
  });

  it('keeps only the last stderr lines, bounded', () => {
    // Prepare
    const stderr = `${'noise\n'.repeat(100)}first\nsecond\nthird\n`;

    // Act
    const tail = stderrTail(stderr);

    // Assess
    expect(tail).toBe('first | second | third');
  });
});

describe('S3 event bodies', () => {
  it('decodes + and percent escapes', () => {
    // Act
    const decoded = decodeS3Key('uploads/a+b%2Bc%20d.mp4');

    // Assess
    expect(decoded).toBe('uploads/a b+c d.mp4');
  });

  it('names the failing path of a body that is not an S3 event', () => {
    // Prepare
    const body = JSON.stringify({ Records: [{ eventSource: 'aws:sqs' }] });

    // Act
    const act = () => parseS3EventBody(body);

    // Assess
    expect(act).toThrow(/Records\.0\.eventSource/);
  });

  it('yields the same uploads from a raw body and from an SNS envelope', () => {
    // Prepare
    const records = [{ key: 'uploads/a.mp4', versionId: 'v1' }, { key: 'uploads/b%20c.mov' }];

    // Act
    const [raw, enveloped] = [
      uploadsIn(snsRawS3Message(records)),
      uploadsIn(snsEnvelopedS3Message(records)),
    ];

    // Assess
    expect(raw.map((u) => u.source)).toEqual([
      {
        bucket: 'upload-bucket',
        key: 'uploads/a.mp4',
        versionId: 'v1',
        etag: 'd41d8cd98f00b204e9800998ecf8427e',
        size: 1024,
      },
      {
        bucket: 'upload-bucket',
        key: 'uploads/b c.mov',
        versionId: undefined,
        etag: 'd41d8cd98f00b204e9800998ecf8427e',
        size: 1024,
      },
    ]);
    expect(enveloped).toEqual(raw);
  });

  it('leaves out the test event, deletions, other prefixes and folder markers', () => {
    // Prepare
    const body = snsRawS3Message([
      { key: 'uploads/keep.mp4' },
      { key: 'outputs/x/manifest.json' },
      { key: 'uploads/folder/' },
      { key: 'uploads/' },
      { key: 'uploads/a.mp4', eventName: 'ObjectRemoved:Delete' },
    ]);

    // Act
    const [uploads, test] = [uploadsIn(body), uploadsIn(s3TestEventMessage())];

    // Assess
    expect(uploads.map((u) => u.source.key)).toEqual(['uploads/keep.mp4']);
    expect(test).toEqual([]);
  });
});

describe('defineStateTask', () => {
  const InputSchema = z.object({ videoId: z.string(), tenant: z.string(), n: z.int() });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('passes the parsed input on, tags the logs with the videoId and flushes metrics', async () => {
    // Prepare
    const publish = vi.spyOn(metrics, 'publishStoredMetrics');
    const task = defineStateTask(InputSchema, 'test input', async (input) => {
      metrics.addMetric('TestTaskRan', MetricUnit.Count, 1);
      return { doubled: input.n * 2, correlationId: logger.getCorrelationId() };
    });

    // Act
    const out = await task(
      { videoId: 'clip-1', tenant: 'acme', n: 21, extra: true },
      lambdaContextFactory()
    );

    // Assess
    expect(out).toEqual({ doubled: 42, correlationId: 'clip-1' });
    expect(publish).toHaveBeenCalledTimes(1);
  });

  it('flushes metrics and rethrows when the task fails', async () => {
    // Prepare
    const publish = vi.spyOn(metrics, 'publishStoredMetrics');
    const task = defineStateTask(InputSchema, 'test input', async () => {
      metrics.addMetric('TestTaskRan', MetricUnit.Count, 1);
      throw new TransientServiceError('S3 said SlowDown');
    });

    // Act
    const result = task({ videoId: 'clip-1', tenant: 'acme', n: 1 }, lambdaContextFactory());

    // Assess
    await expect(result).rejects.toThrow(TransientServiceError);
    expect(publish).toHaveBeenCalledTimes(1);
  });

  it('skips the flush (and its "No application metrics" warning) when the task stored no metric', async () => {
    // Prepare
    const publish = vi.spyOn(metrics, 'publishStoredMetrics');
    metrics.addDimension('kind', 'left-over');
    const task = defineStateTask(InputSchema, 'test input', async () => 'quiet');

    // Act
    const out = await task({ videoId: 'clip-1', tenant: 'acme', n: 1 }, lambdaContextFactory());

    // Assess: nothing published, and the dimension does not leak into the next invocation.
    expect(out).toBe('quiet');
    expect(publish).not.toHaveBeenCalled();
    expect(metrics.hasStoredMetrics()).toBe(false);
    metrics.addMetric('Next', MetricUnit.Count, 1);
    expect(metrics.serializeMetrics()._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service']]);
    metrics.clearMetrics();
  });

  it('rejects bad input with InvalidEventError naming the field, without running the task', async () => {
    // Prepare
    const run = vi.fn(async () => 'ran');
    const task = defineStateTask(InputSchema, 'test input', run);

    // Act
    const result = task({ videoId: 'clip-1', tenant: 'acme', n: 'one' }, lambdaContextFactory());

    // Assess
    await expect(result).rejects.toMatchObject({
      name: 'InvalidEventError',
      message: expect.stringMatching(/^Invalid test input: n: /),
    });
    expect(run).not.toHaveBeenCalled();
  });
});
