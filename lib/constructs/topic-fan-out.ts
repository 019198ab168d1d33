import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SECURE_DLQ_DEFAULTS } from './defaults.js';

export interface TopicFanOutProps {
  /** Extra topic settings, merged over the secure defaults. @default - encrypted with `masterKey`, TLS only */
  readonly topicProps?: sns.TopicProps;
  /** @default - a new customer-managed key with rotation */
  readonly masterKey?: kms.IKey;
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
  public readonly topic: sns.Topic;
  public readonly masterKey: kms.IKey;
  /** Messages SNS could not deliver to any subscriber land here. */
  public readonly deliveryDeadLetterQueue: sqs.Queue;
  public readonly subscriptions: sns.Subscription[] = [];

  constructor(scope: Construct, id: string, props: TopicFanOutProps = {}) {
    super(scope, id);
    this.masterKey =
      props.masterKey ??
      new kms.Key(this, 'Key', { enableKeyRotation: true, description: `Encrypts ${id}` });
    this.topic = new sns.Topic(this, 'Topic', {
      enforceSSL: true,
      ...props.topicProps,
      masterKey: this.masterKey,
    });
    this.deliveryDeadLetterQueue = new sqs.Queue(this, 'DeliveryDeadLetterQueue', {
      ...SECURE_DLQ_DEFAULTS,
    });
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
   * Lets an AWS service (for example S3 event notifications) publish to the
   * topic: a topic-policy statement plus the key permissions SNS encryption
   * needs. Scoped to this account with aws:SourceAccount, because a
   * bucket-ARN condition would make the bucket and topic policy depend on each other.
   */
  public grantServicePublish(servicePrincipal: string, account: string): sns.TopicPolicy {
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
