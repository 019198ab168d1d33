import { randomBytes } from 'node:crypto';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { LambdaRunner } from './lambda/runner.js';
import type { Logger } from './logger.js';
import type { BucketSpec, NotificationRule, StackModel } from './model.js';

export type ObjectCreatedEvent =
  | 'ObjectCreated:Put'
  | 'ObjectCreated:Post'
  | 'ObjectCreated:Copy'
  | 'ObjectCreated:CompleteMultipartUpload';

/** S3 encodes keys in events like a form value: spaces as '+', '/' kept. */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
}

function matches(rule: NotificationRule, eventName: string, key: string): boolean {
  const [category] = eventName.split(':');
  const eventOk = rule.events.some((e) => e === `s3:${eventName}` || e === `s3:${category}:*`);
  if (!eventOk) return false;
  if (rule.prefix && !key.startsWith(rule.prefix)) return false;
  if (rule.suffix && !key.endsWith(rule.suffix)) return false;
  return true;
}

/**
 * fauxqs stores objects but emits no bucket notifications, so the runtime
 * observes successful writes at its front door and delivers the event from
 * the bucket's NotificationConfiguration in the template.
 */
export class S3Notifier {
  private readonly buckets = new Map<string, BucketSpec>();
  private readonly topicArns = new Set<string>();
  private readonly queueNames = new Map<string, string>();
  private sequence = BigInt(Date.now()) * 1000n;

  constructor(
    private readonly model: StackModel,
    private readonly clients: { s3: S3Client; sns: SNSClient; sqs: SQSClient; sqsUrl: string },
    private readonly lambda: LambdaRunner,
    private readonly logger: Logger
  ) {
    for (const b of model.buckets) this.buckets.set(b.name, b);
    for (const t of model.topics) this.topicArns.add(t.arn);
    for (const q of model.queues) this.queueNames.set(q.arn, q.name);
  }

  hasRulesFor(bucket: string): boolean {
    return (this.buckets.get(bucket)?.notifications.length ?? 0) > 0;
  }

  /**
   * The written object's size (and version): from the write when it says, else a HEAD
   * pinned to the written ETag, so an overwrite in between cannot lend its size. If it
   * was already overwritten (412) its bytes are gone; the event still names its ETag,
   * which the pipeline's starter then finds missing and drops (docs/security.md).
   */
  private async sizeOf(bucket: string, key: string, written: { eTag: string; size?: number }) {
    if (written.size !== undefined) return { size: written.size, versionId: undefined };
    try {
      const head = await this.clients.s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: key, IfMatch: `"${written.eTag}"` })
      );
      const versionId = head.VersionId && head.VersionId !== 'null' ? head.VersionId : undefined;
      return { size: head.ContentLength ?? 0, versionId };
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 412) {
        throw err;
      }
      return { size: 0, versionId: undefined };
    }
  }

  async objectCreated(
    bucketName: string,
    key: string,
    eventName: ObjectCreatedEvent,
    sourceIp: string,
    written: { eTag: string; size?: number }
  ) {
    const bucket = this.buckets.get(bucketName);
    const rules = bucket?.notifications.filter((r) => matches(r, eventName, key)) ?? [];
    if (!bucket || rules.length === 0) return;
    const { size, versionId } = await this.sizeOf(bucketName, key, written);
    this.sequence += 1n;
    for (const rule of rules) {
      const record = {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: this.model.region,
        eventTime: new Date().toISOString(),
        eventName,
        userIdentity: { principalId: 'AWS:LOCAL' },
        requestParameters: { sourceIPAddress: sourceIp },
        responseElements: {
          'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
          'x-amz-id-2': randomBytes(32).toString('base64'),
        },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: rule.id,
          bucket: { name: bucketName, ownerIdentity: { principalId: 'LOCAL' }, arn: bucket.arn },
          object: {
            key: encodeEventKey(key),
            size,
            eTag: written.eTag,
            ...(versionId ? { versionId } : {}),
            sequencer: this.sequence.toString(16).toUpperCase().padStart(18, '0'),
          },
        },
      };
      const message = JSON.stringify({ Records: [record] });
      await this.deliver(rule, message);
      this.logger.debug(
        `[s3] ${eventName} s3://${bucketName}/${key} -> ${rule.target.kind} ${rule.target.arn}`
      );
    }
  }

  private async deliver(rule: NotificationRule, message: string) {
    const { target } = rule;
    if (target.kind === 'topic') {
      if (!this.topicArns.has(target.arn))
        return this.logger.warn(`[s3] notification topic ${target.arn} is not in the stack`);
      await this.clients.sns.send(
        new PublishCommand({
          TopicArn: target.arn,
          Message: message,
          Subject: 'Amazon S3 Notification',
        })
      );
    } else if (target.kind === 'queue') {
      const name = this.queueNames.get(target.arn);
      if (!name)
        return this.logger.warn(`[s3] notification queue ${target.arn} is not in the stack`);
      await this.clients.sqs.send(
        new SendMessageCommand({ QueueUrl: `${this.clients.sqsUrl}/${name}`, MessageBody: message })
      );
    } else {
      // S3 invokes Lambda asynchronously: the upload never waits for the function.
      this.lambda.invoke(target.arn, JSON.parse(message)).then(
        (r) => {
          if (!r.ok)
            this.logger.warn(`[s3] async invoke of ${target.arn} failed: ${r.error.errorType}`);
        },
        (err) =>
          this.logger.warn(`[s3] async invoke of ${target.arn} failed: ${(err as Error).message}`)
      );
    }
  }
}
