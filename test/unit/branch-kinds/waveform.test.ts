import '../../helpers/env.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupMedia, makeClip } from '../../../fixtures/media.js';
import { DEFAULT_PLAN_CONFIG } from '../../../kinds/index.js';
import type { RunContext } from '../../../lambdas/branch-kinds/kind.js';
import { waveform } from '../../../lambdas/branch-kinds/work/waveform.js';
import { probeFactory, sourceFactory } from '../../helpers/factories.js';

const workDir = mkdtempSync(join(tmpdir(), 'waveform-'));
afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
  cleanupMedia();
});

describe('waveform', () => {
  it('plans one branch for a video with audio and none without', () => {
    // Act
    const withAudio = waveform.plan(probeFactory({ audioCodec: 'aac' }), DEFAULT_PLAN_CONFIG);
    const silent = waveform.plan(probeFactory({ audioCodec: null }), DEFAULT_PLAN_CONFIG);

    // Assess
    expect(withAudio).toEqual([{ id: 'waveform', kind: 'waveform' }]);
    expect(silent).toEqual([]);
  });

  it('draws a PNG of the audio of a generated clip', async () => {
    // Prepare
    const input = await makeClip({ seconds: 2 });
    const context: RunContext = {
      videoId: 'clip-0123456789abcdef',
      source: sourceFactory(),
      probe: probeFactory({ audioCodec: 'aac' }),
      input,
      workDir,
      timeBudget: () => 60_000,
    };

    // Act
    const [produced] = await waveform.run({ id: 'waveform', kind: 'waveform' }, context);

    // Assess
    expect(produced).toMatchObject({
      key: 'outputs/clip-0123456789abcdef/waveform.png',
      contentType: 'image/png',
    });
    const png = readFileSync((produced as { path: string }).path);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  });
});
