import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { artifactKey, BranchIdSchema, MediaToolError } from '../../contract/index.js';
import { inputOptions, runFfmpeg } from '../shared/media.js';
import type { BranchKind } from './kind.js';

const RenditionBranchSchema = z.object({
  id: BranchIdSchema,
  kind: z.literal('rendition'),
  height: z.int().check(z.positive()),
});
export type RenditionBranch = z.infer<typeof RenditionBranchSchema>;

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
export const rendition: BranchKind<typeof RenditionBranchSchema> = {
  kind: 'rendition',
  schema: RenditionBranchSchema,
  plan: (probe, config) =>
    renditionHeightsFor(probe.height, config.renditionHeights).map((height) => ({
      id: `rendition-${height}p`,
      kind: 'rendition' as const,
      height,
    })),
  async run(branch, { videoId, probe, input, workDir, timeBudget }) {
    const out = join(workDir, `${branch.id}.mp4`);
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
        `scale=-2:${branch.height}`,
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
      timeBudget
    );
    if (((await stat(out).catch(() => null))?.size ?? 0) === 0) {
      throw new MediaToolError('ffmpeg produced an empty rendition');
    }
    return [{ key: renditionKey(videoId, branch.height), contentType: 'video/mp4', path: out }];
  },
  // A transcode: CPU (Lambda gives ~1.2 vCPU at 2 GiB) and room for the output file.
  sizing: { memoryMiB: 2048, timeoutSeconds: 600, ephemeralStorageMiB: 8192, usesFfmpeg: true },
};
