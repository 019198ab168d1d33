import { stat } from 'node:fs/promises';
import {
  DEFAULT_MAX_EXTRA_THUMBNAILS,
  FAIL_ONCE_METADATA,
  InvalidVideoError,
  MediaToolError,
  type ProbeResult,
  ProbeResultSchema,
  readThumbnailTimes,
  THUMBNAIL_TIMES_METADATA,
  type WorkflowInput,
} from '../../contract/index.js';
import {
  type FfprobeOutput,
  type FfprobeStream,
  ffprobeJson,
  parseRate,
  pinHttpInput,
  stderrTail,
  toNumber,
} from '../shared/media.js';
import { logger } from '../shared/powertools.js';
import { assertSourceUnchanged, pinnedHead, presignSource } from '../shared/s3.js';
import { pinnedReadHeaders } from '../shared/source-pin.js';

export type ProbeFacts = Omit<ProbeResult, 'requestedThumbnailTimes' | 'thumbnailTimesIgnored'>;

/** MAX_EXTRA_THUMBNAILS (the stack sets it on the probe and the plan); a bad value fails loudly. */
export const maxExtraThumbnailsFromEnv = (raw = process.env.MAX_EXTRA_THUMBNAILS): number => {
  if (raw === undefined || raw.trim() === '') return DEFAULT_MAX_EXTRA_THUMBNAILS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(
      `Invalid configuration MAX_EXTRA_THUMBNAILS: expected an integer >= 0, got "${raw}"`
    );
  }
  return n;
};

const isRealVideo = (s: FfprobeStream): boolean =>
  s.codec_type === 'video' &&
  // Cover art in audio files is a one-frame "video" stream; it is not a video.
  (s.disposition as { attached_pic?: number } | undefined)?.attached_pic !== 1;

/** The fastest variable frame rate the pipeline converts to a constant one; faster is refused. */
export const MAX_CONVERTED_FPS = 120;
/**
 * How far the average frame rate may stray from ffprobe's base rate before a
 * source counts as variable: CFR files agree to well under 0.1% (29.97 is
 * 30000/1001 in both); a phone's VFR recording differs by several percent.
 */
const VFR_TOLERANCE = 0.01;

/**
 * The display matrix's rotation (ffprobe's side data, or the legacy `rotate`
 * tag), normalised to [0, 360); 0 when there is none.
 */
export const rotationOf = (video: FfprobeStream): number => {
  const sideData = (video.side_data_list as { rotation?: number | string }[] | undefined) ?? [];
  const fromMatrix = sideData.find((d) => d.rotation !== undefined)?.rotation;
  const raw = Number(fromMatrix ?? (video.tags as { rotate?: string } | undefined)?.rotate ?? 0);
  if (!Number.isFinite(raw)) return 0;
  return (((Math.round(raw / 90) * 90) % 360) + 360) % 360;
};

/**
 * The frame rate every output is encoded at. A constant-rate source keeps its
 * own (avg_frame_rate, else r_frame_rate). A variable-rate one (the average
 * differs from the base rate by more than VFR_TOLERANCE) is converted to its
 * average rounded to whole frames per second: segments cut by frame number
 * and a 2 s keyframe grid need one frame every 1/rate seconds.
 */
export const frameRateOf = (
  video: FfprobeStream
): { frameRate: number; variableFrameRate?: number } => {
  const avg = parseRate(video.avg_frame_rate);
  const base = parseRate(video.r_frame_rate);
  if (!(avg > 0) || !(base > 0) || Math.abs(avg - base) / base <= VFR_TOLERANCE) {
    return { frameRate: avg || base };
  }
  if (avg > MAX_CONVERTED_FPS) {
    throw new InvalidVideoError(
      `variable frame rate averaging ${avg} fps: above the ${MAX_CONVERTED_FPS} fps ` +
        'the pipeline converts to a constant rate'
    );
  }
  return { frameRate: Math.max(1, Math.round(avg)), variableFrameRate: avg };
};

/**
 * The audio track the outputs carry: the one marked default, else the first
 * (ffmpeg's `0:a:N` numbering). A player's choice too, when it shows one.
 */
export const audioTrackOf = (audio: readonly FfprobeStream[]): number => {
  const marked = audio.findIndex(
    (s) => (s.disposition as { default?: number } | undefined)?.default === 1
  );
  return marked >= 0 ? marked : 0;
};

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

  const res = await ffprobeJson(input, ['-count_packets'], timeoutMs);
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
  const codedWidth = video.width ?? 0;
  const codedHeight = video.height ?? 0;
  if (codedWidth <= 0 || codedHeight <= 0) {
    throw new InvalidVideoError('not a video: unknown frame size');
  }
  // The displayed size: a quarter turn swaps them (ffmpeg turns the frames upright on decode).
  const rotation = rotationOf(video);
  const [width, height] =
    rotation % 180 === 0 ? [codedWidth, codedHeight] : [codedHeight, codedWidth];
  if (toNumber(video.nb_read_packets) === 0) {
    throw new InvalidVideoError('not a video: video stream has no frames');
  }
  const durationSec = toNumber(out.format?.duration) ?? toNumber(video.duration) ?? 0;
  if (!(durationSec > 0)) throw new InvalidVideoError('zero or unknown duration');

  const audioStreams = streams.filter((s) => s.codec_type === 'audio');
  const audioTrack = audioTrackOf(audioStreams);
  const audio = audioStreams[audioTrack];
  const sizeBytesKnown = size ?? toNumber(out.format?.size);
  if (!sizeBytesKnown) throw new MediaToolError('ffprobe could not tell the size of the input');
  return {
    durationSec,
    width,
    height,
    videoCodec: video.codec_name ?? 'unknown',
    audioCodec: audio?.codec_name ?? null,
    ...frameRateOf(video),
    formatName: out.format?.format_name ?? 'unknown',
    sizeBytes: sizeBytesKnown,
    bitRate: toNumber(out.format?.bit_rate),
    ...(rotation !== 0 && { rotation }),
    ...(audioStreams.length > 1 && { audioTracks: audioStreams.length, audioTrack }),
  };
};

/**
 * Parses "1,2.5,30" into every valid, distinct time (no limit). Invalid entries
 * are dropped with a warning instead of failing the video: the upload itself
 * is fine, only the request is odd. The probe itself bounds the request with
 * readThumbnailTimes (contract/metadata.ts).
 */
export const parseThumbnailTimes = (raw: string | undefined): number[] => {
  const { times, invalid } = readThumbnailTimes(raw, Number.POSITIVE_INFINITY);
  if (invalid.length > 0) logger.warn('Ignoring invalid thumbnail-times entries', { invalid, raw });
  return times;
};

export interface ProbeOptions {
  timeoutMs: number;
  /**
   * At most this many `thumbnail-times` are kept (the stack's maxExtraThumbnails).
   * @default DEFAULT_MAX_EXTRA_THUMBNAILS
   */
  maxExtraThumbnails?: number;
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
  const limit = options.maxExtraThumbnails ?? DEFAULT_MAX_EXTRA_THUMBNAILS;
  const request = readThumbnailTimes(head.Metadata?.[THUMBNAIL_TIMES_METADATA], limit);
  const requested = request.times;
  const ignored = request.invalid.length + request.beyondLimit.length;
  if (ignored > 0) {
    // The plan lists them in the manifest's warnings; here they are only counted (this result
    // travels into every branch's input).
    logger.warn('Ignoring thumbnail-times entries', {
      invalid: request.invalid.length,
      beyondLimit: request.beyondLimit.length,
      limit,
    });
  }
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
    ...(ignored > 0 ? { thumbnailTimesIgnored: ignored } : {}),
    ...(failOnce.length > 0 ? { failOnce } : {}),
  });
};
