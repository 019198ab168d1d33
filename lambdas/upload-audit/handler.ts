import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSHandler, SQSRecord } from 'aws-lambda';
import { requireEnv } from '../shared/env.js';
import { logger, metrics } from '../shared/powertools.js';
import { deadLetterPoison } from '../shared/sqs.js';
import { auditUploadMessage } from './logic.js';
import { moveAside, partitionStale, staleAfterMsFromEnv } from './stale.js';

export const processor = new BatchProcessor(EventType.SQS);

/**
 * Second, independent subscriber to the upload topic: HEADs each upload and
 * writes an audit document. It takes its batch as a batch ("BatchSize records
 * or MaximumBatchingWindowInSeconds", set on the QueueWorker): stale records
 * are moved aside together (stale.ts), the fresh ones are audited concurrently
 * by Powertools' batch processor, and failures are reported per record.
 * Env: AUDIT_BUCKET, DEAD_LETTER_QUEUE_URL, AUDIT_STALE_AFTER_SECONDS.
 */
export const handler: SQSHandler = async (event, context): Promise<SQSBatchResponse> => {
  const bucket = requireEnv('AUDIT_BUCKET');
  const dlq = process.env.DEAD_LETTER_QUEUE_URL;
  // A bad value fails the batch loudly instead of auditing everything as fresh.
  const staleAfterMs = staleAfterMsFromEnv();
  try {
    // Without a DLQ there is nowhere to move a stale record, so it is audited like the others.
    const { stale, fresh } = partitionStale(
      event.Records,
      Date.now(),
      dlq ? staleAfterMs : undefined
    );
    const unmoved = dlq ? await moveAside(stale, dlq) : [];
    const audited = await processPartialResponse(
      { Records: fresh },
      async (record: SQSRecord) => {
        try {
          await auditUploadMessage(record.body, bucket);
        } catch (err) {
          if (!(await deadLetterPoison(record, err))) throw err;
        }
      },
      processor,
      // A wholly failed fresh part must not fail the batch: the stale part was already moved.
      { context, throwOnFullBatchFailure: false }
    );
    const batchItemFailures = [
      ...audited.batchItemFailures,
      ...unmoved.map((r) => ({ itemIdentifier: r.messageId })),
    ];
    logger.info('Audit batch done', {
      records: event.Records.length,
      stale: stale.length,
      failed: batchItemFailures.length,
    });
    return { batchItemFailures };
  } finally {
    metrics.publishStoredMetrics();
  }
};
