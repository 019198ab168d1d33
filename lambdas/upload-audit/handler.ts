import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSHandler, SQSRecord } from 'aws-lambda';
import { requireEnv } from '../shared/env.js';
import { metrics } from '../shared/powertools.js';
import { auditUploadMessage } from './logic.js';

/**
 * Second, independent subscriber to the upload topic: HEADs each upload and
 * writes an audit document. Env: AUDIT_BUCKET.
 */
const processor = new BatchProcessor(EventType.SQS);

const recordHandler = async (record: SQSRecord): Promise<void> => {
  await auditUploadMessage(record.body, requireEnv('AUDIT_BUCKET'));
};

export const handler: SQSHandler = async (event, context) =>
  processPartialResponse(event, recordHandler, processor, { context }).finally(() =>
    metrics.publishStoredMetrics()
  );

export { processor };
