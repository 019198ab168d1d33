import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SECURE_DLQ_DEFAULTS, SECURE_QUEUE_DEFAULTS } from './defaults.js';

/** AWS's documented floor: visibility timeout ≥ 6 × the consumer's timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** Below this, a few throttled polls can push a healthy message into the DLQ. */
export const MIN_MAX_RECEIVE_COUNT = 5;

export interface QueueWorkerProps {
  /** The function that consumes the queue. Its timeout drives the visibility timeout. */
  readonly consumer: lambda.Function;
  /** Extra queue settings, merged over the secure defaults. @default - SSE-SQS, TLS only, 4 days retention */
  readonly queueProps?: sqs.QueueProps;
  /** @default - 6 × the consumer's timeout */
  readonly visibilityTimeout?: Duration;
  /** Receives before a message moves to the DLQ. @default 5 */
  readonly maxReceiveCount?: number;
  /** @default 10 */
  readonly batchSize?: number;
  /** @default - no batching window */
  readonly maxBatchingWindow?: Duration;
  /** Upper bound on concurrent invocations from this queue (2–1000, checked by CDK). @default 2 */
  readonly maxConcurrency?: number;
  /** Alarm when the DLQ holds at least this many messages. @default 1 */
  readonly dlqAlarmThreshold?: number;
}

/**
 * An SQS queue with a DLQ, consumed by a Lambda through an event source mapping
 * that reports partial batch failures. Unlike the plain SqsEventSource, it
 * turns on ReportBatchItemFailures, bounds concurrency, and refuses to
 * synthesize a visibility timeout that would let a slow consumer's messages
 * reappear mid-flight.
 */
export class QueueWorker extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly eventSource: SqsEventSource;
  public readonly dlqAlarm: cloudwatch.Alarm;
  public readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: QueueWorkerProps) {
    super(scope, id);
    const consumerTimeout = props.consumer.timeout ?? Duration.seconds(3);
    const visibilityTimeout =
      props.visibilityTimeout ??
      props.queueProps?.visibilityTimeout ??
      Duration.seconds(consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR);
    this.maxReceiveCount = props.maxReceiveCount ?? MIN_MAX_RECEIVE_COUNT;
    const maxConcurrency = props.maxConcurrency ?? 2;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', { ...SECURE_DLQ_DEFAULTS });
    this.queue = new sqs.Queue(this, 'Queue', {
      ...SECURE_QUEUE_DEFAULTS,
      ...props.queueProps,
      visibilityTimeout,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
    });

    this.eventSource = new SqsEventSource(this.queue, {
      batchSize: props.batchSize ?? 10,
      maxBatchingWindow: props.maxBatchingWindow,
      maxConcurrency,
      reportBatchItemFailures: true,
    });
    props.consumer.addEventSource(this.eventSource);

    this.dlqAlarm = this.deadLetterQueue
      .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) })
      .createAlarm(this, 'DeadLetterAlarm', {
        threshold: props.dlqAlarmThreshold ?? 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `Messages reached the DLQ of ${this.node.path}: inspect, fix, then redrive.`,
      });

    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        const minimum = consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR;
        if (visibilityTimeout.toSeconds() < minimum) {
          errors.push(
            `visibilityTimeout (${visibilityTimeout.toSeconds()}s) must be at least ` +
              `${VISIBILITY_TIMEOUT_FACTOR} × the consumer timeout (${minimum}s)`
          );
        }
        if (this.maxReceiveCount < MIN_MAX_RECEIVE_COUNT) {
          errors.push(
            `maxReceiveCount (${this.maxReceiveCount}) must be at least ${MIN_MAX_RECEIVE_COUNT}`
          );
        }
        return errors;
      },
    });
  }
}
