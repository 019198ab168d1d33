import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SECURE_TOPIC_DEFAULTS } from './defaults.js';
import { mergeProps } from './merge-props.js';

/** A queue whose oldest message is watched. */
export interface WatchedQueue {
  /** Names the alarm (`<label>OldestMessageAge`) and the dashboard line. */
  readonly label: string;
  readonly queue: sqs.IQueue;
  /**
   * Alarm when the oldest message is at least this old.
   * @default - the construct's `maxMessageAge`
   */
  readonly maxMessageAge?: Duration;
}

/** A function whose throttles are watched. */
export interface WatchedFunction {
  readonly label: string;
  readonly function: lambda.IFunction;
}

export interface PipelineAlarmsProps {
  /** Queues whose oldest message must not grow old (work queues and DLQs alike). */
  readonly queues: readonly WatchedQueue[];
  /** Functions whose throttles are alarmed. */
  readonly functions: readonly WatchedFunction[];
  /**
   * Alarms created elsewhere (DLQ depth, failed executions…) that get the same
   * notification action.
   * @default - none
   */
  readonly existingAlarms?: readonly cloudwatch.Alarm[];
  /**
   * Where every alarm notifies (ALARM and OK).
   * @default - a new TLS-only topic encrypted with a new rotating key that CloudWatch may use
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Settings of the topic created when `alarmTopic` is not given, merged as
   * secure defaults ← these ← required (`masterKey`).
   * @default - TLS only
   */
  readonly topicProps?: sns.TopicProps;
  /** @default Duration.minutes(15) */
  readonly maxMessageAge?: Duration;
  /** Throttled invocations of one function within `period` that raise its alarm. @default 1 */
  readonly throttleThreshold?: number;
  /** @default Duration.minutes(5) */
  readonly period?: Duration;
}

/**
 * The operational alarms the queues and functions do not carry themselves:
 * the age of the oldest message per queue and throttles per function, plus
 * one notification path (an SNS topic) for these and the alarms passed in.
 * An alarm without an action pages nobody.
 */
export class PipelineAlarms extends Construct {
  public readonly alarmTopic: sns.ITopic;
  /** Undefined when `alarmTopic` was given. */
  public readonly topicKey?: kms.Key;
  public readonly oldestMessageAlarms: cloudwatch.Alarm[] = [];
  public readonly throttleAlarms: cloudwatch.Alarm[] = [];
  /** Every alarm that notifies `alarmTopic`: the ones created here and `existingAlarms`. */
  public readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    if (props.alarmTopic && props.topicProps) {
      throw new Error(`${this.node.path}: topicProps configure a topic; alarmTopic replaces it`);
    }
    const period = props.period ?? Duration.minutes(5);
    const maxAge = props.maxMessageAge ?? Duration.minutes(15);
    const threshold = props.throttleThreshold ?? 1;
    if (!Number.isInteger(threshold) || threshold < 1) {
      throw new Error(`${this.node.path}: throttleThreshold must be a positive integer`);
    }

    if (props.alarmTopic) {
      this.alarmTopic = props.alarmTopic;
    } else {
      this.topicKey = new kms.Key(this, 'TopicKey', {
        enableKeyRotation: true,
        description: `Encrypts the alarm topic of ${this.node.path}`,
      });
      // CloudWatch publishes to an encrypted topic only if the key lets it.
      this.topicKey.grant(
        new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
        'kms:Decrypt',
        'kms:GenerateDataKey*'
      );
      this.alarmTopic = new sns.Topic(
        this,
        'Topic',
        mergeProps<sns.TopicProps>({
          scope: this,
          label: 'topicProps',
          defaults: SECURE_TOPIC_DEFAULTS,
          user: props.topicProps,
          required: { masterKey: this.topicKey },
        })
      );
    }

    for (const { label, queue, maxMessageAge } of props.queues) {
      const age = maxMessageAge ?? maxAge;
      this.oldestMessageAlarms.push(
        queue
          .metricApproximateAgeOfOldestMessage({
            period: Duration.minutes(1),
            statistic: 'Maximum',
          })
          .createAlarm(this, `${label}OldestMessageAgeAlarm`, {
            threshold: age.toSeconds(),
            evaluationPeriods: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
            alarmDescription: `The oldest message of ${label} waited ${age.toHumanString()} or more: its consumer is stuck, throttled or held back.`,
          })
      );
    }
    for (const { label, function: fn } of props.functions) {
      this.throttleAlarms.push(
        fn
          .metricThrottles({ period, statistic: 'Sum' })
          .createAlarm(this, `${label}ThrottlesAlarm`, {
            threshold,
            evaluationPeriods: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
            alarmDescription: `${label} was throttled: reserved or account concurrency is exhausted.`,
          })
      );
    }

    this.alarms = [
      ...this.oldestMessageAlarms,
      ...this.throttleAlarms,
      ...(props.existingAlarms ?? []),
    ];
    const action = new actions.SnsAction(this.alarmTopic);
    for (const alarm of this.alarms) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
}
