import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type Branch,
  type BranchResult,
  FallbackIncomplete,
  FrameNotFoundError,
  SourceChangedError,
  TransientServiceError,
} from '../../contract/index.js';
import {
  cleanupMedia,
  ffprobe,
  LAYER_BUILD,
  makeClip,
  useMediaTools,
} from '../../fixtures/media.js';
import { type RangeServer, startRangeServer } from '../../fixtures/range-server.js';
import { metadata, type Produced, rendition, thumbnail } from '../../lambdas/branch-kinds/index.js';
import { runBranch, UPLOAD_CONCURRENCY } from '../../lambdas/run-branch/logic.js';
import { PHASES_METADATA } from '../../lambdas/run-branch/phases.js';
import { metrics } from '../../lambdas/shared/powertools.js';
import { presignSource, s3 } from '../../lambdas/shared/s3.js';
import { npmFallbackBuild } from '../../lib/constructs/ffmpeg-build.js';
import {
  branchInputFactory,
  probeFactory,
  s3ErrorFactory,
  sourceFactory,
} from '../helpers/factories.js';

const VIDEO_ID = 'clip-0123456789abcdef';
const BUCKET = 'output-bucket';
const source = sourceFactory();
const generous = () => 60_000;

const pathOf = (p: Produced): string => {
  if (!('path' in p)) throw new Error('expected a file artifact');
  return p.path;
};

let server: RangeServer;
beforeAll(async () => {
  useMediaTools();
  server = await startRangeServer();
});
afterAll(async () => {
  await server.close();
  cleanupMedia();
});

describe('branch kinds with real ffmpeg, reading the source over HTTP as in Lambda', () => {
  let clip: string;
  let silentClip: string;
  let workDir: string;
  const context = (input: string, overrides = {}) => ({
    videoId: VIDEO_ID,
    source,
    probe: probeFactory({ durationSec: 3 }),
    input,
    workDir,
    timeBudget: generous,
    ...overrides,
  });

  beforeAll(async () => {
    [clip, silentClip] = await Promise.all([
      makeClip({ seconds: 3, width: 640, height: 360, audio: true }),
      makeClip({ seconds: 2, width: 640, height: 360, audio: false }),
    ]);
  });
  beforeEach(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'branch-test-'));
  });
  afterEach(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('extracts a real JPEG thumbnail at the requested width', async () => {
    // Prepare
    const branch = { id: 'thumb-01', kind: 'thumbnail' as const, atSec: 1.5, width: 320 };

    // Act
    const [out] = await thumbnail.run(branch, context(server.urlFor(clip)));

    // Assess
    expect(out.key).toBe('outputs/clip-0123456789abcdef/thumbnails/thumb-01.jpg');
    expect(out.contentType).toBe('image/jpeg');
    const bytes = await readFile(pathOf(out));
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
    const probed = await ffprobe(pathOf(out));
    expect(probed.streams[0]).toMatchObject({ codec_name: 'mjpeg', width: 320, height: 180 });
  });

  it('fails with FrameNotFoundError and a readable message past the end', async () => {
    // Prepare
    const branch = { id: 'thumb-at-99s', kind: 'thumbnail' as const, atSec: 99, width: 320 };

    // Act
    const result = thumbnail.run(branch, context(server.urlFor(clip)));

    // Assess
    await expect(result).rejects.toThrow(FrameNotFoundError);
    await expect(result).rejects.toThrow('no frame at 99s (video is 3.0s long)');
  });

  it('renders a playable H.264/AAC MP4 at the target height', async () => {
    // Prepare
    const branch = { id: 'rendition-240p', kind: 'rendition' as const, height: 240 };

    // Act
    const [out] = await rendition.run(branch, context(server.urlFor(clip)));

    // Assess
    expect(out.key).toBe('outputs/clip-0123456789abcdef/renditions/240p.mp4');
    const probed = await ffprobe(pathOf(out));
    const video = probed.streams.find((s) => s.codec_type === 'video');
    const audio = probed.streams.find((s) => s.codec_type === 'audio');
    expect(video).toMatchObject({ codec_name: 'h264', height: 240, width: 426 });
    expect(audio).toMatchObject({ codec_name: 'aac' });
    expect(Number(probed.format.duration)).toBeCloseTo(3, 0);
  });

  it('renders without an audio track when the probe found none (no second probe)', async () => {
    // Prepare
    const branch = { id: 'rendition-360p', kind: 'rendition' as const, height: 360 };
    const probe = probeFactory({ durationSec: 2, audioCodec: null });

    // Act
    const [out] = await rendition.run(branch, context(server.urlFor(silentClip), { probe }));

    // Assess
    const probed = await ffprobe(pathOf(out));
    expect(probed.streams.map((s) => s.codec_type)).toEqual(['video']);
  });

  it('writes a metadata document with a summary and neither local paths nor the signed URL', async () => {
    // Prepare
    const branch = { id: 'metadata', kind: 'metadata' as const };
    const url = `${server.urlFor(clip)}?X-Amz-Signature=secret`;

    // Act
    const [out] = await metadata.run(branch, context(url));

    // Assess
    expect(out.key).toBe('outputs/clip-0123456789abcdef/metadata.json');
    if (!('body' in out)) throw new Error('expected bytes');
    const text = out.body.toString();
    const doc = JSON.parse(text);
    expect(doc.summary).toMatchObject({
      width: 640,
      height: 360,
      videoCodec: 'h264',
      audioCodec: 'aac',
      frameRate: 25,
    });
    expect(doc.ffprobe.streams).toHaveLength(2);
    // The versions of the binaries that ran, as the layer ships them (LAYER_BUILD).
    expect(doc.tools).toEqual(LAYER_BUILD.versions);
    expect(text).not.toContain(workDir);
    expect(text).not.toContain('X-Amz-Signature');
  });

  it('reads URLs with the 2018 npm fallback build too (no reconnect_on_http_error there)', async () => {
    // Prepare: the build a machine without Python falls back to.
    const branch = { id: 'thumb-01', kind: 'thumbnail' as const, atSec: 1, width: 160 };
    vi.stubEnv('FFMPEG_PATH', npmFallbackBuild().ffmpeg);

    // Act
    const [out] = await thumbnail.run(branch, context(server.urlFor(clip)));

    // Assess
    const bytes = await readFile(pathOf(out));
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
    vi.unstubAllEnvs();
  });

  it('refuses to start ffmpeg when no time is left', async () => {
    // Prepare
    const branch = { id: 'rendition-360p', kind: 'rendition' as const, height: 360 };
    server.resetStats();

    // Act
    const result = rendition.run(branch, context(server.urlFor(clip), { timeBudget: () => 0 }));

    // Assess
    await expect(result).rejects.toMatchObject({
      name: 'MediaToolError',
      message: 'no time left to run ffmpeg before the Lambda timeout',
    });
    expect(server.stats.requests).toBe(0);
  });

  it('kills a running ffmpeg when the time budget runs out mid-transcode', async () => {
    // Prepare: a source served at 64 KB/s takes far longer to read than the 1.5 s budget.
    const long = await makeClip({ seconds: 10, width: 640, height: 360 });
    const slow = await startRangeServer({ bytesPerSecond: 64 * 1024 });
    const branch = { id: 'rendition-360p', kind: 'rendition' as const, height: 360 };

    // Act
    const result = rendition.run(
      branch,
      context(slow.urlFor(long), {
        probe: probeFactory({ durationSec: 10 }),
        timeBudget: () => 1_500,
      })
    );

    // Assess: ffmpeg had started reading the source, then was stopped.
    await expect(result).rejects.toMatchObject({
      name: 'MediaToolError',
      message: expect.stringMatching(/^ffmpeg timed out/),
    });
    expect(slow.stats.bytes).toBeGreaterThan(0);
    await slow.close();
  });
});

describe('runBranch: any registered kind, artifacts to S3, a record last', () => {
  const s3Mock = mockClient(s3);
  let clip: string;
  const putBodies = () =>
    Object.fromEntries(
      s3Mock.commandCalls(PutObjectCommand).map((c) => [c.args[0].input.Key, c.args[0].input.Body])
    );
  const writtenRecord = (id: string): BranchResult =>
    JSON.parse(String(putBodies()[`outputs/${VIDEO_ID}/_work/branches/${id}.json`]));
  const run = (branch: Branch, url = server.urlFor(clip)) =>
    runBranch(branchInputFactory(branch, { videoId: VIDEO_ID }), {
      outputBucket: BUCKET,
      timeBudget: generous,
      sourceUrl: async () => url,
    });

  beforeAll(async () => {
    clip = await makeClip({ seconds: 3 });
  });
  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(PutObjectCommand).resolves({});
    // After a failed kind the runner asks S3 whether the source moved: here it did not.
    s3Mock.on(HeadObjectCommand).resolves({ ETag: `"${sourceFactory().etag}"` });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('uploads the artifact, then writes a SUCCEEDED record last, in the manifest shape', async () => {
    // Prepare
    const branch = { id: 'thumb-01', kind: 'thumbnail', atSec: 1, width: 160 };
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    const ref = await run(branch);

    // Assess
    expect(ref).toEqual({ id: 'thumb-01', status: 'SUCCEEDED' });
    const keys = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key);
    expect(keys).toEqual([
      `outputs/${VIDEO_ID}/thumbnails/thumb-01.jpg`,
      `outputs/${VIDEO_ID}/_work/branches/thumb-01.json`,
    ]);
    const record = writtenRecord('thumb-01');
    expect(Object.keys(record).sort()).toEqual(
      ['artifacts', 'durationMs', 'error', 'finishedAt', 'id', 'kind', 'status'].sort()
    );
    expect(record).toMatchObject({
      id: 'thumb-01',
      status: 'SUCCEEDED',
      kind: 'thumbnail',
      error: null,
    });
    expect(record.artifacts[0]).toMatchObject({
      key: `outputs/${VIDEO_ID}/thumbnails/thumb-01.jpg`,
      contentType: 'image/jpeg',
    });
    expect(record.artifacts[0].bytes).toBeGreaterThan(100);
    expect(addMetric).toHaveBeenCalledWith('BranchSucceeded', 'Count', 1);
  });

  it("stores a rendition's HLS measurements for the aggregator but never publishes them as artifacts", async () => {
    // Prepare: the clip has a video and an audio track, so the main rendition packages both
    const branch = { id: 'rendition-240p', kind: 'rendition', height: 240 };
    const packageKey = `outputs/${VIDEO_ID}/_work/hls/rendition-240p.json`;

    // Act
    const ref = await run(branch);

    // Assess: uploaded (the aggregator reads it by key) ...
    expect(ref).toEqual({ id: 'rendition-240p', status: 'SUCCEEDED' });
    const keys = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key);
    expect(keys).toContain(packageKey);
    expect(JSON.parse(String(putBodies()[packageKey]))).toHaveProperty('video.codecs');
    // ... but the published list holds only outputs a reader may fetch: the MP4 and the HLS files
    const listed = writtenRecord('rendition-240p').artifacts.map((a) => a.key);
    expect(listed).toContain(`outputs/${VIDEO_ID}/renditions/240p.mp4`);
    expect(listed).toContain(`outputs/${VIDEO_ID}/hls/240p/index.m3u8`);
    expect(listed.filter((k) => k.includes('/_work/'))).toEqual([]);
    // (uploaded side by side: the PUTs' order is not the list's)
    expect([...listed].sort()).toEqual(
      keys.filter((k) => k !== packageKey && !k?.includes('/_work/branches/')).sort()
    );
  });

  it('uploads side by side (bounded), every playlist after every file, the record after all', async () => {
    // Prepare: each PUT takes a few event-loop turns, so overlapping ones are seen in flight
    const branch = { id: 'rendition-240p', kind: 'rendition', height: 240 };
    let inFlight = 0;
    let peak = 0;
    const events: { key: string; at: 'start' | 'end' }[] = [];
    s3Mock.on(PutObjectCommand).callsFake(async (input: { Key: string }) => {
      events.push({ key: input.Key, at: 'start' });
      peak = Math.max(peak, ++inFlight);
      for (let turn = 0; turn < 5; turn++) await new Promise(setImmediate);
      inFlight--;
      events.push({ key: input.Key, at: 'end' });
      return {};
    });

    // Act
    await run(branch);

    // Assess
    const startOf = (key: string) => events.findIndex((e) => e.key === key && e.at === 'start');
    const endOf = (key: string) => events.findIndex((e) => e.key === key && e.at === 'end');
    const keys = [...new Set(events.map((e) => e.key))];
    const record = `outputs/${VIDEO_ID}/_work/branches/rendition-240p.json`;
    const playlists = keys.filter((k) => k.endsWith('.m3u8'));
    const files = keys.filter((k) => !k.endsWith('.m3u8') && k !== record);
    expect(playlists).toHaveLength(2);
    expect(files.filter((k) => k.endsWith('.m4s')).length).toBeGreaterThan(1);
    const lastFileEnd = Math.max(...files.map(endOf));
    for (const p of playlists) expect(startOf(p)).toBeGreaterThan(lastFileEnd);
    expect(startOf(record)).toBeGreaterThan(Math.max(...[...files, ...playlists].map(endOf)));
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(UPLOAD_CONCURRENCY);
  });

  it("uploads a rendition's MP4 once, while its HLS tracks are packaged: in S3 before any HLS file is sent", async () => {
    // Prepare: each PUT takes event-loop turns, the MP4's many more, so a PUT sent while
    // the MP4's is open (as when it went up with the HLS files, after run()) is seen.
    const branch = { id: 'rendition-240p', kind: 'rendition', height: 240 };
    const mp4 = `outputs/${VIDEO_ID}/renditions/240p.mp4`;
    const events: { key: string; at: 'start' | 'end' }[] = [];
    s3Mock.on(PutObjectCommand).callsFake(async (input: { Key: string }) => {
      events.push({ key: input.Key, at: 'start' });
      for (let turn = 0; turn < (input.Key === mp4 ? 200 : 5); turn++) {
        await new Promise(setImmediate);
      }
      events.push({ key: input.Key, at: 'end' });
      return {};
    });

    // Act
    const ref = await run(branch);

    // Assess
    expect(ref).toEqual({ id: 'rendition-240p', status: 'SUCCEEDED' });
    expect(events.filter((e) => e.key === mp4 && e.at === 'start')).toHaveLength(1);
    const mp4End = events.findIndex((e) => e.key === mp4 && e.at === 'end');
    const hlsStarts = events
      .map((e, i) => ({ ...e, i }))
      .filter((e) => e.key.includes('/hls/') && e.at === 'start');
    expect(hlsStarts.length).toBeGreaterThan(2);
    for (const e of hlsStarts) expect(e.i).toBeGreaterThan(mp4End);
    // Listed with its size like any artifact, though the upload after run() skipped it.
    const listed = writtenRecord('rendition-240p').artifacts.find((a) => a.key === mp4);
    expect(listed?.bytes).toBeGreaterThan(1000);
  });

  it("publishes the branch's time split as EMF metadata, with its video and branch", async () => {
    // Prepare
    const branch = { id: 'thumb-01', kind: 'thumbnail', atSec: 1, width: 160 };
    const addMetadata = vi.spyOn(metrics, 'addMetadata');

    // Act
    await run(branch);

    // Assess
    const meta = Object.fromEntries(addMetadata.mock.calls.map(([k, v]) => [k, v]));
    expect(meta).toMatchObject({ videoId: VIDEO_ID, branchId: 'thumb-01' });
    const phases = JSON.parse(meta[PHASES_METADATA]!);
    const jpeg = writtenRecord('thumb-01').artifacts[0]!;
    // one ffmpeg run, one upload of the JPEG's bytes; a thumbnail announces nothing
    expect(phases).toMatchObject({
      toolRuns: 1,
      uploads: 1,
      uploadBytes: jpeg.bytes,
      playlistMs: 0,
    });
    expect(phases.runMs).toBeGreaterThanOrEqual(phases.toolMs);
    // each phase is rounded on its own: the sum may pass the rounded total by one
    expect(phases.totalMs).toBeGreaterThanOrEqual(phases.runMs + phases.uploadMs - 1);
  });

  it('leaves nothing behind in the temp directory, on success or failure', async () => {
    // Prepare
    const ours = async () =>
      (await readdir(tmpdir())).filter((name) => /^branch-[A-Za-z0-9]{6}$/.test(name));
    const before = await ours();

    // Act
    await run({ id: 'thumb-01', kind: 'thumbnail', atSec: 1, width: 160 });
    await run({ id: 'thumb-at-99s', kind: 'thumbnail', atSec: 99, width: 160 }).catch(
      () => undefined
    );

    // Assess
    expect(await ours()).toEqual(before);
  });

  it('writes a FAILED record then throws FrameNotFoundError for a thumbnail past the end', async () => {
    // Prepare
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    const error = await run({ id: 'thumb-at-99s', kind: 'thumbnail', atSec: 99, width: 320 }).catch(
      (e: Error) => e
    );

    // Assess
    expect(error).toBeInstanceOf(FrameNotFoundError);
    expect(writtenRecord('thumb-at-99s')).toMatchObject({
      status: 'FAILED',
      artifacts: [],
      error: { name: 'FrameNotFoundError', message: 'no frame at 99s (video is 3.0s long)' },
    });
    expect(addMetric).toHaveBeenCalledWith('BranchFailed', 'Count', 1);
  });

  it('counts a checkpoint (FallbackIncomplete) as BranchCheckpointed, not BranchFailed, and rethrows it for its Retry', async () => {
    // Prepare: the kind stores part of its work and stops, as the segmented fallback does
    const addMetric = vi.spyOn(metrics, 'addMetric');
    vi.spyOn(thumbnail, 'run').mockRejectedValueOnce(
      new FallbackIncomplete('2 of 6 segments stored; the next attempt resumes')
    );

    // Act
    const error = await run({ id: 'thumb-01', kind: 'thumbnail', atSec: 1, width: 160 }).catch(
      (e: Error) => e
    );

    // Assess: the record is FAILED with the name (the truth if the attempts run out)
    expect(error).toBeInstanceOf(FallbackIncomplete);
    expect(writtenRecord('thumb-01')).toMatchObject({
      status: 'FAILED',
      error: { name: 'FallbackIncomplete' },
    });
    expect(addMetric).toHaveBeenCalledWith('BranchCheckpointed', 'Count', 1);
    expect(addMetric).not.toHaveBeenCalledWith('BranchFailed', 'Count', 1);
  });

  it('rejects an unknown kind and a branch that does not match its kind, by name', async () => {
    // Act
    const unknown = await run({ id: 'x', kind: 'hologram' }).catch((e: Error) => e);
    const malformed = await run({ id: 'thumb-01', kind: 'thumbnail', atSec: -1 }).catch(
      (e: Error) => e
    );

    // Assess
    expect(unknown).toMatchObject({
      name: 'InvalidEventError',
      message: expect.stringContaining('unknown branch kind "hologram"'),
    });
    expect(malformed).toMatchObject({
      name: 'InvalidEventError',
      message: expect.stringContaining('atSec'),
    });
  });

  it('maps a transient S3 error on upload to TransientServiceError (retried by the state machine)', async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).rejects(s3ErrorFactory('SlowDown', 503));

    // Act
    const error = await run({ id: 'metadata', kind: 'metadata' }).catch((e: Error) => e);

    // Assess
    expect(error).toBeInstanceOf(TransientServiceError);
  });

  it('keeps the thrown error small while the record keeps up to 500 characters', async () => {
    // Prepare
    const garbage = join(await mkdtemp(join(tmpdir(), 'garbage-')), 'g.mp4');
    await writeFile(garbage, 'x'.repeat(10_000));

    // Act
    const error = (await run(
      { id: 'rendition-360p', kind: 'rendition', height: 360 },
      server.urlFor(garbage)
    ).catch((e: Error) => e)) as Error;

    // Assess
    expect(error.name).toBe('MediaToolError');
    expect(error.message.length).toBeLessThanOrEqual(200);
    expect(error.stack?.split('\n')).toHaveLength(1);
    expect(writtenRecord('rendition-360p').error?.message.length).toBeLessThanOrEqual(500);
  });

  it('signs a GET of the exact source version for the tools to read', async () => {
    // Prepare: Lambda provides role credentials in the environment.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');

    // Act
    const url = new URL(
      await presignSource(sourceFactory({ key: 'uploads/a b.mp4', versionId: 'v7' }), 600)
    );

    // Assess
    expect(url.pathname).toMatch(/uploads\/a%20b\.mp4$/);
    expect(url.searchParams.get('versionId')).toBe('v7');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('600');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('runBranch: every read of the source is pinned to the event ETag', () => {
  const s3Mock = mockClient(s3);
  const etag = `"${source.etag}"`;
  let clip: string;
  let servers: RangeServer[] = [];
  const serve = async (answers: string) => {
    const s = await startRangeServer({ etag: answers });
    servers.push(s);
    return s;
  };

  beforeAll(async () => {
    clip = await makeClip({ seconds: 2 });
  });
  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(PutObjectCommand).resolves({});
  });
  afterEach(async () => {
    for (const s of servers) await s.close();
    servers = [];
  });

  it.each([
    { id: 'thumb-01', kind: 'thumbnail', atSec: 1, width: 160 },
    { id: 'metadata', kind: 'metadata' },
    { id: 'rendition-360p', kind: 'rendition', height: 144 },
  ])('$kind: each HTTP request ffmpeg/ffprobe makes carries If-Match', async (branch) => {
    // Prepare: the URL answers with the source's ETag, like S3 for the unchanged object.
    const server = await serve(etag);
    // Act
    const ref = await runBranch(branchInputFactory(branch, { videoId: VIDEO_ID }), {
      outputBucket: BUCKET,
      timeBudget: generous,
      sourceUrl: async () => server.urlFor(clip),
    });
    // Assess
    expect(ref.status).toBe('SUCCEEDED');
    expect(server.stats.requests).toBeGreaterThan(0);
    expect(server.stats.ifMatch).toBe(server.stats.requests);
  });

  it('fails SourceChangedError (terminal) when the key now holds other bytes, and records it', async () => {
    // Prepare: S3 holds another object under the key: reads answer 412, HEAD another ETag.
    const server = await serve('"0123456789abcdef0123456789abcdef"');
    s3Mock.on(HeadObjectCommand).rejects(s3ErrorFactory('PreconditionFailed', 412));
    const branch = { id: 'thumb-01', kind: 'thumbnail', atSec: 1, width: 160 };
    // Act
    const result = runBranch(branchInputFactory(branch, { videoId: VIDEO_ID }), {
      outputBucket: BUCKET,
      timeBudget: generous,
      sourceUrl: async () => server.urlFor(clip),
    });
    // Assess
    await expect(result).rejects.toMatchObject({
      name: 'SourceChangedError',
      message: expect.stringContaining('source changed while processing'),
    });
    await expect(result).rejects.toBeInstanceOf(SourceChangedError);
    expect(s3Mock).toHaveReceivedCommandWith(HeadObjectCommand, {
      Key: source.key,
      IfMatch: etag,
    });
    const put = s3Mock
      .commandCalls(PutObjectCommand)
      .find((c) => c.args[0].input.Key === `outputs/${VIDEO_ID}/_work/branches/thumb-01.json`);
    expect(JSON.parse(String(put?.args[0].input.Body)).error.name).toBe('SourceChangedError');
    expect(server.stats.bytes).toBe(0);
  });

  it('keeps the original error when S3 says the source is unchanged', async () => {
    // Prepare: a thumbnail past the end; the source is fine.
    const server = await serve(etag);
    s3Mock.on(HeadObjectCommand).resolves({ ETag: etag });
    const branch = { id: 'thumb-at-99s', kind: 'thumbnail', atSec: 99, width: 160 };
    // Act
    const result = runBranch(branchInputFactory(branch, { videoId: VIDEO_ID }), {
      outputBucket: BUCKET,
      timeBudget: generous,
      sourceUrl: async () => server.urlFor(clip),
    });
    // Assess
    await expect(result).rejects.toMatchObject({ name: 'FrameNotFoundError' });
  });
});
