import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../lambdas/probe/handler.js';
import { parseThumbnailTimes, probeFile, probeUpload } from '../../lambdas/probe/logic.js';
import { InvalidVideoError } from '../../lambdas/shared/errors.js';
import { s3 } from '../../lambdas/shared/s3.js';
import { ProbeResultSchema } from '../../lambdas/shared/schemas.js';
import {
  fileBody,
  lambdaContextFactory,
  s3ErrorFactory,
  sourceFactory,
} from '../helpers/factories.js';
import {
  cleanupMedia,
  makeAudioOnly,
  makeClip,
  makeEmpty,
  makeNonVideo,
  makeStillImage,
  makeTruncated,
  useMediaTools,
} from '../helpers/media.js';

const s3Mock = mockClient(s3);

describe('probeFile on generated media', () => {
  let clip: string;
  let silent: string;

  beforeAll(async () => {
    useMediaTools();
    [clip, silent] = await Promise.all([
      makeClip({ seconds: 3, width: 640, height: 360, audio: true }),
      makeClip({ seconds: 2, width: 320, height: 240, audio: false, faststart: true }),
    ]);
  });
  afterAll(cleanupMedia);

  it('reads size, duration and codecs of a valid clip', async () => {
    // Prepare
    const path = clip;

    // Act
    const facts = await probeFile(path);

    // Assess
    expect(facts).toMatchObject({
      width: 640,
      height: 360,
      videoCodec: 'h264',
      audioCodec: 'aac',
      frameRate: 25,
    });
    expect(facts.durationSec).toBeCloseTo(3, 0);
    expect(facts.sizeBytes).toBeGreaterThan(0);
    expect(facts.formatName).toContain('mp4');
  });

  it('reports a null audio codec for a clip without audio', async () => {
    // Prepare
    const path = silent;

    // Act
    const facts = await probeFile(path);

    // Assess
    expect(facts).toMatchObject({ width: 320, height: 240, audioCodec: null });
    expect(facts.durationSec).toBeCloseTo(2, 0);
  });

  it('rejects an empty file', async () => {
    // Prepare
    const path = await makeEmpty();

    // Act
    const result = probeFile(path);

    // Assess
    await expect(result).rejects.toThrow(InvalidVideoError);
    await expect(result).rejects.toThrow(/empty/);
  });

  it('rejects a text file named .mp4', async () => {
    // Prepare
    const path = await makeNonVideo();

    // Act
    const result = probeFile(path);

    // Assess
    await expect(result).rejects.toThrow(InvalidVideoError);
    await expect(result).rejects.toThrow(/not a readable video file/);
  });

  it.each([
    { description: 'moov atom at the end (camera-style file)', faststart: false },
    { description: 'moov atom first (web-optimised file)', faststart: true },
  ])('rejects a truncated mp4: $description', async ({ faststart }) => {
    // Prepare
    const path = await makeTruncated(await makeClip({ seconds: 3, faststart }));

    // Act
    const result = probeFile(path);

    // Assess
    await expect(result).rejects.toThrow(InvalidVideoError);
    await expect(result).rejects.toThrow(/truncated|not a readable video/);
  });

  it('rejects an audio-only file: no video stream', async () => {
    // Prepare
    const path = await makeAudioOnly();

    // Act
    const result = probeFile(path);

    // Assess
    await expect(result).rejects.toThrow('not a video: no video stream');
  });

  it('rejects a still image: zero or unknown duration', async () => {
    // Prepare
    const path = await makeStillImage();

    // Act
    const result = probeFile(path);

    // Assess
    await expect(result).rejects.toThrow('zero or unknown duration');
  });

  it('does not leak the temp path into the reason', async () => {
    // Prepare
    const path = await makeNonVideo();

    // Act
    const error = await probeFile(path).catch((e: Error) => e);

    // Assess
    expect((error as Error).message).not.toContain(path);
  });
});

describe('parseThumbnailTimes', () => {
  it.each([
    { raw: undefined, expected: [] },
    { raw: '', expected: [] },
    { raw: '1,2.5,30', expected: [1, 2.5, 30] },
    { raw: ' 1 , 1, 0 ', expected: [1, 0] },
    { raw: '1,abc,-2,,3', expected: [1, 3] },
  ])('parses "$raw" to $expected, dropping invalid entries', ({ raw, expected }) => {
    // Prepare
    const input = raw;

    // Act
    const times = parseThumbnailTimes(input);

    // Assess
    expect(times).toEqual(expected);
  });
});

describe('probe handler', () => {
  let clip: string;

  beforeAll(async () => {
    clip = await makeClip({ seconds: 3 });
  });
  beforeEach(() => {
    s3Mock.reset();
  });
  afterAll(cleanupMedia);

  it('downloads the exact version and returns a valid ProbeResult with requested times', async () => {
    // Prepare
    const source = sourceFactory({ versionId: 'v9' });
    s3Mock.on(HeadObjectCommand).resolves({
      ContentLength: 1000,
      Metadata: { 'thumbnail-times': '1,2.5,oops,30' },
    });
    s3Mock.on(GetObjectCommand).callsFake(() => ({ Body: fileBody(clip) }));

    // Act
    const probe = await handler({ videoId: 'clip-1', source }, lambdaContextFactory(60_000));

    // Assess
    expect(ProbeResultSchema.safeParse(probe).success).toBe(true);
    expect(probe.requestedThumbnailTimes).toEqual([1, 2.5, 30]);
    expect(probe.height).toBe(360);
    expect(s3Mock).toHaveReceivedCommandWith(GetObjectCommand, {
      Bucket: source.bucket,
      Key: source.key,
      VersionId: 'v9',
    });
  });

  it('omits requestedThumbnailTimes when the uploader asked for none', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1000, Metadata: {} });
    s3Mock.on(GetObjectCommand).callsFake(() => ({ Body: fileBody(clip) }));

    // Act
    const probe = await probeUpload({ videoId: 'clip-1', source: sourceFactory() });

    // Assess
    expect(probe).not.toHaveProperty('requestedThumbnailTimes');
  });

  it('rejects a 0-byte upload without downloading it', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 0 });

    // Act
    const result = probeUpload({ videoId: 'empty-1', source: sourceFactory() });

    // Assess
    await expect(result).rejects.toThrow(/empty file/);
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, 0);
  });

  it('rejects an invalid state input with InvalidEventError', async () => {
    // Prepare
    const event = { videoId: 'x', source: { key: 'uploads/a.mp4' } };

    // Act
    const result = handler(event, lambdaContextFactory());

    // Assess
    await expect(result).rejects.toMatchObject({ name: 'InvalidEventError' });
  });

  it('turns an S3 503 into TransientServiceError so the state machine retries', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).rejects(s3ErrorFactory('ServiceUnavailable', 503));

    // Act
    const result = probeUpload({ videoId: 'clip-1', source: sourceFactory() });

    // Assess
    await expect(result).rejects.toMatchObject({ name: 'TransientServiceError' });
  });
});
