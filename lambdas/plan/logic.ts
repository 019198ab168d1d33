import { InvalidVideoError } from '../shared/errors.js';
import type { BranchTask, Plan, ProbeResult } from '../shared/schemas.js';

export interface PlanConfig {
  thumbnailCount: number;
  thumbnailWidth: number;
  renditionHeights: number[];
  maxTasks: number;
}

export const DEFAULT_PLAN_CONFIG: PlanConfig = {
  thumbnailCount: 3,
  thumbnailWidth: 320,
  renditionHeights: [360, 720],
  maxTasks: 1000,
};

const intFrom = (raw: string | undefined, fallback: number, min: number): number => {
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`Invalid configuration: expected an integer >= ${min}, got "${raw}"`);
  }
  return n;
};

/** Reads THUMBNAIL_COUNT, THUMBNAIL_WIDTH, RENDITION_HEIGHTS, MAX_TASKS. Bad values fail loudly. */
export const planConfigFromEnv = (env: NodeJS.ProcessEnv = process.env): PlanConfig => ({
  thumbnailCount: intFrom(env.THUMBNAIL_COUNT, DEFAULT_PLAN_CONFIG.thumbnailCount, 0),
  thumbnailWidth: intFrom(env.THUMBNAIL_WIDTH, DEFAULT_PLAN_CONFIG.thumbnailWidth, 2),
  renditionHeights: env.RENDITION_HEIGHTS?.trim()
    ? env.RENDITION_HEIGHTS.split(',').map((h) => intFrom(h, 0, 2))
    : DEFAULT_PLAN_CONFIG.renditionHeights,
  maxTasks: intFrom(env.MAX_TASKS, DEFAULT_PLAN_CONFIG.maxTasks, 1),
});

const round3 = (n: number): number => Math.round(n * 1000) / 1000;
const pad2 = (i: number): string => String(i).padStart(2, '0');
const even = (n: number): number => Math.max(2, Math.floor(n / 2) * 2);

/**
 * Renditions never upscale. A source smaller than every configured height
 * still gets one rendition at its own height, so every video gets a
 * normalised H.264/AAC MP4.
 */
export const renditionHeightsFor = (sourceHeight: number, configured: number[]): number[] => {
  const fit = [...new Set(configured.map(even))]
    .filter((h) => h <= sourceHeight)
    .sort((a, b) => a - b);
  return fit.length > 0 ? fit : [even(sourceHeight)];
};

/**
 * Turns a probe into the Map's items. Pure: the same probe and config always
 * give the same plan, so a retried plan step cannot change the fan-out.
 *
 * Requested thumbnail times are kept even past the end of the video: that
 * branch fails with FrameNotFoundError and the video ends PARTIAL, which tells
 * the uploader their request was wrong instead of silently dropping it.
 */
export const buildPlan = (probe: ProbeResult, config: PlanConfig = DEFAULT_PLAN_CONFIG): Plan => {
  const tasks: BranchTask[] = [];
  const n = config.thumbnailCount;
  for (let i = 0; i < n; i++) {
    tasks.push({
      id: `thumb-${pad2(i + 1)}`,
      kind: 'thumbnail',
      atSec: round3((probe.durationSec * (i + 1)) / (n + 1)),
      width: config.thumbnailWidth,
    });
  }
  const seen = new Set<string>();
  for (const atSec of probe.requestedThumbnailTimes ?? []) {
    const id = `thumb-at-${Math.round(atSec * 1000)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    tasks.push({ id, kind: 'thumbnail', atSec: round3(atSec), width: config.thumbnailWidth });
  }
  for (const height of renditionHeightsFor(probe.height, config.renditionHeights)) {
    tasks.push({ id: `rendition-${height}p`, kind: 'rendition', height });
  }
  tasks.push({ id: 'metadata', kind: 'metadata' });

  if (tasks.length > config.maxTasks) {
    throw new InvalidVideoError(
      `plan has ${tasks.length} tasks, more than the limit of ${config.maxTasks} (too many thumbnail-times?)`
    );
  }
  return { tasks };
};
