import { Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SECURE_DLQ_DEFAULTS, SECURE_TOPIC_DEFAULTS } from './defaults.js';
import { mergeProps } from './merge-props.js';
import { acknowledgeDeadLetterQueue, deadLetterAlarm } from './queue-with-dead-letter.js';
import { QueueWorker, type QueueWorkerProps } from './queue-worker.js';

export interface TopicFanOutProps {
  /**
   * A topic to fan out from instead of creating one. Cannot be combined with
   * `topicProps` or `masterKey` (the topic already has its settings and key).
   * @default - a new encrypted, TLS-only topic
   */
  readonly existingTopicObj?: sns.ITopic;
  /**
   * Topic settings, merged as secure defaults ← these ← required (`masterKey`).
   * @default - TLS only; encrypted with `masterKey`
   */
  readonly topicProps?: sns.TopicProps;
  /** @default - a new customer-managed key with rotation (none with `existingTopicObj`) */
  readonly masterKey?: kms.IKey;
  /**
   * Settings of the subscriptions' delivery DLQ, merged like `topicProps`.
   * @default - SSE-SQS, TLS only, 14 days retention
   */
  readonly deliveryDeadLetterQueueProps?: sqs.QueueProps;
  /** Alarm when the delivery DLQ holds at least this many messages. @default 1 */
  readonly dlqAlarmThreshold?: number;
}

export interface QueueSubscriptionOptions {
  /** @default - every message */
  readonly filterPolicy?: Record<string, sns.SubscriptionFilter>;
  /** Deliver the published body unchanged (no SNS envelope). @default true */
  readonly rawMessageDelivery?: boolean;
}

/**
 * An encrypted SNS topic that fans out to SQS queues. Every subscription gets
 * the topic's delivery DLQ, because SNS discards a message it cannot deliver
 * after its retry policy unless a subscription DLQ exists.
 */
export class TopicFanOut extends Construct {
  public readonly topic: sns.ITopic;
  /** Undefined only for an `existingTopicObj` without a `masterKey`. */
  public readonly masterKey?: kms.IKey;
  /** Messages SNS could not deliver to any subscriber land here. */
  public readonly deliveryDeadLetterQueue: sqs.Queue;
  public readonly deliveryDlqAlarm: cloudwatch.Alarm;
  public readonly subscriptions: sns.Subscription[] = [];

  constructor(scope: Construct, id: string, props: TopicFanOutProps = {}) {
    super(scope, id);
    if (props.existingTopicObj) {
      if (props.topicProps || props.masterKey) {
        throw new Error(
          `${this.node.path}: existingTopicObj cannot be combined with topicProps or masterKey`
        );
      }
      this.topic = props.existingTopicObj;
    } else {
      this.masterKey =
        props.masterKey ??
        new kms.Key(this, 'Key', { enableKeyRotation: true, description: `Encrypts ${id}` });
      this.topic = new sns.Topic(
        this,
        'Resource',
        mergeProps<sns.TopicProps>({
          scope: this,
          label: 'topicProps',
          defaults: SECURE_TOPIC_DEFAULTS,
          user: props.topicProps,
          required: { masterKey: this.masterKey },
        })
      );
    }
    this.deliveryDeadLetterQueue = new sqs.Queue(
      this,
      'DeliveryDeadLetterQueue',
      mergeProps<sqs.QueueProps>({
        scope: this,
        label: 'deliveryDeadLetterQueueProps',
        defaults: SECURE_DLQ_DEFAULTS,
        user: props.deliveryDeadLetterQueueProps,
        required: { deadLetterQueue: undefined },
      })
    );
    acknowledgeDeadLetterQueue(this.deliveryDeadLetterQueue);
    this.deliveryDlqAlarm = deadLetterAlarm(
      this,
      'DeliveryDeadLetterAlarm',
      this.deliveryDeadLetterQueue,
      props.dlqAlarmThreshold
    );
    Validations.of(this.deliveryDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is the SNS subscriptions' dead-letter queue (a DLQ cdk-nag cannot see through RedrivePolicy on the subscription).",
    });
  }

  /** Subscribes a queue with raw delivery (default), an optional filter policy and the delivery DLQ. */
  public addQueueSubscription(
    queue: sqs.IQueue,
    options: QueueSubscriptionOptions = {}
  ): sns.Subscription {
    const subscription = this.topic.addSubscription(
      new subs.SqsSubscription(queue, {
        rawMessageDelivery: options.rawMessageDelivery ?? true,
        filterPolicy: options.filterPolicy,
        deadLetterQueue: this.deliveryDeadLetterQueue,
      })
    );
    this.subscriptions.push(subscription);
    return subscription;
  }

  /**
   * A consumer of the topic: a QueueWorker (its queue, DLQ, event source mapping
   * and `overflow` policy) subscribed like `addQueueSubscription`. The worker is
   * created in `scope`, so moving a subscriber here keeps its logical ids.
   */
  public addQueueWorker(
    scope: Construct,
    id: string,
    props: QueueWorkerProps,
    options: QueueSubscriptionOptions = {}
  ): QueueWorker {
    const worker = new QueueWorker(scope, id, props);
    this.addQueueSubscription(worker.queue, options);
    return worker;
  }

  /**
   * Lets an AWS service (for example S3 event notifications) publish to the
   * topic: a topic-policy statement plus the key permissions SNS encryption
   * needs. Scoped to this account with aws:SourceAccount, because a
   * bucket-ARN condition would make the bucket and topic policy depend on each other.
   */
  public grantServicePublish(servicePrincipal: string, account: string): sns.TopicPolicy {
    if (!(this.topic instanceof sns.Topic) || !this.masterKey) {
      throw new Error(
        `${this.node.path}: grantServicePublish needs a topic this construct created ` +
          '(an imported topic has no policy or key this stack can change)'
      );
    }
    const principal = new iam.ServicePrincipal(servicePrincipal);
    const condition = { StringEquals: { 'aws:SourceAccount': account } };
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [principal],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: condition,
      })
    );
    this.masterKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [principal],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: condition,
      })
    );
    return this.topic.node.findChild('Policy') as sns.TopicPolicy;
  }
}
