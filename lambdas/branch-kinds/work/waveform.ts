import { join } from 'node:path';
import { artifactKey } from '../../../contract/index.js';
import { waveformKind } from '../../../kinds/waveform.js';
import { inputOptions, runFfmpeg } from '../../shared/media.js';
import type { BranchKind } from '../kind.js';

/** A waveform picture, for a video with an audio track only. */
export const waveform: BranchKind<typeof waveformKind.schema> = {
  ...waveformKind,
  plan: (probe) =>
    probe.audioCodec === null ? [] : [{ id: 'waveform', kind: 'waveform' as const }],
  async run(branch, { videoId, input, workDir, timeBudget }) {
    const out = join(workDir, `${branch.id}.png`);
    await runFfmpeg(
      [
        ...inputOptions(input),
        '-i',
        input,
        '-filter_complex',
        'showwavespic=s=640x120',
        '-frames:v',
        '1',
        out,
      ],
      timeBudget
    );
    return [{ key: artifactKey(videoId, 'waveform.png'), contentType: 'image/png', path: out }];
  },
};

export default waveform;
