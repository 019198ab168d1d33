import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod/mini';
import {
  ProbeResultSchema,
  THUMBNAIL_TIMES_METADATA,
  WorkflowInputSchema,
} from '../../contract/index.js';
import { planBranches } from '../branch-kinds/index.js';
import { requireEnv } from '../shared/env.js';
import { logger, metrics } from '../shared/powertools.js';
import { pinnedHead, putJson } from '../shared/s3.js';
import { defineStateTask } from '../shared/state-task.js';
import {
  planConfigFromEnv,
  planForRedrive,
  planWarnings,
  sourceWarnings,
  withSegmentItems,
} from './logic.js';

const PlanInputSchema = z.extend(WorkflowInputSchema, { probe: ProbeResultSchema });
/** Parsed once per environment: a bad value fails the first invocation loudly. */
const config = planConfigFromEnv();

/**
 * State task. Input: `{videoId, source, probe}`. Output: Plan `{branches,
 * segments?}`, derived from the registry of branch kinds. The plan is pure, so
 * a retried Plan step cannot change the fan-out; its only write is the segment
 * items file of a long source (same key, same content on a retry). Its only read
 * is the upload's metadata, pinned to the same version, when the probe counted
 * ignored thumbnail-times (the warnings). Env: THUMBNAIL_COUNT, THUMBNAIL_WIDTH,
 * MAX_EXTRA_THUMBNAILS, RENDITION_HEIGHTS, MAX_BRANCHES, SEGMENT_*; OUTPUT_BUCKET (segment items).
 */
export const handler = defineStateTask(PlanInputSchema, 'plan input', async (input) => {
  const started = performance.now();
  const planned = await withSegmentItems(
    planForRedrive(planBranches(input.probe, config), input.redrive),
    input.videoId,
    async (key, items) => {
      await putJson(requireEnv('OUTPUT_BUCKET'), key, items);
    },
    input.probe.audioCodec !== null ? { audio: { durationSec: input.probe.durationSec } } : {}
  );
  const warnings = [
    ...sourceWarnings(input.probe),
    ...(await planWarnings(input.probe, config.maxExtraThumbnails, async () => {
      const head = await pinnedHead(input.source);
      return head.Metadata?.[THUMBNAIL_TIMES_METADATA];
    })),
  ];
  const plan = warnings.length > 0 ? { ...planned, warnings } : planned;
  logger.info('Planned', {
    branches: plan.branches.length,
    warnings: warnings.length,
    segments: plan.segments?.count ?? 0,
    redrive: input.redrive,
  });
  metrics.addMetric('BranchesPlanned', MetricUnit.Count, plan.branches.length);
  if (plan.segments) metrics.addMetric('SegmentsPlanned', MetricUnit.Count, plan.segments.count);
  // The aggregator prices this task from it (contract/cost.ts).
  return { ...plan, taskDurationMs: Math.ceil(performance.now() - started) };
});
