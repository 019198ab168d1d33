import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import { stat } from 'node:fs/promises';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidVideoError, SourceChangedError, type SourceObject } from '../../contract/index.js';
import {
  cleanupMedia,
  makeAudioOnly,
  makeClip,
  makeEmpty,
  makeNonVideo,
  makeStillImage,
  makeTruncated,
  useMediaTools,
} from '../../fixtures/media.js';
import { type RangeServer, startRangeServer } from '../../fixtures/range-server.js';
import { handler } from '../../lambdas/probe/handler.js';
import {
  maxExtraThumbnailsFromEnv,
  parseThumbnailTimes,
  probeFile,
  probeUpload,
} from '../../lambdas/probe/logic.js';
import { presignSource, s3 } from '../../lambdas/shared/s3.js';
import { lambdaContextFactory, s3ErrorFactory, sourceFactory } from '../helpers/factories.js';

// The probe signs a URL for ffprobe; here the URL points at the range server
// instead of S3, so ffprobe really streams the file over HTTP.
const sourceUrls = vi.hoisted(() => new Map<string, string>());
vi.mock('../../lambdas/shared/s3.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lambdas/shared/s3.js')>();
  return {
    ...real,
    presignSource: vi.fn(async (source: SourceObject) => {
      const url = sourceUrls.get(source.key);
      if (!url) throw new Error(`test set no URL for ${source.key}`);
      return url;
    }),
  };
});

const s3Mock = mockClient(s3);
let server: RangeServer;
/** What S3 answers for the factories' source: the ETag its event named. */
const SOURCE_ETAG = `"${sourceFactory().etag}"`;

beforeAll(async () => {
  useMediaTools();
  server = await startRangeServer();
});
afterAll(async () => {
  await server.close();
  cleanupMedia();
});

/** Where probeFile reads: the local path, or the same file over HTTP as from a presigned URL. */
interface Reader {
  over: string;
  input: (path: string) => Promise<{ input: string; sizeBytes?: number }>;
}
const readers: Reader[] = [
  { over: 'a local path', input: async (path) => ({ input: path }) },
  {
    over: 'HTTP with range requests',
    input: async (path) => ({
      input: server.urlFor(path),
      // A URL has no stat(); the probe handler passes the size from HEAD.
      sizeBytes: (await stat(path)).size,
    }),
  },
];

describe.each(readers)('probeFile over $over', ({ input }) => {
  const probe = async (path: string) => {
    const { input: where, sizeBytes } = await input(path);
    return probeFile(where, 60_000, sizeBytes);
  };
  let clip: string;
  let silent: string;

  beforeAll(async () => {
    [clip, silent] = await Promise.all([
      makeClip({ seconds: 3, width: 640, height: 360, audio: true }),
      makeClip({ seconds: 2, width: 320, height: 240, audio: false, faststart: true }),
    ]);
  });

  it('reads size, duration and codecs of a valid clip', async () => {
    // Act
    const facts = await probe(clip);

    // Assess
    expect(facts).toMatchObject({
      width: 640,
      height: 360,
      videoCodec: 'h264',
      audioCodec: 'aac',
      frameRate: 25,
      sizeBytes: (await stat(clip)).size,
    });
    expect(facts.durationSec).toBeCloseTo(3, 0);
    expect(facts.formatName).toContain('mp4');
  });

  it('reports a null audio codec for a clip without audio', async () => {
    // Act
    const facts = await probe(silent);

    // Assess
    expect(facts).toMatchObject({ width: 320, height: 240, audioCodec: null });
    expect(facts.durationSec).toBeCloseTo(2, 0);
  });

  it('rejects an empty file', async () => {
    // Prepare
    const path = await makeEmpty();

    // Act
    const result = probe(path);

    // Assess
    await expect(result).rejects.toThrow(InvalidVideoError);
    await expect(result).rejects.toThrow('empty file (0 bytes)');
  });

  it('rejects a text file named .mp4 as not a readable video file', async () => {
    // Prepare
    const path = await makeNonVideo();

    // Act
    const result = probe(path);

    // Assess
    await expect(result).rejects.toThrow(InvalidVideoError);
    await expect(result).rejects.toThrow(/^not a readable video file \(/);
  });

  it.each([
    {
      description: 'moov atom at the end (camera-style file)',
      faststart: false,
      reason: /^not a readable video file \(.*moov atom not found/,
    },
    {
      description: 'moov atom first (web-optimised file)',
      faststart: true,
      reason: /^truncated or corrupt video \(/,
    },
  ])('rejects a truncated mp4: $description', async ({ faststart, reason }) => {
    // Prepare
    const path = await makeTruncated(await makeClip({ seconds: 3, faststart }));

    // Act
    const result = probe(path);

    // Assess
    await expect(result).rejects.toThrow(InvalidVideoError);
    await expect(result).rejects.toThrow(reason);
  });

  it('rejects an audio-only file: no video stream', async () => {
    // Prepare
    const path = await makeAudioOnly();

    // Act
    const result = probe(path);

    // Assess
    await expect(result).rejects.toThrow(InvalidVideoError);
    await expect(result).rejects.toThrow('not a video: no video stream');
  });

  it('rejects a still image: zero or unknown duration', async () => {
    // Prepare
    const path = await makeStillImage();

    // Act
    const result = probe(path);

    // Assess
    await expect(result).rejects.toThrow(InvalidVideoError);
    await expect(result).rejects.toThrow('zero or unknown duration');
  });

  it('does not leak the path or URL of the input into the reason', async () => {
    // Prepare
    const path = await makeNonVideo();
    const { input: where } = await input(path);

    // Act
    const error = await probe(path).catch((e: Error) => e);

    // Assess
    expect(error).toBeInstanceOf(InvalidVideoError);
    expect((error as Error).message).not.toContain(where);
    expect((error as Error).message).not.toContain(path);
  });
});

describe('probeFile on a URL without a size from HEAD', () => {
  it('takes the size from ffprobe and keeps the URL out of any message', async () => {
    // Prepare
    const clip = await makeClip({ seconds: 2 });
    const url = `${server.urlFor(clip)}?X-Amz-Signature=secret`;

    // Act
    const facts = await probeFile(url);
    const failure = await probeFile(`${server.urlFor(await makeNonVideo())}?X-Amz-Signature=secret`)
      .then(() => undefined)
      .catch((e: Error) => e);

    // Assess
    expect(facts.sizeBytes).toBe((await stat(clip)).size);
    expect(failure).toBeInstanceOf(InvalidVideoError);
    expect(failure?.message).not.toContain('X-Amz-Signature');
  });
});

describe('parseThumbnailTimes', () => {
  it.each([
    { raw: undefined, expected: [] },
    { raw: '', expected: [] },
    { raw: '1,2.5,30', expected: [1, 2.5, 30] },
    { raw: ' 1 , 1, 0 ', expected: [1, 0] },
    { raw: '1,abc,-2,,3', expected: [1, 3] },
    { raw: '1,1e21,Infinity', expected: [1] },
  ])('parses "$raw" to $expected, dropping invalid entries', ({ raw, expected }) => {
    // Act
    const times = parseThumbnailTimes(raw);

    // Assess
    expect(times).toEqual(expected);
  });
});

describe('probe handler', () => {
  let clip: string;
  const presign = vi.mocked(presignSource);

  beforeAll(async () => {
    clip = await makeClip({ seconds: 3 });
  });
  beforeEach(() => {
    s3Mock.reset();
    presign.mockClear();
    sourceUrls.clear();
    server.resetStats();
  });
  afterEach(() => {
    sourceUrls.clear();
  });

  it('probes the exact version over its URL, without a download, and adds requested times', async () => {
    // Prepare
    const source = sourceFactory({ key: 'uploads/clip.mp4', versionId: 'v9' });
    sourceUrls.set(source.key, server.urlFor(clip));
    const size = (await stat(clip)).size;
    s3Mock.on(HeadObjectCommand).resolves({
      ETag: SOURCE_ETAG,
      ContentLength: size,
      Metadata: { 'thumbnail-times': '1,2.5,oops,30' },
    });

    // Act
    const probe = await handler(
      { videoId: 'clip-1', tenant: 'default', source },
      lambdaContextFactory(60_000)
    );

    // Assess
    expect(probe).toMatchObject({
      width: 640,
      height: 360,
      videoCodec: 'h264',
      audioCodec: 'aac',
      sizeBytes: size,
      requestedThumbnailTimes: [1, 2.5, 30],
    });
    expect(s3Mock).toHaveReceivedCommandWith(HeadObjectCommand, {
      Bucket: source.bucket,
      Key: source.key,
      VersionId: 'v9',
    });
    expect(presign).toHaveBeenCalledWith(source, expect.any(Number));
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, 0);
    expect(server.stats.requests).toBeGreaterThan(0);
  });

  it('omits requestedThumbnailTimes when the uploader asked for none', async () => {
    // Prepare
    const source = sourceFactory();
    sourceUrls.set(source.key, server.urlFor(clip));
    s3Mock.on(HeadObjectCommand).resolves({
      ETag: SOURCE_ETAG,
      ContentLength: (await stat(clip)).size,
      Metadata: {},
    });

    // Act
    const probe = await probeUpload({ videoId: 'clip-1', tenant: 'default', source });

    // Assess
    expect(probe).not.toHaveProperty('requestedThumbnailTimes');
  });

  it('rejects a 0-byte upload without signing a URL or reading it', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).resolves({ ETag: SOURCE_ETAG, ContentLength: 0 });

    // Act
    const result = probeUpload({ videoId: 'empty-1', tenant: 'default', source: sourceFactory() });

    // Assess
    await expect(result).rejects.toThrow(InvalidVideoError);
    await expect(result).rejects.toThrow('empty file (0 bytes)');
    expect(presign).not.toHaveBeenCalled();
    expect(server.stats.requests).toBe(0);
  });

  it('rejects an upload that is gone before probing', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).rejects(s3ErrorFactory('NotFound', 404));

    // Act
    const result = probeUpload({ videoId: 'gone-1', tenant: 'default', source: sourceFactory() });

    // Assess
    await expect(result).rejects.toThrow(InvalidVideoError);
    await expect(result).rejects.toThrow(
      'the upload is gone (deleted or overwritten) before probing'
    );
  });

  it('rejects an invalid state input with InvalidEventError', async () => {
    // Prepare
    const event = { videoId: 'x', tenant: 'default', source: { key: 'uploads/a.mp4' } };

    // Act
    const result = handler(event, lambdaContextFactory());

    // Assess
    await expect(result).rejects.toMatchObject({
      name: 'InvalidEventError',
      message: expect.stringContaining('source.bucket'),
    });
  });

  it('turns an S3 503 into TransientServiceError so the state machine retries', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).rejects(s3ErrorFactory('ServiceUnavailable', 503));

    // Act
    const result = probeUpload({ videoId: 'clip-1', tenant: 'default', source: sourceFactory() });

    // Assess
    await expect(result).rejects.toMatchObject({ name: 'TransientServiceError' });
  });

  it('keeps at most maxExtraThumbnails requested times and counts what it left out', async () => {
    // Prepare: 25 valid times and one entry that is not a time.
    const source = sourceFactory();
    sourceUrls.set(source.key, server.urlFor(clip));
    const raw = [...Array.from({ length: 25 }, (_, i) => String(i / 10)), '<b>'].join(',');
    s3Mock.on(HeadObjectCommand).resolves({
      ETag: SOURCE_ETAG,
      ContentLength: (await stat(clip)).size,
      Metadata: { 'thumbnail-times': raw },
    });

    // Act
    const probe = await probeUpload(
      { videoId: 'clip-1', tenant: 'default', source },
      { timeoutMs: 60_000, maxExtraThumbnails: 20 }
    );

    // Assess
    expect(probe.requestedThumbnailTimes).toEqual(Array.from({ length: 20 }, (_, i) => i / 10));
    expect(probe.thumbnailTimesIgnored).toBe(6);
  });

  it('fails SourceChangedError, reading nothing, when the key holds other bytes than the event named', async () => {
    // Prepare: an S3 that ignores If-Match on HEAD answers the other object's ETag.
    const source = sourceFactory({ versionId: undefined });
    sourceUrls.set(source.key, server.urlFor(clip));
    s3Mock.on(HeadObjectCommand).resolves({ ETag: '"0123456789abcdef0123456789abcdef"' });

    // Act
    const result = probeUpload({ videoId: 'moved-1', tenant: 'default', source });

    // Assess
    await expect(result).rejects.toBeInstanceOf(SourceChangedError);
    await expect(result).rejects.toThrow('source changed while processing');
    expect(s3Mock).toHaveReceivedCommandWith(HeadObjectCommand, { IfMatch: SOURCE_ETAG });
    expect(server.stats.requests).toBe(0);
  });
});

describe('maxExtraThumbnailsFromEnv', () => {
  it.each([
    { raw: undefined, expected: 20 },
    { raw: '', expected: 20 },
    { raw: '0', expected: 0 },
    { raw: '7', expected: 7 },
  ])('reads $raw as $expected', ({ raw, expected }) => {
    expect(maxExtraThumbnailsFromEnv(raw)).toBe(expected);
  });

  it.each(['-1', '2.5', 'many'])('refuses %s loudly', (raw) => {
    expect(() => maxExtraThumbnailsFromEnv(raw)).toThrow(
      'Invalid configuration MAX_EXTRA_THUMBNAILS: expected an integer >= 0'
    );
  });
});
