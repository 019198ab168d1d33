import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSHandler, SQSRecord } from 'aws-lambda';
import { requireEnv } from '../shared/env.js';
import { metrics } from '../shared/powertools.js';
import { handleUploadMessage } from './logic.js';

/**
 * SQS (raw SNS delivery of S3 notifications) → StartExecution per upload.
 * Env: STATE_MACHINE_ARN.
 * A record that throws (malformed body, SFN throttling) is reported as a batch
 * item failure, retried by SQS and dead-lettered after maxReceiveCount.
 */
const processor = new BatchProcessor(EventType.SQS);

const recordHandler = async (record: SQSRecord): Promise<void> => {
  await handleUploadMessage(record.body, requireEnv('STATE_MACHINE_ARN'));
};

export const handler: SQSHandler = async (event, context) =>
  processPartialResponse(event, recordHandler, processor, { context }).finally(() =>
    metrics.publishStoredMetrics()
  );

export { processor };
