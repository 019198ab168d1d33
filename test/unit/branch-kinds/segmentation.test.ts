import '../../helpers/env.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactKey, InvalidVideoError, MediaToolError } from '../../../contract/index.js';
import { cleanupMedia, makeClip, measureMedia, useMediaTools } from '../../../fixtures/media.js';
import {
  audioItem,
  DEFAULT_PLAN_CONFIG,
  type PlanConfig,
  type Produced,
  planSegmentation,
  type RenditionBranch,
  rendition,
  renditionSegment,
  type Segmentation,
  segmentItemsFor,
  segmentRelativeKey,
} from '../../../lambdas/branch-kinds/index.js';
import { probeFile } from '../../../lambdas/probe/logic.js';
import { mediaSegments } from '../../../lambdas/shared/hls-playlist.js';
import { runTool } from '../../../lambdas/shared/media.js';
import { probeFactory } from '../../helpers/factories.js';

const config = (overrides: Partial<PlanConfig> = {}): PlanConfig => ({
  ...DEFAULT_PLAN_CONFIG,
  ...overrides,
});

describe('planSegmentation', () => {
  it('keeps a source at or below the threshold on the single-run path', () => {
    // Prepare
    const probe = probeFactory({ durationSec: 120, frameRate: 25 });

    // Act
    const plan = planSegmentation(probe, config());

    // Assess
    expect(plan).toBeNull();
  });

  it('cuts a 10-minute 25 fps source into 20 segments of 30 s on a 2 s GOP grid', () => {
    // Prepare
    const probe = probeFactory({ durationSec: 600, frameRate: 25 });

    // Act
    const plan = planSegmentation(probe, config());

    // Assess
    expect(plan).toEqual({
      count: 20,
      lengthSec: 30,
      framesPerSegment: 750,
      gopFrames: 50,
      frameRate: 25,
    });
  });

  it('lengthens segments rather than exceed maxSegments: 1 h at 30 fps with at most 60 → 60 s', () => {
    // Prepare
    const probe = probeFactory({ durationSec: 3600, frameRate: 30 });

    // Act
    const plan = planSegmentation(probe, config({ maxSegments: 60 }));

    // Assess
    expect(plan).toEqual({
      count: 60,
      lengthSec: 60,
      framesPerSegment: 1800,
      gopFrames: 60,
      frameRate: 30,
    });
  });

  it('rounds the target length up to whole GOPs: 3 s at 25 fps → 4 s (100 frames)', () => {
    // Prepare
    const probe = probeFactory({ durationSec: 11, frameRate: 25 });

    // Act
    const plan = planSegmentation(probe, config({ segmentThresholdSec: 5, segmentLengthSec: 3 }));

    // Assess: 275 frames = 100 + 100 + a 75-frame tail (≥ half a segment, so its own segment)
    expect(plan).toEqual({
      count: 3,
      lengthSec: 4,
      framesPerSegment: 100,
      gopFrames: 50,
      frameRate: 25,
    });
  });

  it('folds a tail shorter than half a segment into the last segment', () => {
    // Prepare: 220 frames = 100 + 100 + 20
    const probe = probeFactory({ durationSec: 8.8, frameRate: 25 });

    // Act
    const plan = planSegmentation(probe, config({ segmentThresholdSec: 5, segmentLengthSec: 4 }));

    // Assess
    expect(plan?.count).toBe(2);
  });

  it('refuses a source whose segments would exceed maxSegmentSec, saying why', () => {
    // Prepare: 10 h at 25 fps with 120 segments needs 300 s+ segments
    const probe = probeFactory({ durationSec: 36_500, frameRate: 25 });

    // Act
    const act = () => planSegmentation(probe, config());

    // Assess
    expect(act).toThrow(InvalidVideoError);
    expect(act).toThrow(/longer than the 300 s one segment may take/);
  });

  it('keeps a source of unknown frame rate on the single-run path', () => {
    // Prepare
    const probe = probeFactory({ durationSec: 600, frameRate: 0 });

    // Act
    const plan = planSegmentation(probe, config());

    // Assess
    expect(plan).toBeNull();
  });
});

describe('rendition.plan with segmentation', () => {
  it('states the chosen segmentation on every rendition of a long source', () => {
    // Prepare
    const probe = probeFactory({ durationSec: 600, frameRate: 25, width: 1280, height: 720 });

    // Act
    const branches = rendition.plan(probe, DEFAULT_PLAN_CONFIG);

    // Assess
    const expected = {
      count: 20,
      lengthSec: 30,
      framesPerSegment: 750,
      gopFrames: 50,
      frameRate: 25,
    };
    expect(branches).toEqual([
      {
        id: 'rendition-360p',
        kind: 'rendition',
        height: 360,
        role: 'secondary',
        segmentation: expected,
      },
      { id: 'rendition-720p', kind: 'rendition', height: 720, segmentation: expected },
    ]);
  });

  it('lists one segment item per segment, in order, with unique ids', () => {
    // Prepare
    const [branch] = rendition.plan(
      probeFactory({ durationSec: 600, frameRate: 25, height: 360 }),
      DEFAULT_PLAN_CONFIG
    );

    // Act
    const items = segmentItemsFor(branch!);

    // Assess
    expect(items).toHaveLength(20);
    expect(items[0]).toMatchObject({
      id: 'rendition-360p-s0000',
      rendition: 'rendition-360p',
      index: 0,
    });
    expect(items[19]).toMatchObject({ id: 'rendition-360p-s0019', index: 19 });
    expect(new Set(items.map((i) => i.id)).size).toBe(20);
  });
});

// ---- Real media: segments, audio once, join without re-encoding ---------------------

interface StreamFacts {
  codec_type: string;
  duration: string;
  nb_read_frames?: string;
}

const ffprobeJson = async (file: string, args: string[]) => {
  const res = await runTool('ffprobe', ['-v', 'error', ...args, '-of', 'json', file], {
    timeoutMs: 60_000,
  });
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as { streams: StreamFacts[]; frames?: { key_frame: number }[] };
};

/** Frame numbers of the keyframes (decoded, in presentation order). */
const keyframeIndexes = async (file: string): Promise<number[]> => {
  const { frames = [] } = await ffprobeJson(file, [
    '-select_streams',
    'v:0',
    '-show_entries',
    'frame=key_frame',
  ]);
  return frames.flatMap((f, i) => (f.key_frame === 1 ? [i] : []));
};

/** Lowest per-frame PSNR of `file` against the source scaled to the same height. */
const minPsnr = async (file: string, source: string, height: number, workDir: string) => {
  const stats = join(workDir, 'psnr.log');
  const res = await runTool(
    'ffmpeg',
    [
      '-v',
      'error',
      '-i',
      file,
      '-i',
      source,
      '-filter_complex',
      `[1:v]scale=-2:${height}[ref];[0:v][ref]psnr=stats_file=${stats}`,
      '-f',
      'null',
      '-',
    ],
    { timeoutMs: 120_000 }
  );
  expect(res.code, res.stderr).toBe(0);
  const values = (await readFile(stats, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => Number(/psnr_avg:([\d.]+|inf)/.exec(line)?.[1] ?? Number.NaN));
  return Math.min(...values.map((v) => (Number.isNaN(v) ? 0 : v)));
};

describe('segment-parallel rendition on real media', () => {
  const videoId = 'vid-seg';
  let workDir: string;
  let source: string;
  let branch: RenditionBranch;
  let segmentation: Segmentation;
  const stored = new Map<string, string>();
  let audioProduced: Produced[] = [];

  beforeAll(async () => {
    useMediaTools();
    workDir = await mkdtemp(join(tmpdir(), 'segments-'));
    // 11 s of 25 fps with audio: 275 frames, cut into 100 + 100 + 75.
    source = await makeClip({ seconds: 11, width: 640, height: 360, audio: true });
    const probe = { ...(await probeFile(source)), requestedThumbnailTimes: [] };
    const [planned] = rendition.plan(
      probe,
      config({ segmentThresholdSec: 5, segmentLengthSec: 3, renditionHeights: [240] })
    );
    branch = planned!;
    segmentation = branch.segmentation!;
    // The segment kind, as the Distributed Map runs it, one item per run: the audio, the segments.
    await Promise.all(
      [audioItem(), ...segmentItemsFor(branch)].map(async (item) => {
        const dir = await mkdtemp(join(workDir, `${item.id}-`));
        const produced = await renditionSegment.run(item, {
          videoId,
          source: { bucket: 'b', key: 'k' },
          probe,
          input: source,
          workDir: dir,
          timeBudget: () => 120_000,
        });
        for (const p of produced) if ('path' in p) stored.set(p.key, p.path);
        if (item.track === 'audio') audioProduced = produced;
      })
    );
  }, 240_000);

  afterAll(async () => {
    cleanupMedia();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const runJoin = async (available: Map<string, string>) => {
    const probe = { ...(await probeFile(source)), requestedThumbnailTimes: [] };
    const dir = await mkdtemp(join(workDir, 'join-'));
    return rendition.run(branch, {
      videoId,
      source: { bucket: 'b', key: 'k' },
      probe,
      input: source,
      workDir: dir,
      timeBudget: () => 120_000,
      outputUrl: async (key) => available.get(key),
    });
  };

  it('plans 3 segments of 100 frames for the 11 s clip', () => {
    // Prepare: beforeAll planned and encoded
    // Act: nothing further
    // Assess
    expect(segmentation).toMatchObject({ count: 3, framesPerSegment: 100, gopFrames: 50 });
  });

  it('encodes each segment with exactly its frames: 100, 100 and the 75-frame tail', async () => {
    // Prepare
    const keys = [0, 1, 2].map((i) => artifactKey(videoId, segmentRelativeKey(branch.id, i)));

    // Act
    const counts = await Promise.all(
      keys.map(async (k) => (await measureMedia(stored.get(k)!)).frames)
    );

    // Assess
    expect(counts).toEqual([100, 100, 75]);
  });

  it('joins into a playable rendition with the source frame count, duration within a frame and A/V drift ≤ 1 frame', async () => {
    // Prepare
    const sourceFacts = await measureMedia(source);

    // Act
    const [produced] = await runJoin(stored);
    const out = 'path' in produced! ? produced.path : '';
    const joined = await measureMedia(out);
    const decode = await runTool('ffmpeg', ['-v', 'error', '-i', out, '-f', 'null', '-'], {
      timeoutMs: 60_000,
    });

    // Assess
    expect(produced!.key).toBe('outputs/vid-seg/renditions/240p.mp4');
    expect(sourceFacts.frames).toBe(275);
    expect(joined.frames).toBe(275);
    expect(Math.abs(joined.videoSec - 11)).toBeLessThanOrEqual(1 / 25);
    expect(joined.audioSec).not.toBeNull();
    expect(Math.abs(joined.audioSec! - joined.videoSec)).toBeLessThanOrEqual(1 / 25);
    expect(decode.code).toBe(0);
    expect(decode.stderr.trim()).toBe('');
  });

  it('keeps frames aligned with the source across every boundary (no frame lost or doubled)', async () => {
    // Prepare
    const [produced] = await runJoin(stored);
    const out = 'path' in produced! ? produced.path : '';

    // Act: a one-frame shift drops testsrc's PSNR to about 22 dB; aligned frames are above 40
    const lowest = await minPsnr(out, source, 240, workDir);

    // Assess
    expect(lowest).toBeGreaterThan(35);
  });

  it('puts a keyframe at every segment start, on one 2 s grid', async () => {
    // Prepare
    const [produced] = await runJoin(stored);
    const out = 'path' in produced! ? produced.path : '';

    // Act
    const keyframes = await keyframeIndexes(out);

    // Assess: GOP every 50 frames; segments start at 0, 100 and 200
    expect(keyframes).toEqual([0, 50, 100, 150, 200, 250]);
  });

  it("joins by stream copy only: the audio is the audio item's AAC, bit for bit", async () => {
    // Prepare
    const audioKey = artifactKey(videoId, '_work/segments/audio.m4a');
    const [produced] = await runJoin(stored);
    const out = 'path' in produced! ? produced.path : '';

    // Act: the audio packets of the join and of the audio item's file
    const hashOf = async (file: string) =>
      (
        await runTool(
          'ffmpeg',
          ['-v', 'error', '-i', file, '-map', '0:a:0', '-c', 'copy', '-f', 'hash', '-'],
          { timeoutMs: 60_000 }
        )
      ).stdout.trim();

    // Assess
    expect(stored.has(audioKey)).toBe(true);
    expect(await hashOf(out)).toBe(await hashOf(stored.get(audioKey)!));
  });

  it('packages the encoded segments as the media segments (fMP4, no second encode): 4 s, 4 s, 3 s', async () => {
    // Prepare
    const produced = await runJoin(stored);
    const byKey = new Map(produced.map((p) => [p.key, p]));
    const playlist = byKey.get('outputs/vid-seg/hls/240p/index.m3u8');

    // Act
    const text = await readFile(playlist && 'path' in playlist ? playlist.path : '', 'utf8');
    const pkg = byKey.get('outputs/vid-seg/_work/hls/rendition-240p.json');

    // Assess: one media segment per encoded segment (100, 100, 75 frames at 25 fps)
    expect(mediaSegments(text).map((m) => m.durationSec)).toEqual([4, 4, 3]);
    expect(text).toContain('#EXT-X-MAP:URI="init.mp4"');
    expect(byKey.has('outputs/vid-seg/hls/240p/init.mp4')).toBe(true);
    const info = JSON.parse(pkg && 'body' in pkg ? pkg.body.toString() : '{}');
    expect(info.video).toMatchObject({
      playlist: 'outputs/vid-seg/hls/240p/index.m3u8',
      codecs: expect.stringMatching(/^avc1\.64[0-9a-f]{4}$/),
      width: 426,
      height: 240,
      frameRate: 25,
    });
    expect(info.audio).toBeUndefined();
  });

  it('packages the audio item as the audio playlist (AAC LC, 6 s segments)', async () => {
    // Prepare
    const playlist = audioProduced.find((p) => p.key === 'outputs/vid-seg/hls/audio/index.m3u8');
    const pkg = audioProduced.find((p) => p.key === 'outputs/vid-seg/_work/hls/audio.json');

    // Act
    const text = await readFile(playlist && 'path' in playlist ? playlist.path : '', 'utf8');
    const durations = mediaSegments(text).map((m) => m.durationSec);

    // Assess: 11 s in 6 s segments, the whole audio (within one AAC frame plus the encoder's priming)
    expect(durations).toHaveLength(2);
    expect(Math.abs(durations.reduce((a, b) => a + b, 0) - 11)).toBeLessThan(2048 / 44100);
    const info = JSON.parse(pkg && 'body' in pkg ? pkg.body.toString() : '{}');
    expect(info.audio).toMatchObject({ codecs: 'mp4a.40.2', channels: 1 });
    expect(info.video).toBeUndefined();
  });

  it('fails the join with a clear error when the audio item did not deliver', async () => {
    // Prepare
    const partial = new Map(stored);
    partial.delete(artifactKey(videoId, '_work/segments/audio.m4a'));

    // Act
    const error = await runJoin(partial).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(MediaToolError);
    expect((error as Error).message).toMatch(/audio track is missing/);
  });

  it('fails the join with a clear error when a segment is missing', async () => {
    // Prepare
    const partial = new Map(stored);
    partial.delete(artifactKey(videoId, segmentRelativeKey(branch.id, 1)));

    // Act
    const error = await runJoin(partial).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(MediaToolError);
    expect((error as Error).message).toMatch(/1 of 3 segments missing \(first: segment 1\)/);
  });
});
