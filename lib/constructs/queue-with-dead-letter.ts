import { Duration, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MIN_MAX_RECEIVE_COUNT } from '../nag/rules/sqs-max-receive-count.js';
import { CHECKOV_SKIPS, skipCheckov } from './checkov.js';
import { SECURE_DLQ_DEFAULTS, SECURE_QUEUE_DEFAULTS } from './defaults.js';
import { mergeProps } from './merge-props.js';

// One definition per invariant: the construct enforces what the FanOut nag rule checks.
export { MIN_MAX_RECEIVE_COUNT };

export interface QueueWithDeadLetterProps {
  /**
   * Queue settings, merged as secure defaults ← these ← `deadLetterQueue`
   * (set by the construct). A value that replaces a secure default is reported
   * as a synth warning.
   * @default - SSE-SQS, TLS only, 4 days retention
   */
  readonly queueProps?: sqs.QueueProps;
  /**
   * DLQ settings, merged the same way.
   * @default - SSE-SQS, TLS only, 14 days retention (the SQS maximum, time to redrive)
   */
  readonly deadLetterQueueProps?: sqs.QueueProps;
  /** Receives before a message moves to the DLQ; at least 5. @default 5 */
  readonly maxReceiveCount?: number;
  /** Alarm when the DLQ holds at least this many visible messages. @default 1 */
  readonly dlqAlarmThreshold?: number;
}

/**
 * A queue with its dead-letter queue and an alarm on the DLQ's depth: a
 * message in a DLQ is a failure nobody retries, so it must page someone.
 */
export class QueueWithDeadLetter extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly dlqAlarm: cloudwatch.Alarm;
  public readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: QueueWithDeadLetterProps = {}) {
    super(scope, id);
    this.maxReceiveCount = props.maxReceiveCount ?? MIN_MAX_RECEIVE_COUNT;
    if (!Token.isUnresolved(this.maxReceiveCount) && this.maxReceiveCount < MIN_MAX_RECEIVE_COUNT) {
      throw new Error(
        `${this.node.path}: maxReceiveCount (${this.maxReceiveCount}) must be at least ${MIN_MAX_RECEIVE_COUNT}`
      );
    }
    this.deadLetterQueue = new sqs.Queue(
      this,
      'DeadLetterQueue',
      mergeProps<sqs.QueueProps>({
        scope: this,
        label: 'deadLetterQueueProps',
        defaults: SECURE_DLQ_DEFAULTS,
        user: props.deadLetterQueueProps,
        required: { deadLetterQueue: undefined },
      })
    );
    acknowledgeDeadLetterQueue(this.deadLetterQueue);
    this.queue = new sqs.Queue(
      this,
      'Resource',
      mergeProps<sqs.QueueProps>({
        scope: this,
        label: 'queueProps',
        defaults: SECURE_QUEUE_DEFAULTS,
        user: props.queueProps,
        required: {
          deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
        },
      })
    );
    skipCheckovForSqsManaged(this.queue);
    this.dlqAlarm = deadLetterAlarm(
      this,
      'DeadLetterAlarm',
      this.deadLetterQueue,
      props.dlqAlarmThreshold
    );
  }
}

/** checkov reads only KmsMasterKeyId; SSE-SQS is skipped with its reason, a KMS queue needs no skip. */
export const skipCheckovForSqsManaged = (queue: sqs.Queue): void => {
  const cfn = queue.node.defaultChild as sqs.CfnQueue;
  if (cfn.sqsManagedSseEnabled === true) skipCheckov(cfn, [CHECKOV_SKIPS.sqsManagedEncryption]);
};

/** A DLQ is where redrive ends; giving it a DLQ of its own would only move the problem. */
export const acknowledgeDeadLetterQueue = (dlq: sqs.Queue): void => {
  skipCheckovForSqsManaged(dlq);
  Validations.of(dlq).acknowledge({
    id: 'Serverless-SQSRedrivePolicy',
    reason: 'This queue is a dead-letter queue: redrive ends here, and its depth is alarmed.',
  });
};

/** Fires as soon as `threshold` messages sit in the DLQ (checked every minute). */
export const deadLetterAlarm = (
  scope: Construct,
  id: string,
  dlq: sqs.IQueue,
  threshold = 1
): cloudwatch.Alarm =>
  dlq
    .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) })
    .createAlarm(scope, id, {
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `Messages reached the DLQ of ${scope.node.path}: inspect, fix, then redrive.`,
    });
