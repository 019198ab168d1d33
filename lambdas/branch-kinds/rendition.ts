import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactKey, MediaToolError, type ProbeResult } from '../../contract/index.js';
import { type RenditionBranch, renditionFallbackKind, renditionKind } from '../../kinds/index.js';
import { inputOptions, runFfmpeg } from '../shared/media.js';
import type { BranchKind, RunContext, TimeBudget } from './kind.js';
import {
  encodeAudio,
  joinSegments,
  planSegmentation,
  type Segmentation,
  segmentRelativeKey,
} from './segmentation.js';

export type { RenditionBranch };

const even = (n: number): number => Math.max(2, Math.floor(n / 2) * 2);

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
  const fit = [...new Set(configured.map(even))]
    .filter((h) => h <= sourceHeight)
    .sort((a, b) => a - b);
  return fit.length > 0 ? fit : [even(sourceHeight)];
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
    if (branch.segmentation) {
      await join_(branch.id, branch.segmentation, out, context);
      return [{ key: renditionKey(videoId, branch.height), contentType: 'video/mp4', path: out }];
    }
    await encode({ input, out, height: branch.height, preset: 'veryfast', probe, timeBudget });
    return [{ key: renditionKey(videoId, branch.height), contentType: 'video/mp4', path: out }];
  },
};

/** Published path of a fallback rendition: its own keys, so a late origin run never overwrites it. */
export const fallbackRenditionKey = (videoId: string, height: number): string =>
  artifactKey(videoId, `renditions/fallback/${height}p.mp4`);

/**
 * Runs only as the fallback of a rendition that failed or timed out (the
 * policy's `fallbackFor`): half the height with the `ultrafast` preset, about
 * 4× less work, so a video still gets a playable rendition. Never planned.
 */
export const renditionFallback: BranchKind<typeof renditionFallbackKind.schema> = {
  ...renditionFallbackKind,
  plan: () => [],
  async run(branch, { videoId, probe, input, workDir, timeBudget }) {
    const height = even(branch.origin.height / 2);
    const out = join(workDir, `${branch.id}.mp4`);
    await encode({ input, out, height, preset: 'ultrafast', probe, timeBudget });
    return [{ key: fallbackRenditionKey(videoId, height), contentType: 'video/mp4', path: out }];
  },
};

const encode = async ({
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
  preset: 'veryfast' | 'ultrafast';
  probe: ProbeResult;
  timeBudget: TimeBudget;
}): Promise<void> => {
  const audio =
    probe.audioCodec === null ? ['-an'] : ['-map', '0:a:0', '-c:a', 'aac', '-b:a', '128k'];
  await runFfmpeg(
    [
      ...inputOptions(input),
      '-i',
      input,
      '-map',
      '0:v:0',
      ...audio,
      '-vf',
      `scale=-2:${height}`,
      '-c:v',
      'libx264',
      '-preset',
      preset,
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
    timeBudget
  );
  if (((await stat(out).catch(() => null))?.size ?? 0) === 0) {
    throw new MediaToolError('ffmpeg produced an empty rendition');
  }
};

/**
 * The fan-in of one segmented rendition: every segment must be there (a
 * missing one fails the branch, so the policy's fallback runs), the audio is
 * encoded once from the source, and both are joined without re-encoding.
 */
const join_ = async (
  branchId: string,
  segmentation: Segmentation,
  out: string,
  { videoId, probe, input, workDir, timeBudget, outputUrl }: RunContext
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
  const audio = probe.audioCodec === null ? null : join(workDir, 'audio.m4a');
  if (audio) await encodeAudio(input, audio, timeBudget);
  await joinSegments({ segments: urls as string[], audio, out, workDir, timeBudget });
  if (((await stat(out).catch(() => null))?.size ?? 0) === 0) {
    throw new MediaToolError('ffmpeg produced an empty joined rendition');
  }
};
