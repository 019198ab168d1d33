import '../../helpers/env.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupMedia, makeClip, useMediaTools } from '../../../fixtures/media.js';
import {
  DEFAULT_PLAN_CONFIG,
  lastFrameSec,
  type ThumbnailBranch,
  thumbnail,
} from '../../../lambdas/branch-kinds/index.js';
import { probeFile } from '../../../lambdas/probe/logic.js';
import { probeFactory, sourceFactory } from '../../helpers/factories.js';

/**
 * Issue #18: a valid one-frame or sub-second video ended PARTIAL because the
 * default thumbnail times (duration × i/(n+1)) landed past its last frame.
 */

describe('lastFrameSec', () => {
  it.each([
    { durationSec: 0.04, frameRate: 25, expected: 0 },
    { durationSec: 0.52, frameRate: 25, expected: 0.46 },
    { durationSec: 10, frameRate: 25, expected: 9.94 },
    { durationSec: 1, frameRate: 0, expected: null },
  ])('$durationSec s at $frameRate fps: $expected', ({ durationSec, frameRate, expected }) => {
    expect(lastFrameSec({ durationSec, frameRate })).toBe(expected);
  });
});

describe('thumbnail.plan clamps the default times to the frames a video has', () => {
  it('gives a one-frame video one thumbnail, of its frame', () => {
    // Prepare
    const probe = probeFactory({ durationSec: 0.04, frameRate: 25 });
    // Act
    const branches = thumbnail.plan(probe, DEFAULT_PLAN_CONFIG);
    // Assess
    expect(branches).toEqual([{ id: 'thumb-01', kind: 'thumbnail', atSec: 0, width: 320 }]);
  });

  it('leaves the times of a video long enough for them unchanged', () => {
    const probe = probeFactory({ durationSec: 0.52, frameRate: 25 });
    const branches = thumbnail.plan(probe, DEFAULT_PLAN_CONFIG);
    expect(branches.map((b) => b.atSec)).toEqual([0.13, 0.26, 0.39]);
  });

  it('de-duplicates times that clamp to the same last frame', () => {
    // Prepare: 3 frames at 25 fps, 6 thumbnails asked for.
    const probe = probeFactory({ durationSec: 0.12, frameRate: 25 });
    // Act
    const branches = thumbnail.plan(probe, { ...DEFAULT_PLAN_CONFIG, thumbnailCount: 6 });
    // Assess: 0.017, 0.034, 0.051 stay; the rest clamp to 0.06 (half a frame before the last).
    expect(branches.map((b) => [b.id, b.atSec])).toEqual([
      ['thumb-01', 0.017],
      ['thumb-02', 0.034],
      ['thumb-03', 0.051],
      ['thumb-04', 0.06],
    ]);
  });

  it('does not clamp a time the uploader asked for (a time past the end is their error to see)', () => {
    const probe = probeFactory({
      durationSec: 0.04,
      frameRate: 25,
      requestedThumbnailTimes: [5],
    });
    const branches = thumbnail.plan(probe, DEFAULT_PLAN_CONFIG);
    expect(branches.map((b) => b.id)).toEqual(['thumb-01', 'thumb-at-5s']);
  });
});

describe('thumbnails of generated short clips', () => {
  let workDir: string;

  beforeAll(async () => {
    useMediaTools();
    workDir = await mkdtemp(join(tmpdir(), 'short-videos-'));
  });
  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
    cleanupMedia();
  });

  it.each([
    { what: 'a one-frame clip', seconds: 0.04, thumbnails: 1 },
    { what: 'a 0.5 s clip', seconds: 0.5, thumbnails: 3 },
  ])('$what: every planned thumbnail yields a frame', async ({ seconds, thumbnails }) => {
    // Prepare: the probe's real facts of a generated clip.
    const clip = await makeClip({ seconds, width: 320, height: 180, audio: seconds >= 0.5 });
    const probe = await probeFile(clip);
    const branches = thumbnail.plan(probe, DEFAULT_PLAN_CONFIG) as ThumbnailBranch[];

    // Act
    const produced = await Promise.all(
      branches.map((branch) =>
        thumbnail.run(branch, {
          videoId: 'short-1',
          source: sourceFactory(),
          probe,
          input: clip,
          workDir,
          timeBudget: () => 60_000,
        })
      )
    );

    // Assess
    expect(branches).toHaveLength(thumbnails);
    expect(produced.flat()).toHaveLength(thumbnails);
  });
});
