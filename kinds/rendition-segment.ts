import * as z from 'zod/mini';
import { BranchIdSchema } from '../contract/index.js';
import { defineKind } from './descriptor.js';
import { SegmentationSchema } from './segmentation.js';

const VideoSegmentItemSchema = z.object({
  id: BranchIdSchema,
  kind: z.literal('rendition-segment'),
  /** Absent on items written before the audio became an item of its own. */
  track: z.optional(z.literal('video')),
  /** The rendition branch this segment belongs to; its join gathers the segments. */
  rendition: BranchIdSchema,
  height: z.int().check(z.positive()),
  index: z.int().check(z.nonnegative()),
  segmentation: SegmentationSchema,
});
export type VideoSegmentItem = z.infer<typeof VideoSegmentItemSchema>;

/**
 * The video's audio track, encoded once to AAC as an item of the same
 * Distributed Map as the video segments, so that every segmented rendition's
 * join is a stream copy (video segments + this file).
 */
const AudioItemSchema = z.object({
  id: BranchIdSchema,
  kind: z.literal('rendition-segment'),
  track: z.literal('audio'),
});
export type AudioItem = z.infer<typeof AudioItemSchema>;

const RenditionSegmentBranchSchema = z.discriminatedUnion('track', [
  VideoSegmentItemSchema,
  AudioItemSchema,
]);
export type RenditionSegmentBranch = z.infer<typeof RenditionSegmentBranchSchema>;

/**
 * One item of the `Segments` Distributed Map, run before the FanOut (invoked
 * synchronously, never as an event): a segment of a segmented rendition, or
 * the video's audio track (`track: 'audio'`). Not in the fan-out policy: the
 * rendition's join decides what a missing segment or audio means.
 */
export const renditionSegmentKind = defineKind({
  kind: 'rendition-segment',
  planOrder: 50,
  schema: RenditionSegmentBranchSchema,
  // Same engine as a rendition; a segment is at most maxSegmentSec of source, so the
  // timeout is generous. The storage is a rendition's: the item that completes a rendition
  // joins it (the early join: the whole MP4 and its HLS copy in /tmp).
  sizing: { memoryMiB: 2048, timeoutSeconds: 600, ephemeralStorageMiB: 8192, usesFfmpeg: true },
  runBy: 'segments',
  // Never read: a segment kind is not in the policy. Secondary says what it would be.
  policy: { role: 'secondary' },
  // The item that completes a rendition joins it (the early join), which writes the early playlist.
  playable: true,
});
