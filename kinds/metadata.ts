import * as z from 'zod/mini';
import { BranchIdSchema } from '../contract/index.js';
import { defineKind } from './descriptor.js';

const MetadataBranchSchema = z.object({ id: BranchIdSchema, kind: z.literal('metadata') });

/** One JSON document describing the source: ffprobe reads only the container headers. */
export const metadataKind = defineKind({
  kind: 'metadata',
  planOrder: 30,
  schema: MetadataBranchSchema,
  sizing: { memoryMiB: 512, timeoutSeconds: 60, ephemeralStorageMiB: 512, usesFfmpeg: true },
  runBy: 'fan-out',
  policy: { role: 'secondary' },
  playable: false,
});
