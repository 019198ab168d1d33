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

const PART_FIELDS = ['part', 'sampleRate', 'startSample', 'endSample'] as const;

/**
 * An audio item. A part (`part` and the sample range, docs/segments.md "Audio
 * in parts"): output samples [startSample, endSample) at `sampleRate`
 * (endSample null: to the end of the audio), encoded with a pre-roll and a
 * post-roll that are dropped again at packet level, so the K parts join
 * gaplessly by stream copy. The whole track (id `audio`, no part fields):
 * with `parts`, the stream-copy join of its K parts into the AAC every
 * segmented rendition's join reads, run by the part that completes the set or
 * by a rendition's join (never in the items file); without, the whole source's
 * audio encoded once, the item of an items file written before the audio was
 * split (kept readable). One strict object with all-or-none part fields rather
 * than two: a discriminated union needs one `track` value per option.
 */
const AudioItemSchema = z
  .strictObject({
    id: BranchIdSchema,
    kind: z.literal('rendition-segment'),
    track: z.literal('audio'),
    parts: z.optional(z.int().check(z.positive())),
    part: z.optional(z.int().check(z.nonnegative())),
    sampleRate: z.optional(z.literal(48_000)),
    startSample: z.optional(z.int().check(z.nonnegative())),
    endSample: z.optional(z.nullable(z.int().check(z.positive()))),
  })
  .check(
    z.refine((v) => {
      const set = PART_FIELDS.filter((f) => v[f] !== undefined).length;
      if (set === 0) return true;
      return (
        set === PART_FIELDS.length &&
        v.parts !== undefined &&
        v.part! < v.parts &&
        (v.endSample === null ? v.part === v.parts - 1 : v.endSample! > v.startSample!)
      );
    }, 'an audio part needs part < parts, sampleRate, startSample and endSample (null only on the last part), or none of them')
  );
export type AudioItem = z.infer<typeof AudioItemSchema>;
/** One part of the video's audio: an AudioItem with every part field. */
export type AudioPartItem = AudioItem & {
  part: number;
  parts: number;
  sampleRate: 48_000;
  startSample: number;
  endSample: number | null;
};

const RenditionSegmentBranchSchema = z.discriminatedUnion('track', [
  VideoSegmentItemSchema,
  AudioItemSchema,
]);
export type RenditionSegmentBranch = z.infer<typeof RenditionSegmentBranchSchema>;

/**
 * One item of the `Segments` Distributed Map, run before the FanOut (invoked
 * synchronously, never as an event): a segment of a segmented rendition, or
 * a part of the video's audio track (`track: 'audio'`, the part's join too). Not in the fan-out policy: the
 * rendition's join decides what a missing segment or audio means.
 */
export const renditionSegmentKind = defineKind({
  kind: 'rendition-segment',
  planOrder: 50,
  schema: RenditionSegmentBranchSchema,
  // Same engine as a rendition; a segment is at most maxSegmentSec of source, so the
  // timeout is generous. The storage is a rendition's: the item that completes a rendition
  // joins it (the early join: the whole MP4 and its HLS copy in /tmp).
  // 4,096 MB (2.3 vCPU): with 300 items at once, what the seg bench's model of one hour
  // needs to end within 30 s at a cost per source minute below the single run's
  // (docs/benchmarks.md); at 2,048 MB the 1080p segments alone take longer.
  sizing: { memoryMiB: 4096, timeoutSeconds: 600, ephemeralStorageMiB: 8192, usesFfmpeg: true },
  runBy: 'segments',
  // Never read: a segment kind is not in the policy. Secondary says what it would be.
  policy: { role: 'secondary' },
  // The item that completes a rendition joins it (the early join), which writes the early playlist.
  playable: true,
});
