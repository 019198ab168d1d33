import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSHandler, SQSRecord } from 'aws-lambda';
import { applyOverflow, overflowConfigFromEnv } from './overflow.js';
import { correlateRecordTenant, flushMetrics } from './powertools.js';
import { tenantsInBody } from './s3-events.js';
import { deadLetterPoison } from './sqs.js';

/**
 * The one shape of an SQS consumer: the queue's overflow policy (env
 * OVERFLOW_POLICY, set by the QueueWorker construct; see overflow.ts) first
 * drops or spills what it must, then each kept record's body goes to
 * `handleBody`; a poison record (not an event we accept) goes straight to the
 * DLQ with its reason (see deadLetterPoison); any other record that throws is
 * reported as a batch item failure (retried by SQS, dead-lettered after
 * maxReceiveCount) while the others are acknowledged.
 * Every log line of a record carries its upload's tenant; records are
 * therefore processed one at a time (see correlateRecordTenant).
 * Metrics are flushed however the batch ends. The processor is returned too,
 * so tests can inspect its failure messages.
 */
export const defineQueueConsumer = (
  handleBody: (body: string) => Promise<unknown>
): { handler: SQSHandler; processor: BatchProcessor } => {
  const processor = new BatchProcessor(EventType.SQS);
  const handler: SQSHandler = async (event, context): Promise<SQSBatchResponse> => {
    try {
      // A bad policy fails the batch loudly instead of processing it as `block`.
      const overflow = await applyOverflow(event.Records, overflowConfigFromEnv(), tenantsInBody);
      const movedAside = overflow.keep.length < event.Records.length;
      const processed = await processPartialResponse(
        { Records: overflow.keep },
        async (record: SQSRecord) => {
          correlateRecordTenant(record.body, tenantsInBody);
          try {
            await handleBody(record.body);
          } catch (err) {
            if (!(await deadLetterPoison(record, err))) throw err;
          }
        },
        processor,
        // Once part of the batch was dropped or spilled, a wholly failed rest must not
        // fail the whole batch: the moved part would come back and be counted twice.
        { context, processInParallel: false, throwOnFullBatchFailure: !movedAside }
      );
      return { batchItemFailures: [...processed.batchItemFailures, ...overflow.failures] };
    } finally {
      flushMetrics();
    }
  };
  return { handler, processor };
};
