import type { Context } from 'aws-lambda';
import { requireEnv } from '../shared/env.js';
import { correlate, logger, metrics } from '../shared/powertools.js';
import { AggregateInputSchema, type AggregateOutput } from '../shared/schemas.js';
import { parseEvent } from '../shared/validate.js';
import { aggregate } from './logic.js';

/**
 * Fan-in task. Input: AggregateInput (the whole state, with `failure` when
 * probe/plan/Map failed). Output: AggregateOutput `{videoId, status, reason,
 * manifestKey}`; the state machine fails the execution when status is FAILED.
 * Env: OUTPUT_BUCKET, PROCESSED_TOPIC_ARN.
 */
export const handler = async (event: unknown, context: Context): Promise<AggregateOutput> => {
  logger.addContext(context);
  const input = parseEvent(AggregateInputSchema, event, 'aggregate input');
  correlate(input.videoId);
  try {
    return await aggregate(input, {
      outputBucket: requireEnv('OUTPUT_BUCKET'),
      topicArn: requireEnv('PROCESSED_TOPIC_ARN'),
    });
  } finally {
    metrics.publishStoredMetrics();
  }
};
