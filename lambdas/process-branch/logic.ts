import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { FrameNotFoundError, MediaToolError } from '../shared/errors.js';
import { branchResultKey, metadataKey, renditionKey, thumbnailKey } from '../shared/keys.js';
import {
  type FfprobeOutput,
  inspect,
  parseRate,
  runTool,
  stderrTail,
  toNumber,
} from '../shared/media.js';
import { logger, metrics } from '../shared/powertools.js';
import { downloadSource, putBytes, putFile, putJson } from '../shared/s3.js';
import type {
  Artifact,
  BranchInput,
  BranchRef,
  BranchResult,
  BranchTask,
  SourceObject,
} from '../shared/schemas.js';
import { withTempDir } from '../shared/tmp.js';

/** An artifact the task produced, not yet uploaded: a local file or (small) bytes. */
export type Produced = { key: string; contentType: string } & ({ path: string } | { body: Buffer });

/** How long a tool may run; evaluated just before spawning so download time counts. */
export type TimeBudget = () => number;

const INSPECT_TIMEOUT_MS = 30_000;
const ERROR_MESSAGE_LIMIT = 500;
/** The message that travels in the state (Catch → Cause); details live in the S3 record. */
const THROWN_MESSAGE_LIMIT = 200;

const truncate = (s: string, max: number): string =>
  s.length > max ? `${s.slice(0, max - 1)}…` : s;

const budget = (timeBudget: TimeBudget, tool: string): number => {
  const ms = timeBudget();
  if (ms <= 0) throw new MediaToolError(`no time left to run ${tool} before the Lambda timeout`);
  return ms;
};

const ffmpeg = async (args: string[], timeoutMs: number): Promise<void> => {
  const res = await runTool('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args], {
    timeoutMs,
  });
  if (res.code !== 0) {
    throw new MediaToolError(`ffmpeg exited ${res.code}: ${stderrTail(res.stderr)}`);
  }
};

const fileSize = async (path: string): Promise<number> => {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
};

/**
 * Runs one branch task on a local source file and returns the files to upload.
 * Separate from S3 so tests can run real ffmpeg on generated clips.
 */
export const runTask = async (
  videoId: string,
  source: SourceObject,
  task: BranchTask,
  input: string,
  workDir: string,
  timeBudget: TimeBudget
): Promise<Produced[]> => {
  switch (task.kind) {
    case 'thumbnail': {
      const out = join(workDir, `${task.id}.jpg`);
      await ffmpeg(
        [
          '-ss',
          String(task.atSec),
          '-i',
          input,
          '-frames:v',
          '1',
          '-vf',
          `scale=${task.width}:-2`,
          '-q:v',
          '3',
          out,
        ],
        budget(timeBudget, 'ffmpeg')
      );
      // ffmpeg exits 0 and writes nothing when the seek lands past the last frame.
      if ((await fileSize(out)) === 0) {
        const info = await inspect(input, INSPECT_TIMEOUT_MS).catch(() => undefined);
        const duration = toNumber(info?.format?.duration);
        const length = duration === null ? '' : ` (video is ${duration.toFixed(1)}s long)`;
        throw new FrameNotFoundError(`no frame at ${task.atSec}s${length}`);
      }
      return [{ key: thumbnailKey(videoId, task.id), contentType: 'image/jpeg', path: out }];
    }
    case 'rendition': {
      const out = join(workDir, `${task.id}.mp4`);
      const info = await inspect(
        input,
        Math.min(INSPECT_TIMEOUT_MS, budget(timeBudget, 'ffprobe'))
      );
      const hasAudio = (info.streams ?? []).some((s) => s.codec_type === 'audio');
      await ffmpeg(
        [
          '-i',
          input,
          '-map',
          '0:v:0',
          ...(hasAudio ? ['-map', '0:a:0', '-c:a', 'aac', '-b:a', '128k'] : ['-an']),
          '-vf',
          `scale=-2:${task.height}`,
          '-c:v',
          'libx264',
          '-preset',
          'veryfast',
          '-crf',
          '23',
          '-pix_fmt',
          'yuv420p',
          // Older ffmpeg builds abort on inputs with sparse streams without this.
          '-max_muxing_queue_size',
          '1024',
          // moov first: players can start before the download finishes.
          '-movflags',
          '+faststart',
          out,
        ],
        budget(timeBudget, 'ffmpeg')
      );
      if ((await fileSize(out)) === 0)
        throw new MediaToolError('ffmpeg produced an empty rendition');
      return [{ key: renditionKey(videoId, task.height), contentType: 'video/mp4', path: out }];
    }
    case 'metadata': {
      const info = await inspect(input, budget(timeBudget, 'ffprobe'));
      const doc = metadataDocument(videoId, source, info);
      const body = Buffer.from(`${JSON.stringify(doc, null, 2)}\n`);
      return [{ key: metadataKey(videoId), contentType: 'application/json', body }];
    }
  }
};

/** The metadata artifact: a short summary for humans plus ffprobe's full output. */
export const metadataDocument = (videoId: string, source: SourceObject, info: FfprobeOutput) => {
  const streams = info.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video');
  const audio = streams.find((s) => s.codec_type === 'audio');
  // The local temp path means nothing to a reader and would make the document differ per run.
  const { filename: _filename, ...format } = info.format ?? {};
  return {
    videoId,
    source,
    summary: {
      durationSec: toNumber(info.format?.duration),
      width: video?.width ?? null,
      height: video?.height ?? null,
      videoCodec: video?.codec_name ?? null,
      audioCodec: audio?.codec_name ?? null,
      frameRate: parseRate(video?.avg_frame_rate) || null,
      bitRate: toNumber(info.format?.bit_rate),
      formatName: info.format?.format_name ?? null,
      streams: streams.length,
    },
    ffprobe: { format, streams },
  };
};

const upload = async (bucket: string, item: Produced): Promise<Artifact> => {
  if ('body' in item) {
    await putBytes(bucket, item.key, item.body, item.contentType);
    return { key: item.key, contentType: item.contentType, bytes: item.body.length };
  }
  const bytes = await putFile(bucket, item.key, item.path, item.contentType);
  return { key: item.key, contentType: item.contentType, bytes };
};

/**
 * Keeps what is thrown into the state small: Step Functions stores the Cause
 * (message + stack) in the execution history and the Catch result. The full
 * message is in the S3 branch record and the logs.
 */
const compact = (err: unknown): Error => {
  const e = err instanceof Error ? err : new MediaToolError(String(err));
  e.message = truncate(e.message, THROWN_MESSAGE_LIMIT);
  e.stack = `${e.name}: ${e.message}`;
  return e;
};

export interface BranchOptions {
  outputBucket: string;
  /** Milliseconds ffmpeg may still use; the handler derives it from the Lambda deadline. */
  timeBudget: TimeBudget;
  now?: () => Date;
}

/**
 * One Map iteration: download, run, upload, record. The branch record is
 * written last on success, so its presence means every artifact is in S3.
 * On failure a FAILED record is written before re-throwing, so the aggregator
 * can report the real error even though the state only carries its name.
 */
export const processBranch = async (
  input: BranchInput,
  { outputBucket, timeBudget, now = () => new Date() }: BranchOptions
): Promise<BranchRef> => {
  const { videoId, source, task } = input;
  const started = Date.now();
  metrics.addDimension('kind', task.kind);
  try {
    const artifacts = await withTempDir('branch', async (dir) => {
      const sourcePath = join(dir, 'source');
      await downloadSource(source, sourcePath);
      const produced = await runTask(videoId, source, task, sourcePath, dir, timeBudget);
      const uploaded: Artifact[] = [];
      for (const item of produced) uploaded.push(await upload(outputBucket, item));
      return uploaded;
    });
    const durationMs = Date.now() - started;
    const result: BranchResult = {
      taskId: task.id,
      kind: task.kind,
      status: 'SUCCEEDED',
      artifacts,
      error: null,
      durationMs,
      finishedAt: now().toISOString(),
    };
    await putJson(outputBucket, branchResultKey(videoId, task.id), result);
    logger.info('Branch succeeded', { taskId: task.id, kind: task.kind, durationMs, artifacts });
    metrics.addMetric('BranchSucceeded', MetricUnit.Count, 1);
    metrics.addMetric('BranchDurationMs', MetricUnit.Milliseconds, durationMs);
    return { taskId: task.id, status: 'SUCCEEDED' };
  } catch (err) {
    const durationMs = Date.now() - started;
    const error = {
      name: err instanceof Error ? err.name : 'Error',
      message: truncate(err instanceof Error ? err.message : String(err), ERROR_MESSAGE_LIMIT),
    };
    logger.error('Branch failed', { taskId: task.id, kind: task.kind, durationMs, error: err });
    metrics.addMetric('BranchFailed', MetricUnit.Count, 1);
    metrics.addMetric('BranchDurationMs', MetricUnit.Milliseconds, durationMs);
    const result: BranchResult = {
      taskId: task.id,
      kind: task.kind,
      status: 'FAILED',
      artifacts: [],
      error,
      durationMs,
      finishedAt: now().toISOString(),
    };
    try {
      await putJson(outputBucket, branchResultKey(videoId, task.id), result);
    } catch (writeErr) {
      // The original error matters more; the aggregator copes with a missing record.
      logger.error('Could not write FAILED branch record', { error: writeErr });
    }
    throw compact(err);
  }
};
