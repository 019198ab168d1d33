import { AggregateInputSchema } from '../../contract/index.js';
import { requireEnv } from '../shared/env.js';
import { defineStateTask } from '../shared/state-task.js';
import { costProfileFromEnv } from './cost-profile.js';
import { aggregate } from './logic.js';

/** Parsed once per environment (COST_PROFILE is written by the stack at synth). */
const costProfile = costProfileFromEnv();

/**
 * Fan-in task. Input: AggregateInput (the whole state, with `failure` when
 * probe/plan/Map failed). Output: AggregateOutput `{videoId, status, reason,
 * manifestKey}`; the state machine fails the execution when status is FAILED.
 * Env: OUTPUT_BUCKET, PROCESSED_TOPIC_ARN, COST_PROFILE.
 */
export const handler = defineStateTask(AggregateInputSchema, 'aggregate input', (input) =>
  aggregate(input, {
    outputBucket: requireEnv('OUTPUT_BUCKET'),
    topicArn: requireEnv('PROCESSED_TOPIC_ARN'),
    costProfile,
  })
);
