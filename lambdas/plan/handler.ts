import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod/mini';
import { ProbeResultSchema, WorkflowInputSchema } from '../../contract/index.js';
import { planBranches } from '../branch-kinds/index.js';
import { requireEnv } from '../shared/env.js';
import { logger, metrics } from '../shared/powertools.js';
import { putJson } from '../shared/s3.js';
import { defineStateTask } from '../shared/state-task.js';
import { planConfigFromEnv, planForRedrive, withSegmentItems } from './logic.js';

const PlanInputSchema = z.extend(WorkflowInputSchema, { probe: ProbeResultSchema });
/** Parsed once per environment: a bad value fails the first invocation loudly. */
const config = planConfigFromEnv();

/**
 * State task. Input: `{videoId, source, probe}`. Output: Plan `{branches,
 * segments?}`, derived from the registry of branch kinds. The plan is pure, so
 * a retried Plan step cannot change the fan-out; its only write is the segment
 * items file of a long source (same key, same content on a retry). Env: THUMBNAIL_COUNT, THUMBNAIL_WIDTH,
 * RENDITION_HEIGHTS, MAX_BRANCHES, SEGMENT_*; OUTPUT_BUCKET (segment items).
 */
export const handler = defineStateTask(PlanInputSchema, 'plan input', async (input) => {
  const started = performance.now();
  const plan = await withSegmentItems(
    planForRedrive(planBranches(input.probe, config), input.redrive),
    input.videoId,
    async (key, items) => {
      await putJson(requireEnv('OUTPUT_BUCKET'), key, items);
    }
  );
  logger.info('Planned', {
    branches: plan.branches.length,
    segments: plan.segments?.count ?? 0,
    redrive: input.redrive,
  });
  metrics.addMetric('BranchesPlanned', MetricUnit.Count, plan.branches.length);
  if (plan.segments) metrics.addMetric('SegmentsPlanned', MetricUnit.Count, plan.segments.count);
  // The aggregator prices this task from it (contract/cost.ts).
  return { ...plan, taskDurationMs: Math.ceil(performance.now() - started) };
});
