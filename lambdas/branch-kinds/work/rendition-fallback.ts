import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  artifactKey,
  audioItemRelativeKey,
  FallbackIncomplete,
  MediaToolError,
} from '../../../contract/index.js';
import {
  FALLBACK_STORE_RESERVE_MS,
  type RenditionFallbackBranch,
  renditionFallbackKind,
  type Segmentation,
} from '../../../kinds/index.js';
import { HLS_TARGET_SEC, packageHls } from '../hls.js';
import type { BranchKind, Produced, RunContext, TimeBudget } from '../kind.js';
import { encodeAudio, encodeSegment, joinSegments, segmentRelativeKey } from '../segmentation.js';
import { encodeRendition, evenHeight, segmentTargetSec } from './rendition.js';
import { HLS_AUDIO_NAME } from './rendition-segment.js';

/** Published path of a fallback rendition: its own keys, so a late origin run never overwrites it. */
export const fallbackRenditionKey = (videoId: string, height: number): string =>
  artifactKey(videoId, `renditions/fallback/${height}p.mp4`);

/**
 * Where a segmented fallback keeps the audio it encoded itself (when the
 * video's joined audio is missing), beside its segments under its own `_work/`.
 */
export const fallbackAudioRelativeKey = (fallbackId: string): string =>
  `_work/segments/${fallbackId}/audio.m4a`;

/** A job starts only when the budget holds the slowest job of this invocation times this. */
export const SLOWEST_JOB_MARGIN = 1.25;
/** A tool that failed with less than this left was cut off by the budget, not broken. */
export const OUT_OF_TIME_MS = 1_000;
/** The least budget the join starts with (segment downloads, stream copy, HLS packaging). */
export const JOIN_MIN_BUDGET_MS = 120_000;
/** Kept back from the join's tools for uploading the MP4 and its HLS files (as the early join does). */
export const JOIN_UPLOAD_RESERVE_MS = 60_000;

/** Pure: the segment indexes not stored yet, in order. */
export const remainingSegments = (stored: readonly boolean[]): number[] =>
  stored.flatMap((done, i) => (done ? [] : [i]));

/**
 * Pure: whether another job may start with `budgetMs` left. Before any job of
 * this invocation finished there is no estimate and a job starts while any
 * budget is left; after, only when the budget holds the slowest one with a margin.
 */
export const mayStartJob = (budgetMs: number, slowestMs: number | undefined): boolean =>
  budgetMs > 0 && (slowestMs === undefined || budgetMs >= slowestMs * SLOWEST_JOB_MARGIN);

/** One unit of checkpointed work: it stores its own result before resolving. */
export interface CheckpointJob {
  readonly name: string;
  run(timeBudget: TimeBudget): Promise<void>;
  /**
   * Its duration sets the pace the stop rule expects of the next jobs (mayStartJob).
   * @default true (false for a one-off job unlike the others: the audio)
   */
  readonly paced?: boolean;
}

export interface CheckpointOutcome {
  /** Jobs finished (and stored) in this invocation, in the order they finished. */
  readonly done: readonly string[];
  /** Jobs not started or cut off by the budget: the next attempt runs them. */
  readonly left: readonly string[];
}

/**
 * Runs the jobs `parallelism` at a time, each with the shared budget, and
 * stops starting new ones when the budget would not hold another (mayStartJob).
 * A job cut off by the budget is left for the next attempt, unless it started
 * in the first wave (with the whole budget): then no attempt can finish it,
 * and it is a MediaToolError. Any other failure is rethrown once the running
 * jobs have settled; nothing new starts after it.
 */
export const runCheckpointed = async (
  jobs: readonly CheckpointJob[],
  {
    parallelism,
    budgetMs,
    now = Date.now,
  }: { parallelism: number; budgetMs: TimeBudget; now?: () => number }
): Promise<CheckpointOutcome> => {
  const queue = [...jobs];
  const done: string[] = [];
  const cutOff: string[] = [];
  let slowestMs: number | undefined;
  let finished = 0;
  let failure: unknown;
  let stop = false;
  const worker = async (): Promise<void> => {
    while (!stop && queue.length > 0) {
      if (!mayStartJob(budgetMs(), slowestMs)) {
        stop = true;
        return;
      }
      const job = queue.shift()!;
      const firstWave = finished === 0;
      const started = now();
      try {
        await job.run(budgetMs);
        done.push(job.name);
        if (job.paced !== false) slowestMs = Math.max(slowestMs ?? 0, now() - started);
      } catch (err) {
        stop = true;
        if (budgetMs() > OUT_OF_TIME_MS) {
          failure ??= err;
        } else if (firstWave) {
          failure ??= new MediaToolError(
            `${job.name} did not finish within one invocation's budget; no attempt can resume it`,
            { cause: err }
          );
        } else {
          cutOff.push(job.name);
        }
      } finally {
        finished += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, parallelism) }, worker));
  if (failure !== undefined) throw failure;
  return { done, left: [...cutOff, ...queue.map((j) => j.name)] };
};

/**
 * The fallback of a segmented origin, segment by segment on the origin's own
 * grid (its `segmentation`), at half its height with the `ultrafast` preset,
 * `parallelism` segments at once, each on one thread. Checkpointed: each
 * segment is stored under the fallback's `_work/` as soon as it is encoded, a
 * stored one is never encoded again, and when the budget runs out with
 * segments left it throws FallbackIncomplete, which the state machine retries
 * (the next attempt resumes). Then the join, as a segmented rendition's: a
 * stream copy with the audio (the video's joined audio, else its own), and
 * HLS packaging of the joined file.
 */
export const segmentedFallback = async (
  branch: RenditionFallbackBranch,
  segmentation: Segmentation,
  context: RunContext,
  parallelism: number = availableParallelism()
): Promise<Produced[]> => {
  const { videoId, probe, input, workDir, timeBudget, outputUrl, store } = context;
  if (!outputUrl || !store) {
    throw new MediaToolError('this runner cannot checkpoint segments (no outputUrl or store)');
  }
  const height = evenHeight(branch.origin.height / 2);
  const { count } = segmentation;
  const segmentKeys = Array.from({ length: count }, (_, i) =>
    artifactKey(videoId, segmentRelativeKey(branch.id, i))
  );
  const exists = async (key: string) => (await outputUrl(key)) !== undefined;
  const todo = remainingSegments(await Promise.all(segmentKeys.map(exists)));

  // The video's joined audio when the audio item delivered it; else the fallback's own copy.
  let audioKey: string | null = null;
  let encodeOwnAudio = false;
  if (probe.audioCodec !== null) {
    const joined = artifactKey(videoId, audioItemRelativeKey());
    const own = artifactKey(videoId, fallbackAudioRelativeKey(branch.id));
    if (await exists(joined)) audioKey = joined;
    else {
      audioKey = own;
      encodeOwnAudio = !(await exists(own));
    }
  }
  const storeFile = async (key: string, contentType: string, path: string) => {
    await store({ key, contentType, path });
    // Stored: the join reads it from S3, and /tmp must hold the joined file.
    await rm(path, { force: true });
  };
  const jobs: CheckpointJob[] = [
    // First: the longest job, and it starts with the whole budget.
    ...(encodeOwnAudio && audioKey
      ? [
          {
            name: 'the audio',
            // Longer than a segment and run once: it does not tell how long a segment takes.
            paced: false,
            run: async (budget: TimeBudget) => {
              const out = join(workDir, 'audio.m4a');
              await encodeAudio(input, out, budget, probe.audioTrack);
              await storeFile(audioKey!, 'audio/mp4', out);
            },
          },
        ]
      : []),
    ...todo.map(
      (index): CheckpointJob => ({
        name: `segment ${index + 1}/${count}`,
        run: async (budget) => {
          const out = join(workDir, `segment-${index}.mp4`);
          await encodeSegment({
            input,
            out,
            height,
            index,
            count,
            segmentation,
            timeBudget: budget,
            variableFrameRate: probe.variableFrameRate !== undefined,
            preset: 'ultrafast',
            // One thread per process, one process per vCPU: segments are independent, and
            // x264's own threads cost more CPU per frame (measured: docs/segments.md).
            threads: 1,
          });
          await storeFile(segmentKeys[index]!, 'video/mp4', out);
        },
      })
    ),
  ];
  const outcome = await runCheckpointed(jobs, {
    parallelism,
    // Kept back for storing the last segments: a segment cut off by the Lambda timeout is lost.
    budgetMs: () => timeBudget() - FALLBACK_STORE_RESERVE_MS,
  });
  if (outcome.left.length > 0) {
    const stored = count - todo.length + outcome.done.filter((n) => n.startsWith('segment')).length;
    throw new FallbackIncomplete(
      `${stored} of ${count} fallback segments stored; out of invocation time, the next attempt resumes`
    );
  }
  if (timeBudget() < JOIN_MIN_BUDGET_MS) {
    throw new FallbackIncomplete(
      `all ${count} fallback segments stored; too little time left to join, the next attempt joins`
    );
  }

  const urls = await Promise.all(segmentKeys.map((k) => outputUrl(k)));
  const missing = urls.indexOf(undefined);
  if (missing >= 0) {
    throw new MediaToolError(`fallback segment ${missing + 1}/${count} is missing after storing`);
  }
  const audio = audioKey === null ? null : ((await outputUrl(audioKey)) ?? null);
  if (audioKey !== null && audio === null) {
    throw new MediaToolError('the fallback audio is missing after storing');
  }
  const out = join(workDir, `${branch.id}.mp4`);
  const joinBudget = () => timeBudget() - JOIN_UPLOAD_RESERVE_MS;
  try {
    await joinSegments({ segments: urls as string[], audio, out, workDir, timeBudget: joinBudget });
    const hls = await packageHls({
      videoId,
      branchId: branch.id,
      inputArgs: ['-i', out],
      video: `fallback/${height}p`,
      audio: fallbackAudioPlaylist(branch, probe.audioCodec !== null),
      workDir,
      // The origin's grid: the fallback's media segments line up with the other variants'.
      targetSec: segmentTargetSec(segmentation),
      timeBudget: joinBudget,
    });
    return [
      { key: fallbackRenditionKey(videoId, height), contentType: 'video/mp4', path: out },
      ...hls,
    ];
  } catch (err) {
    // Cut off after encoding in this invocation: the next one joins with its whole budget.
    if (joinBudget() <= OUT_OF_TIME_MS && outcome.done.length > 0) {
      throw new FallbackIncomplete(
        `all ${count} fallback segments stored; the join ran out of invocation time, the next attempt joins`,
        { cause: err }
      );
    }
    throw err;
  }
};

/** Standing in for the main rendition: its audio playlist too, under the fallback's own keys. */
const fallbackAudioPlaylist = (
  branch: RenditionFallbackBranch,
  hasAudio: boolean
): string | null =>
  hasAudio && branch.origin.role !== 'secondary' ? `fallback/${HLS_AUDIO_NAME}` : null;

/**
 * Runs only as the fallback of a rendition that failed or timed out (the
 * policy's `fallbackFor`): half the height with the `ultrafast` preset, about
 * 4× less work, so a video still gets a playable rendition. Never planned.
 * A segmented origin's fallback is segmented too (segmentedFallback); an
 * unsegmented one's is a single run.
 */
export const renditionFallback: BranchKind<typeof renditionFallbackKind.schema> = {
  ...renditionFallbackKind,
  plan: () => [],
  async run(branch, context) {
    if (branch.origin.segmentation) {
      return segmentedFallback(branch, branch.origin.segmentation, context);
    }
    const { videoId, probe, input, workDir, timeBudget } = context;
    const height = evenHeight(branch.origin.height / 2);
    const out = join(workDir, `${branch.id}.mp4`);
    await encodeRendition({ input, out, height, preset: 'ultrafast', probe, timeBudget });
    const hls = await packageHls({
      videoId,
      branchId: branch.id,
      inputArgs: ['-i', out],
      video: `fallback/${height}p`,
      audio: fallbackAudioPlaylist(branch, probe.audioCodec !== null),
      workDir,
      targetSec: HLS_TARGET_SEC,
      timeBudget,
    });
    return [
      { key: fallbackRenditionKey(videoId, height), contentType: 'video/mp4', path: out },
      ...hls,
    ];
  },
};

export default renditionFallback;
