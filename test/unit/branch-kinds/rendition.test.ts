import '../../helpers/env.js';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PLAN_CONFIG,
  rendition,
  renditionHeightsFor,
} from '../../../lambdas/branch-kinds/index.js';
import { probeFactory } from '../../helpers/factories.js';

describe('rendition.plan', () => {
  it('caps renditions at the source height: a 480p source gets only 360p', () => {
    // Prepare
    const probe = probeFactory({ width: 854, height: 480 });

    // Act
    const branches = rendition.plan(probe, DEFAULT_PLAN_CONFIG);

    // Assess
    expect(branches).toEqual([{ id: 'rendition-360p', kind: 'rendition', height: 360 }]);
  });

  it('keeps every configured height that fits a 1080p source', () => {
    // Prepare
    const probe = probeFactory({ width: 1920, height: 1080 });

    // Act
    const branches = rendition.plan(probe, DEFAULT_PLAN_CONFIG);

    // Assess
    expect(branches).toEqual([
      { id: 'rendition-360p', kind: 'rendition', height: 360, role: 'secondary' },
      { id: 'rendition-720p', kind: 'rendition', height: 720 },
    ]);
  });

  it.each([
    { height: 240, expected: 240 },
    { height: 241, expected: 240 },
    { height: 1, expected: 2 },
  ])(
    'gives a tiny $height-line source one rendition at $expected lines',
    ({ height, expected }) => {
      // Prepare
      const probe = probeFactory({ width: 320, height });

      // Act
      const branches = rendition.plan(probe, DEFAULT_PLAN_CONFIG);

      // Assess
      expect(branches).toEqual([
        { id: `rendition-${expected}p`, kind: 'rendition', height: expected },
      ]);
    }
  );
});

describe('renditionHeightsFor', () => {
  it('sorts, dedupes and evens out configured heights', () => {
    // Prepare
    const configured = [721, 360, 720, 360];

    // Act
    const heights = renditionHeightsFor(1080, configured);

    // Assess
    expect(heights).toEqual([360, 720]);
  });

  it('never upscales: a height equal to the source is kept, one above is dropped', () => {
    // Prepare
    const configured = [720, 722];

    // Act
    const heights = renditionHeightsFor(720, configured);

    // Assess
    expect(heights).toEqual([720]);
  });
});
