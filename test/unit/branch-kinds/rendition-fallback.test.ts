import '../../helpers/env.js';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  artifactKey,
  audioItemRelativeKey,
  FallbackIncomplete,
  MediaToolError,
  type ProbeResult,
  RetryableError,
} from '../../../contract/index.js';
import { cleanupMedia, makeClip, measureMedia, useMediaTools } from '../../../fixtures/media.js';
import { fallbackInvocationsFor, type RenditionFallbackBranch } from '../../../kinds/index.js';
import {
  audioItem,
  DEFAULT_PLAN_CONFIG,
  fallbackAudioRelativeKey,
  mayStartJob,
  type Produced,
  type RenditionBranch,
  type RunContext,
  remainingSegments,
  rendition,
  renditionFallback,
  renditionSegment,
  runCheckpointed,
  segmentedFallback,
  segmentRelativeKey,
} from '../../../lambdas/branch-kinds/index.js';
import { probeFile } from '../../../lambdas/probe/logic.js';

describe('segmented fallback: planning and checkpoint rules (pure)', () => {
  it('lists the segments not stored yet, in order', () => {
    // Act
    const left = remainingSegments([true, false, true, false, false]);

    // Assess
    expect(left).toEqual([1, 3, 4]);
    expect(remainingSegments([true, true])).toEqual([]);
  });

  it('starts a job while budget is left and there is no estimate, then only if the slowest fits with 25% to spare', () => {
    // Assess
    expect(mayStartJob(1, undefined)).toBe(true);
    expect(mayStartJob(0, undefined)).toBe(false);
    expect(mayStartJob(-5, undefined)).toBe(false);
    expect(mayStartJob(10_000, 8_000)).toBe(true);
    expect(mayStartJob(9_999, 8_000)).toBe(false);
  });

  it('derives the invocations for the longest planned source (the stack sets the Retry from it)', () => {
    // Assess: segment = maxSegmentSec / 2; usable = timeout − 15 − 30; per invocation ⌊usable/segment⌋ − 1.
    // 300 s segments, 600 s: 150 s, 555 s → 2 a call; ⌈120 / 2⌉ + audio + join = 62.
    expect(fallbackInvocationsFor({ maxSegments: 120, maxSegmentSec: 300, timeoutSec: 600 })).toBe(
      62
    );
    expect(fallbackInvocationsFor({ maxSegments: 60, maxSegmentSec: 300, timeoutSec: 600 })).toBe(
      32
    );
    // 30 s segments: 15 s each, ⌊555 / 15⌋ − 1 = 36 a call; ⌈120 / 36⌉ + 2 = 6.
    expect(fallbackInvocationsFor({ maxSegments: 120, maxSegmentSec: 30, timeoutSec: 600 })).toBe(
      6
    );
    // A timeout that holds barely one segment still counts one a call: 120 + 2.
    expect(fallbackInvocationsFor({ maxSegments: 120, maxSegmentSec: 300, timeoutSec: 300 })).toBe(
      122
    );
  });

  /** Jobs that take `ms` of a fake clock each, or fail as told. */
  const clockJobs = (n: number, ms: number, fail: Record<number, 'broken' | 'cut-off'> = {}) => {
    let clock = 0;
    const started: string[] = [];
    const jobs = Array.from({ length: n }, (_, i) => ({
      name: `job ${i}`,
      run: async () => {
        started.push(`job ${i}`);
        clock += ms;
        if (fail[i] === 'broken') throw new MediaToolError(`job ${i} is broken`);
        if (fail[i] === 'cut-off') {
          clock = Number.POSITIVE_INFINITY;
          throw new MediaToolError('ffmpeg timed out after 9s');
        }
      },
    }));
    return { jobs, started, now: () => clock };
  };

  it('stops starting jobs when the budget would not hold the slowest one, and leaves the rest', async () => {
    // Prepare: 100 s budget, 40 s a job: after two (80 s), 20 s left < 40 × 1.25.
    const { jobs, started, now } = clockJobs(4, 40_000);

    // Act
    const outcome = await runCheckpointed(jobs, {
      parallelism: 1,
      budgetMs: () => 100_000 - now(),
      now,
    });

    // Assess
    expect(outcome).toEqual({ done: ['job 0', 'job 1'], left: ['job 2', 'job 3'] });
    expect(started).toEqual(['job 0', 'job 1']);
  });

  it('does not pace the segments by a one-off job (the audio): its length is no estimate of theirs', async () => {
    // Prepare: 100 s budget; the audio takes 80 s, each segment 8 s.
    let clock = 0;
    const job = (name: string, ms: number, paced?: boolean) => ({
      name,
      ...(paced === undefined ? {} : { paced }),
      run: async () => {
        clock += ms;
      },
    });
    const jobs = [
      job('audio', 80_000, false),
      job('s0', 8_000),
      job('s1', 8_000),
      job('s2', 8_000),
    ];

    // Act
    const outcome = await runCheckpointed(jobs, {
      parallelism: 1,
      budgetMs: () => 100_000 - clock,
      now: () => clock,
    });

    // Assess: after the audio (20 s left) s0 starts (no estimate yet), then s1 (12 s ≥ 8 × 1.25);
    // 4 s left stops s2. Paced by the audio's 80 s, nothing would have followed it.
    expect(outcome).toEqual({ done: ['audio', 's0', 's1'], left: ['s2'] });
  });

  it('leaves a job the budget cut off after the first wave for the next attempt', async () => {
    // Prepare: job 1 is cut off (the clock jumps past the budget while it runs).
    const { jobs, now } = clockJobs(3, 1_000, { 1: 'cut-off' });

    // Act
    const outcome = await runCheckpointed(jobs, {
      parallelism: 1,
      budgetMs: () => 100_000 - now(),
      now,
    });

    // Assess
    expect(outcome).toEqual({ done: ['job 0'], left: ['job 1', 'job 2'] });
  });

  it('fails for good when a job of the first wave is cut off: no attempt could finish it', async () => {
    // Prepare
    const { jobs, now } = clockJobs(3, 1_000, { 0: 'cut-off' });

    // Act
    const run = runCheckpointed(jobs, { parallelism: 1, budgetMs: () => 100_000 - now(), now });

    // Assess
    await expect(run).rejects.toThrow(MediaToolError);
    await expect(run).rejects.toThrow(/job 0 did not finish within one invocation's budget/);
  });

  it('starts nothing when no budget is left, leaving every job', async () => {
    // Prepare
    const { jobs, started } = clockJobs(3, 1_000);

    // Act
    const outcome = await runCheckpointed(jobs, { parallelism: 2, budgetMs: () => 0 });

    // Assess
    expect(outcome).toEqual({ done: [], left: ['job 0', 'job 1', 'job 2'] });
    expect(started).toEqual([]);
  });

  it('rethrows a failure that is not the budget once the running jobs settle, and starts nothing after it', async () => {
    // Prepare: two at a time; job 1 is broken while job 0 still runs (job 0 ends only on the
    // next turn of the event loop, after job 1's failure has been seen).
    const started: string[] = [];
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const jobs = [
      {
        name: 'job 0',
        run: async () => {
          started.push('job 0');
          await gate;
        },
      },
      {
        name: 'job 1',
        run: async () => {
          started.push('job 1');
          setImmediate(open);
          throw new MediaToolError('job 1 is broken');
        },
      },
      ...[2, 3].map((i) => ({
        name: `job ${i}`,
        run: async () => {
          started.push(`job ${i}`);
        },
      })),
    ];

    // Act
    const run = runCheckpointed(jobs, { parallelism: 2, budgetMs: () => 100_000 });

    // Assess
    await expect(run).rejects.toThrow('job 1 is broken');
    expect(started).toEqual(['job 0', 'job 1']);
  });
});

describe('unsegmented fallback on real media', () => {
  afterAll(() => cleanupMedia());

  it('stays one run of the whole source at half height, with no checkpoint (no outputUrl or store needed)', async () => {
    // Prepare: a 3 s clip, below any threshold: the origin has no segmentation.
    useMediaTools();
    const source = await makeClip({ seconds: 3, width: 640, height: 360, audio: true });
    const probe = { ...(await probeFile(source)), requestedThumbnailTimes: [] };
    const [origin] = rendition.plan(probe, { ...DEFAULT_PLAN_CONFIG, renditionHeights: [360] });
    expect(origin?.segmentation).toBeUndefined();
    const workDir = await mkdtemp(join(tmpdir(), 'fallback-single-'));

    try {
      // Act
      const produced = await renditionFallback.run(
        { id: 'rendition-360p-fallback', kind: 'rendition-fallback', origin: origin! },
        {
          videoId: 'vid-single',
          source: { bucket: 'b', key: 'k' },
          probe,
          input: source,
          workDir,
          timeBudget: () => 120_000,
        }
      );

      // Assess
      const mp4 = produced[0]!;
      expect(mp4.key).toBe('outputs/vid-single/renditions/fallback/180p.mp4');
      const facts = await measureMedia('path' in mp4 ? mp4.path : '');
      expect(facts.height).toBe(180);
      expect(facts.frames).toBe(75);
      expect(produced.map((p) => p.key)).toContain(
        'outputs/vid-single/hls/fallback/180p/index.m3u8'
      );
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('segmented fallback on real media (12 s clip, 2 s segments)', () => {
  const videoId = 'vid-fb';
  let root: string;
  let source: string;
  let probe: ProbeResult;
  let origin: RenditionBranch;
  let branch: RenditionFallbackBranch;

  beforeAll(async () => {
    useMediaTools();
    root = await mkdtemp(join(tmpdir(), 'fallback-'));
    // 12 s at 25 fps with audio: 300 frames; 2 s segments on the 50-frame grid → 6 (the e2e variant's cut).
    source = await makeClip({ seconds: 12, width: 640, height: 360, audio: true });
    probe = { ...(await probeFile(source)), requestedThumbnailTimes: [] };
    [origin] = rendition.plan(probe, {
      ...DEFAULT_PLAN_CONFIG,
      segmentThresholdSec: 8,
      segmentLengthSec: 2,
      renditionHeights: [360],
    }) as [RenditionBranch];
    branch = { id: `${origin.id}-fallback`, kind: 'rendition-fallback', origin };
  }, 120_000);

  afterAll(async () => {
    cleanupMedia();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** An output bucket in a directory: what `store` put there, read back by `outputUrl`. */
  const bucket = async () => {
    const dir = await mkdtemp(join(root, 'bucket-'));
    const objects = new Map<string, string>();
    const stores: string[] = [];
    const store = async (item: Produced) => {
      if (!('path' in item)) throw new Error('only files are checkpointed');
      const copy = join(dir, `${objects.size}-${item.key.replace(/\//g, '_')}`);
      await copyFile(item.path, copy);
      objects.set(item.key, copy);
      stores.push(item.key);
    };
    return { objects, stores, store, outputUrl: async (key: string) => objects.get(key) };
  };
  const context = async (
    b: Awaited<ReturnType<typeof bucket>>,
    timeBudget: () => number
  ): Promise<RunContext> => ({
    videoId,
    source: { bucket: 'b', key: 'k' },
    probe,
    input: source,
    workDir: await mkdtemp(join(root, 'work-')),
    timeBudget,
    outputUrl: b.outputUrl,
    store: b.store,
  });
  const segmentKey = (i: number) => artifactKey(videoId, segmentRelativeKey(branch.id, i));

  it('plans the origin as 6 segments of 50 frames', () => {
    // Assess
    expect(origin.segmentation).toMatchObject({ count: 6, framesPerSegment: 50, gopFrames: 50 });
  });

  it("encodes the fallback segment by segment at half height and joins it with the video's audio: frames and duration of the source", async () => {
    // Prepare: the audio item delivered the video's joined audio.
    const b = await bucket();
    const audioDir = await mkdtemp(join(root, 'audio-'));
    for (const p of await renditionSegment.run(audioItem(), {
      ...(await context(b, () => 300_000)),
      workDir: audioDir,
    })) {
      if ('path' in p && p.key === artifactKey(videoId, audioItemRelativeKey())) await b.store(p);
    }
    const sourceFacts = await measureMedia(source);

    // Act
    const produced = await renditionFallback.run(branch, await context(b, () => 300_000));

    // Assess
    const mp4 = produced[0]!;
    expect(mp4.key).toBe(`outputs/${videoId}/renditions/fallback/180p.mp4`);
    const facts = await measureMedia('path' in mp4 ? mp4.path : '');
    expect(sourceFacts.frames).toBe(300);
    expect(Math.abs(facts.frames - sourceFacts.frames)).toBeLessThanOrEqual(1);
    expect(Math.abs(facts.videoSec - sourceFacts.videoSec)).toBeLessThanOrEqual(1 / 25);
    expect(facts.height).toBe(180);
    expect(facts.audioSec).not.toBeNull();
    expect(Math.abs(facts.audioSec! - facts.videoSec)).toBeLessThanOrEqual(1 / 25);
    // Each segment was stored under the fallback's own _work/ prefix; the joined audio was reused.
    expect(b.stores.filter((k) => k !== artifactKey(videoId, audioItemRelativeKey()))).toEqual(
      expect.arrayContaining([0, 1, 2, 3, 4, 5].map(segmentKey))
    );
    expect(b.stores).toHaveLength(1 + 6);
    const keys = produced.map((p) => p.key);
    expect(keys).toContain(`outputs/${videoId}/hls/fallback/180p/index.m3u8`);
    expect(keys).toContain(`outputs/${videoId}/hls/fallback/audio/index.m3u8`);
  }, 240_000);

  it('stops with FallbackIncomplete when the budget runs out, and the next attempt resumes without re-encoding', async () => {
    // Prepare: no joined audio (the audio item failed), one job at a time; the budget is
    // spent once three things are stored (the fallback's own audio and two segments).
    const b = await bucket();
    const spentAfter3 = () => (b.stores.length >= 3 ? 30_000 : 300_000);

    // Act: the first attempt.
    const first = segmentedFallback(branch, origin.segmentation!, await context(b, spentAfter3), 1);

    // Assess: retryable by name, with what it stored.
    await expect(first).rejects.toThrow(FallbackIncomplete);
    await expect(first).rejects.toThrow('2 of 6 fallback segments stored');
    await expect(first).rejects.toMatchObject({ name: 'FallbackIncomplete' });
    await expect(first).rejects.toBeInstanceOf(RetryableError);
    const ownAudio = artifactKey(videoId, fallbackAudioRelativeKey(branch.id));
    expect(b.stores).toEqual([ownAudio, segmentKey(0), segmentKey(1)]);

    // Act: the next attempt, with a whole budget.
    const produced = await segmentedFallback(
      branch,
      origin.segmentation!,
      await context(b, () => 300_000),
      1
    );

    // Assess: only the four remaining segments were encoded (each encode is stored once).
    expect(b.stores.slice(3)).toEqual([2, 3, 4, 5].map(segmentKey));
    const mp4 = produced[0]!;
    const facts = await measureMedia('path' in mp4 ? mp4.path : '');
    expect(facts.frames).toBe(300);
    expect(facts.height).toBe(180);
    expect(Math.abs(facts.audioSec! - facts.videoSec)).toBeLessThanOrEqual(1 / 25);
  }, 240_000);

  it('fails for good (not FallbackIncomplete) when a segment cannot be encoded with time left', async () => {
    // Prepare: a source that is not there.
    const b = await bucket();
    const ctx = { ...(await context(b, () => 300_000)), input: join(root, 'missing.mp4') };

    // Act
    const run = segmentedFallback(branch, origin.segmentation!, ctx, 2);

    // Assess
    await expect(run).rejects.toThrow(MediaToolError);
    await expect(run).rejects.not.toBeInstanceOf(FallbackIncomplete);
    expect(b.stores).toEqual([]);
  }, 60_000);
});
