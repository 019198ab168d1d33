import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { InvalidVideoError } from '../shared/errors.js';
import { correlate, logger, metrics } from '../shared/powertools.js';
import { type ProbeResult, WorkflowInputSchema } from '../shared/schemas.js';
import { parseEvent } from '../shared/validate.js';
import { probeUpload } from './logic.js';

/** Leaves time to clean /tmp and report a named error before Lambda's own timeout. */
const SAFETY_MARGIN_MS = 5_000;

/**
 * State task. Input: WorkflowInput `{videoId, source}`. Output: ProbeResult.
 * Throws InvalidVideoError (terminal) for uploads that are not playable videos.
 */
export const handler = async (event: unknown, context: Context): Promise<ProbeResult> => {
  logger.addContext(context);
  const input = parseEvent(WorkflowInputSchema, event, 'probe input');
  correlate(input.videoId);
  try {
    const probe = await probeUpload(input, {
      timeoutMs: context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS,
    });
    logger.info('Upload accepted', { probe });
    return probe;
  } catch (err) {
    if (err instanceof InvalidVideoError) {
      logger.warn('Upload rejected', { reason: err.message });
      metrics.addMetric('UploadsRejected', MetricUnit.Count, 1);
    }
    throw err;
  } finally {
    metrics.publishStoredMetrics();
  }
};
