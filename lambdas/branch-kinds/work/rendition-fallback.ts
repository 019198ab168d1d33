import { join } from 'node:path';
import { artifactKey } from '../../../contract/index.js';
import { renditionFallbackKind } from '../../../kinds/index.js';
import { HLS_TARGET_SEC, packageHls } from '../hls.js';
import type { BranchKind } from '../kind.js';
import { encodeRendition, evenHeight } from './rendition.js';
import { HLS_AUDIO_NAME } from './rendition-segment.js';

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
    const height = evenHeight(branch.origin.height / 2);
    const out = join(workDir, `${branch.id}.mp4`);
    await encodeRendition({ input, out, height, preset: 'ultrafast', probe, timeBudget });
    const hls = await packageHls({
      videoId,
      branchId: branch.id,
      inputArgs: ['-i', out],
      video: `fallback/${height}p`,
      // Standing in for the main rendition: its audio playlist too, under the fallback's own keys.
      audio:
        probe.audioCodec !== null && branch.origin.role !== 'secondary'
          ? `fallback/${HLS_AUDIO_NAME}`
          : null,
      workDir,
      targetSec: HLS_TARGET_SEC,
      timeBudget,
    });
    return [
      { key: fallbackRenditionKey(videoId, height), contentType: 'video/mp4', path: out },
      ...hls,
    ];
  },
};

export default renditionFallback;
