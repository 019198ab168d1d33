import { stat } from 'node:fs/promises';
import {
  FAIL_ONCE_METADATA,
  InvalidVideoError,
  MediaToolError,
  type ProbeResult,
  ProbeResultSchema,
  type SourceObject,
  SourceChangedError,
  THUMBNAIL_TIMES_METADATA,
  type WorkflowInput,
} from '../../contract/index.js';
import {
  type FfprobeOutput,
  type FfprobeStream,
  inputOptions,
  parseRate,
  pinHttpInput,
  runTool,
  stderrTail,
  toNumber,
} from '../shared/media.js';
import { logger } from '../shared/powertools.js';
import { assertSourceUnchanged, headIfExists, presignSource, s3 } from '../shared/s3.js';
import { checkPinned, isPinnable, pinnedReadHeaders } from '../shared/source-pin.js';

export type ProbeFacts = Omit<ProbeResult, 'requestedThumbnailTimes'>;

const isRealVideo = (s: FfprobeStream): boolean =>
  s.codec_type === 'video' &&
  // Cover art in audio files is a one-frame "video" stream; it is not a video.
  (s.disposition as { attached_pic?: number } | undefined)?.attached_pic !== 1;

/**
 * Decides whether an upload is a usable video. ffprobe is made to read every
 * packet (-count_packets): a truncated file often has a valid header, and only
 * reading to the end surfaces "partial file" / "File ended prematurely". Any
 * error line is therefore treated as corruption. `input` is a local path or a
 * (presigned) URL; ffprobe streams it, so no copy lands on disk.
 */
export const probeFile = async (
  input: string,
  timeoutMs = 120_000,
  sizeBytes?: number
): Promise<ProbeFacts> => {
  // A URL has no stat(): its size comes from the caller (HEAD) or else from ffprobe.
  const size = sizeBytes ?? (/^https?:\/\//.test(input) ? undefined : (await stat(input)).size);
  if (size === 0) throw new InvalidVideoError('empty file (0 bytes)');

  const res = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      ...inputOptions(input, 'ffprobe'),
      '-count_packets',
      '-show_format',
      '-show_streams',
      '-of',
      'json',
      input,
    ],
    { timeoutMs }
  );
  const errors = stderrTail(res.stderr.replaceAll(input, '<input>'));
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
  const sizeBytesKnown = size ?? toNumber(out.format?.size);
  if (!sizeBytesKnown) throw new MediaToolError('ffprobe could not tell the size of the input');
  return {
    durationSec,
    width,
    height,
    videoCodec: video.codec_name ?? 'unknown',
    audioCodec: audio?.codec_name ?? null,
    frameRate: parseRate(video.avg_frame_rate) || parseRate(video.r_frame_rate),
    formatName: out.format?.format_name ?? 'unknown',
    sizeBytes: sizeBytesKnown,
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
    // Beyond a safe integer of milliseconds a time has no exact branch id (thumb-at-<s>s).
    if (text === '' || !Number.isFinite(n) || n < 0 || n * 1000 > Number.MAX_SAFE_INTEGER) {
      invalid.push(part);
    } else if (!times.includes(n)) times.push(n);
  }
  if (invalid.length > 0) {
    logger.warn('Ignoring invalid thumbnail-times entries', { invalid, raw });
  }
  return times;
};

/** Said when the upload is no longer there at all (deleted, or an unversioned key overwritten). */
export const UPLOAD_GONE = 'the upload is gone (deleted or overwritten) before probing';

/**
 * HEAD of the exact object the workflow was started for (source-pin.ts): its
 * metadata and size are the ones this run describes. Another object under the
 * key is a SourceChangedError; no object at all keeps the long-standing
 * InvalidVideoError "the upload is gone".
 */
const pinnedHead = async (source: SourceObject) => {
  if (!isPinnable(source)) {
    const head = await headIfExists(source);
    if (!head) throw new InvalidVideoError(UPLOAD_GONE);
    return head;
  }
  const check = await checkPinned(s3, source);
  if (check.outcome === 'match') return check.head;
  if (check.outcome === 'changed') {
    throw new SourceChangedError(`source changed while processing: ${check.detail}`);
  }
  throw new InvalidVideoError(`${UPLOAD_GONE}: ${check.detail}`);
};

export interface ProbeOptions {
  timeoutMs: number;
}

/**
 * Probes the exact upload version where it lies (a presigned URL, streamed by
 * ffprobe) and adds the uploader's requests from its user metadata.
 */
export const probeUpload = async (
  input: WorkflowInput,
  options: ProbeOptions = { timeoutMs: 120_000 }
): Promise<ProbeResult> => {
  const head = await pinnedHead(input.source);
  // Skips ffprobe for the most common junk upload.
  if (head.ContentLength === 0) throw new InvalidVideoError('empty file (0 bytes)');
  const requested = parseThumbnailTimes(head.Metadata?.[THUMBNAIL_TIMES_METADATA]);
  const failOnce = (head.Metadata?.[FAIL_ONCE_METADATA] ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');

  const started = Date.now();
  const url = await presignSource(input.source, options.timeoutMs / 1000);
  const unpin = pinHttpInput(url, pinnedReadHeaders(input.source));
  let facts: ProbeFacts;
  try {
    facts = await probeFile(url, options.timeoutMs, head.ContentLength);
  } catch (err) {
    // A 412/404 in the middle of ffprobe's reads looks like a broken file: ask S3 which it was.
    await assertSourceUnchanged(input.source, err);
    throw err;
  } finally {
    unpin();
  }
  logger.info('Probed upload', { probeMs: Date.now() - started });
  return ProbeResultSchema.parse({
    ...facts,
    ...(requested.length > 0 ? { requestedThumbnailTimes: requested } : {}),
    ...(failOnce.length > 0 ? { failOnce } : {}),
  });
};
