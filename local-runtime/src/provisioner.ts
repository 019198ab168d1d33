import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, type SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { LocalRuntimeError } from './errors.js';
import type { Logger } from './logger.js';
import type { QueueSpec, StackModel } from './model.js';

/** Dead-letter queues must exist before the queues whose RedrivePolicy names them. */
function dependencyOrder(queues: QueueSpec[]): QueueSpec[] {
  const byArn = new Map(queues.map((q) => [q.arn, q]));
  const done = new Set<string>();
  const out: QueueSpec[] = [];
  const visit = (q: QueueSpec, path: string[]) => {
    if (done.has(q.arn)) return;
    if (path.includes(q.arn))
      throw new LocalRuntimeError(`Redrive cycle between queues: ${path.join(' -> ')}`);
    const dlq = q.deadLetterTargetArn ? byArn.get(q.deadLetterTargetArn) : undefined;
    if (dlq) visit(dlq, [...path, q.arn]);
    done.add(q.arn);
    out.push(q);
  };
  for (const q of queues) visit(q, []);
  return out;
}

export interface ProvisionClients {
  /** On the runtime's public endpoint, so the queue URLs fauxqs hands out carry its host:port. */
  publicSqs: SQSClient;
  /** Topics, subscriptions and buckets are created on fauxqs directly. */
  sns: SNSClient;
  s3: S3Client;
}

/** Creates the stack's messaging and storage resources in fauxqs, through their APIs. */
export async function provision(
  model: StackModel,
  { publicSqs, sns, s3 }: ProvisionClients,
  logger: Logger
) {
  for (const q of dependencyOrder(model.queues)) {
    await publicSqs.send(new CreateQueueCommand({ QueueName: q.name, Attributes: q.attributes }));
    logger.debug(`[provision] queue ${q.name}`);
  }
  const topicNames = new Map<string, string>();
  for (const t of model.topics) {
    await sns.send(new CreateTopicCommand({ Name: t.name, Attributes: t.attributes }));
    topicNames.set(t.arn, t.name);
  }
  const queueNames = new Map(model.queues.map((q) => [q.arn, q.name]));
  for (const s of model.subscriptions) {
    const topic = topicNames.get(s.topicArn);
    const queue = queueNames.get(s.queueArn);
    if (!topic || !queue) {
      throw new LocalRuntimeError(
        `Subscription ${s.logicalId} connects ${s.topicArn} to ${s.queueArn}; both must be defined in this stack`
      );
    }
    await sns.send(
      new SubscribeCommand({
        TopicArn: s.topicArn,
        Protocol: 'sqs',
        Endpoint: s.queueArn,
        Attributes: s.attributes,
        ReturnSubscriptionArn: true,
      })
    );
  }
  for (const b of model.buckets) await s3.send(new CreateBucketCommand({ Bucket: b.name }));
}
