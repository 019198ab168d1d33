import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSHandler, SQSRecord } from 'aws-lambda';
import { requireEnv } from '../shared/env.js';
import { applyOverflow, overflowConfigFromEnv } from '../shared/overflow.js';
import { logger, metrics } from '../shared/powertools.js';
import { tenantsInBody } from '../shared/s3-events.js';
import { deadLetterPoison } from '../shared/sqs.js';
import { auditUploadMessage } from './logic.js';

export const processor = new BatchProcessor(EventType.SQS);

/**
 * Second, independent subscriber to the upload topic: HEADs each upload and
 * writes an audit document. It takes its batch as a batch ("BatchSize records
 * or MaximumBatchingWindowInSeconds", set on the QueueWorker): the queue's
 * overflow policy (the stack sets `spill` after `auditStaleAfter`: a message
 * that waited longer goes to the audit DLQ, to be redriven) moves records aside
 * together (lambdas/shared/overflow.ts), the kept ones are audited concurrently
 * by Powertools' batch processor, and failures are reported per record.
 * Env: AUDIT_BUCKET, DEAD_LETTER_QUEUE_URL, OVERFLOW_POLICY.
 */
export const handler: SQSHandler = async (event, context): Promise<SQSBatchResponse> => {
  const bucket = requireEnv('AUDIT_BUCKET');
  try {
    // A bad policy fails the batch loudly instead of auditing everything in line.
    const overflow = await applyOverflow(event.Records, overflowConfigFromEnv(), tenantsInBody);
    const audited = await processPartialResponse(
      { Records: overflow.keep },
      async (record: SQSRecord) => {
        try {
          await auditUploadMessage(record.body, bucket);
        } catch (err) {
          if (!(await deadLetterPoison(record, err))) throw err;
        }
      },
      processor,
      // A wholly failed kept part must not fail the batch: the rest was already moved.
      { context, throwOnFullBatchFailure: false }
    );
    const batchItemFailures = [...audited.batchItemFailures, ...overflow.failures];
    logger.info('Audit batch done', {
      records: event.Records.length,
      movedAside: event.Records.length - overflow.keep.length,
      failed: batchItemFailures.length,
    });
    return { batchItemFailures };
  } finally {
    metrics.publishStoredMetrics();
  }
};
