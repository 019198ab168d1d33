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

/**
 * Kept back from a segmented fallback's segment encodes for storing the last
 * ones (an upload is not bounded by the time budget).
 */
export const FALLBACK_STORE_RESERVE_MS = 30_000;

/**
 * How many times less time a fallback segment takes than the origin's segment of
 * the same frames: half the height (a quarter of the pixels) with `ultrafast`
 * instead of `veryfast`; the decode of the source is the same. Measured 2.8× in
 * CPU-seconds (20 s of 1080p testsrc2 → 720p veryfast vs → 360p ultrafast on one
 * thread); 2 keeps a margin for harder footage.
 */
export const FALLBACK_SPEEDUP = 2;

/**
 * Pure: invocations a segmented fallback may need for the longest source the
 * plan accepts, `maxSegments` segments of `maxSegmentSec` each (past that the
 * plan refuses the video). Premise, the plan's own sizing (kinds/plan-config.ts):
 * the segment function encodes a `maxSegmentSec` segment within half its
 * timeout, so at least one second of source per second; the fallback (same
 * memory) then takes at most maxSegmentSec / FALLBACK_SPEEDUP per segment of
 * the function's CPU. An invocation has its timeout less the runner's 15 s
 * (lambdas/run-branch/handler.ts) and FALLBACK_STORE_RESERVE_MS; it stores at
 * least one segment fewer than fit (the one the stop rule does not start or
 * the budget cuts off). Plus one invocation for the audio (when the video's
 * joined audio is missing) and one for the join.
 * Defaults: 300 / 2 = 150 s a segment; 600 − 15 − 30 = 555 s; ⌊555 / 150⌋ − 1 = 2
 * segments an invocation; ⌈120 / 2⌉ + 2 = 62 invocations (61 retries).
 */
export const fallbackInvocationsFor = ({
  maxSegments,
  maxSegmentSec,
  timeoutSec,
}: {
  maxSegments: number;
  maxSegmentSec: number;
  timeoutSec: number;
}): number => {
  const segmentSec = maxSegmentSec / FALLBACK_SPEEDUP;
  const usableSec = timeoutSec - 15 - FALLBACK_STORE_RESERVE_MS / 1000;
  const perInvocation = Math.max(1, Math.floor(usableSec / segmentSec) - 1);
  return Math.ceil(maxSegments / perInvocation) + 2;
};
