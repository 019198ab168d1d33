import '../../helpers/env.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupMedia, makeClip } from '../../../fixtures/media.js';
import { DEFAULT_PLAN_CONFIG } from '../../../kinds/index.js';
import { waveformKind } from '../../../kinds/waveform.js';
import { kindOf, planBranches, type RunContext } from '../../../lambdas/branch-kinds/index.js';
import { probeFactory, sourceFactory } from '../../helpers/factories.js';

const workDir = mkdtempSync(join(tmpdir(), 'waveform-'));
afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
  cleanupMedia();
});

/** Width and height from a PNG's IHDR chunk (bytes 16..24). */
const pngSize = (png: Buffer) => ({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) });

describe('waveform (registered by one line, run by the generic runner)', () => {
  it('is planned for a video with audio and not for a silent one', () => {
    // Act
    const withAudio = planBranches(probeFactory({ audioCodec: 'aac' }), DEFAULT_PLAN_CONFIG);
    const silent = planBranches(probeFactory({ audioCodec: null }), DEFAULT_PLAN_CONFIG);

    // Assess
    expect(withAudio.branches.filter((b) => b.kind === 'waveform')).toEqual([
      { id: 'waveform', kind: 'waveform' },
    ]);
    expect(silent.branches.filter((b) => b.kind === 'waveform')).toEqual([]);
  });

  it('draws a 640x120 PNG of the audio of a generated clip, published as waveform.png', async () => {
    // Prepare
    const context: RunContext = {
      videoId: 'clip-0123456789abcdef',
      source: sourceFactory(),
      probe: probeFactory({ audioCodec: 'aac' }),
      input: await makeClip({ seconds: 2 }),
      workDir,
      timeBudget: () => 60_000,
    };

    // Act
    const kind = kindOf({ kind: waveformKind.kind });
    const produced = await kind.run({ id: 'waveform', kind: 'waveform' }, context);

    // Assess
    expect(produced).toEqual([
      {
        key: 'outputs/clip-0123456789abcdef/waveform.png',
        contentType: 'image/png',
        path: join(workDir, 'waveform.png'),
      },
    ]);
    expect(pngSize(readFileSync(join(workDir, 'waveform.png')))).toEqual({
      width: 640,
      height: 120,
    });
  });
});
