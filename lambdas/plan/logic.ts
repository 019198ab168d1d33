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
