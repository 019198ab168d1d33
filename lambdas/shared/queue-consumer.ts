import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSHandler, SQSRecord } from 'aws-lambda';
import { correlateRecordTenant, flushMetrics } from './powertools.js';
import { tenantsInBody } from './s3-events.js';
import { deadLetterPoison } from './sqs.js';

/**
 * The one shape of an SQS consumer: each record's body goes to `handleBody`;
 * a poison record (not an event we accept) goes straight to the DLQ with its
 * reason (see deadLetterPoison); any other record that throws is reported as
 * a batch item failure (retried by SQS, dead-lettered after maxReceiveCount)
 * while the others are acknowledged.
 * Every log line of a record carries its upload's tenant; records are
 * therefore processed one at a time (see correlateRecordTenant).
 * Metrics are flushed however the batch ends. The processor is returned too,
 * so tests can inspect its failure messages.
 */
export const defineQueueConsumer = (
  handleBody: (body: string) => Promise<unknown>
): { handler: SQSHandler; processor: BatchProcessor } => {
  const processor = new BatchProcessor(EventType.SQS);
  const handler: SQSHandler = async (event, context) =>
    processPartialResponse(
      event,
      async (record: SQSRecord) => {
        correlateRecordTenant(record.body, tenantsInBody);
        try {
          await handleBody(record.body);
        } catch (err) {
          if (!(await deadLetterPoison(record, err))) throw err;
        }
      },
      processor,
      { context, processInParallel: false }
    ).finally(flushMetrics);
  return { handler, processor };
};
