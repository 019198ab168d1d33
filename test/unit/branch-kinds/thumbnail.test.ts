import '../../helpers/env.js';
import { describe, expect, it } from 'vitest';
import { BranchIdSchema } from '../../../contract/index.js';
import {
  DEFAULT_PLAN_CONFIG,
  requestedThumbnailId,
  thumbnail,
} from '../../../lambdas/branch-kinds/index.js';
import { parseThumbnailTimes } from '../../../lambdas/probe/logic.js';
import { probeFactory } from '../../helpers/factories.js';

describe('thumbnail.plan', () => {
  it('spaces thumbnails evenly at (i+1)/(n+1) of the duration', () => {
    // Prepare
    const probe = probeFactory({ durationSec: 10 });

    // Act
    const branches = thumbnail.plan(probe, { ...DEFAULT_PLAN_CONFIG, thumbnailCount: 4 });

    // Assess
    expect(branches).toEqual([
      { id: 'thumb-01', kind: 'thumbnail', atSec: 2, width: 320 },
      { id: 'thumb-02', kind: 'thumbnail', atSec: 4, width: 320 },
      { id: 'thumb-03', kind: 'thumbnail', atSec: 6, width: 320 },
      { id: 'thumb-04', kind: 'thumbnail', atSec: 8, width: 320 },
    ]);
  });

  it('adds requested times as thumb-at-<s>s, even past the end, without duplicates', () => {
    // Prepare
    const probe = probeFactory({ durationSec: 3, requestedThumbnailTimes: [1, 2.5, 2.5, 999] });

    // Act
    const branches = thumbnail.plan(probe, DEFAULT_PLAN_CONFIG);

    // Assess
    expect(branches.map((b) => b.id)).toEqual([
      'thumb-01',
      'thumb-02',
      'thumb-03',
      'thumb-at-1s',
      'thumb-at-2-5s',
      'thumb-at-999s',
    ]);
    expect(branches.at(-1)).toEqual({
      id: 'thumb-at-999s',
      kind: 'thumbnail',
      atSec: 999,
      width: 320,
    });
  });

  it('plans only requested thumbnails when THUMBNAIL_COUNT is 0', () => {
    // Prepare
    const probe = probeFactory({ requestedThumbnailTimes: [0.5] });

    // Act
    const branches = thumbnail.plan(probe, { ...DEFAULT_PLAN_CONFIG, thumbnailCount: 0 });

    // Assess
    expect(branches).toEqual([{ id: 'thumb-at-0-5s', kind: 'thumbnail', atSec: 0.5, width: 320 }]);
  });

  it('uses the configured width', () => {
    // Prepare
    const config = { ...DEFAULT_PLAN_CONFIG, thumbnailCount: 1, thumbnailWidth: 160 };

    // Act
    const [branch] = thumbnail.plan(probeFactory({ durationSec: 4 }), config);

    // Assess
    expect(branch).toEqual({ id: 'thumb-01', kind: 'thumbnail', atSec: 2, width: 160 });
  });
});

describe('requestedThumbnailId', () => {
  it.each([
    { atSec: 0, id: 'thumb-at-0s' },
    { atSec: 2.5, id: 'thumb-at-2-5s' },
    { atSec: 1.05, id: 'thumb-at-1-05s' },
    { atSec: 0.001, id: 'thumb-at-0-001s' },
    { atSec: 999, id: 'thumb-at-999s' },
    { atSec: 3600.25, id: 'thumb-at-3600-25s' },
  ])('names $atSec s "$id"', ({ atSec, id }) => {
    // Act
    const name = requestedThumbnailId(atSec);

    // Assess
    expect(name).toBe(id);
    expect(BranchIdSchema.safeParse(name).success).toBe(true);
  });

  it('gives distinct ids to times that differ by a millisecond', () => {
    // Prepare
    const times = [1, 1.001, 1.01, 1.1, 10.1, 11];

    // Act
    const ids = times.map(requestedThumbnailId);

    // Assess
    expect(new Set(ids).size).toBe(times.length);
  });
});

describe('requested thumbnail times from upload metadata to branch ids', () => {
  it.each([
    { raw: '123456789.123', ids: ['thumb-at-123456789-123s'] },
    { raw: '1000000000000', ids: ['thumb-at-1000000000000s'] },
    { raw: '1e21', ids: [] },
    { raw: '1e20,7', ids: ['thumb-at-7s'] },
    { raw: '1e300', ids: [] },
  ])('turns thumbnail-times "$raw" into ids the contract accepts: $ids', ({ raw, ids }) => {
    // Prepare: the probe parses the metadata, the thumbnail kind names the branches.
    const probe = probeFactory({ requestedThumbnailTimes: parseThumbnailTimes(raw) });

    // Act
    const branches = thumbnail.plan(probe, { ...DEFAULT_PLAN_CONFIG, thumbnailCount: 0 });

    // Assess
    expect(branches.map((b) => b.id)).toEqual(ids);
    for (const b of branches) expect(BranchIdSchema.safeParse(b.id).success).toBe(true);
  });
});
