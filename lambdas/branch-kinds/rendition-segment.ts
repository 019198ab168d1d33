import { join } from 'node:path';
import { artifactKey } from '../../contract/index.js';
import {
  type RenditionSegmentBranch,
  renditionSegmentKind,
  type Segmentation,
} from '../../kinds/index.js';
import type { BranchKind } from './kind.js';
import { encodeSegment, segmentRelativeKey } from './segmentation.js';

export type { RenditionSegmentBranch };

/** Segment ids: `rendition-720p-s0007`; the index keeps them unique and sortable. */
export const segmentBranchId = (renditionId: string, index: number): string =>
  `${renditionId}-s${String(index).padStart(4, '0')}`;

/**
 * The segment items of one segmented rendition branch, in order: what the
 * Plan writes to S3 for the Distributed Map's ItemReader.
 */
export const segmentItemsFor = (rendition: {
  id: string;
  height: number;
  segmentation?: Segmentation | undefined;
}): RenditionSegmentBranch[] => {
  const s = rendition.segmentation;
  if (!s) return [];
  return Array.from({ length: s.count }, (_, index) => ({
    id: segmentBranchId(rendition.id, index),
    kind: 'rendition-segment' as const,
    rendition: rendition.id,
    height: rendition.height,
    index,
    segmentation: s,
  }));
};

/**
 * One segment of a segmented rendition, run by the segment Distributed Map
 * (never by the FanOut: its plan is empty). Video only; the rendition's join
 * adds the audio. The artifact lives under `_work/` until the join.
 */
export const renditionSegment: BranchKind<typeof renditionSegmentKind.schema> = {
  ...renditionSegmentKind,
  plan: () => [],
  async run(branch, { videoId, input, workDir, timeBudget }) {
    const out = join(workDir, `${branch.id}.mp4`);
    await encodeSegment({
      input,
      out,
      height: branch.height,
      index: branch.index,
      count: branch.segmentation.count,
      segmentation: branch.segmentation,
      timeBudget,
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
