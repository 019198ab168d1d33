import { requireEnv } from '../shared/env.js';
import { defineQueueConsumer } from '../shared/queue-consumer.js';
import { handleUploadMessage } from './logic.js';

/**
 * SQS (raw SNS delivery of S3 notifications) → StartExecution per upload.
 * Env: STATE_MACHINE_ARN. A record that throws (malformed body, SFN
 * throttling) is reported as a batch item failure, retried by SQS and
 * dead-lettered after maxReceiveCount.
 */
export const { handler, processor } = defineQueueConsumer((body) =>
  handleUploadMessage(body, requireEnv('STATE_MACHINE_ARN'))
);
