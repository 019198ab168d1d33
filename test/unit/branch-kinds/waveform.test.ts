import '../../helpers/env.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupMedia, makeClip, useMediaTools } from '../../../fixtures/media.js';
import { DEFAULT_PLAN_CONFIG } from '../../../kinds/index.js';
import { waveform } from '../../../lambdas/branch-kinds/waveform.js';
import { probeFactory, sourceFactory } from '../../helpers/factories.js';

/** PNG files start with these eight bytes. */
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('waveform', () => {
  let workDir: string;
  beforeAll(async () => {
    useMediaTools();
    workDir = await mkdtemp(join(tmpdir(), 'waveform-test-'));
  });
  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
    cleanupMedia();
  });

  it('plans one branch for a video with audio and none for a silent one', () => {
    // Act
    const withAudio = waveform.plan(probeFactory({ audioCodec: 'aac' }), DEFAULT_PLAN_CONFIG);
    const silent = waveform.plan(probeFactory({ audioCodec: null }), DEFAULT_PLAN_CONFIG);
    // Assess
    expect(withAudio).toEqual([{ id: 'waveform', kind: 'waveform' }]);
    expect(silent).toEqual([]);
  });

  it('draws the waveform of a generated clip as a PNG', async () => {
    // Prepare
    const clip = await makeClip({ seconds: 2, width: 320, height: 240, audio: true });
    // Act
    const [produced] = await waveform.run(
      { id: 'waveform', kind: 'waveform' },
      {
        videoId: 'clip-0123456789abcdef',
        source: sourceFactory(),
        probe: probeFactory({ durationSec: 2 }),
        input: clip,
        workDir,
        timeBudget: () => 60_000,
      }
    );
    // Assess
    expect(produced).toMatchObject({
      key: 'outputs/clip-0123456789abcdef/waveform.png',
      contentType: 'image/png',
    });
    const bytes = await readFile((produced as { path: string }).path);
    expect(bytes.subarray(0, 8)).toEqual(PNG_SIGNATURE);
  });
});
