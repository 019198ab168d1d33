import { Duration, Names, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  OVERFLOW_ENV,
  type OverflowConfig,
  SPILL_INPUT_PATTERN,
  SPILL_PREFIX,
} from '../../contract/overflow.js';
import { VISIBILITY_TIMEOUT_FACTOR } from '../nag/rules/sqs-visibility-timeout.js';
import { CHECKOV_SKIPS, skipCheckov } from './checkov.js';
import { MIN_MAX_RECEIVE_COUNT, QueueWithDeadLetter } from './queue-with-dead-letter.js';

// One definition per invariant: the construct enforces what the FanOut nag rule checks.
export { MIN_MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_FACTOR };

export interface QueueWorkerProps {
  /** The function that consumes the queue. */
  readonly consumer: lambda.IFunction;
  /**
   * The consumer's timeout, which sizes and checks the visibility timeout.
   * @default - the consumer's `timeout` when it is a `lambda.Function` (3 s, Lambda's
   * default, when that is unset); required for any other `IFunction`
   */
  readonly consumerTimeout?: Duration;
  /**
   * A queue to consume instead of creating one. Its owner is responsible for its
   * DLQ and visibility timeout (the FanOut nag pack checks both at synth).
   * Cannot be combined with `queueProps`, `deadLetterQueueProps`, `visibilityTimeout`,
   * `maxReceiveCount` or `dlqAlarmThreshold`.
   * @default - a new queue with a DLQ and a DLQ alarm
   */
  readonly existingQueueObj?: sqs.IQueue;
  /**
   * Queue settings, merged as secure defaults ← these ← required (`deadLetterQueue`).
   * @default - SSE-SQS, TLS only, 4 days retention
   */
  readonly queueProps?: sqs.QueueProps;
  /** @default - SSE-SQS, TLS only, 14 days retention */
  readonly deadLetterQueueProps?: sqs.QueueProps;
  /**
   * At least 6 × the consumer timeout.
   * @default - 6 × the consumer timeout, plus `maxBatchingWindow` when set
   */
  readonly visibilityTimeout?: Duration;
  /** Receives before a message moves to the DLQ; at least 5. @default 5 */
  readonly maxReceiveCount?: number;
  /**
   * Records per invocation ("N records"); above 10 needs `maxBatchingWindow`.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * How long the poller gathers records before invoking with fewer than `batchSize` ("or T").
   * @default - no batching window
   */
  readonly maxBatchingWindow?: Duration;
  /** Upper bound on concurrent invocations from this queue (2–1000, checked by CDK). @default 2 */
  readonly maxConcurrency?: number;
  /** Alarm when the DLQ holds at least this many messages. @default 1 */
  readonly dlqAlarmThreshold?: number;
  /**
   * What the consumer does when the queue overflows (contract/overflow.ts): wait,
   * drop the oldest or the newest, or spill for a later redrive. Applied per batch
   * by the consumer's shared code (lambdas/shared/overflow.ts), which counts each
   * drop and spill (`Dropped`/`Spilled`, dimensions `input` and `tenant`).
   * @default OverflowPolicy.block() - nothing is lost; a backlog waits in the queue
   */
  readonly overflow?: OverflowPolicy;
  /**
   * The input's name in overflow metrics and log lines (the `input` dimension).
   * @default - the construct's id
   */
  readonly inputName?: string;
}

/**
 * An input queue's overflow policy. `block` is the default wherever losing a
 * message is wrong; the others trade messages for freshness and say so in
 * metrics. Why each queue of the stack has the policy it has: README § Backpressure.
 */
export class OverflowPolicy {
  /** Process everything; a backlog waits (retention, then maxReceiveCount and the DLQ). */
  public static block(): OverflowPolicy {
    return new OverflowPolicy('block');
  }

  /** Delete, unprocessed, a message that waited longer than `maxAge` (SQS SentTimestamp). */
  public static dropOldest(maxAge: Duration): OverflowPolicy {
    return new OverflowPolicy('dropOldest', maxAge);
  }

  /**
   * While the queue holds more than `maxBacklog` messages (visible ones, read with
   * GetQueueAttributes once per batch, plus the batch), delete the newest of the batch.
   */
  public static dropNewest(maxBacklog: number): OverflowPolicy {
    return new OverflowPolicy('dropNewest', undefined, maxBacklog);
  }

  /**
   * Move a message that waited longer than `maxAge` to `to`, unprocessed, for a
   * later redrive. The worker's DLQ by default, which `npm run redrive -- dlq …`
   * (SQS StartMessageMoveTask) moves back; a redriven message is then processed
   * whatever its age.
   */
  public static spill(maxAge: Duration, to?: sqs.IQueue): OverflowPolicy {
    return new OverflowPolicy('spill', maxAge, undefined, to);
  }

  /**
   * Like {@link spill}, to a bucket: each batch's spilled messages become one object
   * under `overflow-spill/<input>/<time>-<id>.json` (the consumer may only PutObject
   * there), which `npm run redrive -- spill <bucket>` sends back to this worker's
   * queue. For inputs whose backlog may outgrow a queue's 14-day retention, or that
   * should be kept apart from the poison messages in the DLQ.
   */
  public static spillToBucket(maxAge: Duration, bucket: s3.IBucket): OverflowPolicy {
    return new OverflowPolicy('spill', maxAge, undefined, undefined, bucket);
  }

  private constructor(
    public readonly policy: OverflowConfig['policy'],
    public readonly maxAge?: Duration,
    public readonly maxBacklog?: number,
    public readonly spillTo?: sqs.IQueue,
    public readonly spillToBucket?: s3.IBucket
  ) {}
}

/** Which function already has the policy of which worker (one env var per function). */
const overflowOwners = new WeakMap<lambda.IFunction, string>();

/**
 * An SQS queue with a DLQ, consumed by a Lambda through an event source mapping
 * that reports partial batch failures. Unlike the plain SqsEventSource, it
 * turns on ReportBatchItemFailures, bounds concurrency, and refuses a
 * visibility timeout that would let a slow consumer's messages reappear
 * mid-flight.
 */
export class QueueWorker extends Construct {
  public readonly queue: sqs.IQueue;
  /** Undefined when `existingQueueObj` was given. */
  public readonly deadLetterQueue?: sqs.Queue;
  /** Undefined when `existingQueueObj` was given. */
  public readonly dlqAlarm?: cloudwatch.Alarm;
  public readonly eventSource: SqsEventSource;
  public readonly eventSourceMapping: lambda.EventSourceMapping;
  public readonly overflow: OverflowPolicy;

  constructor(scope: Construct, id: string, props: QueueWorkerProps) {
    super(scope, id);
    const consumerTimeout = resolveConsumerTimeout(this, props);

    if (props.existingQueueObj) {
      const conflicting = (
        [
          'queueProps',
          'deadLetterQueueProps',
          'visibilityTimeout',
          'maxReceiveCount',
          'dlqAlarmThreshold',
        ] as const
      ).filter((key) => props[key] !== undefined);
      if (conflicting.length > 0) {
        throw new Error(
          `${this.node.path}: existingQueueObj cannot be combined with ${conflicting.join(', ')} ` +
            '(they configure a queue this construct would create)'
        );
      }
      this.queue = props.existingQueueObj;
    } else {
      if (props.visibilityTimeout && props.queueProps?.visibilityTimeout) {
        throw new Error(
          `${this.node.path}: set the visibility timeout through visibilityTimeout or ` +
            'queueProps.visibilityTimeout, not both'
        );
      }
      const explicit = props.visibilityTimeout ?? props.queueProps?.visibilityTimeout;
      if (!explicit && consumerTimeout.isUnresolved()) {
        throw new Error(
          `${this.node.path}: the consumer timeout is a token; pass visibilityTimeout explicitly`
        );
      }
      // AWS's guidance for a batching window: 6 × the timeout plus the window, since a
      // message received at the start of the window waits it out before the invocation.
      const windowSeconds = props.maxBatchingWindow?.toSeconds() ?? 0;
      const visibilityTimeout =
        explicit ??
        Duration.seconds(consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR + windowSeconds);
      if (!visibilityTimeout.isUnresolved() && !consumerTimeout.isUnresolved()) {
        const minimum = consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR;
        if (visibilityTimeout.toSeconds() < minimum) {
          throw new Error(
            `${this.node.path}: visibilityTimeout (${visibilityTimeout.toSeconds()}s) must be at least ` +
              `${VISIBILITY_TIMEOUT_FACTOR} × the consumer timeout (${minimum}s)`
          );
        }
      }
      const withDlq = new QueueWithDeadLetter(this, 'Resource', {
        queueProps: { ...props.queueProps, visibilityTimeout },
        deadLetterQueueProps: props.deadLetterQueueProps,
        maxReceiveCount: props.maxReceiveCount,
        dlqAlarmThreshold: props.dlqAlarmThreshold,
      });
      this.queue = withDlq.queue;
      this.deadLetterQueue = withDlq.deadLetterQueue;
      this.dlqAlarm = withDlq.dlqAlarm;
    }

    this.eventSource = new SqsEventSource(this.queue, {
      batchSize: props.batchSize ?? 10,
      maxBatchingWindow: props.maxBatchingWindow,
      maxConcurrency: props.maxConcurrency ?? 2,
      reportBatchItemFailures: true,
    });
    props.consumer.addEventSource(this.eventSource);
    // SqsEventSource.bind names the mapping after the queue; this is the one it just added.
    const mappingId = `SqsEventSource:${Names.nodeUniqueId(this.queue.node)}`;
    const mapping = props.consumer.node.tryFindChild(mappingId);
    if (!(mapping instanceof lambda.EventSourceMapping)) {
      throw new Error(`${this.node.path}: event source mapping ${mappingId} was not created`);
    }
    this.eventSourceMapping = mapping;
    Validations.of(mapping).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        'The SQS poller supports no OnFailure destination; failed messages go to the source queue DLQ.',
    });
    Validations.of(props.consumer).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Invoked synchronously by the SQS event source mapping; a function DLQ only catches ' +
        'asynchronous invocations, and failed messages reach the source queue DLQ instead.',
    });
    skipCheckov(props.consumer, [CHECKOV_SKIPS.synchronousInvokeDlq]);
    this.overflow = props.overflow ?? OverflowPolicy.block();
    this.applyOverflow(props);
  }

  private applyOverflow(props: QueueWorkerProps): void {
    const policy = this.overflow;
    if (policy.policy === 'block') return;
    const input = props.inputName ?? this.node.id;
    const fail = (message: string) =>
      new Error(`${this.node.path}: overflow ${policy.policy}: ${message}`);
    if (!(props.consumer instanceof lambda.Function)) {
      throw fail(
        'the consumer must be a lambda.Function (the policy reaches it in its environment)'
      );
    }
    const owner = overflowOwners.get(props.consumer);
    if (owner) throw fail(`${props.consumer.node.path} already applies the policy of ${owner}`);
    overflowOwners.set(props.consumer, this.node.path);
    let config: OverflowConfig;
    if (policy.policy === 'dropNewest') {
      const maxBacklog = policy.maxBacklog!;
      if (!Token.isUnresolved(maxBacklog) && (!Number.isInteger(maxBacklog) || maxBacklog < 1)) {
        throw fail(`maxBacklog must be a positive whole number, got ${maxBacklog}`);
      }
      config = { policy: 'dropNewest', input, maxBacklog, queueUrl: this.queue.queueUrl };
      this.queue.grant(props.consumer, 'sqs:GetQueueAttributes');
    } else {
      const maxAge = policy.maxAge!;
      if (maxAge.isUnresolved()) throw fail('maxAge must be known at synth');
      const maxAgeSeconds = maxAge.toSeconds({ integral: false });
      if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 1) {
        throw fail(`maxAge must be a whole number of seconds, at least 1, got ${maxAgeSeconds}`);
      }
      if (policy.policy === 'dropOldest') {
        config = { policy: 'dropOldest', input, maxAgeSeconds };
      } else if (policy.spillToBucket) {
        if (!Token.isUnresolved(input) && !SPILL_INPUT_PATTERN.test(input)) {
          throw fail(
            `inputName "${input}" must match ${SPILL_INPUT_PATTERN}: it is a segment of the spill objects' keys`
          );
        }
        config = {
          policy: 'spill',
          input,
          maxAgeSeconds,
          spillBucket: policy.spillToBucket.bucketName,
          queueUrl: this.queue.queueUrl,
        };
        policy.spillToBucket.grantPut(props.consumer, `${SPILL_PREFIX}${input}/*`);
      } else {
        const target = policy.spillTo ?? this.deadLetterQueue;
        if (!target) {
          throw fail(
            'name the spill queue (spill(maxAge, queue)): an existing queue brings no DLQ'
          );
        }
        config = { policy: 'spill', input, maxAgeSeconds, spillQueueUrl: target.queueUrl };
        target.grantSendMessages(props.consumer);
      }
    }
    props.consumer.addEnvironment(OVERFLOW_ENV, Stack.of(this).toJsonString(config));
  }
}

const resolveConsumerTimeout = (scope: Construct, props: QueueWorkerProps): Duration => {
  if (props.consumerTimeout) return props.consumerTimeout;
  if (props.consumer instanceof lambda.Function) {
    // Lambda's own default when a function sets no timeout.
    return props.consumer.timeout ?? Duration.seconds(3);
  }
  throw new Error(
    `${scope.node.path}: consumerTimeout is required when the consumer is not a lambda.Function ` +
      '(its timeout sizes the visibility timeout)'
  );
};
