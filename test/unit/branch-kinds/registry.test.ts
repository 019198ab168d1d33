import '../../helpers/env.js';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BranchIdSchema,
  BranchKindNameSchema,
  InvalidEventError,
  InvalidVideoError,
} from '../../../contract/index.js';
import { KINDS } from '../../../kinds/index.js';
import {
  AnyBranchSchema,
  BRANCH_KINDS,
  DEFAULT_PLAN_CONFIG,
  kindOf,
  loadKindWork,
  planBranches,
} from '../../../lambdas/branch-kinds/index.js';
import { probeFactory } from '../../helpers/factories.js';

/**
 * "Adding a kind = one module + its registration": nothing below names a
 * kind. Every check iterates BRANCH_KINDS, so a newly registered kind is held
 * to the same rules without editing this file.
 */
const hd = probeFactory({ width: 1920, height: 1080, durationSec: 10 });
const kindNames = BRANCH_KINDS.map((k) => k.kind);
/**
 * Kinds that plan nothing: a fallback runs only in place of a failed origin
 * (the policy's fallbackFor); a segment is listed by its segmented rendition
 * and run by the segment Distributed Map, never by the FanOut.
 */
const FALLBACK_ONLY: readonly string[] = KINDS.filter(
  (k) => k.policy.fallbackFor !== undefined || k.runBy === 'segments'
).map((k) => k.kind);
const PLANNED_KINDS = BRANCH_KINDS.filter((k) => !FALLBACK_ONLY.includes(k.kind));

describe('the registry of branch kinds', () => {
  it('registers each kind once, under a name the contract accepts', () => {
    // Prepare
    const names = kindNames;

    // Act
    const invalid = names.filter((n) => !BranchKindNameSchema.safeParse(n).success);

    // Assess
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
    expect(invalid).toEqual([]);
  });

  it('plans no branch of a fallback-only kind', () => {
    // Act
    const { branches } = planBranches(hd, DEFAULT_PLAN_CONFIG);
    // Assess
    expect(branches.filter((b) => FALLBACK_ONLY.includes(b.kind))).toEqual([]);
  });

  it.each(PLANNED_KINDS.map((k) => ({ kind: k.kind, k })))(
    'plans at least one $kind branch for a 1080p video, each dispatched back to $kind',
    ({ k }) => {
      // Act
      const { branches } = planBranches(hd, DEFAULT_PLAN_CONFIG);

      // Assess
      const ofKind = branches.filter((b) => b.kind === k.kind);
      expect(ofKind.length).toBeGreaterThan(0);
      for (const branch of ofKind) expect(kindOf(branch)).toBe(k);
    }
  );

  it.each(BRANCH_KINDS.map((k) => ({ kind: k.kind, k })))(
    'the schema union and the $kind schema both accept every planned $kind branch unchanged',
    ({ k }) => {
      // Prepare
      const planned = k.plan(hd, DEFAULT_PLAN_CONFIG);

      // Act
      const viaUnion = planned.map((b) => AnyBranchSchema.safeParse(b));
      const viaKind = planned.map((b) => k.schema.safeParse(b));

      // Assess
      expect(viaUnion.map((r) => r.success)).toEqual(planned.map(() => true));
      expect(viaUnion.map((r) => r.data)).toEqual(planned);
      expect(viaKind.map((r) => r.success)).toEqual(planned.map(() => true));
    }
  );

  it.each(BRANCH_KINDS.map((k) => ({ kind: k.kind, k })))(
    'declares a sizing for the $kind function within Lambda limits',
    ({ k }) => {
      // Prepare: Lambda's documented bounds (MB, seconds, MB of /tmp).
      const { memoryMiB, timeoutSeconds, ephemeralStorageMiB } = k.sizing;

      // Assess
      expect(memoryMiB).toBeGreaterThanOrEqual(128);
      expect(memoryMiB).toBeLessThanOrEqual(10_240);
      expect(timeoutSeconds).toBeGreaterThanOrEqual(1);
      expect(timeoutSeconds).toBeLessThanOrEqual(900);
      expect(ephemeralStorageMiB).toBeGreaterThanOrEqual(512);
      expect(ephemeralStorageMiB).toBeLessThanOrEqual(10_240);
    }
  );

  it('rejects an unknown kind in the schema union and in the dispatch, naming the known kinds', () => {
    // Prepare
    const unknown = { id: 'hologram-1', kind: 'hologram' };

    // Act
    const parsed = AnyBranchSchema.safeParse(unknown);
    const dispatch = () => kindOf(unknown);

    // Assess
    expect(parsed.success).toBe(false);
    expect(dispatch).toThrow(InvalidEventError);
    expect(dispatch).toThrow('unknown branch kind "hologram"');
    for (const name of kindNames) expect(dispatch).toThrow(name);
  });
});

describe("finding a kind's work by its file name", () => {
  it('fails for a registered kind without its work file, naming the file it looked for', async () => {
    // Act
    const load = loadKindWork({ ...KINDS[0], kind: 'hologram' });

    // Assess
    await expect(load).rejects.toThrow(
      'kind "hologram" is registered in kinds/registry.ts but declares no command and lambdas/branch-kinds/work/hologram.ts does not load'
    );
  });

  it('holds in work/ the modules of registered kinds without a command only, one each', () => {
    // Prepare: esbuild bundles every file of work/ into each branch function as a kind.
    const dir = fileURLToPath(new URL('../../../lambdas/branch-kinds/work/', import.meta.url));

    // Act
    const files = readdirSync(dir)
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();

    // Assess
    expect(files).toEqual(
      KINDS.filter((d) => !('command' in d))
        .map((d) => d.kind)
        .sort()
    );
  });

  it.each(KINDS.filter((d) => !('command' in d)).map((d) => ({ kind: d.kind, d })))(
    'finds the work of $kind in its own file, built on its descriptor',
    async ({ d }) => {
      // Act
      const work = await loadKindWork(d);

      // Assess
      expect(work.kind).toBe(d.kind);
      expect(work.schema).toBe(d.schema);
      expect(work.sizing).toEqual(d.sizing);
    }
  );
});

describe('planBranches', () => {
  it('lists every kind in registry order, with unique ids the contract accepts', () => {
    // Prepare
    const probe = probeFactory({
      width: 1920,
      height: 1080,
      durationSec: 10,
      requestedThumbnailTimes: [0, 1, 2.5, 99],
    });

    // Act
    const { branches } = planBranches(probe, DEFAULT_PLAN_CONFIG);

    // Assess
    const ids = branches.map((b) => b.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => !BranchIdSchema.safeParse(id).success)).toEqual([]);
    const kindOrder = [...new Set(branches.map((b) => b.kind))];
    expect(kindOrder).toEqual(PLANNED_KINDS.map((k) => k.kind));
  });

  it('enforces maxBranches with InvalidVideoError naming both counts', () => {
    // Prepare: 3 evenly spaced + 20 requested thumbnails, plus every other kind's branches.
    const times = Array.from({ length: 20 }, (_, i) => i / 10);
    const probe = probeFactory({ height: 360, requestedThumbnailTimes: times });
    const planned = planBranches(probe, DEFAULT_PLAN_CONFIG).branches.length;

    // Act
    const act = () => planBranches(probe, { ...DEFAULT_PLAN_CONFIG, maxBranches: planned - 1 });

    // Assess
    expect(planned).toBeGreaterThan(23);
    expect(act).toThrow(InvalidVideoError);
    expect(act).toThrow(`plan has ${planned} branches, more than the limit of ${planned - 1}`);
  });

  it('accepts exactly maxBranches branches', () => {
    // Prepare
    const probe = probeFactory({ height: 360 });
    const planned = planBranches(probe, DEFAULT_PLAN_CONFIG).branches.length;
    const config = { ...DEFAULT_PLAN_CONFIG, maxBranches: planned };

    // Act
    const { branches } = planBranches(probe, config);

    // Assess
    expect(branches).toHaveLength(planned);
  });

  it('is pure: the same probe and configuration give the same plan', () => {
    // Prepare
    const probe = probeFactory({ requestedThumbnailTimes: [1.2345, 7] });

    // Act
    const [a, b] = [
      planBranches(probe, DEFAULT_PLAN_CONFIG),
      planBranches(structuredClone(probe), { ...DEFAULT_PLAN_CONFIG }),
    ];

    // Assess
    expect(a).toEqual(b);
  });
});
