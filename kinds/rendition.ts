import * as z from 'zod/mini';
import { BranchIdSchema } from '../contract/index.js';
import { defineKind } from './descriptor.js';
import { SegmentationSchema } from './segmentation.js';

const RenditionBranchSchema = z.object({
  id: BranchIdSchema,
  kind: z.literal('rendition'),
  height: z.int().check(z.positive()),
  /** Set on every rendition but the main one (the highest that fits): only the main one decides playability. */
  role: z.optional(z.literal('secondary')),
  /**
   * Set when the source is longer than the segment threshold: the segment
   * Distributed Map encodes the segments before the FanOut, and this branch
   * joins them (and the audio) without re-encoding.
   */
  segmentation: z.optional(SegmentationSchema),
});
export type RenditionBranch = z.infer<typeof RenditionBranchSchema>;

/**
 * H.264/AAC MP4 renditions: the primary. The main rendition (the highest that
 * fits) decides playability; the plan demotes the lower ones to secondary.
 */
export const renditionKind = defineKind({
  kind: 'rendition',
  planOrder: 20,
  schema: RenditionBranchSchema,
  // A transcode: CPU (Lambda gives ~1.2 vCPU at 2 GiB) and room for the output file.
  sizing: { memoryMiB: 2048, timeoutSeconds: 600, ephemeralStorageMiB: 8192, usesFfmpeg: true },
  runBy: 'fan-out',
  policy: { role: 'primary' },
  playable: true,
});

const RenditionFallbackBranchSchema = z.object({
  id: BranchIdSchema,
  kind: z.literal('rendition-fallback'),
  /** The rendition it stands in for (the state machine copies the origin branch here). */
  origin: RenditionBranchSchema,
});
export type RenditionFallbackBranch = z.infer<typeof RenditionFallbackBranchSchema>;

/**
 * Runs only as the fallback of a rendition that failed or timed out: half the
 * height with the `ultrafast` preset, so a video still gets a playable
 * rendition. Never planned.
 */
export const renditionFallbackKind = defineKind({
  kind: 'rendition-fallback',
  planOrder: 40,
  schema: RenditionFallbackBranchSchema,
  sizing: { memoryMiB: 2048, timeoutSeconds: 600, ephemeralStorageMiB: 8192, usesFfmpeg: true },
  runBy: 'fan-out',
  policy: { fallbackFor: 'rendition' },
  playable: true,
});
