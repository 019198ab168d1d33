import 'aws-sdk-client-mock-vitest/extend';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { videoIdFor } from '../../contract/index.js';
import {
  checkLocalFile,
  createProgressReporter,
  PART_SIZE,
  parseThumbnailTimesOption,
  resolveUploadKey,
  uploadVideo,
} from '../src/upload.js';
import { captureOut, UPLOAD_BUCKET } from './helpers.js';

const s3Mock = mockClient(S3Client);
const s3 = () =>
  new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });

describe('resolveUploadKey', () => {
  it.each([
    [undefined, 'uploads/clip.mp4'],
    ['uploads/2025/a.mp4', 'uploads/2025/a.mp4'],
    ['uploads/batch/', 'uploads/batch/clip.mp4'],
    ['/uploads/x.mov', 'uploads/x.mov'],
  ])('--key %s gives %s', (key, expected) => {
    // Prepare
    const file = '/tmp/videos/clip.mp4';

    // Act
    const resolved = resolveUploadKey(file, key);

    // Assess
    expect(resolved).toBe(expected);
  });

  it('refuses a key outside uploads/', () => {
    // Prepare
    const key = 'videos/clip.mp4';

    // Act
    const act = () => resolveUploadKey('clip.mp4', key);

    // Assess
    expect(act).toThrow('--key must be under uploads/');
  });
});

describe('parseThumbnailTimesOption', () => {
  it('normalizes a valid list', () => {
    // Prepare
    const raw = ' 1, 2.50 ,0';

    // Act
    const value = parseThumbnailTimesOption(raw);

    // Assess
    expect(value).toBe('1,2.5,0');
  });

  it.each(['1,,2', '-1', 'abc', '1,2s'])('rejects %j', (raw) => {
    // Prepare
    const input = raw;

    // Act
    const act = () => parseThumbnailTimesOption(input);

    // Assess
    expect(act).toThrow('--thumbnail-times must be comma-separated non-negative seconds');
  });
});

describe('uploadVideo', () => {
  let dir: string;
  beforeEach(async () => {
    s3Mock.reset();
    dir = await mkdtemp(join(tmpdir(), 'cli-upload-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('puts a small file with thumbnail-times metadata and derives the videoId from the unquoted ETag', async () => {
    // Prepare
    const file = join(dir, 'My Clip.mp4');
    await writeFile(file, Buffer.from('\0\0\0\x20ftypisom', 'latin1'));
    s3Mock.on(PutObjectCommand).resolves({ ETag: '"0123abcd"' });

    // Act
    const result = await uploadVideo({
      s3: s3(),
      bucket: UPLOAD_BUCKET,
      key: 'uploads/My Clip.mp4',
      file,
      size: 12,
      thumbnailTimes: '1,2.5',
    });

    // Assess
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: UPLOAD_BUCKET,
      Key: 'uploads/My Clip.mp4',
      ContentType: 'video/mp4',
      Metadata: { 'thumbnail-times': '1,2.5' },
    });
    expect(result.source).toEqual({
      bucket: UPLOAD_BUCKET,
      key: 'uploads/My Clip.mp4',
      versionId: undefined,
      etag: '0123abcd',
      size: 12,
    });
    expect(result.videoId).toBe(
      videoIdFor({ bucket: UPLOAD_BUCKET, key: 'uploads/My Clip.mp4', etag: '0123abcd' })
    );
    expect(result.videoId).toMatch(/^my-clip-[0-9a-f]{16}$/);
  });

  it('prefers the VersionId on a versioned bucket', async () => {
    // Prepare
    const file = join(dir, 'a.mov');
    await writeFile(file, 'x');
    s3Mock.on(PutObjectCommand).resolves({ ETag: '"e"', VersionId: 'v1' });

    // Act
    const result = await uploadVideo({
      s3: s3(),
      bucket: UPLOAD_BUCKET,
      key: 'uploads/a.mov',
      file,
      size: 1,
    });

    // Assess
    expect(result.videoId).toBe(
      videoIdFor({ bucket: UPLOAD_BUCKET, key: 'uploads/a.mov', versionId: 'v1', etag: 'e' })
    );
    expect(result.videoId).not.toBe(
      videoIdFor({ bucket: UPLOAD_BUCKET, key: 'uploads/a.mov', etag: 'e' })
    );
  });

  it('uploads an empty file (the pipeline must reject it, not the CLI)', async () => {
    // Prepare
    const file = join(dir, 'empty.mp4');
    await writeFile(file, '');
    s3Mock.on(PutObjectCommand).resolves({});
    s3Mock.on(HeadObjectCommand).resolves({ ETag: '"d41d8cd98f00b204e9800998ecf8427e"' });

    // Act
    const result = await uploadVideo({
      s3: s3(),
      bucket: UPLOAD_BUCKET,
      key: 'uploads/empty.mp4',
      file,
      size: 0,
    });

    // Assess
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(result.source.etag).toBe('d41d8cd98f00b204e9800998ecf8427e');
  });

  it('uses a multipart upload above the part size', async () => {
    // Prepare
    const file = join(dir, 'big.mkv');
    const size = PART_SIZE + 1024;
    await writeFile(file, Buffer.alloc(size));
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3Mock
      .on(UploadPartCommand)
      .callsFake(async (i: { PartNumber: number }) => ({ ETag: `"p${i.PartNumber}"` }));
    s3Mock.on(CompleteMultipartUploadCommand).resolves({ ETag: '"abc-2"' });
    const progress: number[] = [];

    // Act
    const result = await uploadVideo({
      s3: s3(),
      bucket: UPLOAD_BUCKET,
      key: 'uploads/big.mkv',
      file,
      size,
      onProgress: (loaded) => progress.push(loaded),
    });

    // Assess
    expect(s3Mock).toHaveReceivedCommandTimes(UploadPartCommand, 2);
    expect(result.source.etag).toBe('abc-2');
    expect(progress.at(-1)).toBe(size);
  });
});

describe('checkLocalFile', () => {
  it('names a missing file', async () => {
    // Prepare
    const file = join(tmpdir(), 'definitely-not-here.mp4');

    // Act
    const act = checkLocalFile(file);

    // Assess
    await expect(act).rejects.toThrow(`file not found: ${file}`);
  });

  it('refuses a directory', async () => {
    // Prepare
    const file = tmpdir();

    // Act
    const act = checkLocalFile(file);

    // Assess
    await expect(act).rejects.toThrow('not a regular file');
  });
});

describe('createProgressReporter (TTY)', () => {
  it('draws a bar that fits 80 columns at its widest figures', () => {
    // Prepare
    const out = captureOut(true);
    const total = 1023.9 * 1024 * 1024;
    let t = 0;
    const reporter = createProgressReporter(out, total, () => t);

    // Act
    t = 1000;
    reporter.update(total / 2);
    reporter.stop();

    // Assess
    // Each redraw starts after a cursor move (ESC 7/8 or CSI), so split there.
    const frames = out
      .text()
      // biome-ignore lint/suspicious/noControlCharactersInRegex: splitting on ESC is the point
      .split(/\x1b(?:\[[0-9;?]*[A-Za-z]|[78])|[\r\n]/)
      .filter((l) => l.includes('uploading ['));
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.at(-1)).toContain('100% | 1023.9 MiB / 1023.9 MiB');
    expect(frames.filter((l) => [...l].length > 80)).toEqual([]);
  });
});

describe('createProgressReporter (not a TTY)', () => {
  it('prints a line per 10% step at most once a second, and 100% at the end', () => {
    // Prepare
    const out = captureOut(false);
    let t = 0;
    const reporter = createProgressReporter(out, 1000, () => t);

    // Act
    for (const loaded of [100, 150, 500, 1000]) {
      t += 1500;
      reporter.update(loaded);
    }
    reporter.stop();

    // Assess
    expect(out.text().trimEnd().split('\n')).toEqual([
      'uploading: 10% (100 B / 1000 B, 1.5s)',
      'uploading: 50% (500 B / 1000 B, 4.5s)',
      'uploading: 100% (1000 B / 1000 B, 6.0s)',
    ]);
  });
});
