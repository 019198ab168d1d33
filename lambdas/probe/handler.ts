import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { InvalidVideoError, WorkflowInputSchema } from '../../contract/index.js';
import { logger, metrics } from '../shared/powertools.js';
import { defineStateTask } from '../shared/state-task.js';
import { maxExtraThumbnailsFromEnv, probeUpload } from './logic.js';

/** The stack's maxExtraThumbnails; parsed once, so a bad value fails the first invocation loudly. */
const maxExtraThumbnails = maxExtraThumbnailsFromEnv();

/** Leaves time to report a named error before Lambda's own timeout. */
const SAFETY_MARGIN_MS = 5_000;

/**
 * State task. Input: WorkflowInput `{videoId, source}`. Output: ProbeResult.
 * Throws InvalidVideoError (terminal) for uploads that are not playable videos.
 */
export const handler = defineStateTask(WorkflowInputSchema, 'probe input', (input, context) => {
  const started = performance.now();
  return probeUpload(input, {
    timeoutMs: context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS,
    maxExtraThumbnails,
  }).then(
    (probe) => {
      logger.info('Upload accepted', { probe });
      // The aggregator prices this task from it (contract/cost.ts).
      return { ...probe, taskDurationMs: Math.ceil(performance.now() - started) };
    },
    (err: unknown) => {
      if (err instanceof InvalidVideoError) {
        logger.warn('Upload rejected', { reason: err.message });
        metrics.addMetric('UploadsRejected', MetricUnit.Count, 1);
      }
      throw err;
    }
  );
});
