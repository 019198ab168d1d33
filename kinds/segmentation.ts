import * as z from 'zod/mini';

/**
 * What the plan chose for one segmented rendition, recorded in its branch and
 * in the manifest. The cutting itself (planSegmentation) and the ffmpeg steps
 * live in lambdas/branch-kinds/segmentation.ts.
 */
export const SegmentationSchema = z.object({
  count: z.int().check(z.gte(2)),
  /** Seconds per segment (the last one may be up to 1.5× this). */
  lengthSec: z.number().check(z.positive()),
  framesPerSegment: z.int().check(z.positive()),
  gopFrames: z.int().check(z.positive()),
  /** The source's frame rate the frame arithmetic uses. */
  frameRate: z.number().check(z.positive()),
});
export type Segmentation = z.infer<typeof SegmentationSchema>;
