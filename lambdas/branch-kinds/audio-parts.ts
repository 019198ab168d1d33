import { MediaToolError } from '../../contract/index.js';
import type { AudioPartItem } from '../../kinds/index.js';
import {
  concatInput,
  countStreamFrames,
  inputOptions,
  runFfmpeg,
  runTool,
} from '../shared/media.js';
import type { TimeBudget } from './kind.js';

/**
 * The video's audio in parts (docs/segments.md, "Audio in parts"): K items of
 * the Segments map, each encoding a range of samples to AAC, joined by stream
 * copy into one track that decodes like a single encode of the whole audio.
 *
 * The packet arithmetic, for ffmpeg's native AAC encoder at 48 kHz:
 * - A packet (an AAC frame) is an MDCT of a 2048-sample window; the frames
 *   advance by 1024 samples, so each window overlaps the next by half. The
 *   encoder's initial padding is 1024 samples (one frame of priming): the
 *   packet with timestamp p (in samples) has the window [p, p + 2048) of its
 *   input, and the decoder outputs samples [p, p + 1024) of it when it has
 *   decoded that packet *and* the one before (the second half of the earlier
 *   window overlap-adds onto the first half of this one, which cancels the
 *   aliasing of both). The first packet, at -1024, outputs the priming, which
 *   the container's edit list skips.
 * - Part i covers [S, E). It encodes [S - PRE, E + POST) and keeps the packets
 *   with timestamps in [S, E): (E - S) / 1024 of them. Its first kept packet
 *   (window [S, S + 2048)) decodes to [S, S + 1024) together with the packet
 *   before it in the joined stream, part i-1's last kept one, whose window is
 *   [S - 1024, S + 1024): real signal on both halves, because part i-1 encoded
 *   POST samples past its end. Without the post-roll that window's second half
 *   is silence and the boundary clicks (measured: 0.15 error on a 0.125 tone).
 * - PRE is longer than the one frame the overlap needs: the encoder's rate
 *   control starts cold and settles over about 30 frames (measured: 10-20 times
 *   the quantisation error for the first 28 frames after a 2-frame pre-roll, at
 *   every boundary). With 64 frames the error at the boundaries is the error
 *   elsewhere. The priming packet and the pre-roll packets are dropped.
 * - Part 0 starts at 0: no pre-roll, and it keeps its priming packet, which
 *   becomes the joined track's priming (the join restores its -1024 timestamp,
 *   so the edit list skips it as in a single encode).
 * - The last part runs to the end of the audio and keeps every packet from its
 *   start on, the encoder's trailing packet included: the last packet is
 *   partly padding (its duration is what is left), as in a single encode.
 *   Total: part 0's priming + (sum of the parts' samples) / 1024 rounded up,
 *   exactly the single encode's packet count.
 * - Part lengths are whole multiples of 3 frames (3072 samples = 64 ms): the
 *   concat demuxer places each file after the previous one's duration in
 *   microseconds, and 1024 / 48000 s is not a whole number of them.
 *
 * Sample-exact positions: the output rate is pinned (48 kHz, the `-ar` of the
 * encode) so the frame arithmetic does not depend on the source rate. A part
 * reads its range from a coarse input seek (`-noaccurate_seek -ss`, somewhere
 * before, never trusted to the sample) with the source's own timestamps kept
 * (`-copyts -start_at_zero`: the timeline a whole-file decode has) and trims by
 * timestamps: first in the source's samples, at a point where the source's
 * sample grid meets the 48 kHz one (every gcd(r, 48000)-th of a second), so
 * the resampler starts in the same phase as a whole-file resample and its
 * output samples are bit-identical to it; then in 48 kHz samples, to the
 * part's encode range. Exact as long as the source's audio timestamps are
 * sample-exact (an MP4 whose audio timescale is its sample rate, what muxers
 * write); otherwise a boundary may move by a sample.
 *
 * Needs the pinned ffmpeg (6.0): the `noise` bitstream filter's `drop`
 * expression and `setts` (https://ffmpeg.org/ffmpeg-bitstream-filters.html);
 * the 2018 npm fallback has neither.
 */

/** The output sample rate of every audio part and of the whole-file encode. */
export const AUDIO_SAMPLE_RATE = 48_000;
/** Samples per AAC frame (one packet). */
export const AAC_FRAME_SAMPLES = 1024;
/** ffmpeg's native AAC encoder's initial padding: one frame of priming (AVCodecContext.initial_padding). */
export const AAC_PRIMING_SAMPLES = 1024;
/** Part lengths are multiples of this many frames: 3 × 1024 / 48000 s = 64 ms, whole microseconds. */
export const PART_FRAME_MULTIPLE = 3;
/** Frames encoded before a part and dropped: the overlap needs 1, the rate control about 30. */
export const PRE_ROLL_FRAMES = 64;
/** Frames encoded after a part and dropped: its last kept window reaches one frame past its end. */
export const POST_ROLL_FRAMES = 2;
/** Source samples decoded before the resampler starts (its filter settles within a few dozen). */
const RESAMPLER_LEAD_SAMPLES = 4800;
/** How far before the resampler's start the input seek aims: the source decoder's own warm-up. */
const SEEK_LEAD_SEC = 1;

export interface AudioPartRange {
  part: number;
  parts: number;
  startSample: number;
  /** null: to the end of the audio. */
  endSample: number | null;
}

/**
 * How the audio of a `durationSec` source is cut into parts of about
 * `lengthSec` (the video segments' length), in 48 kHz samples. Pure. A tail
 * shorter than half a part joins the last part, as the video segments' does.
 */
export const planAudioParts = (durationSec: number, lengthSec: number): AudioPartRange[] => {
  const unit = PART_FRAME_MULTIPLE * AAC_FRAME_SAMPLES;
  const perPart = Math.max(1, Math.ceil((lengthSec * AUDIO_SAMPLE_RATE) / unit)) * unit;
  const total = Math.round(durationSec * AUDIO_SAMPLE_RATE);
  const full = Math.floor(total / perPart);
  const tail = total - full * perPart;
  const parts = Math.max(1, tail * 2 >= perPart ? full + 1 : full);
  return Array.from({ length: parts }, (_, part) => ({
    part,
    parts,
    startSample: part * perPart,
    endSample: part < parts - 1 ? (part + 1) * perPart : null,
  }));
};

/** What one part's encode reads and which of its packets it keeps (encoder timestamps). */
export interface AudioPartWindow {
  /** First 48 kHz sample given to the encoder. */
  encodeFrom: number;
  /** One past the last sample given to the encoder; null: to the end. */
  encodeTo: number | null;
  /** Packets with an encoder timestamp below this are dropped (part 0 keeps its priming at -1024). */
  keepFromPts: number;
  /** Packets at or past this are dropped; null: none. */
  keepBeforePts: number | null;
  /** Packets the part keeps, when it has an end. */
  keptPackets: number | null;
}

/** The encode range and the packets kept, for one part. Pure. */
export const audioPartWindow = ({
  part,
  startSample,
  endSample,
}: Pick<AudioPartRange, 'part' | 'startSample' | 'endSample'>): AudioPartWindow => {
  const encodeFrom = Math.max(0, startSample - PRE_ROLL_FRAMES * AAC_FRAME_SAMPLES);
  return {
    encodeFrom,
    encodeTo: endSample === null ? null : endSample + POST_ROLL_FRAMES * AAC_FRAME_SAMPLES,
    // The encoder's packet timestamps count from its first input sample, priming at -1024.
    keepFromPts: part === 0 ? -AAC_PRIMING_SAMPLES : startSample - encodeFrom,
    keepBeforePts: endSample === null ? null : endSample - encodeFrom,
    keptPackets:
      endSample === null
        ? null
        : (endSample - startSample) / AAC_FRAME_SAMPLES + (part === 0 ? 1 : 0),
  };
};

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Where a part starts reading the source: the input seek and the grid point the resampler starts on. */
export interface AudioPartSeek {
  /** Input seek in seconds (coarse; the demuxer may land earlier); 0: read from the start. */
  seekSec: number;
  /** Source sample (at the source's rate) where the resampler starts: on both rates' grid. */
  sourceStart: number;
  /** The same point in 48 kHz samples. */
  outputStart: number;
}

/**
 * The seek for a part whose encode starts at 48 kHz sample `encodeFrom`, for a
 * source at `sourceRate`. The resampler's start is the last point before
 * `encodeFrom` (by a margin) where both sample grids meet: every
 * `sourceRate / g` source samples, `48000 / g` output samples, g their gcd.
 * Pure.
 */
export const audioPartSeek = (encodeFrom: number, sourceRate: number): AudioPartSeek => {
  if (!Number.isInteger(sourceRate) || sourceRate <= 0) {
    throw new MediaToolError(
      `the source's audio sample rate is not a positive integer: ${sourceRate}`
    );
  }
  const g = gcd(sourceRate, AUDIO_SAMPLE_RATE);
  const outStep = AUDIO_SAMPLE_RATE / g;
  const inStep = sourceRate / g;
  const steps = Math.floor(Math.max(0, encodeFrom - RESAMPLER_LEAD_SAMPLES) / outStep);
  const sourceStart = steps * inStep;
  const seekSec = Math.max(0, sourceStart / sourceRate - SEEK_LEAD_SEC);
  return { seekSec, sourceStart, outputStart: steps * outStep };
};

/** The ffmpeg arguments of one part's encode (after the input). Pure. */
export const audioPartArgs = (
  item: Pick<AudioPartItem, 'part' | 'startSample' | 'endSample'>,
  seek: AudioPartSeek,
  track: number
): string[] => {
  const w = audioPartWindow(item);
  const trim = `atrim=start_pts=${w.encodeFrom}${w.encodeTo === null ? '' : `:end_pts=${w.encodeTo}`}`;
  // The bsf's expression separator is the comma, escaped inside the -bsf list.
  const drop = [
    `lt(pts\\,${w.keepFromPts})`,
    ...(w.keepBeforePts === null ? [] : [`gte(pts\\,${w.keepBeforePts})`]),
  ].join('+');
  return [
    '-map',
    `0:a:${track}`,
    '-vn',
    '-sn',
    '-dn',
    // Source timestamps (the first atrim's unit is the source's 1/rate), then the 48 kHz
    // ones after aresample: both trims are by timestamp, exact to the sample.
    '-af',
    `atrim=start_pts=${seek.sourceStart},aresample=${AUDIO_SAMPLE_RATE},${trim},asetpts=PTS-STARTPTS`,
    ...AAC_ARGS,
    // Packet level: the priming and pre-roll packets before the part, the post-roll after it.
    '-bsf:a',
    `noise=drop=${drop}`,
    // The first kept packet at 0; part 0 keeps its priming at -1024 (and its edit list).
    ...(item.part > 0 ? ['-avoid_negative_ts', 'make_zero'] : []),
  ];
};

/** The AAC settings every part and the whole-file encode share (a stream copy joins them). */
export const AAC_ARGS = ['-c:a', 'aac', '-b:a', '128k', '-ar', String(AUDIO_SAMPLE_RATE)];

/** The source's audio sample rate (ffprobe reads the header only). */
export const sourceSampleRate = async (
  input: string,
  track: number,
  timeBudget: TimeBudget
): Promise<number> => {
  const res = await runTool(
    'ffprobe',
    [
      ...inputOptions(input, 'ffprobe'),
      '-v',
      'error',
      '-select_streams',
      `a:${track}`,
      '-show_entries',
      'stream=sample_rate',
      '-of',
      'csv=p=0',
      input,
    ],
    { timeoutMs: Math.max(1, timeBudget()) }
  );
  const rate = Number(res.stdout.trim().split('\n')[0]);
  if (res.code !== 0 || !Number.isInteger(rate) || rate <= 0) {
    throw new MediaToolError(`ffprobe could not read the audio sample rate: exit ${res.code}`);
  }
  return rate;
};

/**
 * Encodes one audio part to `out` (M4A): the part's samples, whose first
 * kept packet decodes, after the previous part's last one, to its first sample.
 */
export const encodeAudioPart = async ({
  input,
  out,
  item,
  track = 0,
  timeBudget,
}: {
  input: string;
  out: string;
  item: Pick<AudioPartItem, 'part' | 'startSample' | 'endSample'>;
  track?: number;
  timeBudget: TimeBudget;
}): Promise<void> => {
  const { encodeFrom } = audioPartWindow(item);
  // Part 0 reads from the start: no seek, no rate needed (the grid starts at 0).
  const seek =
    encodeFrom === 0
      ? { seekSec: 0, sourceStart: 0, outputStart: 0 }
      : audioPartSeek(encodeFrom, await sourceSampleRate(input, track, timeBudget));
  await runFfmpeg(
    [
      ...(seek.seekSec > 0 ? ['-noaccurate_seek', '-ss', seek.seekSec.toFixed(6)] : []),
      '-copyts',
      '-start_at_zero',
      ...inputOptions(input),
      '-i',
      input,
      ...audioPartArgs(item, seek, track),
      out,
    ],
    timeBudget
  );
  const packets = await countAudioPackets(out, timeBudget);
  const expected = audioPartWindow(item).keptPackets;
  // The arithmetic above is the join's gaplessness: a part with other packets than its range's
  // would shift every later part, so it fails here rather than at the join or in a player.
  if (packets === 0 || (expected !== null && packets !== expected)) {
    throw new MediaToolError(
      `audio part ${item.part} has ${packets} AAC packets where its samples need ${expected ?? 'at least 1'}` +
        (expected !== null && packets < expected
          ? ': the source audio ends before the part does'
          : '')
    );
  }
};

/** AAC packets in a file (container count, no decode). */
export const countAudioPackets = (file: string, timeBudget: TimeBudget): Promise<number> =>
  countStreamFrames(file, timeBudget, { stream: 'a:0', decode: false });

/**
 * Joins the audio parts (in order; paths or presigned URLs) by stream copy.
 * The concat demuxer starts the joined stream at 0 with part 0's priming
 * packet; `setts` moves every timestamp back by the priming, so the MP4 muxer
 * writes the edit list that skips it, as in a single encode.
 */
export const joinAudioParts = async ({
  parts,
  out,
  workDir,
  timeBudget,
}: {
  parts: readonly string[];
  out: string;
  workDir: string;
  timeBudget: TimeBudget;
}): Promise<void> => {
  await runFfmpeg(
    [
      ...(await concatInput(parts, workDir, 'audio-parts.txt')),
      '-map',
      '0:a:0',
      '-c',
      'copy',
      '-bsf:a',
      `setts=pts=PTS-${AAC_PRIMING_SAMPLES}:dts=DTS-${AAC_PRIMING_SAMPLES}`,
      out,
    ],
    timeBudget
  );
};
