import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { requireEnv } from '../shared/env.js';
import { planKey } from '../shared/keys.js';
import { correlate, logger, metrics } from '../shared/powertools.js';
import { putJson } from '../shared/s3.js';
import { type Plan, ProbeResultSchema, WorkflowInputSchema } from '../shared/schemas.js';
import { parseEvent } from '../shared/validate.js';
import { buildPlan, planConfigFromEnv } from './logic.js';

const PlanInputSchema = z.extend(WorkflowInputSchema, { probe: ProbeResultSchema });

/**
 * State task. Input: `{videoId, source, probe}`. Output: Plan `{tasks}`.
 * Env: OUTPUT_BUCKET, THUMBNAIL_COUNT, THUMBNAIL_WIDTH, RENDITION_HEIGHTS, MAX_TASKS.
 * The plan is also written to S3 so progress displays can show "n of m".
 */
export const handler = async (event: unknown, context: Context): Promise<Plan> => {
  logger.addContext(context);
  const input: z.infer<typeof PlanInputSchema> = parseEvent(PlanInputSchema, event, 'plan input');
  correlate(input.videoId);
  try {
    const plan = buildPlan(input.probe, planConfigFromEnv());
    await putJson(requireEnv('OUTPUT_BUCKET'), planKey(input.videoId), {
      videoId: input.videoId,
      ...plan,
    });
    logger.info('Planned', { tasks: plan.tasks.length });
    metrics.addMetric('TasksPlanned', MetricUnit.Count, plan.tasks.length);
    return plan;
  } finally {
    metrics.publishStoredMetrics();
  }
};
