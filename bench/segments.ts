import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { makeClip, useMediaTools } from '../fixtures/media.js';
import { renditionKind, renditionSegmentKind } from '../kinds/index.js';
import {
  audioItem,
  audioPartItems,
  DEFAULT_PLAN_CONFIG,
  type Produced,
  planSegmentation,
  rendition,
  renditionSegment,
  type Segmentation,
  segmentItemsFor,
  thumbnail,
} from '../lambdas/branch-kinds/index.js';
import { probeFile } from '../lambdas/probe/logic.js';
import { DEFAULT_SEGMENT_CONCURRENCY } from '../lib/stacks/video-pipeline-stack.js';
import { mapLimit } from '../shared/concurrency.js';
import { childCpuAvailable, measured } from './child-cpu.js';
import {
  type AudioLayout,
  cheapestSetting,
  LAMBDA_MB_PER_VCPU,
  modelSingleRun,
  modelWave,
  type RungRate,
  type Setting,
  type WaveModel,
  type WaveModelInputs,
} from './seg-model.js';

/**
 * Bench (seg), issue #20 item 7: the single run against the segmented path on
 * one generated 1080p source with audio, 1080p → 720p, with the Lambdas' own
 * code (the kinds' `run`, called directly: no S3, no state machine), `repeats`
 * times. Each stage is timed (wall) and its ffmpeg/ffprobe children's CPU is
 * read from the kernel (child-cpu.ts). Then one segment at each rung of the
 * ladder calibrates the AWS model of one hour in one wave (seg-model.ts).
 */

const budget = () => 3_600_000;
/** The model's ladder: the three rungs (the stack's default is 360p and 720p). */
export const MODEL_LADDER = [360, 720, 1080] as const;
export const DEFAULT_LADDER = DEFAULT_PLAN_CONFIG.renditionHeights;
const HEIGHT = 720;
const TARGET_SEC = 30;

export interface SegRun {
  single: { wallSec: number; cpuSec: number };
  segments: { wallSec: number; cpuSec: number };
  /** The audio parts (workers at a time), as the Map Run runs them. */
  audio: { wallSec: number; cpuSec: number };
  /** The audio join the last part runs: the parts stream-copied into one file, its HLS audio. */
  audioJoin: { wallSec: number; cpuSec: number };
  join: { wallSec: number; cpuSec: number };
  /** The same join over the first half of the segments: with `join`, the join's fixed and per-byte CPU. */
  joinHalf: { cpuSec: number; bytes: number };
  /** CPU seconds per source second. */
  singleCpuPerSourceSec: number;
  segmentedCpuPerSourceSec: number;
  /** segmented CPU ÷ single CPU − 1 (target ≤ 0.10). */
  overhead: number;
  /** (segments + audio + join) wall ÷ single wall, the stages one after another. */
  wallRatio: number;
  /** The joined MP4 (video + audio) and the joined AAC file. */
  joinedBytes: number;
  audioBytes: number;
}

export interface Stat {
  median: number;
  min: number;
  max: number;
  /** (max − min) ÷ median. */
  spread: number;
}

export interface Assumption {
  name: string;
  value: string;
  source: string;
}

export interface ModelRow {
  label: string;
  setting: Setting;
  model: WaveModel;
}

export interface SegmentBench {
  sourceSec: number;
  segments: number;
  segmentSec: number;
  workers: number;
  cpu: string;
  runs: SegRun[];
  summary: Record<
    'singleCpuPerSourceSec' | 'segmentedCpuPerSourceSec' | 'overhead' | 'wallRatio',
    Stat
  >;
  calibration: (RungRate & { segmentSec: number; cpuSec: number; wallSec: number })[];
  assumptions: Assumption[];
  model: ModelRow[];
  todayPerMinuteUsd: number;
  targetSec: number;
  /** Set when the default setting misses the target: the cheapest settings that meet it. */
  toMeetTarget: ModelRow[];
  /** Why no setting of a layout meets the target, when none does. */
  unreachable: string[];
}

export const stat = (values: readonly number[]): Stat => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] ?? Number.NaN)
      : ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
  const min = sorted[0] ?? Number.NaN;
  const max = sorted.at(-1) ?? Number.NaN;
  return { median, min, max, spread: median > 0 ? (max - min) / median : Number.NaN };
};

const size = (path: string) => statSync(path).size;

/** The keys and local paths of what a kind produced (what the runner would upload). */
const filesOf = (produced: readonly Produced[]): [string, string][] =>
  produced.flatMap((p) => ('path' in p ? [[p.key, p.path] as [string, string]] : []));

export const benchSegments = async (
  sourceSec: number,
  repeats: number,
  log: (line: string) => void = console.log
): Promise<SegmentBench> => {
  if (!childCpuAvailable()) {
    throw new Error('bench (seg) reads child CPU time from /proc/self/stat: Linux only');
  }
  useMediaTools();
  const dir = mkdtempSync(join(tmpdir(), 'bench-segments-'));
  try {
    const source = await makeClip({ seconds: sourceSec, width: 1920, height: 1080, audio: true });
    const probe = { ...(await probeFile(source)), requestedThumbnailTimes: [] };
    const workers = cpus().length;
    // The stack's segment length (30 s) when the source has at least 4 of them, else a
    // quarter of the source, so a short validation run still has several segments.
    const lengthSec =
      sourceSec >= 4 * DEFAULT_PLAN_CONFIG.segmentLengthSec
        ? DEFAULT_PLAN_CONFIG.segmentLengthSec
        : Math.max(2, Math.floor(sourceSec / 4));
    const segmentation = planSegmentation(probe, {
      ...DEFAULT_PLAN_CONFIG,
      segmentThresholdSec: 1,
      segmentLengthSec: lengthSec,
    });
    if (!segmentation) throw new Error('the bench source was not segmented');
    let n = 0;
    const ctx = () => ({
      videoId: 'bench',
      source: { bucket: 'b', key: 'k' },
      probe,
      input: source,
      workDir: mkdtempSync(join(dir, `w${n++}-`)),
      timeBudget: budget,
    });
    const id = `rendition-${HEIGHT}p`;

    const runs: SegRun[] = [];
    for (let r = 0; r < repeats; r++) {
      const single = await measured(() =>
        rendition.run({ id, kind: 'rendition', height: HEIGHT }, ctx())
      );
      // The segmented path: every segment item and audio part (workers at a time), the
      // audio join, the rendition's join.
      const files = new Map<string, string>();
      const segments = await measured(() =>
        mapLimit(segmentItemsFor({ id, height: HEIGHT, segmentation }), workers, async (item) => {
          for (const [k, p] of filesOf(await renditionSegment.run(item, ctx()))) files.set(k, p);
        })
      );
      const parts = audioPartItems(sourceSec, segmentation.lengthSec);
      const audio = await measured(() =>
        mapLimit(parts, workers, async (item) => {
          for (const [k, p] of filesOf(await renditionSegment.run(item, ctx()))) files.set(k, p);
        })
      );
      const audioJoin = await measured(async () => {
        const joined = await renditionSegment.run(audioItem(parts.length), {
          ...ctx(),
          outputUrl: async (key: string) => files.get(key),
        });
        for (const [k, p] of filesOf(joined)) files.set(k, p);
      });
      const audioFile = [...files].find(([k]) => k.endsWith('/audio.m4a'))?.[1];
      const join_ = await measured(() =>
        rendition.run(
          { id, kind: 'rendition', height: HEIGHT, segmentation },
          { ...ctx(), outputUrl: async (key: string) => files.get(key) }
        )
      );
      const mp4 = filesOf(join_.value).find(([k]) => k.endsWith(`/${HEIGHT}p.mp4`))?.[1];
      // Not part of the path: the join again over half the segments, for the model's fit.
      const half = Math.max(1, Math.floor(segmentation.count / 2));
      const joinHalf = await measured(() =>
        rendition.run(
          { id, kind: 'rendition', height: HEIGHT, segmentation: { ...segmentation, count: half } },
          { ...ctx(), outputUrl: async (key: string) => files.get(key) }
        )
      );
      const halfMp4 = filesOf(joinHalf.value).find(([k]) => k.endsWith(`/${HEIGHT}p.mp4`))?.[1];
      if (!halfMp4) throw new Error('the half join produced no MP4');
      if (!mp4 || !audioFile) throw new Error('the segmented path produced no MP4 or no audio');
      const segmentedCpu = segments.cpuSec + audio.cpuSec + audioJoin.cpuSec + join_.cpuSec;
      const segmentedWall = segments.wallSec + audio.wallSec + audioJoin.wallSec + join_.wallSec;
      const run: SegRun = {
        single: { wallSec: single.wallSec, cpuSec: single.cpuSec },
        segments: { wallSec: segments.wallSec, cpuSec: segments.cpuSec },
        audio: { wallSec: audio.wallSec, cpuSec: audio.cpuSec },
        audioJoin: { wallSec: audioJoin.wallSec, cpuSec: audioJoin.cpuSec },
        join: { wallSec: join_.wallSec, cpuSec: join_.cpuSec },
        joinHalf: { cpuSec: joinHalf.cpuSec, bytes: size(halfMp4) },
        singleCpuPerSourceSec: single.cpuSec / sourceSec,
        segmentedCpuPerSourceSec: segmentedCpu / sourceSec,
        overhead: segmentedCpu / single.cpuSec - 1,
        wallRatio: segmentedWall / single.wallSec,
        joinedBytes: size(mp4),
        audioBytes: size(audioFile),
      };
      // Children's CPU cannot exceed what the cores gave them: a figure past that is a double count.
      for (const [name, st] of Object.entries({
        single,
        segments,
        audio,
        audioJoin,
        join: join_,
      })) {
        if (st.cpuSec > st.wallSec * workers * 1.05 + 0.05) {
          log(
            `(seg) WARNING: ${name} used ${st.cpuSec.toFixed(2)} CPU-s in ${st.wallSec.toFixed(2)} s on ${workers} cores`
          );
        }
      }
      runs.push(run);
      log(
        `(seg) run ${r + 1}/${repeats}: single ${single.wallSec.toFixed(1)} s wall, ` +
          `${single.cpuSec.toFixed(1)} CPU-s; segmented ${segmentedWall.toFixed(1)} s wall, ` +
          `${segmentedCpu.toFixed(1)} CPU-s (overhead ${(run.overhead * 100).toFixed(1)}%)`
      );
    }

    // Calibration for the model: one segment item per rung (the second segment: it seeks,
    // as all but the first do), and the audio, join and thumbnail figures of the last run.
    const cal = calibrationSegmentation(probe, segmentation);
    const index = Math.min(1, cal.count - 1);
    const calSec = cal.framesPerSegment / cal.frameRate;
    const calibration = [];
    for (const height of MODEL_LADDER) {
      const [item] = segmentItemsFor({ id: `rendition-${height}p`, height, segmentation: cal })
        .slice(index, index + 1)
        .map((i) => i);
      if (!item) throw new Error('no calibration segment');
      const m = await measured(() => renditionSegment.run(item, ctx()));
      const bytes = filesOf(m.value).reduce((s, [, p]) => s + size(p), 0);
      calibration.push({
        height,
        segmentSec: calSec,
        cpuSec: m.cpuSec,
        wallSec: m.wallSec,
        cpuPerSourceSec: m.cpuSec / calSec,
        bytesPerSourceSec: bytes / calSec,
      });
    }
    const thumb = await measured(() =>
      thumbnail.run({ id: 'thumb-01', kind: 'thumbnail', atSec: sourceSec / 2, width: 320 }, ctx())
    );
    const summary = {
      singleCpuPerSourceSec: stat(runs.map((r) => r.singleCpuPerSourceSec)),
      segmentedCpuPerSourceSec: stat(runs.map((r) => r.segmentedCpuPerSourceSec)),
      overhead: stat(runs.map((r) => r.overhead)),
      wallRatio: stat(runs.map((r) => r.wallRatio)),
    };
    const median = (f: (r: SegRun) => number) => stat(runs.map(f)).median;
    const { inputs, assumptions } = modelInputs({
      calibration,
      audioCpuPerSourceSec: median((r) => r.audio.cpuSec / sourceSec),
      audioBytesPerSourceSec: median((r) => r.audioBytes / sourceSec),
      audioJoinCpuPerSourceSec: median((r) => r.audioJoin.cpuSec / sourceSec),
      ...joinFit(runs),
      thumbnailSec: thumb.wallSec,
    });
    const byHeight = (hs: readonly number[]) => inputs.rungs.filter((r) => hs.includes(r.height));
    const base: Setting = {
      memoryMiB: inputs.memoryMiB,
      segmentSec: inputs.segmentSec,
      concurrency: inputs.concurrency,
      audio: inputs.audio,
    };
    const model: ModelRow[] = [
      {
        label: `1 h 1080p → ${MODEL_LADDER.join('/')}p + 3 thumbnails (issue ladder)`,
        setting: base,
        model: modelWave(inputs),
      },
      {
        label: `1 h 1080p → ${DEFAULT_LADDER.join('/')}p + 3 thumbnails (stack default ladder)`,
        setting: base,
        model: modelWave({ ...inputs, rungs: byHeight(DEFAULT_LADDER) }),
      },
    ];
    // Today's cost per minute: a 1-minute upload on today's unsegmented path, same prices,
    // each rung a single run at the measured single-run CPU rate scaled per rung.
    const singleOverSegments = median(
      (r) => r.single.cpuSec / (r.segments.cpuSec + r.audio.cpuSec)
    );
    const singleRates = inputs.rungs.map((r) => r.cpuPerSourceSec * singleOverSegments);
    const today = modelSingleRun(
      inputs,
      singleRates,
      60,
      undefined,
      renditionKind.sizing.memoryMiB
    );
    const toMeetTarget: ModelRow[] = [];
    const unreachable: string[] = [];
    if ((model[0]?.model.totalSec ?? 0) > TARGET_SEC) {
      for (const audio of ['one-item', 'parts'] as AudioLayout[]) {
        const best = cheapestSetting(inputs, TARGET_SEC, audio);
        if (best) {
          toMeetTarget.push({
            label: `cheapest setting ≤ ${TARGET_SEC} s, audio ${audio}${audio === 'one-item' ? ' (the layout before the parts)' : ''}`,
            ...best,
          });
        } else {
          const fastest = modelWave({
            ...inputs,
            memoryMiB: 10240,
            segmentSec: 2,
            concurrency: 10000,
            audio,
          });
          unreachable.push(
            `audio ${audio}: no setting in the grid meets ${TARGET_SEC} s; the fastest ` +
              `(10,240 MB, 2 s segments, concurrency 10,000) gives ${fastest.totalSec.toFixed(1)} s, ` +
              `decided by ${fastest.critical}` +
              (audio === 'one-item'
                ? ` (the audio item alone: ${fastest.audioDoneSec.toFixed(1)} s on one thread)`
                : '')
          );
        }
      }
    }
    return {
      sourceSec,
      segments: segmentation.count,
      segmentSec: segmentation.lengthSec,
      workers,
      cpu: cpus()[0]?.model ?? 'unknown',
      runs,
      summary,
      calibration,
      assumptions,
      model,
      todayPerMinuteUsd: today.costPerSourceMinuteUsd,
      targetSec: TARGET_SEC,
      toMeetTarget,
      unreachable,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/**
 * The join's CPU as fixed + per byte written: the line through the half join
 * and the whole join of each run, medians over the runs. Noise can tilt it
 * below zero; then the whole join is taken as all fixed (per byte 0), which
 * keeps the model's join at what was measured here.
 */
export const joinFit = (
  runs: readonly Pick<SegRun, 'join' | 'joinHalf' | 'joinedBytes'>[]
): { joinCpuPerByte: number; joinCpuFixedSec: number } => {
  const mid = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const slope = mid(
    runs.map((r) => (r.join.cpuSec - r.joinHalf.cpuSec) / (r.joinedBytes - r.joinHalf.bytes))
  );
  const perByte = Number.isFinite(slope) && slope > 0 ? slope : 0;
  const fixed = mid(runs.map((r) => r.join.cpuSec - perByte * r.joinedBytes));
  return { joinCpuPerByte: perByte, joinCpuFixedSec: Math.max(0, fixed) };
};

/** The model's segment length (the stack's 30 s) when the source has two of them, else the bench's. */
const calibrationSegmentation = (
  probe: Parameters<typeof planSegmentation>[0],
  fallback: Segmentation
): Segmentation =>
  planSegmentation(probe, {
    ...DEFAULT_PLAN_CONFIG,
    segmentThresholdSec: 1,
    segmentLengthSec: DEFAULT_PLAN_CONFIG.segmentLengthSec,
  }) ?? fallback;

/**
 * The model's inputs: what this bench measured, and every figure it did not,
 * each with where it comes from (printed with the model).
 */
export const modelInputs = (measuredHere: {
  calibration: readonly RungRate[];
  audioCpuPerSourceSec: number;
  audioBytesPerSourceSec: number;
  audioJoinCpuPerSourceSec: number;
  joinCpuPerByte: number;
  joinCpuFixedSec: number;
  thumbnailSec: number;
}): { inputs: WaveModelInputs; assumptions: Assumption[] } => {
  const m = measuredHere;
  const inputs: WaveModelInputs = {
    sourceSec: 3600,
    rungs: m.calibration.map((r) => ({
      height: r.height,
      cpuPerSourceSec: r.cpuPerSourceSec,
      bytesPerSourceSec: r.bytesPerSourceSec,
    })),
    audioCpuPerSourceSec: m.audioCpuPerSourceSec,
    audioBytesPerSourceSec: m.audioBytesPerSourceSec,
    audioJoinCpuPerSourceSec: m.audioJoinCpuPerSourceSec,
    joinCpuPerByte: m.joinCpuPerByte,
    joinCpuFixedSec: m.joinCpuFixedSec,
    thumbnailSec: m.thumbnailSec,
    thumbnails: DEFAULT_PLAN_CONFIG.thumbnailCount,
    metadataSec: 1,
    segmentSec: DEFAULT_PLAN_CONFIG.segmentLengthSec,
    concurrency: DEFAULT_SEGMENT_CONCURRENCY,
    memoryMiB: renditionSegmentKind.sizing.memoryMiB,
    lambdaCoreSpeed: 1,
    coldStartSec: 1.5,
    firstByteSec: 0.1,
    s3BytesPerSec: 85e6,
    sourceBytesPerSec: 1e6,
    startSec: 3,
    probeSec: 1,
    planSec: 0.5,
    aggregateSec: 1,
    audio: 'parts',
  };
  const f = (x: number, d = 3) => x.toFixed(d);
  const assumptions: Assumption[] = [
    {
      name: 'source',
      value: '3,600 s of 1080p, 25 fps',
      source: 'issue #20 item 7',
    },
    {
      name: 'content',
      value:
        "the bench's clip: ffmpeg testsrc + a sine tone, far easier to encode than camera footage; CPU, times and compute cost scale with the real rate",
      source: 'fixtures/media.ts makeClip (the same clip the single/segmented runs use)',
    },
    {
      name: 'ladder',
      value: `${MODEL_LADDER.join('/')}p (stack default ${DEFAULT_LADDER.join('/')}p: second row)`,
      source: 'issue #20; DEFAULT_PLAN_CONFIG.renditionHeights (kinds/plan-config.ts)',
    },
    ...inputs.rungs.map((r) => ({
      name: `${r.height}p segment item`,
      value: `${f(r.cpuPerSourceSec)} CPU-s and ${f(r.bytesPerSourceSec / 1e3, 1)} kB per source s`,
      source: 'measured here: one segment item (renditionSegment.run), child CPU from /proc',
    })),
    {
      name: 'audio',
      value: `${f(inputs.audioCpuPerSourceSec, 4)} CPU-s per source s (the parts together, pre-roll included), one thread each; the audio join ${f(inputs.audioJoinCpuPerSourceSec, 4)} CPU-s per source s (copy + HLS audio, one thread)`,
      source: 'measured here (median of the runs); AAC encoder single-threaded',
    },
    {
      name: 'join',
      value: `${f(inputs.joinCpuFixedSec, 2)} CPU-s + ${f(inputs.joinCpuPerByte * 1e9, 2)} CPU-s per GB written (copy-mux + HLS packaging)`,
      source:
        'measured here at 720p: the line through a join of half the segments and of all (medians of the runs)',
    },
    {
      name: 'thumbnail / metadata',
      value: `${f(inputs.thumbnailSec, 2)} s / ${inputs.metadataSec} s each, in the same wave`,
      source: 'thumbnail measured here on a local file; metadata assumed (README "Cost per video")',
    },
    {
      name: 'segment length',
      value: `${inputs.segmentSec} s → ${Math.ceil(inputs.sourceSec / inputs.segmentSec)} segments per rung`,
      source: 'DEFAULT_PLAN_CONFIG.segmentLengthSec, maxSegments 120',
    },
    {
      name: 'concurrency',
      value: `${inputs.concurrency} items at once (Segments Distributed Map)`,
      source:
        'segmentConcurrency default (lib/stacks/video-pipeline-stack.ts); Lambda account quota 1,000 by default: https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html',
    },
    {
      name: 'Lambda vCPU',
      value: `${inputs.memoryMiB} MB → ${f(inputs.memoryMiB / LAMBDA_MB_PER_VCPU, 3)} vCPU (1,769 MB per vCPU, ≤ 6)`,
      source: 'https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html',
    },
    {
      name: 'Lambda vCPU speed',
      value: `${inputs.lambdaCoreSpeed} × one core here (${cpus()[0]?.model ?? 'unknown'}); x264 uses every vCPU`,
      source: 'ASSUMED, not measured on AWS',
    },
    {
      name: 'cold start',
      value: `${inputs.coldStartSec} s on each environment's first item, billed`,
      source:
        'ASSUMED (ffmpeg layer, Node.js); INIT billed since 2025-08-01: https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/',
    },
    {
      name: 'S3 throughput',
      value: `${inputs.s3BytesPerSec / 1e6} MB/s per Lambda (one connection), ${inputs.firstByteSec} s to first byte`,
      source:
        '"one concurrent request for each 85–90 MB/s": https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance-guidelines.html',
    },
    {
      name: 'upload bit rate',
      value: `${(inputs.sourceBytesPerSec * 8) / 1e6} Mbit/s: each item streams its range of the source while it encodes`,
      source:
        'YouTube 1080p SDR upload recommendation (8 Mbps): https://support.google.com/youtube/answer/1722171',
    },
    {
      name: 'upload → Map Run start',
      value: `${inputs.startSec} s (S3 event, SNS, SQS, starter, Probe ${inputs.probeSec} s, Plan ${inputs.planSec} s)`,
      source: 'ASSUMED; bench (a) breaks this path down on the local runtime',
    },
    {
      name: 'aggregate',
      value: `${inputs.aggregateSec} s to the manifest`,
      source: 'ASSUMED (README "Cost per video")',
    },
    {
      name: 'prices',
      value: 'Lambda GB-s and requests, Step Functions transitions, SQS, SNS, S3 PUT/GET',
      source: 'lambdas/aggregate/prices.ts via estimateCost (lambdas/aggregate/cost.ts)',
    },
  ];
  return { inputs, assumptions };
};

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const usd = (x: number) => `$${x.toFixed(4)}`;
const statLine = (st: Stat, fmt: (x: number) => string) =>
  `${fmt(st.median)} (${fmt(st.min)}–${fmt(st.max)}, spread ${pct(st.spread)})`;
/** A figure that is itself a percentage near zero (the overhead): its spread in points, not relative. */
const pointsLine = (st: Stat) =>
  `${pct(st.median)} (${pct(st.min)}–${pct(st.max)}, spread ${((st.max - st.min) * 100).toFixed(1)} points)`;

export const printSegmentBench = (f: SegmentBench): void => {
  const runs = new Table({
    head: [
      `(seg) ${f.sourceSec} s 1080p+audio → 720p, ${f.segments} × ${f.segmentSec} s on ${f.workers} workers`,
      ...f.runs.map((_, i) => `run ${i + 1}`),
    ],
  });
  const row = (label: string, fn: (r: SegRun) => string) => runs.push([label, ...f.runs.map(fn)]);
  const ws = (s: { wallSec: number; cpuSec: number }) =>
    `${s.wallSec.toFixed(1)} s / ${s.cpuSec.toFixed(1)} CPU-s`;
  row('single run (rendition.run): wall / CPU', (r) => ws(r.single));
  row('segments (renditionSegment.run ×n)', (r) => ws(r.segments));
  row(`audio parts`, (r) => ws(r.audio));
  row('audio join (copy + HLS)', (r) => ws(r.audioJoin));
  row('join (rendition.run, copy + HLS)', (r) => ws(r.join));
  row('CPU-s per source s: single', (r) => r.singleCpuPerSourceSec.toFixed(3));
  row('CPU-s per source s: segmented', (r) => r.segmentedCpuPerSourceSec.toFixed(3));
  row('segmenting overhead (target ≤ 10%)', (r) => pct(r.overhead));
  row('wall ratio segmented ÷ single', (r) => r.wallRatio.toFixed(2));
  console.log(runs.toString());
  const s = f.summary;
  console.log(
    `median (min–max, spread): single ${statLine(s.singleCpuPerSourceSec, (x) => x.toFixed(3))} CPU-s/s; ` +
      `segmented ${statLine(s.segmentedCpuPerSourceSec, (x) => x.toFixed(3))} CPU-s/s; ` +
      `overhead ${pointsLine(s.overhead)}; wall ratio ${statLine(s.wallRatio, (x) => x.toFixed(2))}`
  );
  const cal = new Table({
    head: ['calibration segment', 'source s', 'wall', 'CPU-s', 'CPU-s per s', 'kB per s'],
  });
  for (const c of f.calibration) {
    cal.push([
      `${c.height}p`,
      c.segmentSec.toFixed(1),
      `${c.wallSec.toFixed(1)} s`,
      c.cpuSec.toFixed(1),
      c.cpuPerSourceSec.toFixed(3),
      (c.bytesPerSourceSec / 1e3).toFixed(1),
    ]);
  }
  console.log(cal.toString());
  const a = new Table({
    head: ['AWS model assumption', 'value', 'source'],
    colWidths: [24, 60, 70],
    wordWrap: true,
  });
  for (const x of f.assumptions) a.push([x.name, x.value, x.source]);
  console.log(a.toString());
  const m = new Table({
    head: [
      'AWS model, one wave',
      'MB / seg s / conc. / audio',
      'items',
      'audio done',
      'rungs: segments → joined',
      'upload → manifest',
      'critical path',
      'GB-s',
      'transitions',
      'USD',
      'USD per min',
    ],
    colWidths: [30, 18, 7, 8, 30, 10, 24, 8, 8, 9, 9],
    wordWrap: true,
  });
  for (const r of [...f.model, ...f.toMeetTarget]) {
    m.push([
      r.label,
      `${r.setting.memoryMiB} / ${r.setting.segmentSec} / ${r.setting.concurrency} / ${r.setting.audio}`,
      r.model.items,
      `${r.model.audioDoneSec.toFixed(1)} s`,
      r.model.joins
        .map((j) => `${j.height}p ${j.segmentsDoneSec.toFixed(1)} → ${j.joinedSec.toFixed(1)} s`)
        .join('; '),
      `${r.model.totalSec.toFixed(1)} s`,
      r.model.critical,
      Math.round(r.model.lambdaGbSec),
      r.model.stateTransitions,
      usd(r.model.costUsd),
      usd(r.model.costPerSourceMinuteUsd),
    ]);
  }
  console.log(m.toString());
  const first = f.model[0]?.model;
  console.log(
    `today's cost per minute (a 1-minute upload, single runs, same prices): ${usd(f.todayPerMinuteUsd)}; ` +
      `the wave: ${first ? usd(first.costPerSourceMinuteUsd) : '-'} per source minute. ` +
      `Target ≤ ${f.targetSec} s: ${first && first.totalSec <= f.targetSec ? 'met' : 'NOT met at the default setting'}.`
  );
  for (const u of f.unreachable) console.log(u);
};
