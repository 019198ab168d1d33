import '../helpers/env.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type Branch,
  type BranchResult,
  branchResultKey,
  type ProbeResult,
  segmentItemsKey,
} from '../../contract/index.js';
import { cleanupMedia, makeClip, useMediaTools } from '../../fixtures/media.js';
import {
  audioPartItems,
  type RenditionBranch,
  segmentItemsFor,
} from '../../lambdas/branch-kinds/index.js';
import { probeFile } from '../../lambdas/probe/logic.js';
import { runBranch } from '../../lambdas/run-branch/logic.js';
import { runTool } from '../../lambdas/shared/media.js';
import { s3 } from '../../lambdas/shared/s3.js';
import { branchInputFactory, s3ErrorFactory, sourceFactory } from '../helpers/factories.js';

/**
 * Who joins the audio parts (docs/segments.md, "Audio in parts"): the part
 * that completes the set, as runBranch runs it after storing the part; else a
 * segmented rendition's join, before it muxes the audio, or it fails naming
 * the missing parts. Real ffmpeg; the output bucket is an in-memory S3.
 */

const VIDEO_ID = 'clip-0123456789abcdef';
const BUCKET = 'output-bucket';
const source = sourceFactory();
const AUDIO_RECORD = branchResultKey(VIDEO_ID, 'audio');
const AUDIO_FILE = `outputs/${VIDEO_ID}/_work/segments/audio.m4a`;
const partFile = (i: number) => `outputs/${VIDEO_ID}/_work/segments/audio-parts/000${i}.m4a`;

const s3Mock = mockClient(s3);
const store = new Map<string, Buffer>();
const puts: string[] = [];

const bodyBytes = async (body: unknown): Promise<Buffer> => {
  if (typeof body === 'string' || body instanceof Uint8Array) return Buffer.from(body);
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
};

describe('the audio join: by the last part, else by a rendition join', () => {
  let clip: string;
  let workDir: string;
  let probe: ProbeResult;
  let renditionBranch: RenditionBranch;
  let files: string;

  const run = (branch: Branch, extra: { earlyJoin?: { timeoutMs?: number } } = {}) =>
    runBranch(branchInputFactory(branch, { videoId: VIDEO_ID, source, probe }), {
      ...extra,
      outputBucket: BUCKET,
      timeBudget: () => 300_000,
      sourceUrl: async () => clip,
      // The tools read stored objects as local files, as they would read presigned URLs.
      outputUrl: async (key) => {
        const body = store.get(key);
        if (!body) return undefined;
        const path = join(files, key.replace(/\//g, '_'));
        await writeFile(path, body);
        return path;
      },
    });
  const record = (id: string) => {
    const body = store.get(branchResultKey(VIDEO_ID, id));
    return body ? (JSON.parse(body.toString()) as BranchResult) : undefined;
  };

  beforeAll(async () => {
    useMediaTools();
    workDir = await mkdtemp(join(tmpdir(), 'audio-join-'));
    files = await mkdtemp(join(workDir, 'objects-'));
    // 6 s at 25 fps with a tone: 3 video segments of 2 s and 3 audio parts of 2.048 s.
    clip = await makeClip({ seconds: 6, width: 320, height: 180, audio: true });
    probe = { ...(await probeFile(clip)), requestedThumbnailTimes: [] };
    renditionBranch = {
      id: 'rendition-180p',
      kind: 'rendition',
      height: 180,
      segmentation: { count: 3, lengthSec: 2, framesPerSegment: 50, gopFrames: 50, frameRate: 25 },
    };
  }, 60_000);

  afterAll(async () => {
    cleanupMedia();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(GetObjectCommand).callsFake(async ({ Key }: { Key: string }) => {
      const body = store.get(Key);
      if (!body) throw s3ErrorFactory('NoSuchKey', 404);
      return { Body: { transformToString: async () => body.toString() } };
    });
    s3Mock.on(ListObjectsV2Command).callsFake(async ({ Prefix }: { Prefix: string }) => ({
      Contents: [...store.keys()].filter((k) => k.startsWith(Prefix)).map((Key) => ({ Key })),
    }));
    s3Mock.on(PutObjectCommand).callsFake(async ({ Key, Body }: { Key: string; Body: unknown }) => {
      store.set(Key, await bodyBytes(Body));
      puts.push(Key);
      return {};
    });
    s3Mock.on(HeadObjectCommand).resolves({ ETag: `"${source.etag}"` });
  });

  it('the part that completes the set joins them once: the audio record, the AAC and its playlist', async () => {
    // Prepare: the Plan's items file (3 audio parts, 3 video segments), the segments stored
    const parts = audioPartItems(probe.durationSec, 2);
    store.set(
      segmentItemsKey(VIDEO_ID),
      Buffer.from(JSON.stringify([...parts, ...segmentItemsFor(renditionBranch)]))
    );
    for (const segment of segmentItemsFor(renditionBranch)) await run(segment);

    // Act: the parts finish one after another; the first one again (a duplicate delivery)
    await run(parts[0]!);
    await run(parts[1]!);
    const beforeLast = record('audio');
    await run(parts[2]!);
    await run(parts[0]!);

    // Assess
    expect(parts.map((p) => p.id)).toEqual(['audio-p0000', 'audio-p0001', 'audio-p0002']);
    expect(beforeLast).toBeUndefined();
    expect(record('audio')?.status).toBe('SUCCEEDED');
    expect(puts.filter((k) => k === AUDIO_FILE)).toHaveLength(1);
    expect(store.has(`outputs/${VIDEO_ID}/hls/audio/index.m3u8`)).toBe(true);
    expect([0, 1, 2].every((i) => store.has(partFile(i)))).toBe(true);
  }, 120_000);

  it('a segmented rendition joins the audio itself when no part did, then muxes it', async () => {
    // Prepare: the cases share the bucket, in order: every part and segment stored by the case
    // above; the audio not joined (the last part's join raced or failed)
    store.delete(AUDIO_RECORD);
    store.delete(AUDIO_FILE);

    // Act
    const ref = await run(renditionBranch);

    // Assess
    expect(ref).toEqual({ id: 'rendition-180p', status: 'SUCCEEDED' });
    expect(record('audio')?.status).toBe('SUCCEEDED');
    expect(store.has(AUDIO_FILE)).toBe(true);
    expect(store.has(`outputs/${VIDEO_ID}/renditions/180p.mp4`)).toBe(true);
  }, 120_000);

  it('a segmented rendition fails naming the missing parts when the set is incomplete', async () => {
    // Prepare: the bucket of the case above, without the audio, the rendition's record and a part
    store.delete(AUDIO_RECORD);
    store.delete(AUDIO_FILE);
    store.delete(branchResultKey(VIDEO_ID, 'rendition-180p'));
    store.delete(partFile(1));

    // Act
    const error = await run(renditionBranch).catch((e: unknown) => e);

    // Assess: the rendition fails (its fallback runs under the policy), with the reason recorded
    expect((error as Error).message).toBe(
      'the audio track is missing: 1 of 3 audio parts missing (audio-p0001); their items failed or did not run'
    );
    expect(record('rendition-180p')?.status).toBe('FAILED');
    expect(record('rendition-180p')?.error?.message).toMatch(/audio-p0001/);
    expect(record('audio')).toBeUndefined();
  }, 120_000);

  it('a whole-track item of an older items file still encodes the audio, and joins then use it', async () => {
    // Prepare: an items file from before the parts (one `audio` item, no part fields); the
    // segments of the cases above
    store.set(
      segmentItemsKey(VIDEO_ID),
      Buffer.from(
        JSON.stringify([
          { id: 'audio', kind: 'rendition-segment', track: 'audio' },
          ...segmentItemsFor(renditionBranch),
        ])
      )
    );
    store.delete(branchResultKey(VIDEO_ID, 'rendition-180p'));

    // Act
    await run({ id: 'audio', kind: 'rendition-segment', track: 'audio' } as Branch);
    const ref = await run(renditionBranch);

    // Assess
    expect(record('audio')?.status).toBe('SUCCEEDED');
    expect(ref.status).toBe('SUCCEEDED');
    expect(store.has(AUDIO_FILE)).toBe(true);
  }, 120_000);

  it('with the early join on, a rendition completed while the audio join runs joins from the parts, as it would from the joined audio', async () => {
    // Prepare: every part stored and joined by the cases above... then the audio join "still
    // running" (its record and file not there yet); the rendition's last segment not stored
    const parts = audioPartItems(probe.durationSec, 2);
    store.set(
      segmentItemsKey(VIDEO_ID),
      Buffer.from(JSON.stringify([...parts, ...segmentItemsFor(renditionBranch)]))
    );
    for (const part of parts) await run(part);
    const mp4Key = `outputs/${VIDEO_ID}/renditions/180p.mp4`;
    const streams = async () => {
      const path = join(files, 'rendition.mp4');
      await writeFile(path, store.get(mp4Key)!);
      const res = await runTool(
        'ffprobe',
        [
          '-v',
          'error',
          '-show_entries',
          'stream=codec_type,duration,nb_frames',
          '-of',
          'json',
          path,
        ],
        { timeoutMs: 30_000 }
      );
      return JSON.parse(res.stdout).streams as { codec_type: string }[];
    };
    const [lastSegment] = segmentItemsFor(renditionBranch).slice(-1);
    for (const key of [AUDIO_RECORD, AUDIO_FILE, branchResultKey(VIDEO_ID, 'rendition-180p')]) {
      store.delete(key);
    }

    // Act: the last segment lands; then, for comparison, the same join from the joined audio
    await run(lastSegment!, { earlyJoin: {} });
    const fromParts = { audio: record('audio'), streams: await streams() };
    await run(parts[2]!);
    store.delete(branchResultKey(VIDEO_ID, 'rendition-180p'));
    await run(renditionBranch);
    const fromJoined = await streams();

    // Assess: joined without the audio join (it did not run it), with the same streams
    expect(record('rendition-180p')?.status).toBe('SUCCEEDED');
    expect(fromParts.audio).toBeUndefined();
    expect(fromParts.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expect(fromParts.streams).toEqual(fromJoined);
  }, 120_000);

  it('with the early join on, the part that joins the audio joins the complete rendition too, and only it reads the segments', async () => {
    // Prepare: the parts items file again, every segment stored (the cases above), no part
    // stored, nothing joined
    const parts = audioPartItems(probe.durationSec, 2);
    store.set(
      segmentItemsKey(VIDEO_ID),
      Buffer.from(JSON.stringify([...parts, ...segmentItemsFor(renditionBranch)]))
    );
    for (const key of [
      AUDIO_RECORD,
      AUDIO_FILE,
      branchResultKey(VIDEO_ID, 'rendition-180p'),
      ...[0, 1, 2].map(partFile),
    ]) {
      store.delete(key);
    }
    const segmentLists = () =>
      s3Mock
        .commandCalls(ListObjectsV2Command)
        .filter((c) => c.args[0].input.Prefix?.endsWith('/_work/segments/rendition-180p/')).length;

    // Act
    await run(parts[0]!, { earlyJoin: {} });
    await run(parts[1]!, { earlyJoin: {} });
    const beforeLast = { lists: segmentLists(), rendition: record('rendition-180p') };
    await run(parts[2]!, { earlyJoin: {} });

    // Assess
    expect(beforeLast).toEqual({ lists: 0, rendition: undefined });
    expect(segmentLists()).toBe(1);
    expect(record('audio')?.status).toBe('SUCCEEDED');
    expect(record('rendition-180p')?.status).toBe('SUCCEEDED');
  }, 120_000);
});
