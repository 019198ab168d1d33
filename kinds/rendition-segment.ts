import * as z from 'zod/mini';
import { BranchIdSchema } from '../contract/index.js';
import { defineKind } from './descriptor.js';
import { SegmentationSchema } from './segmentation.js';

const RenditionSegmentBranchSchema = z.object({
  id: BranchIdSchema,
  kind: z.literal('rendition-segment'),
  /** The rendition branch this segment belongs to; its join gathers the segments. */
  rendition: BranchIdSchema,
  height: z.int().check(z.positive()),
  index: z.int().check(z.nonnegative()),
  segmentation: SegmentationSchema,
});
export type RenditionSegmentBranch = z.infer<typeof RenditionSegmentBranchSchema>;

/**
 * One segment of a segmented rendition, run by the `Segments` Distributed Map
 * before the FanOut (invoked synchronously, never as an event). Not in the
 * fan-out policy: the rendition's join decides what a missing segment means.
 */
export const renditionSegmentKind = defineKind({
  kind: 'rendition-segment',
  schema: RenditionSegmentBranchSchema,
  // Same engine as a rendition; a segment is at most maxSegmentSec of source, so the
  // timeout is generous and the output small.
  sizing: { memoryMiB: 2048, timeoutSeconds: 600, ephemeralStorageMiB: 2048, usesFfmpeg: true },
  runBy: 'segments',
  // Never read: a segment kind is not in the policy. Secondary says what it would be.
  policy: { role: 'secondary' },
  playable: false,
});
