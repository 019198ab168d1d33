import { InvalidEventError, type Plan, type RedriveRequest } from '../../contract/index.js';
import { DEFAULT_PLAN_CONFIG, type PlanConfig } from '../branch-kinds/index.js';

const intFrom = (name: string, raw: string | undefined, fallback: number, min: number): number => {
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`Invalid configuration ${name}: expected an integer >= ${min}, got "${raw}"`);
  }
  return n;
};

/** Reads THUMBNAIL_COUNT, THUMBNAIL_WIDTH, RENDITION_HEIGHTS, MAX_BRANCHES. Bad values fail loudly. */
export const planConfigFromEnv = (env: NodeJS.ProcessEnv = process.env): PlanConfig => ({
  thumbnailCount: intFrom(
    'THUMBNAIL_COUNT',
    env.THUMBNAIL_COUNT,
    DEFAULT_PLAN_CONFIG.thumbnailCount,
    0
  ),
  thumbnailWidth: intFrom(
    'THUMBNAIL_WIDTH',
    env.THUMBNAIL_WIDTH,
    DEFAULT_PLAN_CONFIG.thumbnailWidth,
    2
  ),
  renditionHeights: env.RENDITION_HEIGHTS?.trim()
    ? env.RENDITION_HEIGHTS.split(',').map((h) => intFrom('RENDITION_HEIGHTS', h, 0, 2))
    : DEFAULT_PLAN_CONFIG.renditionHeights,
  maxBranches: intFrom('MAX_BRANCHES', env.MAX_BRANCHES, DEFAULT_PLAN_CONFIG.maxBranches, 1),
});

/**
 * A redrive runs only the branches it names (`redrive.branches`); the others
 * keep their previous result. The plan is recomputed from the same probe and
 * configuration, so a named branch that the plan no longer has means the
 * configuration changed since the first run: that fails loudly rather than
 * redriving something else.
 */
export const planForRedrive = (plan: Plan, redrive: RedriveRequest | undefined): Plan => {
  if (!redrive || redrive.branches === null) return plan;
  const wanted = new Set(redrive.branches);
  const branches = plan.branches.filter((b) => wanted.has(b.id));
  const unknown = redrive.branches.filter((id) => !plan.branches.some((b) => b.id === id));
  if (unknown.length > 0 || branches.length === 0) {
    throw new InvalidEventError(
      `redrive names branches the plan does not have: ${unknown.join(', ') || '(none named)'}; ` +
        `planned: ${plan.branches.map((b) => b.id).join(', ')}`
    );
  }
  return { branches };
};
