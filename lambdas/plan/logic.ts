import {
  InvalidEventError,
  type Plan,
  type ProbeResult,
  type RedriveRequest,
  readThumbnailTimes,
  segmentItemsKey,
  thumbnailTimeWarnings,
} from '../../contract/index.js';
import {
  DEFAULT_PLAN_CONFIG,
  type PlanConfig,
  type RenditionBranch,
  segmentItemsFor,
} from '../branch-kinds/index.js';
import { audioPartItems } from '../branch-kinds/work/rendition-segment.js';

const intFrom = (name: string, raw: string | undefined, fallback: number, min: number): number => {
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`Invalid configuration ${name}: expected an integer >= ${min}, got "${raw}"`);
  }
  return n;
};

/**
 * Reads THUMBNAIL_COUNT, THUMBNAIL_WIDTH, MAX_EXTRA_THUMBNAILS, RENDITION_HEIGHTS, MAX_BRANCHES,
 * SEGMENT_THRESHOLD_SEC, SEGMENT_LENGTH_SEC, MAX_SEGMENTS, MAX_SEGMENT_SEC.
 * Bad values fail loudly.
 */
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
  maxExtraThumbnails: intFrom(
    'MAX_EXTRA_THUMBNAILS',
    env.MAX_EXTRA_THUMBNAILS,
    DEFAULT_PLAN_CONFIG.maxExtraThumbnails,
    0
  ),
  renditionHeights: env.RENDITION_HEIGHTS?.trim()
    ? env.RENDITION_HEIGHTS.split(',').map((h) => intFrom('RENDITION_HEIGHTS', h, 0, 2))
    : DEFAULT_PLAN_CONFIG.renditionHeights,
  maxBranches: intFrom('MAX_BRANCHES', env.MAX_BRANCHES, DEFAULT_PLAN_CONFIG.maxBranches, 1),
  segmentThresholdSec: intFrom(
    'SEGMENT_THRESHOLD_SEC',
    env.SEGMENT_THRESHOLD_SEC,
    DEFAULT_PLAN_CONFIG.segmentThresholdSec,
    1
  ),
  segmentLengthSec: intFrom(
    'SEGMENT_LENGTH_SEC',
    env.SEGMENT_LENGTH_SEC,
    DEFAULT_PLAN_CONFIG.segmentLengthSec,
    1
  ),
  maxSegments: intFrom('MAX_SEGMENTS', env.MAX_SEGMENTS, DEFAULT_PLAN_CONFIG.maxSegments, 2),
  maxSegmentSec: intFrom(
    'MAX_SEGMENT_SEC',
    env.MAX_SEGMENT_SEC,
    DEFAULT_PLAN_CONFIG.maxSegmentSec,
    1
  ),
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

/**
 * Writes the segment items of every segmented rendition (one JSON array, the
 * Distributed Map's ItemReader input), plus the audio part items when the
 * source has audio (`audio: {durationSec}`): K parts about as long as the
 * video segments, joined by stream copy by the part that completes the set,
 * so every rendition's join is a stream copy too. Returns the plan with a
 * reference to them. A plan without segmented renditions is returned
 * unchanged and nothing is written. The key is per video, so a retried Plan
 * overwrites the same file.
 */
export const withSegmentItems = async (
  plan: Plan,
  videoId: string,
  write: (key: string, items: unknown[]) => Promise<void>,
  { audio }: { audio?: { durationSec: number } | undefined } = {}
): Promise<Plan> => {
  const segmented = plan.branches.filter(
    (b): b is RenditionBranch =>
      b.kind === 'rendition' && (b as RenditionBranch).segmentation !== undefined
  );
  const segments = segmented.flatMap((b) => segmentItemsFor(b));
  if (segments.length === 0) return plan;
  // Every rendition of a video has the same cut; the parts follow its length.
  const lengthSec = segmented[0]!.segmentation!.lengthSec;
  // The audio first, interleaved with nothing: its join (and so every rendition's) waits for
  // its last part, so its parts should not queue behind the higher rungs' segments.
  const items = audio ? [...audioPartItems(audio.durationSec, lengthSec), ...segments] : segments;
  const key = segmentItemsKey(videoId);
  await write(key, items);
  return { ...plan, segments: { key, count: items.length } };
};

/**
 * What the pipeline chose for a source that left it a choice, so the uploader
 * learns it from the manifest: which of several audio tracks the outputs carry,
 * and the constant rate a variable-frame-rate source was converted to. Pure.
 */
export const sourceWarnings = (probe: ProbeResult): string[] => [
  ...(probe.audioTracks !== undefined && probe.audioTracks > 1
    ? [
        `the source has ${probe.audioTracks} audio tracks; the outputs carry track ` +
          `${(probe.audioTrack ?? 0) + 1} (${probe.audioTrack ? 'marked default' : 'the first'}) only`,
      ]
    : []),
  ...(probe.variableFrameRate !== undefined
    ? [
        `the source has a variable frame rate (${probe.variableFrameRate} fps on average); ` +
          `the outputs are converted to a constant ${probe.frameRate} fps`,
      ]
    : []),
];

/**
 * The manifest's warnings for the uploader's `thumbnail-times`: which entries
 * were invalid and which times went beyond the limit. The probe only counts
 * them (its result is copied into every branch's input), so when it counted
 * any, or handed over more times than the limit, the plan reads the metadata
 * again (`readTimes`: a HEAD pinned to the same object version) and lists
 * them. No warning: no read.
 */
export const planWarnings = async (
  probe: ProbeResult,
  limit: number,
  readTimes: () => Promise<string | undefined>
): Promise<string[]> => {
  const handed = probe.requestedThumbnailTimes?.length ?? 0;
  if (!probe.thumbnailTimesIgnored && handed <= limit) return [];
  return thumbnailTimeWarnings(readThumbnailTimes(await readTimes(), limit), limit);
};
