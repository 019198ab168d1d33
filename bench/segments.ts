import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeClip, useMediaTools } from '../fixtures/media.js';
import {
  DEFAULT_PLAN_CONFIG,
  encodeAudio,
  encodeSegment,
  joinSegments,
  planSegmentation,
  rendition,
} from '../lambdas/branch-kinds/index.js';
import { probeFile } from '../lambdas/probe/logic.js';
import { mapLimit } from '../shared/concurrency.js';

/**
 * Bench (seg): segment-parallel against single-run on the same generated 1080p
 * source with audio, 1080p → 720p, measured with the code paths the Lambdas
 * run (rendition.run for the single run; encodeSegment, encodeAudio and
 * joinSegments for the segment pipeline), called directly: the full pipeline
 * on this machine adds only S3 copies on loopback. Then a model for AWS.
 */

const now = () => performance.now();
const budget = () => 3_600_000;

export interface SegmentBench {
  sourceSec: number;
  segments: number;
  segmentSec: number;
  workers: number;
  singleRunMs: number;
  segmentStageMs: number;
  audioMs: number;
  joinMs: number;
  segmentPipelineMs: number;
  speedup: number;
  oneSegmentAloneMs: number;
  /** Source seconds encoded per wall second by one worker (one segment alone). */
  encodeSpeedX: number;
  joinedBytes: number;
  model: AwsModelRow[];
}

export interface AwsModelRow {
  segments: number;
  segmentSec: number;
  downloadSec: number;
  slowestSegmentSec: number;
  joinSec: number;
  uploadSec: number;
  totalSec: number;
  dominant: string;
  lambdaGbSec: number;
  costUsd: number;
}

/**
 * The model for 1 h of 1080p → 720p. Stated assumptions: a 2 GiB Lambda has
 * ~1.2 vCPU against one core here (speed scaled by 1.2); a segment reads its
 * range of a 6 Mbit/s source at 80 MB/s after 0.3 s to first byte; the slowest
 * segment is 1.3× the mean (cold start, noisy neighbour); the join copies the
 * 720p output (measured bitrate) at 150 MB/s for its reads and runs the audio
 * encode (measured speed) of the whole hour; upload at 100 MB/s; Lambda
 * x86 $0.0000166667 per GB-s.
 */
export const awsModel = (
  encodeSpeedX: number,
  outputBytesPerSec: number,
  audioSpeedX: number,
  segmentsList: number[]
): AwsModelRow[] =>
  segmentsList.map((segments) => {
    const hour = 3600;
    const segmentSec = hour / segments;
    const lambdaSpeed = encodeSpeedX * 1.2;
    const downloadSec = 0.3 + ((6e6 / 8) * segmentSec) / 80e6;
    const slowestSegmentSec = (segmentSec / lambdaSpeed) * 1.3;
    const outBytes = outputBytesPerSec * hour;
    const joinSec = outBytes / 150e6 + hour / (audioSpeedX * 1.2);
    const uploadSec = outBytes / 100e6;
    const terms = {
      download: downloadSec,
      'slowest segment': slowestSegmentSec,
      join: joinSec,
      upload: uploadSec,
    };
    const dominant = Object.entries(terms).sort((a, b) => b[1] - a[1])[0]![0];
    const lambdaGbSec =
      2 * (segments * (segmentSec / lambdaSpeed + downloadSec) + joinSec + uploadSec);
    const round = (n: number) => Math.round(n * 10) / 10;
    return {
      segments,
      segmentSec: round(segmentSec),
      downloadSec: round(downloadSec),
      slowestSegmentSec: round(slowestSegmentSec),
      joinSec: round(joinSec),
      uploadSec: round(uploadSec),
      totalSec: round(downloadSec + slowestSegmentSec + joinSec + uploadSec),
      dominant,
      lambdaGbSec: Math.round(lambdaGbSec),
      costUsd: Math.round(lambdaGbSec * 0.0000166667 * 1000) / 1000,
    };
  });

export const benchSegments = async (sourceSec: number): Promise<SegmentBench> => {
  useMediaTools();
  const dir = mkdtempSync(join(tmpdir(), 'bench-segments-'));
  try {
    const source = await makeClip({ seconds: sourceSec, width: 1920, height: 1080, audio: true });
    const probe = { ...(await probeFile(source)), requestedThumbnailTimes: [] };
    const workers = cpus().length;
    // One segment per worker-round of ~10 s, at least 2 per worker, whatever the source length.
    const segmentation = planSegmentation(probe, {
      ...DEFAULT_PLAN_CONFIG,
      segmentThresholdSec: 1,
      segmentLengthSec: Math.max(2, Math.round(sourceSec / (workers * 4))),
    });
    if (!segmentation) throw new Error('the bench source was not segmented');
    const ctx = (workDir: string) => ({
      videoId: 'bench',
      source: { bucket: 'b', key: 'k' },
      probe,
      input: source,
      workDir,
      timeBudget: budget,
    });

    let t = now();
    await rendition.run(
      { id: 'rendition-720p', kind: 'rendition', height: 720 },
      ctx(mkdtempSync(join(dir, 'single-')))
    );
    const singleRunMs = now() - t;

    const segmentFile = (i: number) => join(dir, `seg-${i}.mp4`);
    const encode = (index: number) =>
      encodeSegment({
        input: source,
        out: segmentFile(index),
        height: 720,
        index,
        count: segmentation.count,
        segmentation,
        timeBudget: budget,
      });
    t = now();
    await encode(1);
    const oneSegmentAloneMs = now() - t;

    t = now();
    await mapLimit(
      Array.from({ length: segmentation.count }, (_, i) => i),
      workers,
      encode
    );
    const segmentStageMs = now() - t;
    t = now();
    const audio = join(dir, 'audio.m4a');
    await encodeAudio(source, audio, budget);
    const audioMs = now() - t;
    t = now();
    const joined = join(dir, 'joined.mp4');
    await joinSegments({
      segments: Array.from({ length: segmentation.count }, (_, i) => segmentFile(i)),
      audio,
      out: joined,
      workDir: dir,
      timeBudget: budget,
    });
    const joinMs = now() - t;
    const segmentPipelineMs = segmentStageMs + audioMs + joinMs;
    const joinedBytes = statSync(joined).size;
    const encodeSpeedX = segmentation.lengthSec / (oneSegmentAloneMs / 1000);
    return {
      sourceSec,
      segments: segmentation.count,
      segmentSec: segmentation.lengthSec,
      workers,
      singleRunMs: Math.round(singleRunMs),
      segmentStageMs: Math.round(segmentStageMs),
      audioMs: Math.round(audioMs),
      joinMs: Math.round(joinMs),
      segmentPipelineMs: Math.round(segmentPipelineMs),
      speedup: Math.round((singleRunMs / segmentPipelineMs) * 100) / 100,
      oneSegmentAloneMs: Math.round(oneSegmentAloneMs),
      encodeSpeedX: Math.round(encodeSpeedX * 100) / 100,
      joinedBytes,
      model: awsModel(
        encodeSpeedX,
        joinedBytes / sourceSec,
        sourceSec / (audioMs / 1000),
        [60, 120]
      ),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
