import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  artifactKey,
  audioItemRelativeKey,
  MediaToolError,
  type ProbeResult,
} from '../../../contract/index.js';
import { type RenditionBranch, renditionKind } from '../../../kinds/index.js';
import { inputOptions, runFfmpeg } from '../../shared/media.js';
import { settleAll } from '../../shared/settle.js';
import { HLS_TARGET_SEC, packageHls } from '../hls.js';
import type { BranchKind, Produced, RunContext, TimeBudget } from '../kind.js';
import {
  constantRateFilter,
  gopFramesFor,
  h264Args,
  joinSegments,
  keyframeGridArgs,
  planSegmentation,
  type Segmentation,
  type SegmentPreset,
  segmentRelativeKey,
} from '../segmentation.js';
import { HLS_AUDIO_NAME } from './rendition-segment.js';

export type { RenditionBranch };

/** The nearest even height at or below n (H.264 in yuv420p needs even dimensions), at least 2. */
export const evenHeight = (n: number): number => Math.max(2, Math.floor(n / 2) * 2);

/** Published path of one rendition. */
export const renditionKey = (videoId: string, height: number): string =>
  artifactKey(videoId, `renditions/${height}p.mp4`);

/**
 * Renditions never upscale. A source smaller than every configured height
 * still gets one rendition at its own height, so every video gets a
 * normalised H.264/AAC MP4.
 */
export const renditionHeightsFor = (
  sourceHeight: number,
  configured: readonly number[]
): number[] => {
  const fit = [...new Set(configured.map(evenHeight))]
    .filter((h) => h <= sourceHeight)
    .sort((a, b) => a - b);
  return fit.length > 0 ? fit : [evenHeight(sourceHeight)];
};

/** H.264/AAC MP4 renditions at the configured heights that fit the source. */
export const rendition: BranchKind<typeof renditionKind.schema> = {
  ...renditionKind,
  plan: (probe, config) => {
    const heights = renditionHeightsFor(probe.height, config.renditionHeights);
    const main = Math.max(...heights);
    const segmentation = planSegmentation(probe, config);
    return heights.map((height) => ({
      id: `rendition-${height}p`,
      kind: 'rendition' as const,
      height,
      ...(height !== main && { role: 'secondary' as const }),
      ...(segmentation && { segmentation }),
    }));
  },
  async run(branch, context) {
    const { videoId, probe, input, workDir, timeBudget } = context;
    const out = join(workDir, `${branch.id}.mp4`);
    const mp4: Produced = {
      key: renditionKey(videoId, branch.height),
      contentType: 'video/mp4',
      path: out,
    };
    if (branch.segmentation) {
      await join_(branch.id, branch.segmentation, out, context);
      // The audio join packaged the audio playlist; the join packages the video only.
      const hls = await packageHls({
        videoId,
        branchId: branch.id,
        inputArgs: ['-i', out],
        video: `${branch.height}p`,
        audio: null,
        workDir,
        targetSec: segmentTargetSec(branch.segmentation),
        timeBudget,
      });
      return [mp4, ...hls];
    }
    await encodeRendition({
      input,
      out,
      height: branch.height,
      preset: 'veryfast',
      probe,
      timeBudget,
    });
    // The MP4 is final once encoded: with a store (the branch function has one), it is
    // uploaded while the HLS tracks are packaged from it, not after run() on the critical path.
    const [hls, stored] = await settleAll([
      packageHls({
        videoId,
        branchId: branch.id,
        inputArgs: ['-i', out],
        video: `${branch.height}p`,
        // Unsegmented: the main rendition's AAC is the video's audio playlist (no encode of its own).
        audio: probe.audioCodec !== null && branch.role !== 'secondary' ? HLS_AUDIO_NAME : null,
        workDir,
        targetSec: HLS_TARGET_SEC,
        timeBudget,
      }),
      context.store ? context.store(mp4).then(() => true) : Promise.resolve(false),
    ]);
    return [stored ? { ...mp4, stored: true } : mp4, ...hls];
  },
};

/**
 * The hls muxer's target duration for a segmented rendition: it cuts at the
 * first keyframe at or after n × target (cumulative), and the encoded
 * segments start at n × length exactly. Half a frame less, spread over the
 * segments, keeps every cut on a segment's first keyframe whatever the
 * rounding of the length, and never reaches the keyframe a GOP earlier.
 * The last encoded segment (up to 1.5 × length) is cut again at the first
 * keyframe past the target, so no media segment exceeds the target duration.
 */
export const segmentTargetSec = (s: Segmentation): number =>
  Math.floor(((s.framesPerSegment - 0.5 / s.count) / s.frameRate) * 1e6) / 1e6;

/** Encodes one whole rendition (the FanOut's unsegmented path and the fallback). */
export const encodeRendition = async ({
  input,
  out,
  height,
  preset,
  probe,
  timeBudget,
}: {
  input: string;
  out: string;
  height: number;
  preset: SegmentPreset;
  probe: ProbeResult;
  timeBudget: TimeBudget;
}): Promise<void> => {
  const audio =
    probe.audioCodec === null
      ? ['-an']
      : ['-map', `0:a:${probe.audioTrack ?? 0}`, '-c:a', 'aac', '-b:a', '128k'];
  // A variable-rate source is put on the constant grid of the probe's frameRate, like its
  // segments (segmentation.ts): the keyframe grid below counts frames.
  const timing =
    probe.variableFrameRate !== undefined ? `${constantRateFilter(probe.frameRate)},` : '';
  // A fixed 2 s keyframe grid: the HLS packaging cuts 6 s media segments on it, at the
  // same times in every rendition (Apple's authoring spec: aligned across variants).
  const keyframes = probe.frameRate > 0 ? keyframeGridArgs(gopFramesFor(probe.frameRate)) : [];
  await runFfmpeg(
    [
      ...inputOptions(input),
      '-i',
      input,
      '-map',
      '0:v:0',
      ...audio,
      '-vf',
      `${timing}scale=-2:${height}`,
      ...h264Args(preset),
      ...keyframes,
      // Older ffmpeg builds abort on inputs with sparse streams without this.
      '-max_muxing_queue_size',
      '1024',
      // moov first: players can start before the download finishes.
      '-movflags',
      '+faststart',
      out,
    ],
    timeBudget
  );
  if (((await stat(out).catch(() => null))?.size ?? 0) === 0) {
    throw new MediaToolError('ffmpeg produced an empty rendition');
  }
};

/**
 * The fan-in of one segmented rendition: every segment must be there (a
 * missing one fails the branch, so the policy's fallback runs), as must the
 * audio the audio parts were joined into (runBranch joins them first when no
 * part did); both are joined without re-encoding.
 */
const join_ = async (
  branchId: string,
  segmentation: Segmentation,
  out: string,
  { videoId, probe, workDir, timeBudget, outputUrl, audioParts: partKeys }: RunContext
): Promise<void> => {
  if (!outputUrl) throw new MediaToolError('this runner cannot read segments (no outputUrl)');
  const keys = Array.from({ length: segmentation.count }, (_, i) =>
    artifactKey(videoId, segmentRelativeKey(branchId, i))
  );
  const urls = await Promise.all(keys.map((k) => outputUrl(k)));
  const missing = urls.flatMap((u, i) => (u === undefined ? [i] : []));
  if (missing.length > 0) {
    throw new MediaToolError(
      `${missing.length} of ${segmentation.count} segments missing (first: segment ${missing[0]}); ` +
        'their segment branches failed or did not run'
    );
  }
  let audio: string | null = null;
  let audioParts: string[] | null = null;
  if (probe.audioCodec !== null) {
    audio = (await outputUrl(artifactKey(videoId, audioItemRelativeKey()))) ?? null;
    if (audio === null && partKeys) {
      // The early join of a rendition whose segments and audio parts are stored while the
      // audio join is still running: the parts themselves, as the audio join reads them.
      const partUrls = await Promise.all(partKeys.map((k) => outputUrl(k)));
      const absent = partUrls.flatMap((u, i) => (u === undefined ? [i] : []));
      if (absent.length > 0) {
        throw new MediaToolError(
          `the audio track is missing: ${absent.length} of ${partKeys.length} audio parts missing (first: part ${absent[0]})`
        );
      }
      audioParts = partUrls as string[];
    }
    if (audio === null && audioParts === null) {
      throw new MediaToolError(
        'the audio track is missing; the audio items of the Segments map failed or did not run'
      );
    }
  }
  await joinSegments({ segments: urls as string[], audio, audioParts, out, workDir, timeBudget });
  if (((await stat(out).catch(() => null))?.size ?? 0) === 0) {
    throw new MediaToolError('ffmpeg produced an empty joined rendition');
  }
};

export default rendition;
