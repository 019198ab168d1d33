import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { InvalidVideoError, MediaToolError } from '../shared/errors.js';
import {
  type FfprobeOutput,
  type FfprobeStream,
  parseRate,
  runTool,
  stderrTail,
  toNumber,
} from '../shared/media.js';
import { logger } from '../shared/powertools.js';
import { classifyS3Error, downloadSource, s3 } from '../shared/s3.js';
import { type ProbeResult, ProbeResultSchema, type WorkflowInput } from '../shared/schemas.js';
import { withTempDir } from '../shared/tmp.js';

export type ProbeFacts = Omit<ProbeResult, 'requestedThumbnailTimes'>;

/** User metadata key (x-amz-meta-thumbnail-times) with extra thumbnail times in seconds. */
export const THUMBNAIL_TIMES_METADATA = 'thumbnail-times';

const isRealVideo = (s: FfprobeStream): boolean =>
  s.codec_type === 'video' &&
  // Cover art in audio files is a one-frame "video" stream; it is not a video.
  (s.disposition as { attached_pic?: number } | undefined)?.attached_pic !== 1;

/**
 * Decides whether a local file is a usable video. ffprobe is made to read
 * every packet (-count_packets): a truncated file often has a valid header,
 * and only reading to the end surfaces "partial file" / "File ended
 * prematurely". Any error line is therefore treated as corruption.
 */
export const probeFile = async (path: string, timeoutMs = 120_000): Promise<ProbeFacts> => {
  const { size } = await stat(path);
  if (size === 0) throw new InvalidVideoError('empty file (0 bytes)');

  const res = await runTool(
    'ffprobe',
    ['-v', 'error', '-count_packets', '-show_format', '-show_streams', '-of', 'json', path],
    { timeoutMs }
  );
  const errors = stderrTail(res.stderr.replaceAll(path, '<input>'));
  if (res.code !== 0) {
    throw new InvalidVideoError(
      `not a readable video file (${errors || `ffprobe exit ${res.code}`})`
    );
  }
  if (errors) throw new InvalidVideoError(`truncated or corrupt video (${errors})`);

  let out: FfprobeOutput;
  try {
    out = JSON.parse(res.stdout) as FfprobeOutput;
  } catch (err) {
    throw new MediaToolError('ffprobe printed output that is not JSON', { cause: err });
  }
  const streams = out.streams ?? [];
  const video = streams.find(isRealVideo);
  if (!video) throw new InvalidVideoError('not a video: no video stream');
  const width = video.width ?? 0;
  const height = video.height ?? 0;
  if (width <= 0 || height <= 0) throw new InvalidVideoError('not a video: unknown frame size');
  if (toNumber(video.nb_read_packets) === 0) {
    throw new InvalidVideoError('not a video: video stream has no frames');
  }
  const durationSec = toNumber(out.format?.duration) ?? toNumber(video.duration) ?? 0;
  if (!(durationSec > 0)) throw new InvalidVideoError('zero or unknown duration');

  const audio = streams.find((s) => s.codec_type === 'audio');
  return {
    durationSec,
    width,
    height,
    videoCodec: video.codec_name ?? 'unknown',
    audioCodec: audio?.codec_name ?? null,
    frameRate: parseRate(video.avg_frame_rate) || parseRate(video.r_frame_rate),
    formatName: out.format?.format_name ?? 'unknown',
    sizeBytes: size,
    bitRate: toNumber(out.format?.bit_rate),
  };
};

/**
 * Parses "1,2.5,30". Invalid entries are dropped with a warning instead of
 * failing the video: the upload itself is fine, only the request is odd.
 */
export const parseThumbnailTimes = (raw: string | undefined): number[] => {
  if (!raw?.trim()) return [];
  const times: number[] = [];
  const invalid: string[] = [];
  for (const part of raw.split(',')) {
    const text = part.trim();
    const n = Number(text);
    if (text === '' || !Number.isFinite(n) || n < 0) invalid.push(part);
    else if (!times.includes(n)) times.push(n);
  }
  if (invalid.length > 0) {
    logger.warn('Ignoring invalid thumbnail-times entries', { invalid, raw });
  }
  return times;
};

/** Reads the uploader's user metadata and size of the exact version. */
const headSource = async (source: WorkflowInput['source']) => {
  try {
    return await s3.send(
      new HeadObjectCommand({ Bucket: source.bucket, Key: source.key, VersionId: source.versionId })
    );
  } catch (err) {
    return classifyS3Error(err, `HeadObject s3://${source.bucket}/${source.key}`);
  }
};

export interface ProbeOptions {
  timeoutMs: number;
}

/** Downloads the exact upload version, probes it and adds the uploader's requests. */
export const probeUpload = async (
  input: WorkflowInput,
  options: ProbeOptions = { timeoutMs: 120_000 }
): Promise<ProbeResult> => {
  const head = await headSource(input.source);
  // Skips the download for the most common junk upload.
  if (head.ContentLength === 0) throw new InvalidVideoError('empty file (0 bytes)');
  const requested = parseThumbnailTimes(head.Metadata?.[THUMBNAIL_TIMES_METADATA]);

  const facts = await withTempDir('probe', async (dir) => {
    const path = join(dir, 'source');
    const started = Date.now();
    await downloadSource(input.source, path);
    const downloadMs = Date.now() - started;
    const result = await probeFile(path, options.timeoutMs - downloadMs);
    logger.info('Probed upload', { downloadMs, probeMs: Date.now() - started - downloadMs });
    return result;
  });
  return ProbeResultSchema.parse({
    ...facts,
    ...(requested.length > 0 ? { requestedThumbnailTimes: requested } : {}),
  });
};
