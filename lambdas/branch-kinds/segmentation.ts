import { InvalidVideoError, MediaToolError, type ProbeResult } from '../../contract/index.js';
import type { PlanConfig, Segmentation } from '../../kinds/index.js';
import { concatInput, countStreamFrames, inputOptions, runFfmpeg } from '../shared/media.js';
import { AAC_ARGS, AAC_PRIMING_SAMPLES, AUDIO_SAMPLE_RATE } from './audio-parts.js';
import type { TimeBudget } from './kind.js';

/**
 * Segment-parallel renditions: the pure plan (how a long source is cut) and
 * the three ffmpeg steps (one segment, the audio track, the join). The
 * `rendition-segment` kind runs a segment; the `rendition` kind runs the join
 * when its branch carries a `segmentation`.
 *
 * Frame-exact by construction: segment i encodes exactly the source frames
 * [i·F, (i+1)·F) (the last one: to the end), each segment starts with a
 * keyframe (every x264 run does) and has keyframes every `gopFrames` after,
 * and F is a multiple of `gopFrames`, so the joined file has one GOP grid.
 * Audio is encoded in parts of its own (audio-parts.ts), joined gaplessly into
 * one track that every rendition's join muxes: video segment boundaries never
 * touch the audio.
 */

export { type Segmentation, SegmentationSchema } from '../../kinds/index.js';

/** Planning knobs of segmentation (documented on PlanConfig). */
export type SegmentConfig = Pick<
  PlanConfig,
  'segmentThresholdSec' | 'segmentLengthSec' | 'maxSegments' | 'maxSegmentSec'
>;

/** Two seconds of frames (at least one): the GOP grid every segment and the join share. */
export const gopFramesFor = (frameRate: number): number => Math.max(1, Math.round(frameRate * 2));

/**
 * How one source is cut, or null for the single-run path (short source, or a
 * frame rate the probe could not tell). Pure. Throws InvalidVideoError when
 * even `maxSegments` segments would each be longer than `maxSegmentSec`.
 */
export const planSegmentation = (
  probe: Pick<ProbeResult, 'durationSec' | 'frameRate'>,
  config: SegmentConfig
): Segmentation | null => {
  const { durationSec, frameRate } = probe;
  if (durationSec <= config.segmentThresholdSec || !(frameRate > 0)) return null;
  const gop = gopFramesFor(frameRate);
  const totalFrames = Math.round(durationSec * frameRate);
  const gops = (frames: number) => Math.max(1, Math.ceil(frames / gop));
  let perSegment = gops(config.segmentLengthSec * frameRate) * gop;
  if (Math.ceil(totalFrames / perSegment) > config.maxSegments) {
    // Lengthen rather than exceed the bound.
    perSegment = gops(totalFrames / config.maxSegments) * gop;
  }
  // A tail shorter than half a segment joins the previous one: the duration is an
  // estimate (the container's, often the longer audio's), and a segment starting
  // past the last video frame would have nothing to encode.
  const full = Math.floor(totalFrames / perSegment);
  const tail = totalFrames - full * perSegment;
  const count = Math.max(1, tail * 2 >= perSegment ? full + 1 : full);
  const lengthSec = perSegment / frameRate;
  const longest = (totalFrames - (count - 1) * perSegment) / frameRate;
  if (Math.max(lengthSec, longest) > config.maxSegmentSec) {
    throw new InvalidVideoError(
      `a ${Math.round(durationSec)} s source needs segments of ${Math.round(Math.max(lengthSec, longest))} s ` +
        `with at most ${config.maxSegments} segments, longer than the ${config.maxSegmentSec} s one segment may take`
    );
  }
  if (count < 2) return null;
  return {
    count,
    lengthSec: Math.round(lengthSec * 1000) / 1000,
    framesPerSegment: perSegment,
    gopFrames: gop,
    frameRate,
  };
};

export { segmentRelativeKey } from '../../contract/index.js';

/**
 * No B-frames: with them the first frame is presented two frames after its
 * decode time, and the fMP4 media segments ffmpeg's hls muxer writes carry no
 * edit list to take that back (measured: video starts at 0.080 s, audio at 0),
 * so every variant would play ~80 ms behind the one shared audio playlist.
 * The progressive MP4 had the edit list; HLS needs the timestamps themselves.
 */
export const NO_B_FRAMES = ['-bf', '0'];

/**
 * The H.264 settings of every rendition, encoded whole or in segments: one place, so a
 * segmented rendition and a single run of the same source deliver the same picture (and
 * the segments of one rendition identical streams, which `-c copy` joins need).
 */
export const h264Args = (preset: SegmentPreset): string[] => [
  '-c:v',
  'libx264',
  '-preset',
  preset,
  '-crf',
  '23',
  '-pix_fmt',
  'yuv420p',
  ...NO_B_FRAMES,
];

/**
 * A fixed GOP grid: a keyframe every gopFrames, never at scene cuts, so a segment's
 * keyframes fall where a single run's would, and HLS cuts every rendition at the same times.
 */
export const keyframeGridArgs = (gopFrames: number): string[] => [
  '-g',
  String(gopFrames),
  '-keyint_min',
  String(gopFrames),
  '-sc_threshold',
  '0',
];

/** The video encoder settings every segment shares: identical streams are what make `-c copy` joins valid. */
export const segmentVideoArgs = (
  height: number,
  gopFrames: number,
  // setpts: the seek starts half a frame early (see encodeSegment), so the first kept
  // frame would otherwise start at +½ frame and be padded by a duplicate.
  timing = 'setpts=PTS-STARTPTS',
  preset: SegmentPreset = 'veryfast'
): string[] => [
  ...h264Args(preset),
  ...keyframeGridArgs(gopFrames),
  '-vf',
  `${timing},scale=-2:${height}`,
];

/**
 * A variable-frame-rate source's segment timing: frame numbers only mean
 * something on a constant grid, so the fps filter puts the source on the
 * grid of `frameRate` counted from the start of the file (the nearest source
 * frame per slot, duplicated or dropped as needed). The seek starts `padFrames`
 * grid slots early and trims them off, so every segment sees the same source
 * frames around its first slot as the segment before it did around its last.
 * https://ffmpeg.org/ffmpeg-filters.html#fps
 */
export const constantRateTiming = (frameRate: number, padFrames: number): string =>
  `${constantRateFilter(frameRate)},trim=start_frame=${padFrames},setpts=PTS-STARTPTS`;

/**
 * The fps filter for a variable-rate source, on a grid from time 0.
 * `eof_action=pass`: the last source frame fills the grid to the end of its
 * duration (rounding would drop the final slot: 299 of 300 frames measured).
 */
export const constantRateFilter = (frameRate: number): string =>
  `fps=${frameRate}:start_time=0:eof_action=pass`;

/** x264 presets a segment is encoded with: the rendition's, or the fallback's cheaper one. */
export type SegmentPreset = 'veryfast' | 'ultrafast';

export interface SegmentJob {
  input: string;
  out: string;
  height: number;
  index: number;
  count: number;
  segmentation: Segmentation;
  timeBudget: TimeBudget;
  /**
   * The source's frame rate is variable (the probe's `variableFrameRate`): the
   * segment is converted to the constant `segmentation.frameRate`.
   * @default false
   */
  variableFrameRate?: boolean;
  /** @default 'veryfast' (a rendition's segments; the fallback's are 'ultrafast') */
  preset?: SegmentPreset;
  /**
   * Decoder, filter and encoder threads. The fallback runs one segment per
   * vCPU at once, each on one thread.
   * @default - ffmpeg's choice (one per core)
   */
  threads?: number;
}

/**
 * Encodes segment `index`: source frames [index·F, (index+1)·F), the last
 * segment to the end. The input seek (`-ss` before `-i`) decodes from the
 * previous keyframe and drops frames before the seek point; seeking half a
 * frame before frame index·F keeps exactly that frame first whatever the
 * rounding of the time, and `-frames:v` stops after F frames.
 */
export const encodeSegment = async (job: SegmentJob): Promise<void> => {
  const { input, out, height, index, count, segmentation, timeBudget } = job;
  const { framesPerSegment: perSegment, frameRate, gopFrames } = segmentation;
  const startFrame = index * perSegment;
  // Constant rate: half a frame early. Variable: one GOP of grid slots early (trimmed again).
  const pad = job.variableFrameRate ? Math.min(startFrame, gopFrames) : 0;
  const threads = job.threads === undefined ? [] : ['-threads', String(job.threads)];
  const filterThreads = job.threads === undefined ? [] : ['-filter_threads', String(job.threads)];
  const seek = job.variableFrameRate
    ? (startFrame - pad) / frameRate
    : Math.max(0, (startFrame - 0.5) / frameRate);
  await runFfmpeg(
    [
      ...inputOptions(input),
      ...(seek > 0 ? ['-ss', seek.toFixed(6)] : []),
      ...threads,
      ...filterThreads,
      '-i',
      input,
      '-map',
      '0:v:0',
      '-an',
      '-sn',
      ...(index < count - 1 ? ['-frames:v', String(perSegment)] : []),
      ...segmentVideoArgs(
        height,
        gopFrames,
        job.variableFrameRate ? constantRateTiming(frameRate, pad) : undefined,
        job.preset
      ),
      ...threads,
      out,
    ],
    timeBudget
  );
  // The container's count is enough here (no decode): it only has to catch an empty segment.
  const frames = await countVideoFrames(out, timeBudget, { decode: false });
  if (frames === 0) {
    throw new MediaToolError(
      `segment ${index + 1}/${count} starting at frame ${startFrame} has no video frames`
    );
  }
};

/**
 * The whole file's audio, once, as AAC: the item of an items file written
 * before the audio was split into parts (audio-parts.ts), and the reference a
 * join of parts must equal. Same chain as a part: resampled to the pinned
 * 48 kHz by the same filter. `track`: which audio track (`0:a:N`, the probe's
 * `audioTrack`) when the source has several.
 */
export const encodeAudio = async (
  input: string,
  out: string,
  timeBudget: TimeBudget,
  track = 0
): Promise<void> => {
  await runFfmpeg(
    [
      ...inputOptions(input),
      '-i',
      input,
      '-map',
      `0:a:${track}`,
      '-vn',
      '-sn',
      '-af',
      `aresample=${AUDIO_SAMPLE_RATE}`,
      ...AAC_ARGS,
      out,
    ],
    timeBudget
  );
};

/**
 * Joins the segments (in order) and the audio without re-encoding: the concat
 * demuxer over the segment files, `-c copy`, moov first. `segments` may be
 * local paths or URLs (presigned GETs in Lambda). The audio is the joined
 * file, or the audio parts themselves (`audioParts`, concatenated the way the
 * audio join does it: the first part's priming restored to −1024, so the edit
 * list skips it), so a rendition need not wait for the audio join.
 */
export const joinSegments = async ({
  segments,
  audio,
  audioParts = null,
  out,
  workDir,
  timeBudget,
}: {
  segments: readonly string[];
  audio: string | null;
  audioParts?: readonly string[] | null;
  out: string;
  workDir: string;
  timeBudget: TimeBudget;
}): Promise<void> => {
  const audioInput = audio
    ? [...inputOptions(audio), '-i', audio]
    : audioParts
      ? await concatInput(audioParts, workDir, 'audio-parts.txt')
      : [];
  await runFfmpeg(
    [
      ...(await concatInput(segments, workDir, 'segments.txt')),
      ...audioInput,
      '-map',
      '0:v:0',
      ...(audioInput.length > 0 ? ['-map', '1:a:0'] : []),
      '-c',
      'copy',
      ...(!audio && audioParts
        ? ['-bsf:a', `setts=pts=PTS-${AAC_PRIMING_SAMPLES}:dts=DTS-${AAC_PRIMING_SAMPLES}`]
        : []),
      '-movflags',
      '+faststart',
      out,
    ],
    timeBudget
  );
};

/**
 * Video frames of a file: decoded (ffprobe -count_frames, what "frame-exact"
 * is measured with), or the container's count (no decode).
 */
export const countVideoFrames = (
  file: string,
  timeBudget: TimeBudget,
  { decode = true }: { decode?: boolean } = {}
): Promise<number> => countStreamFrames(file, timeBudget, { stream: 'v:0', decode });
