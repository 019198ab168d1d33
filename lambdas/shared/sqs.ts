import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { InvalidEventError } from '../../contract/index.js';
import { logger, metrics, tracer } from './powertools.js';

/** One client per process, reused across warm invocations. */
export const sqs = tracer.captureAWSv3Client(new SQSClient({}));

/**
 * A message that can never be processed (its body is not an event we accept)
 * goes straight to the consumer's DLQ with the reason as message attributes,
 * instead of being retried up to maxReceiveCount times. That matters where a
 * queue allows many receives for another reason (the starter's backpressure
 * holds uploads back for hours). Returns false when the error is not such a
 * poison, or no DLQ is configured (env DEAD_LETTER_QUEUE_URL): the caller
 * then reports a batch item failure as usual.
 */
export const deadLetterPoison = async (record: SQSRecord, err: unknown): Promise<boolean> => {
  const queueUrl = process.env.DEAD_LETTER_QUEUE_URL;
  if (!(err instanceof InvalidEventError) || !queueUrl) return false;
  const text = (v: string) => ({ DataType: 'String', StringValue: v.slice(0, 1024) || '-' });
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: record.body,
      MessageAttributes: {
        'error-name': text(err.name),
        'error-message': text(err.message),
        'source-message-id': text(record.messageId),
      },
    })
  );
  logger.warn('Poison message moved to the dead-letter queue', {
    messageId: record.messageId,
    error: err.message,
  });
  metrics.addMetric('MessagesDeadLettered', MetricUnit.Count, 1);
  return true;
};
