import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod/mini';
import { ProbeResultSchema, WorkflowInputSchema } from '../../contract/index.js';
import { planBranches } from '../branch-kinds/index.js';
import { logger, metrics } from '../shared/powertools.js';
import { defineStateTask } from '../shared/state-task.js';
import { planConfigFromEnv, planForRedrive } from './logic.js';

const PlanInputSchema = z.extend(WorkflowInputSchema, { probe: ProbeResultSchema });
/** Parsed once per environment: a bad value fails the first invocation loudly. */
const config = planConfigFromEnv();

/**
 * State task. Input: `{videoId, source, probe}`. Output: Plan `{branches}`,
 * derived from the registry of branch kinds. Pure: no I/O, so a retried Plan
 * step cannot change the fan-out. Env: THUMBNAIL_COUNT, THUMBNAIL_WIDTH,
 * RENDITION_HEIGHTS, MAX_BRANCHES.
 */
export const handler = defineStateTask(PlanInputSchema, 'plan input', async (input) => {
  const started = performance.now();
  const plan = planForRedrive(planBranches(input.probe, config), input.redrive);
  logger.info('Planned', { branches: plan.branches.length, redrive: input.redrive });
  metrics.addMetric('BranchesPlanned', MetricUnit.Count, plan.branches.length);
  // The aggregator prices this task from it (contract/cost.ts).
  return { ...plan, taskDurationMs: Math.ceil(performance.now() - started) };
});
