import '../../helpers/env.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidVideoError, type ProbeResult } from '../../../contract/index.js';
import {
  cleanupMedia,
  makeClip,
  makeRotatedClip,
  makeTwoAudioClip,
  makeVariableRateClip,
  useMediaTools,
} from '../../../fixtures/media.js';
import {
  audioItem,
  audioPartItems,
  DEFAULT_PLAN_CONFIG,
  type PlanConfig,
  type Produced,
  type RenditionBranch,
  rendition,
  renditionSegment,
  segmentItemsFor,
  thumbnail,
} from '../../../lambdas/branch-kinds/index.js';
import { sourceWarnings } from '../../../lambdas/plan/logic.js';
import { frameRateOf, probeFile } from '../../../lambdas/probe/logic.js';
import { runTool } from '../../../lambdas/shared/media.js';

/**
 * Sources real uploads bring and a test pattern does not: a variable frame
 * rate, a display rotation, several audio tracks, none, odd dimensions. Each
 * is generated here with the shipped ffmpeg, probed, planned and encoded
 * (single run and, for the variable rate, segmented and joined).
 */

const config = (overrides: Partial<PlanConfig> = {}): PlanConfig => ({
  ...DEFAULT_PLAN_CONFIG,
  ...overrides,
});

interface Facts {
  codec_type: string;
  width?: number;
  height?: number;
  channels?: number;
  pix_fmt?: string;
  duration?: string;
  nb_read_frames?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  side_data_list?: unknown[];
}

/** Decoded streams of an output (frames counted by decoding). */
const streamsOf = async (file: string): Promise<Facts[]> => {
  const res = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-count_frames',
      '-show_entries',
      'stream=codec_type,width,height,channels,pix_fmt,duration,nb_read_frames,r_frame_rate,avg_frame_rate:stream_side_data_list',
      '-of',
      'json',
      file,
    ],
    { timeoutMs: 60_000 }
  );
  expect(res.code, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as { streams: Facts[] }).streams;
};
const videoOf = async (file: string) =>
  (await streamsOf(file)).find((s) => s.codec_type === 'video')!;
const audioOf = async (file: string) =>
  (await streamsOf(file)).filter((s) => s.codec_type === 'audio');

/** Lowest per-frame PSNR between two encodes of the same size (a one-frame shift: about 22 dB). */
const minPsnr = async (a: string, b: string, dir: string): Promise<number> => {
  const stats = join(dir, 'psnr.log');
  const res = await runTool(
    'ffmpeg',
    ['-v', 'error', '-i', a, '-i', b, '-lavfi', `psnr=stats_file=${stats}`, '-f', 'null', '-'],
    { timeoutMs: 60_000 }
  );
  expect(res.code, res.stderr).toBe(0);
  const values = (await readFile(stats, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => /psnr_avg:([\d.]+|inf)/.exec(line)?.[1] ?? 'NaN')
    .map((v) => (v === 'inf' ? Number.POSITIVE_INFINITY : Number(v)));
  expect(values).toHaveLength(300);
  return Math.min(...values.map((v) => (Number.isNaN(v) ? 0 : v)));
};

const pathOf = (produced: Produced[], key: string): string => {
  const p = produced.find((x) => x.key === key);
  if (!p || !('path' in p)) throw new Error(`no file produced at ${key}`);
  return p.path;
};

let workDir: string;
beforeAll(async () => {
  useMediaTools();
  workDir = await mkdtemp(join(tmpdir(), 'awkward-'));
});
afterAll(async () => {
  cleanupMedia();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const runKind = async <B extends { id: string }>(
  kind: { run: (b: B, c: never) => Promise<Produced[]> },
  branch: B,
  probe: ProbeResult,
  input: string,
  outputUrl?: (key: string) => Promise<string | undefined>
): Promise<Produced[]> => {
  const dir = await mkdtemp(join(workDir, `${branch.id}-`));
  return kind.run(branch, {
    videoId: 'vid-awk',
    source: { bucket: 'b', key: 'k' },
    probe,
    input,
    workDir: dir,
    timeBudget: () => 120_000,
    ...(outputUrl && { outputUrl }),
  } as never);
};

describe('frameRateOf: constant, variable, refused', () => {
  it('keeps a constant rate as it is, 29.97 included', () => {
    // Act
    const ntsc = frameRateOf({ r_frame_rate: '30000/1001', avg_frame_rate: '30000/1001' });
    const webm = frameRateOf({ r_frame_rate: '30/1', avg_frame_rate: '0/0' });

    // Assess
    expect(ntsc).toEqual({ frameRate: 29.97 });
    expect(webm).toEqual({ frameRate: 30 });
  });

  it('converts a variable rate to its average in whole frames per second', () => {
    // Act
    const vfr = frameRateOf({ r_frame_rate: '30/1', avg_frame_rate: '3600/179' });

    // Assess: 20.11 fps on average
    expect(vfr).toEqual({ frameRate: 20, variableFrameRate: 20.112 });
  });

  it('refuses a variable rate averaging more than it converts, saying why', () => {
    // Act
    const act = () => frameRateOf({ r_frame_rate: '1000/1', avg_frame_rate: '300/1' });

    // Assess
    expect(act).toThrow(InvalidVideoError);
    expect(act).toThrow(/variable frame rate averaging 300 fps: above the 120 fps/);
  });
});

describe('variable frame rate: converted to a constant rate, segmented or not', () => {
  let source: string;
  let probe: ProbeResult;

  beforeAll(async () => {
    // 6 s at 30 fps then 6 s at 20 fps: 300 frames, 25 fps on average.
    source = await makeVariableRateClip({ seconds: 12 });
    probe = await probeFile(source);
  }, 60_000);

  it('probes the average as the constant rate and says the source varies', async () => {
    // Act
    const facts = await streamsOf(source);
    const video = facts.find((s) => s.codec_type === 'video')!;

    // Assess: the fixture really varies (ffprobe's base rate is the fast part's)
    expect(video.r_frame_rate).toBe('30/1');
    expect(probe.frameRate).toBe(25);
    expect(probe.variableFrameRate).toBeGreaterThan(24.5);
    expect(probe.variableFrameRate).toBeLessThan(25.5);
    expect(sourceWarnings(probe)).toEqual([
      `the source has a variable frame rate (${probe.variableFrameRate} fps on average); the outputs are converted to a constant 25 fps`,
    ]);
  });

  it('encodes a single-run rendition at a constant 25 fps: 300 frames in 12 s', async () => {
    // Prepare
    const [branch] = rendition.plan(probe, config({ renditionHeights: [240] }));

    // Act
    const produced = await runKind(rendition, branch!, probe, source);
    const video = await videoOf(pathOf(produced, 'outputs/vid-awk/renditions/240p.mp4'));

    // Assess
    expect(branch!.segmentation).toBeUndefined();
    expect(video.avg_frame_rate).toBe('25/1');
    expect(video.r_frame_rate).toBe('25/1');
    expect(Number(video.nb_read_frames)).toBe(300);
    expect(Math.abs(Number(video.duration) - 12)).toBeLessThanOrEqual(1 / 25);
  });

  it('segments on the constant grid and joins to 300 frames, 12 s, audio within a frame', async () => {
    // Prepare: 4 s segments of 100 frames at the converted 25 fps
    const [branch] = rendition.plan(
      probe,
      config({ segmentThresholdSec: 5, segmentLengthSec: 4, renditionHeights: [240] })
    ) as RenditionBranch[];
    const stored = new Map<string, string>();
    for (const item of [audioItem(), ...segmentItemsFor(branch!)]) {
      for (const p of await runKind(renditionSegment, item, probe, source)) {
        if ('path' in p) stored.set(p.key, p.path);
      }
    }
    const segments = [...stored.keys()].filter((k) => k.includes('/_work/segments/rendition-'));

    // Act
    const produced = await runKind(rendition, branch!, probe, source, async (k) => stored.get(k));
    const joined = await streamsOf(pathOf(produced, 'outputs/vid-awk/renditions/240p.mp4'));
    const video = joined.find((s) => s.codec_type === 'video')!;
    const audio = joined.find((s) => s.codec_type === 'audio');
    const perSegment = await Promise.all(
      segments.sort().map(async (k) => Number((await videoOf(stored.get(k)!)).nb_read_frames))
    );

    // Assess
    expect(branch!.segmentation).toMatchObject({ count: 3, framesPerSegment: 100, frameRate: 25 });
    expect(perSegment).toEqual([100, 100, 100]);
    expect(video.avg_frame_rate).toBe('25/1');
    expect(Number(video.nb_read_frames)).toBe(300);
    expect(Math.abs(Number(video.duration) - 12)).toBeLessThanOrEqual(1 / 25);
    expect(audio).toBeDefined();
    expect(Math.abs(Number(audio!.duration) - Number(video.duration))).toBeLessThanOrEqual(1 / 25);
  }, 180_000);

  it('puts the same source frame in every slot as the single run does, across segment boundaries', async () => {
    // Prepare: both paths at 240p
    const heights = config({
      segmentThresholdSec: 5,
      segmentLengthSec: 4,
      renditionHeights: [240],
    });
    const [segmented] = rendition.plan(probe, heights) as RenditionBranch[];
    const [single] = rendition.plan(probe, config({ renditionHeights: [240] }));
    const stored = new Map<string, string>();
    for (const item of segmentItemsFor(segmented!)) {
      for (const p of await runKind(renditionSegment, item, probe, source)) {
        if ('path' in p) stored.set(p.key, p.path);
      }
    }
    stored.set('outputs/vid-awk/_work/segments/audio.m4a', source);
    const joined = await runKind(rendition, segmented!, probe, source, async (k) => stored.get(k));
    const whole = await runKind(rendition, single!, probe, source);

    // Act
    const lowest = await minPsnr(
      pathOf(joined, 'outputs/vid-awk/renditions/240p.mp4'),
      pathOf(whole, 'outputs/vid-awk/renditions/240p.mp4'),
      workDir
    );

    // Assess: two encodes of the same frames stay above 35 dB; a slot off by one frame does not
    expect(lowest).toBeGreaterThan(35);
  }, 180_000);
});

describe('rotation metadata: outputs oriented as displayed', () => {
  let source: string;
  let probe: ProbeResult;

  beforeAll(async () => {
    // Coded 320×180 landscape, displayed a quarter turn: 180×320 portrait.
    source = await makeRotatedClip({ rotation: 90, width: 320, height: 180, seconds: 2 });
    probe = await probeFile(source);
  }, 60_000);

  it('probes the displayed size and the rotation', () => {
    // Assess
    expect(probe).toMatchObject({ width: 180, height: 320, rotation: 90 });
  });

  it('plans renditions against the displayed height (a portrait 320 fits 240)', () => {
    // Act
    const heights = rendition
      .plan(probe, config({ renditionHeights: [240, 360] }))
      .map((b) => b.height);

    // Assess: 360 would upscale the 320-high picture
    expect(heights).toEqual([240]);
  });

  it('encodes the rendition upright, portrait, with no rotation left to apply', async () => {
    // Prepare
    const [branch] = rendition.plan(probe, config({ renditionHeights: [240] }));

    // Act
    const produced = await runKind(rendition, branch!, probe, source);
    const video = await videoOf(pathOf(produced, 'outputs/vid-awk/renditions/240p.mp4'));

    // Assess: 180×320 scaled to 240 high is 135 wide, rounded to an even 136
    expect([video.width, video.height]).toEqual([136, 240]);
    expect(video.side_data_list ?? []).toEqual([]);
  });

  it('segments and joins a rotated source upright too: every frame, portrait, no rotation left', async () => {
    // Prepare: 6 s at 25 fps = 150 frames, 2 s segments above a 3 s threshold
    const long = await makeRotatedClip({ rotation: 90, width: 320, height: 180, seconds: 6 });
    const longProbe = await probeFile(long);
    const [branch] = rendition.plan(
      longProbe,
      config({ segmentThresholdSec: 3, segmentLengthSec: 2, renditionHeights: [240] })
    ) as RenditionBranch[];
    const stored = new Map<string, string>();
    for (const item of [audioItem(), ...segmentItemsFor(branch!)]) {
      for (const p of await runKind(renditionSegment, item, longProbe, long)) {
        if ('path' in p) stored.set(p.key, p.path);
      }
    }

    // Act
    const produced = await runKind(rendition, branch!, longProbe, long, async (k) => stored.get(k));
    const video = await videoOf(pathOf(produced, 'outputs/vid-awk/renditions/240p.mp4'));

    // Assess
    expect(branch!.segmentation?.count).toBe(3);
    expect([video.width, video.height]).toEqual([136, 240]);
    expect(Number(video.nb_read_frames)).toBe(150);
    expect(video.side_data_list ?? []).toEqual([]);
  }, 120_000);

  it('extracts thumbnails upright (portrait)', async () => {
    // Prepare
    const branch = { id: 'thumb-01', kind: 'thumbnail' as const, atSec: 1, width: 90 };

    // Act
    const produced = await runKind(thumbnail, branch, probe, source);
    const image = await videoOf(pathOf(produced, 'outputs/vid-awk/thumbnails/thumb-01.jpg'));

    // Assess: 90 wide, 160 high
    expect([image.width, image.height]).toEqual([90, 160]);
  });
});

describe('several audio tracks: the default one, said so', () => {
  it('carries the track marked default (stereo 880 Hz), not the first (mono), and warns', async () => {
    // Prepare
    const source = await makeTwoAudioClip({ seconds: 2, defaultTrack: 1 });
    const probe = await probeFile(source);
    const [branch] = rendition.plan(probe, config({ renditionHeights: [240] }));

    // Act
    const produced = await runKind(rendition, branch!, probe, source);
    const audio = await audioOf(pathOf(produced, 'outputs/vid-awk/renditions/240p.mp4'));

    // Assess
    expect(probe).toMatchObject({ audioTracks: 2, audioTrack: 1 });
    expect(audio.map((a) => a.channels)).toEqual([2]);
    expect(sourceWarnings(probe)).toEqual([
      'the source has 2 audio tracks; the outputs carry track 2 (marked default) only',
    ]);
  });

  it('takes the first track when it is the default, for the segmented audio item too', async () => {
    // Prepare
    const source = await makeTwoAudioClip({ seconds: 2, defaultTrack: 0 });
    const probe = await probeFile(source);

    // Act
    const produced = await runKind(renditionSegment, audioItem(), probe, source);
    const audio = await audioOf(pathOf(produced, 'outputs/vid-awk/_work/segments/audio.m4a'));

    // Assess
    expect(probe).toMatchObject({ audioTracks: 2, audioTrack: 0 });
    expect(audio.map((a) => a.channels)).toEqual([1]);
    expect(sourceWarnings(probe)).toEqual([
      'the source has 2 audio tracks; the outputs carry track 1 (the first) only',
    ]);
  });

  it('picks the default track for the segmented audio item when it is not the first', async () => {
    // Prepare
    const source = await makeTwoAudioClip({ seconds: 2, defaultTrack: 1 });
    const probe = await probeFile(source);

    // Act
    const produced = await runKind(renditionSegment, audioItem(), probe, source);
    const audio = await audioOf(pathOf(produced, 'outputs/vid-awk/_work/segments/audio.m4a'));

    // Assess
    expect(audio.map((a) => a.channels)).toEqual([2]);
  });

  it('encodes an audio part from the default track when it is not the first (its rate read from that track)', async () => {
    // Prepare: 4 s in 1 s parts: the second part seeks and reads the track's sample rate
    const source = await makeTwoAudioClip({ seconds: 4, defaultTrack: 1 });
    const probe = await probeFile(source);
    const part = audioPartItems(probe.durationSec, 1)[1]!;

    // Act
    const produced = await runKind(renditionSegment, part, probe, source);
    const audio = await audioOf(
      pathOf(produced, 'outputs/vid-awk/_work/segments/audio-parts/0001.m4a')
    );

    // Assess: 1 s is 46.875 frames, rounded up to 48 (16 units of 3): one part, 48 packets
    expect(part).toMatchObject({ part: 1, startSample: 49152, endSample: 98304 });
    expect(audio.map((a) => a.channels)).toEqual([2]);
    expect(audio.map((a) => Number(a.nb_read_frames))).toEqual([48]);
  });
});

describe('no audio, odd dimensions', () => {
  it('encodes a silent source without an audio track or an audio playlist, and no warning', async () => {
    // Prepare
    const source = await makeClip({ seconds: 2, width: 320, height: 240, audio: false });
    const probe = await probeFile(source);
    const [branch] = rendition.plan(probe, config({ renditionHeights: [240] }));

    // Act
    const produced = await runKind(rendition, branch!, probe, source);
    const streams = await streamsOf(pathOf(produced, 'outputs/vid-awk/renditions/240p.mp4'));

    // Assess
    expect(probe.audioCodec).toBeNull();
    expect(streams.map((s) => s.codec_type)).toEqual(['video']);
    expect(produced.some((p) => p.key.startsWith('outputs/vid-awk/hls/audio/'))).toBe(false);
    expect(sourceWarnings(probe)).toEqual([]);
  });

  it('gives a 321×241 source an even 320×240 yuv420p rendition and its own thumbnail', async () => {
    // Prepare
    const source = await makeClip({ seconds: 2, width: 321, height: 241 });
    const probe = await probeFile(source);
    const branches = rendition.plan(probe, config({ renditionHeights: [360, 720] }));

    // Act
    const produced = await runKind(rendition, branches[0]!, probe, source);
    const video = await videoOf(pathOf(produced, 'outputs/vid-awk/renditions/240p.mp4'));
    const thumb = await runKind(
      thumbnail,
      { id: 'thumb-01', kind: 'thumbnail' as const, atSec: 1, width: 161 },
      probe,
      source
    );
    const image = await videoOf(pathOf(thumb, 'outputs/vid-awk/thumbnails/thumb-01.jpg'));

    // Assess: no configured height fits, so one rendition at the source's height made even
    expect(probe).toMatchObject({ width: 321, height: 241 });
    expect(branches.map((b) => b.height)).toEqual([240]);
    expect([video.width, video.height, video.pix_fmt]).toEqual([320, 240, 'yuv420p']);
    expect(image.width).toBe(161);
    expect((image.height ?? 0) % 2).toBe(0);
  });
});
