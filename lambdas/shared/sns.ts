import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { rethrowClassified } from '../../shared/aws-errors.js';
import { tracer } from './powertools.js';

/** One client per process, reused across warm invocations. */
export const sns = tracer.captureAWSv3Client(new SNSClient({}));

/**
 * Publishes one JSON event with string message attributes (what subscription
 * filter policies match on). Throttling and 5xx become TransientServiceError,
 * so the state machine retries the step.
 *
 * `messageGroupId` (the tenant) turns on SQS fair queues in every standard
 * queue subscribed to the topic (SNS standard topics forward it since
 * 2025-07): a tenant with a backlog is de-prioritised in receives, not
 * dropped. Ordering is not affected. fauxqs drops it; nothing here relies on it.
 */
export const publishEvent = async (
  topicArn: string,
  event: unknown,
  attributes: Record<string, string>,
  action: string,
  messageGroupId?: string
): Promise<void> => {
  try {
    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: JSON.stringify(event),
        ...(messageGroupId ? { MessageGroupId: messageGroupId } : {}),
        MessageAttributes: Object.fromEntries(
          Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])
        ),
      })
    );
  } catch (err) {
    rethrowClassified(err, action);
  }
};
