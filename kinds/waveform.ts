import * as z from 'zod/mini';
import { BranchIdSchema } from '../contract/index.js';
import { defineKind } from './descriptor.js';

const WaveformBranchSchema = z.object({ id: BranchIdSchema, kind: z.literal('waveform') });

/**
 * A PNG picture of the first audio track's waveform, for a video with audio
 * (trial kind: issue 21's proof). One ffmpeg run, so declared here whole.
 */
export const waveformKind = defineKind({
  kind: 'waveform',
  schema: WaveformBranchSchema,
  // Decodes the audio only: small, short.
  sizing: { memoryMiB: 1024, timeoutSeconds: 120, ephemeralStorageMiB: 512, usesFfmpeg: true },
  runBy: 'fan-out',
  policy: { role: 'secondary' },
  playable: false,
  plan: (probe) =>
    probe.audioCodec === null ? [] : [{ id: 'waveform', kind: 'waveform' as const }],
  command: ({ input, out }) => ({
    args: [
      '-i',
      input,
      '-filter_complex',
      '[0:a:0]showwavespic=s=640x120[wave]',
      '-map',
      '[wave]',
      '-frames:v',
      '1',
      out('waveform.png'),
    ],
    outputs: { 'waveform.png': { contentType: 'image/png', publishAs: 'waveform.png' } },
  }),
});
