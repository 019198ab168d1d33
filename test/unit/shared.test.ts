import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isTransientAwsError } from '../../contract/aws-errors.js';
import { mapLimit } from '../../lambdas/shared/concurrency.js';
import { TransientServiceError } from '../../lambdas/shared/errors.js';
import { runTool, stderrTail } from '../../lambdas/shared/media.js';
import { getJsonIfExists, PART_SIZE, putFile, s3 } from '../../lambdas/shared/s3.js';
import { decodeS3Key, parseS3EventBody } from '../../lambdas/shared/s3-events.js';
import { jsonBody, s3ErrorFactory } from '../helpers/factories.js';
import { useMediaTools } from '../helpers/media.js';

const s3Mock = mockClient(s3);

describe('putFile', () => {
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

  it('sends a small file in one PutObject', async () => {
    // Prepare
    const path = small;

    // Act
    const bytes = await putFile('b', 'k', path, 'video/mp4');

    // Assess
    expect(bytes).toBe(4);
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(s3Mock).toHaveReceivedCommandTimes(CreateMultipartUploadCommand, 0);
  });

  it('sends a large file as ordered parts and completes the upload', async () => {
    // Prepare
    const path = big;

    // Act
    const bytes = await putFile('b', 'k', path, 'video/mp4');

    // Assess
    expect(bytes).toBe(PART_SIZE * 2 + 10);
    const sizes = s3Mock
      .commandCalls(UploadPartCommand)
      .map((c) => (c.args[0].input.Body as Buffer).length);
    expect(sizes).toEqual([PART_SIZE, PART_SIZE, 10]);
    expect(s3Mock).toHaveReceivedCommandWith(CompleteMultipartUploadCommand, {
      UploadId: 'u-1',
      MultipartUpload: {
        Parts: [
          { ETag: '"etag-1"', PartNumber: 1 },
          { ETag: '"etag-2"', PartNumber: 2 },
          { ETag: '"etag-3"', PartNumber: 3 },
        ],
      },
    });
  });

  it('aborts the multipart upload and reports a transient failure', async () => {
    // Prepare
    s3Mock.on(UploadPartCommand).rejects(s3ErrorFactory('SlowDown', 503));

    // Act
    const result = putFile('b', 'k', big, 'video/mp4');

    // Assess
    await expect(result).rejects.toThrow(TransientServiceError);
    expect(s3Mock).toHaveReceivedCommandWith(AbortMultipartUploadCommand, { UploadId: 'u-1' });
  });
});

describe('getJsonIfExists', () => {
  beforeEach(() => s3Mock.reset());

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
});

describe('isTransientAwsError', () => {
  it.each([
    { error: s3ErrorFactory('SlowDown', 503), expected: true },
    { error: s3ErrorFactory('InternalError', 500), expected: true },
    { error: Object.assign(new Error('x'), { name: 'ThrottlingException' }), expected: true },
    { error: new Error('read ECONNRESET'), expected: true },
    { error: s3ErrorFactory('AccessDenied', 403), expected: false },
    { error: new Error('boom'), expected: false },
    { error: 'not an error', expected: false },
  ])('classifies $error as transient=$expected', ({ error, expected }) => {
    // Prepare
    const input = error;

    // Act
    const transient = isTransientAwsError(input);

    // Assess
    expect(transient).toBe(expected);
  });
});

describe('mapLimit', () => {
  it('keeps order and never exceeds the limit', async () => {
    // Prepare
    let inFlight = 0;
    let peak = 0;
    const items = Array.from({ length: 20 }, (_, i) => i);

    // Act
    const out = await mapLimit(items, 3, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 20 - n));
      inFlight--;
      return n * 2;
    });

    // Assess
    expect(out).toEqual(items.map((n) => n * 2));
    expect(peak).toBe(3);
  });

  it('handles an empty list', async () => {
    // Prepare
    const items: number[] = [];

    // Act
    const out = await mapLimit(items, 16, async (n) => n);

    // Assess
    expect(out).toEqual([]);
  });
});

describe('runTool', () => {
  it('kills a tool that exceeds its timeout', async () => {
    // Prepare
    useMediaTools();
    const args = ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc', '-f', 'null', '-'];

    // Act
    const result = runTool('ffmpeg', args, { timeoutMs: 300 });

    // Assess
    await expect(result).rejects.toThrow(/ffmpeg timed out/);
  });

  it('names the missing binary when it is not on PATH', async () => {
    // Prepare
    process.env.FFPROBE_PATH = '/nonexistent/ffprobe';

    // Act
    const result = runTool('ffprobe', ['-version'], { timeoutMs: 5000 }).finally(() => {
      delete process.env.FFPROBE_PATH;
    });

    // Assess
    await expect(result).rejects.toMatchObject({
      name: 'MediaToolError',
      message: expect.stringContaining('/nonexistent/ffprobe'),
    });
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
    // Prepare
    const key = 'uploads/a+b%2Bc%20d.mp4';

    // Act
    const decoded = decodeS3Key(key);

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
});
