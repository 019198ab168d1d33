import * as z from 'zod/mini';
import { BranchIdSchema } from '../contract/index.js';
import { defineKind } from './descriptor.js';

const WaveformBranchSchema = z.object({ id: BranchIdSchema, kind: z.literal('waveform') });

/** A PNG picture of the audio track's waveform (trial kind: issue 21's proof). */
export const waveformKind = defineKind({
  kind: 'waveform',
  schema: WaveformBranchSchema,
  sizing: { memoryMiB: 1024, timeoutSeconds: 120, ephemeralStorageMiB: 512, usesFfmpeg: true },
  runBy: 'fan-out',
  policy: { role: 'secondary' },
  playable: false,
});
