import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../lambdas/process-branch/handler.js';
import { type Produced, processBranch, runTask } from '../../lambdas/process-branch/logic.js';
import { FrameNotFoundError, TransientServiceError } from '../../lambdas/shared/errors.js';
import {
  branchResultKey,
  metadataKey,
  renditionKey,
  thumbnailKey,
} from '../../lambdas/shared/keys.js';
import { metrics } from '../../lambdas/shared/powertools.js';
import { s3 } from '../../lambdas/shared/s3.js';
import {
  type BranchResult,
  BranchResultSchema,
  type BranchTask,
} from '../../lambdas/shared/schemas.js';
import {
  fileBody,
  lambdaContextFactory,
  s3ErrorFactory,
  sourceFactory,
} from '../helpers/factories.js';
import { cleanupMedia, ffprobe, makeClip, timings, useMediaTools } from '../helpers/media.js';

const VIDEO_ID = 'clip-0123456789abcdef';
const BUCKET = 'output-bucket';
const source = sourceFactory();
const generous = () => 60_000;

const pathOf = (p: Produced): string => {
  if (!('path' in p)) throw new Error('expected a file artifact');
  return p.path;
};

describe('runTask with real ffmpeg', () => {
  let clip: string;
  let silentClip: string;
  let work: string;

  beforeAll(async () => {
    useMediaTools();
    [clip, silentClip] = await Promise.all([
      makeClip({ seconds: 3, width: 640, height: 360, audio: true }),
      makeClip({ seconds: 2, width: 640, height: 360, audio: false }),
    ]);
  });
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'branch-test-'));
  });
  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
  });
  afterAll(() => {
    cleanupMedia();
    // Timing notes for the report: run with POWERTOOLS_LOG_LEVEL=DEBUG to see them.
    if (process.env.POWERTOOLS_LOG_LEVEL === 'DEBUG') console.table(timings);
  });

  it('extracts a real JPEG thumbnail at the requested width', async () => {
    // Prepare
    const task: BranchTask = { id: 'thumb-01', kind: 'thumbnail', atSec: 1.5, width: 320 };

    // Act
    const started = Date.now();
    const [out] = await runTask(VIDEO_ID, source, task, clip, work, generous);
    timings.push({ what: 'thumbnail 320w from 640x360', ms: Date.now() - started });

    // Assess
    expect(out.key).toBe(thumbnailKey(VIDEO_ID, 'thumb-01'));
    expect(out.contentType).toBe('image/jpeg');
    const bytes = await readFile(pathOf(out));
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
    const probed = await ffprobe(pathOf(out));
    expect(probed.streams[0]).toMatchObject({ codec_name: 'mjpeg', width: 320, height: 180 });
  });

  it('fails with FrameNotFoundError and a readable message past the end', async () => {
    // Prepare
    const task: BranchTask = { id: 'thumb-at-99000', kind: 'thumbnail', atSec: 99, width: 320 };

    // Act
    const result = runTask(VIDEO_ID, source, task, clip, work, generous);

    // Assess
    await expect(result).rejects.toThrow(FrameNotFoundError);
    await expect(result).rejects.toThrow('no frame at 99s (video is 3.0s long)');
  });

  it('renders a playable H.264/AAC MP4 at the target height', async () => {
    // Prepare
    const task: BranchTask = { id: 'rendition-240p', kind: 'rendition', height: 240 };

    // Act
    const started = Date.now();
    const [out] = await runTask(VIDEO_ID, source, task, clip, work, generous);
    timings.push({ what: 'rendition 240p from 3s 640x360', ms: Date.now() - started });

    // Assess
    expect(out.key).toBe(renditionKey(VIDEO_ID, 240));
    const probed = await ffprobe(pathOf(out));
    const video = probed.streams.find((s) => s.codec_type === 'video');
    const audio = probed.streams.find((s) => s.codec_type === 'audio');
    expect(video).toMatchObject({ codec_name: 'h264', height: 240, width: 426 });
    expect(audio).toMatchObject({ codec_name: 'aac' });
    expect(Number(probed.format.duration)).toBeCloseTo(3, 0);
  });

  it('renders without an audio track when the source has none', async () => {
    // Prepare
    const task: BranchTask = { id: 'rendition-360p', kind: 'rendition', height: 360 };

    // Act
    const [out] = await runTask(VIDEO_ID, source, task, silentClip, work, generous);

    // Assess
    const probed = await ffprobe(pathOf(out));
    expect(probed.streams.map((s) => s.codec_type)).toEqual(['video']);
  });

  it('writes a metadata document with a summary and no local paths', async () => {
    // Prepare
    const task: BranchTask = { id: 'metadata', kind: 'metadata' };

    // Act
    const [out] = await runTask(VIDEO_ID, source, task, clip, work, generous);

    // Assess
    expect(out.key).toBe(metadataKey(VIDEO_ID));
    if (!('body' in out)) throw new Error('expected bytes');
    const doc = JSON.parse(out.body.toString());
    expect(doc.summary).toMatchObject({
      width: 640,
      height: 360,
      videoCodec: 'h264',
      audioCodec: 'aac',
      frameRate: 25,
    });
    expect(doc.ffprobe.streams).toHaveLength(2);
    expect(out.body.toString()).not.toContain(work);
  });

  it('stops ffmpeg when the time budget is used up', async () => {
    // Prepare
    const task: BranchTask = { id: 'rendition-360p', kind: 'rendition', height: 360 };
    const exhausted = () => 0;

    // Act
    const result = runTask(VIDEO_ID, source, task, clip, work, exhausted);

    // Assess
    await expect(result).rejects.toMatchObject({ name: 'MediaToolError' });
  });
});

describe('processBranch with S3', () => {
  const s3Mock = mockClient(s3);
  let clip: string;

  const putBodies = () =>
    Object.fromEntries(
      s3Mock.commandCalls(PutObjectCommand).map((c) => [c.args[0].input.Key, c.args[0].input.Body])
    );
  const writtenResult = (taskId: string): BranchResult =>
    JSON.parse(String(putBodies()[branchResultKey(VIDEO_ID, taskId)]));

  beforeAll(async () => {
    clip = await makeClip({ seconds: 3 });
  });
  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(GetObjectCommand).callsFake(() => ({ Body: fileBody(clip) }));
    s3Mock.on(PutObjectCommand).resolves({});
    vi.stubEnv('OUTPUT_BUCKET', BUCKET);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });
  afterAll(cleanupMedia);

  it('uploads the artifact, then writes a SUCCEEDED branch record last', async () => {
    // Prepare
    const task: BranchTask = { id: 'thumb-01', kind: 'thumbnail', atSec: 1, width: 160 };
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    const ref = await handler({ videoId: VIDEO_ID, source, task }, lambdaContextFactory(120_000));

    // Assess
    expect(ref).toEqual({ taskId: 'thumb-01', status: 'SUCCEEDED' });
    const keys = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key);
    expect(keys).toEqual([
      thumbnailKey(VIDEO_ID, 'thumb-01'),
      branchResultKey(VIDEO_ID, 'thumb-01'),
    ]);
    const result = writtenResult('thumb-01');
    expect(BranchResultSchema.safeParse(result).success).toBe(true);
    expect(result).toMatchObject({ status: 'SUCCEEDED', kind: 'thumbnail', error: null });
    expect(result.artifacts[0]).toMatchObject({ contentType: 'image/jpeg' });
    expect(result.artifacts[0].bytes).toBeGreaterThan(100);
    expect(addMetric).toHaveBeenCalledWith('BranchSucceeded', 'Count', 1);
  });

  it('leaves nothing behind in the temp directory, on success or failure', async () => {
    // Prepare
    const ours = async () =>
      (await readdir(tmpdir())).filter((name) => /^branch-[A-Za-z0-9]{6}$/.test(name));
    const before = await ours();
    const ok: BranchTask = { id: 'thumb-01', kind: 'thumbnail', atSec: 1, width: 160 };
    const bad: BranchTask = { id: 'thumb-at-99000', kind: 'thumbnail', atSec: 99, width: 160 };

    // Act
    await processBranch(
      { videoId: VIDEO_ID, source, task: ok },
      { outputBucket: BUCKET, timeBudget: generous }
    );
    await processBranch(
      { videoId: VIDEO_ID, source, task: bad },
      { outputBucket: BUCKET, timeBudget: generous }
    ).catch(() => undefined);

    // Assess
    expect(await ours()).toEqual(before);
  });

  it('uploads a rendition and records its size', async () => {
    // Prepare
    const task: BranchTask = { id: 'rendition-360p', kind: 'rendition', height: 360 };

    // Act
    const ref = await processBranch(
      { videoId: VIDEO_ID, source, task },
      { outputBucket: BUCKET, timeBudget: generous }
    );

    // Assess
    expect(ref.status).toBe('SUCCEEDED');
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Key: renditionKey(VIDEO_ID, 360),
      ContentType: 'video/mp4',
    });
    expect(writtenResult('rendition-360p').artifacts[0].bytes).toBeGreaterThan(1000);
  });

  it('writes a FAILED record then throws FrameNotFoundError for a thumbnail past the end', async () => {
    // Prepare
    const task: BranchTask = { id: 'thumb-at-99000', kind: 'thumbnail', atSec: 99, width: 320 };
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    const error = await processBranch(
      { videoId: VIDEO_ID, source, task },
      { outputBucket: BUCKET, timeBudget: generous }
    ).catch((e: Error) => e);

    // Assess
    expect(error).toBeInstanceOf(FrameNotFoundError);
    expect(writtenResult('thumb-at-99000')).toMatchObject({
      status: 'FAILED',
      artifacts: [],
      error: { name: 'FrameNotFoundError', message: 'no frame at 99s (video is 3.0s long)' },
    });
    expect(addMetric).toHaveBeenCalledWith('BranchFailed', 'Count', 1);
  });

  it('maps a transient S3 error to TransientServiceError (retried by the state machine)', async () => {
    // Prepare
    s3Mock.on(GetObjectCommand).rejects(s3ErrorFactory('SlowDown', 503));
    const task: BranchTask = { id: 'metadata', kind: 'metadata' };

    // Act
    const error = await processBranch(
      { videoId: VIDEO_ID, source, task },
      { outputBucket: BUCKET, timeBudget: generous }
    ).catch((e: Error) => e);

    // Assess
    expect(error).toBeInstanceOf(TransientServiceError);
    expect(writtenResult('metadata').error?.name).toBe('TransientServiceError');
  });

  it('still throws the original error when the FAILED record cannot be written', async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).rejects(s3ErrorFactory('InternalError', 500));
    const task: BranchTask = { id: 'thumb-at-99000', kind: 'thumbnail', atSec: 99, width: 320 };

    // Act
    const result = processBranch(
      { videoId: VIDEO_ID, source, task },
      { outputBucket: BUCKET, timeBudget: generous }
    );

    // Assess
    await expect(result).rejects.toThrow(FrameNotFoundError);
  });

  it('keeps the thrown error small while the record keeps up to 500 characters', async () => {
    // Prepare
    const garbage = join(await mkdtemp(join(tmpdir(), 'garbage-')), 'g.mp4');
    await writeFile(garbage, 'x'.repeat(10_000));
    s3Mock.on(GetObjectCommand).callsFake(() => ({ Body: fileBody(garbage) }));
    const task: BranchTask = { id: 'rendition-360p', kind: 'rendition', height: 360 };

    // Act
    const error = (await processBranch(
      { videoId: VIDEO_ID, source, task },
      { outputBucket: BUCKET, timeBudget: generous }
    ).catch((e: Error) => e)) as Error;

    // Assess
    expect(error.name).toBe('MediaToolError');
    expect(error.message.length).toBeLessThanOrEqual(200);
    expect(error.stack?.split('\n')).toHaveLength(1);
    expect(writtenResult('rendition-360p').error?.message.length).toBeLessThanOrEqual(500);
  });
});
