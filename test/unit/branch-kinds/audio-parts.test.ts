import '../../helpers/env.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactKey, MediaToolError } from '../../../contract/index.js';
import { cleanupMedia, makeClip, useMediaTools } from '../../../fixtures/media.js';
import { renditionSegmentKind } from '../../../kinds/index.js';
import {
  audioPartSeek,
  audioPartWindow,
  planAudioParts,
} from '../../../lambdas/branch-kinds/audio-parts.js';
import {
  audioItem,
  audioPartItems,
  encodeAudio,
  type Produced,
  renditionSegment,
} from '../../../lambdas/branch-kinds/index.js';
import { probeFile } from '../../../lambdas/probe/logic.js';
import { runTool } from '../../../lambdas/shared/media.js';

describe('audio part arithmetic (48 kHz, 1024-sample AAC frames)', () => {
  it('cuts 600 s into 20 parts of 1407 frames: 30 s is 1406.25 frames, rounded up to whole 3-frame units', () => {
    // Prepare: 30 × 48000 / 1024 = 1406.25 → 469 units of 3 frames = 1407 frames = 1,440,768 samples.
    // 600 s = 28,800,000 samples = 19 parts (27,374,592) + a tail of 1,425,408 (over half a part).

    // Act
    const parts = planAudioParts(600, 30);

    // Assess
    expect(parts).toHaveLength(20);
    expect(parts[0]).toEqual({ part: 0, parts: 20, startSample: 0, endSample: 1440768 });
    expect(parts[1]).toEqual({ part: 1, parts: 20, startSample: 1440768, endSample: 2881536 });
    expect(parts[19]).toEqual({ part: 19, parts: 20, startSample: 27374592, endSample: null });
  });

  it('folds a tail shorter than half a part into the last part, as the video segments do', () => {
    // Prepare: 100 s = 4,800,000 samples = 3 × 1,440,768 (4,322,304) + 477,696 (under half of 1,440,768).

    // Act
    const parts = planAudioParts(100, 30);

    // Assess
    expect(parts.map((p) => [p.startSample, p.endSample])).toEqual([
      [0, 1440768],
      [1440768, 2881536],
      [2881536, null],
    ]);
  });

  it('rounds a 2 s segment length to 96 frames (2.048 s): 93.75 frames → 32 units of 3', () => {
    // Prepare: 8 s = 384,000 samples = 3 × 98,304 + 89,088 (over half a part).

    // Act
    const parts = planAudioParts(8, 2);

    // Assess
    expect(parts.map((p) => p.startSample)).toEqual([0, 98304, 196608, 294912]);
    expect(parts.at(-1)?.endSample).toBeNull();
  });

  it('part 0: no pre-roll, keeps its priming packet (pts -1024), 2 post-roll frames dropped', () => {
    // Prepare: [0, 1,440,768) is 1407 frames; encoded to 1,440,768 + 2048.

    // Act
    const w = audioPartWindow({ part: 0, startSample: 0, endSample: 1440768 });

    // Assess: 1 priming + 1407 packets
    expect(w).toEqual({
      encodeFrom: 0,
      encodeTo: 1442816,
      keepFromPts: -1024,
      keepBeforePts: 1440768,
      keptPackets: 1408,
    });
  });

  it('a middle part: encoded from 64 frames (65,536 samples) before, the priming and pre-roll packets dropped', () => {
    // Prepare: [1,440,768, 2,881,536); encode from 1,375,232 to 2,883,584.

    // Act
    const w = audioPartWindow({ part: 1, startSample: 1440768, endSample: 2881536 });

    // Assess: the encoder's timestamps count from 1,375,232; keep [65,536, 1,506,304): 1407 packets
    expect(w).toEqual({
      encodeFrom: 1375232,
      encodeTo: 2883584,
      keepFromPts: 65536,
      keepBeforePts: 1506304,
      keptPackets: 1407,
    });
  });

  it('the last part runs to the end and keeps every packet from its start (the trailing one too)', () => {
    // Prepare / Act
    const w = audioPartWindow({ part: 3, startSample: 4322304, endSample: null });

    // Assess
    expect(w).toEqual({
      encodeFrom: 4256768,
      encodeTo: null,
      keepFromPts: 65536,
      keepBeforePts: null,
      keptPackets: null,
    });
  });

  it('starts a 44.1 kHz source on a point of both grids (every 147 source = 160 output samples)', () => {
    // Prepare: encode from 1,375,232; 0.1 s (4800) earlier = 1,370,432; 1,370,432 / 160 = 8565.2 →
    // 8565 × 160 = 1,370,400 output = 8565 × 147 = 1,259,055 source samples = 28.55 s; seek 1 s before.

    // Act
    const seek = audioPartSeek(1375232, 44100);

    // Assess
    expect(seek).toEqual({ seekSec: 27.55, sourceStart: 1259055, outputStart: 1370400 });
  });

  it('starts a 48 kHz source on any sample, and a 22.05 kHz one every 147 = 320 output samples', () => {
    // Prepare / Act
    const same = audioPartSeek(1375232, 48000);
    const half = audioPartSeek(1375232, 22050);

    // Assess: 1,370,432 / 48000 = 28.550666… s; 1,370,432 / 320 = 4282.6 → 4282 × 320 = 1,370,240
    expect(same.sourceStart).toBe(1370432);
    expect(same.outputStart).toBe(1370432);
    expect(same.seekSec).toBeCloseTo(27.550667, 6);
    expect(half).toMatchObject({ sourceStart: 4282 * 147, outputStart: 1370240 });
  });

  it('reads from the start when the part begins within the margin, and refuses a rate that is no integer', () => {
    // Prepare / Act
    const early = audioPartSeek(3000, 44100);
    const bad = () => audioPartSeek(100_000, 0);

    // Assess
    expect(early).toEqual({ seekSec: 0, sourceStart: 0, outputStart: 0 });
    expect(bad).toThrow(MediaToolError);
  });

  it('writes items the kind schema accepts, with sortable ids, and refuses a malformed part', () => {
    // Prepare
    const items = audioPartItems(120, 30);
    const schema = renditionSegmentKind.schema;

    // Act
    const parsed = items.map((i) => schema.safeParse(i).success);
    const withoutEnd = schema.safeParse({ ...items[1], endSample: undefined });
    const wrongRate = schema.safeParse({ ...items[1], sampleRate: 44100 });
    const openMiddle = schema.safeParse({ ...items[1], endSample: null });

    // Assess
    expect(items.map((i) => i.id)).toEqual([
      'audio-p0000',
      'audio-p0001',
      'audio-p0002',
      'audio-p0003',
    ]);
    expect(parsed).toEqual([true, true, true, true]);
    expect(withoutEnd.success).toBe(false);
    expect(wrongRate.success).toBe(false);
    expect(openMiddle.success).toBe(false);
    expect(schema.safeParse(audioItem()).success).toBe(true);
    expect(schema.safeParse(audioItem(4)).success).toBe(true);
  });
});

/** Decoded mono samples of a file's first audio track (32-bit float), as ffmpeg decodes it. */
const decode = async (file: string, dir: string, filter?: string): Promise<Float32Array> => {
  const out = join(dir, `pcm-${Math.random().toString(36).slice(2)}.f32`);
  const res = await runTool(
    'ffmpeg',
    [
      '-v',
      'error',
      '-i',
      file,
      '-map',
      '0:a:0',
      ...(filter ? ['-af', filter] : []),
      '-ac',
      '1',
      '-f',
      'f32le',
      out,
    ],
    { timeoutMs: 60_000 }
  );
  expect(res.code, res.stderr).toBe(0);
  const bytes = await readFile(out);
  await rm(out);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
};

/** Packet timestamps and durations of a file's audio (1/48000 s). */
const packets = async (file: string): Promise<{ pts: number; duration: number }[]> => {
  const res = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'a:0',
      '-show_entries',
      'packet=pts,duration',
      '-of',
      'csv=p=0',
      file,
    ],
    { timeoutMs: 60_000 }
  );
  expect(res.code, res.stderr).toBe(0);
  // The priming packet's side data (skip samples) prints an empty line after it.
  return res.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [pts, duration] = l.split(',').map(Number);
      return { pts: pts!, duration: duration! };
    });
};

/** Largest absolute difference per 1024-sample block. */
const blockErrors = (a: Float32Array, ref: Float32Array): number[] => {
  const errors: number[] = [];
  const n = Math.min(a.length, ref.length);
  for (let s = 0; s + 1024 <= n; s += 1024) {
    let m = 0;
    for (let i = s; i < s + 1024; i++) m = Math.max(m, Math.abs(a[i]! - ref[i]!));
    errors.push(m);
  }
  return errors;
};

describe.each([
  { rate: 44100, what: 'a 44.1 kHz source (resampled on the shared grid)' },
  { rate: 48000, what: 'a 48 kHz source' },
])('audio in parts on real media: $what', ({ rate }) => {
  const videoId = 'vid-aparts';
  let workDir: string;
  let single: string;
  let joined: string;
  let source: string;
  let boundaries: number[];
  let parts: number;
  const stored = new Map<string, string>();
  let joinProduced: Produced[] = [];

  beforeAll(async () => {
    useMediaTools();
    workDir = await mkdtemp(join(tmpdir(), 'audio-parts-'));
    // 24 s with a 440 Hz tone; 6 s parts: 282 frames (288,768 samples) each, 4 parts.
    source = await makeClip({ seconds: 24, width: 320, height: 180, audio: true, audioRate: rate });
    const probe = { ...(await probeFile(source)), requestedThumbnailTimes: [] };
    const items = audioPartItems(probe.durationSec, 6);
    parts = items.length;
    boundaries = items.slice(1).map((i) => i.startSample);
    const context = (dir: string) => ({
      videoId,
      source: { bucket: 'b', key: 'k' },
      probe,
      input: source,
      workDir: dir,
      timeBudget: () => 120_000,
      outputUrl: async (key: string) => stored.get(key),
    });
    // The reference: the whole audio encoded once, the pipeline's own whole-file encode.
    single = join(workDir, 'single.m4a');
    await encodeAudio(source, single, () => 120_000);
    // The parts, as the Map Run's items run them, then the join as the last part runs it.
    for (const item of items) {
      const produced = await renditionSegment.run(
        item,
        context(await mkdtemp(join(workDir, 'p-')))
      );
      for (const p of produced) if ('path' in p) stored.set(p.key, p.path);
    }
    joinProduced = await renditionSegment.run(
      audioItem(parts),
      context(await mkdtemp(join(workDir, 'join-')))
    );
    const audio = joinProduced.find((p) => p.key.endsWith('/_work/segments/audio.m4a'));
    joined = audio && 'path' in audio ? audio.path : '';
  }, 240_000);

  afterAll(async () => {
    cleanupMedia();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('plans 4 parts and stores each under _work/segments/audio-parts/', () => {
    // Prepare / Act: beforeAll ran the parts
    const keys = [0, 1, 2, 3].map((i) =>
      artifactKey(videoId, `_work/segments/audio-parts/000${i}.m4a`)
    );

    // Assess
    expect(parts).toBe(4);
    expect(boundaries).toEqual([288768, 577536, 866304]);
    expect(keys.every((k) => stored.has(k))).toBe(true);
  });

  it('joins to the same packets and decoded samples as one encode of the whole audio, gap-free', async () => {
    // Prepare
    const [a, b] = await Promise.all([packets(single), packets(joined)]);

    // Act
    const [pcmSingle, pcmJoined] = await Promise.all([
      decode(single, workDir),
      decode(joined, workDir),
    ]);
    const steps = b.slice(1).filter((p, i) => p.pts !== b[i]!.pts + 1024);

    // Assess: exact; the priming packet at -1024 (skipped by the edit list) in both
    expect(b.length).toBe(a.length);
    expect(b[0]!.pts).toBe(-1024);
    expect(steps).toEqual([]);
    expect(b.at(-1)).toEqual(a.at(-1));
    expect(pcmJoined.length).toBe(pcmSingle.length);
  });

  it('has no discontinuity at the part boundaries: the error there is the error elsewhere', async () => {
    // Prepare: the uncompressed reference, resampled like the encodes
    const [ref, pcm] = await Promise.all([
      decode(source, workDir, 'aresample=48000'),
      decode(joined, workDir),
    ]);

    // Act: per 1024-sample block, near a boundary (2 blocks before to 40 after: a click is at the
    // boundary, a cold encoder's rate control settles over about 30 frames) and elsewhere (past
    // the encoder's own start-up, the first 64 frames, and before the last blocks).
    const errors = blockErrors(pcm, ref);
    const nearBlocks = (s: number) => Array.from({ length: 42 }, (_, d) => s / 1024 - 2 + d);
    const near = new Set(boundaries.flatMap(nearBlocks));
    const elsewhere = errors
      .filter((_, i) => !near.has(i) && i >= 64 && i < errors.length - 2)
      .sort((x, y) => x - y);
    const typical = elsewhere[Math.floor(elsewhere.length * 0.99)]!;
    const atBoundaries = boundaries.map((s) => Math.max(...nearBlocks(s).map((i) => errors[i]!)));

    // Assess: measured while writing this (44.1 kHz): 3.7e-4 at the boundaries against 3.8e-4
    // elsewhere; with the post-roll removed 0.15 (a click), with a 2-frame pre-roll 4.8e-3.
    expect(typical).toBeGreaterThan(0);
    expect(typical).toBeLessThan(0.01);
    for (const e of atBoundaries) expect(e).toBeLessThan(3 * typical);
  });

  it('packages the joined audio as the HLS audio playlist', async () => {
    // Prepare
    const playlist = joinProduced.find((p) => p.key === `outputs/${videoId}/hls/audio/index.m3u8`);

    // Act
    const text = await readFile(playlist && 'path' in playlist ? playlist.path : '', 'utf8');

    // Assess
    expect(text).toContain('#EXTM3U');
    expect(text).toContain('#EXT-X-MAP:URI="init.mp4"');
  });

  it('fails the join naming the missing parts', async () => {
    // Prepare
    const partial = new Map(stored);
    partial.delete(artifactKey(videoId, '_work/segments/audio-parts/0002.m4a'));
    const probe = { ...(await probeFile(source)), requestedThumbnailTimes: [] };

    // Act
    const error = await renditionSegment
      .run(audioItem(parts), {
        videoId,
        source: { bucket: 'b', key: 'k' },
        probe,
        input: source,
        workDir: await mkdtemp(join(workDir, 'missing-')),
        timeBudget: () => 60_000,
        outputUrl: async (key) => partial.get(key),
      })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(MediaToolError);
    expect((error as Error).message).toBe(
      'the audio track is missing: 1 of 4 audio parts missing (audio-p0002); their items failed or did not run'
    );
  });
});
