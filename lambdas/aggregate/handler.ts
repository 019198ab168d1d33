import { AggregateInputSchema } from '../../contract/index.js';
import { requireEnv } from '../shared/env.js';
import { defineStateTask } from '../shared/state-task.js';
import { aggregate } from './logic.js';

/**
 * Fan-in task. Input: AggregateInput (the whole state, with `failure` when
 * probe/plan/Map failed). Output: AggregateOutput `{videoId, status, reason,
 * manifestKey}`; the state machine fails the execution when status is FAILED.
 * Env: OUTPUT_BUCKET, PROCESSED_TOPIC_ARN.
 */
export const handler = defineStateTask(AggregateInputSchema, 'aggregate input', (input) =>
  aggregate(input, {
    outputBucket: requireEnv('OUTPUT_BUCKET'),
    topicArn: requireEnv('PROCESSED_TOPIC_ARN'),
  })
);
