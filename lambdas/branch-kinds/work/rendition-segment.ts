import { join } from 'node:path';
import { artifactKey, audioItemRelativeKey } from '../../../contract/index.js';
import {
  type AudioItem,
  type RenditionSegmentBranch,
  renditionSegmentKind,
  type Segmentation,
  type VideoSegmentItem,
} from '../../../kinds/index.js';
import { HLS_TARGET_SEC, packageHls } from '../hls.js';
import type { BranchKind } from '../kind.js';
import { encodeAudio, encodeSegment, segmentRelativeKey } from '../segmentation.js';

export type { AudioItem, RenditionSegmentBranch, VideoSegmentItem };

/** Segment ids: `rendition-720p-s0007`; the index keeps them unique and sortable. */
export const segmentBranchId = (renditionId: string, index: number): string =>
  `${renditionId}-s${String(index).padStart(4, '0')}`;

/** The audio item's id (one per video; no planned branch is called so). */
export const AUDIO_ITEM_ID = 'audio';

/** Directory of the audio media playlist under the video's `hls/`. */
export const HLS_AUDIO_NAME = 'audio';

/**
 * The segment items of one segmented rendition branch, in order: what the
 * Plan writes to S3 for the Distributed Map's ItemReader.
 */
export const segmentItemsFor = (rendition: {
  id: string;
  height: number;
  segmentation?: Segmentation | undefined;
}): VideoSegmentItem[] => {
  const s = rendition.segmentation;
  if (!s) return [];
  return Array.from({ length: s.count }, (_, index) => ({
    id: segmentBranchId(rendition.id, index),
    kind: 'rendition-segment' as const,
    track: 'video' as const,
    rendition: rendition.id,
    height: rendition.height,
    index,
    segmentation: s,
  }));
};

/** The audio item of a video with segmented renditions and an audio stream. */
export const audioItem = (): AudioItem => ({
  id: AUDIO_ITEM_ID,
  kind: 'rendition-segment',
  track: 'audio',
});

/**
 * One item of the segment Distributed Map (never run by the FanOut: its plan
 * is empty). A video segment: video only, stored under `_work/` until the
 * join. The audio item: the whole source's audio encoded once to AAC, stored
 * under `_work/` for the joins, and packaged as the video's HLS audio
 * playlist (`hls/audio/`, stream copy).
 */
export const renditionSegment: BranchKind<typeof renditionSegmentKind.schema> = {
  ...renditionSegmentKind,
  plan: () => [],
  async run(branch, { videoId, input, probe, workDir, timeBudget }) {
    if (branch.track === 'audio') {
      const out = join(workDir, 'audio.m4a');
      await encodeAudio(input, out, timeBudget, probe.audioTrack);
      const hls = await packageHls({
        videoId,
        branchId: branch.id,
        inputArgs: ['-i', out],
        video: null,
        audio: HLS_AUDIO_NAME,
        workDir,
        targetSec: HLS_TARGET_SEC,
        timeBudget,
      });
      return [
        { key: artifactKey(videoId, audioItemRelativeKey()), contentType: 'audio/mp4', path: out },
        ...hls,
      ];
    }
    const out = join(workDir, `${branch.id}.mp4`);
    await encodeSegment({
      input,
      out,
      height: branch.height,
      index: branch.index,
      count: branch.segmentation.count,
      segmentation: branch.segmentation,
      timeBudget,
      variableFrameRate: probe.variableFrameRate !== undefined,
    });
    return [
      {
        key: artifactKey(videoId, segmentRelativeKey(branch.rendition, branch.index)),
        contentType: 'video/mp4',
        path: out,
      },
    ];
  },
};

export default renditionSegment;
