import * as z from 'zod/mini';
import { BranchIdSchema } from '../contract/index.js';
import { defineKind } from './descriptor.js';

const ThumbnailBranchSchema = z.object({
  id: BranchIdSchema,
  kind: z.literal('thumbnail'),
  atSec: z.number().check(z.nonnegative()),
  width: z.int().check(z.positive()),
});
export type ThumbnailBranch = z.infer<typeof ThumbnailBranchSchema>;

/** JPEG thumbnails: evenly spaced, plus one per time the uploader asked for. */
export const thumbnailKind = defineKind({
  kind: 'thumbnail',
  planOrder: 10,
  schema: ThumbnailBranchSchema,
  // Reads a few MB over HTTP and decodes one frame: small, short.
  sizing: { memoryMiB: 1024, timeoutSeconds: 120, ephemeralStorageMiB: 512, usesFfmpeg: true },
  runBy: 'fan-out',
  policy: { role: 'secondary' },
  playable: false,
});
