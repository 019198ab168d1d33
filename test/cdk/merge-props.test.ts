import { Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { mergeProps, SECURE_DEFAULT_OVERRIDDEN } from '../../lib/index.js';

const defaults: sqs.QueueProps = {
  encryption: sqs.QueueEncryption.SQS_MANAGED,
  enforceSSL: true,
  retentionPeriod: Duration.days(4),
};

const warnings = (stack: Stack) =>
  Annotations.fromStack(stack)
    .findWarning('*', Match.anyValue())
    .map((w) => w.entry.data);

describe('mergeProps', () => {
  it('merges secure defaults ← user ← required, in that order', () => {
    // Prepare
    const stack = new Stack();
    const dlq = new sqs.Queue(stack, 'Dlq');
    // Act
    const merged = mergeProps<sqs.QueueProps>({
      scope: stack,
      label: 'queueProps',
      defaults,
      user: { queueName: 'work', retentionPeriod: Duration.days(7) },
      required: { deadLetterQueue: { queue: dlq, maxReceiveCount: 5 } },
    });
    // Assess
    expect(merged).toEqual({
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(7),
      queueName: 'work',
      deadLetterQueue: { queue: dlq, maxReceiveCount: 5 },
    });
  });

  it('warns once per user value that replaces a secure default, naming the prop and both values', () => {
    // Prepare
    const stack = new Stack();
    // Act
    mergeProps<sqs.QueueProps>({
      scope: stack,
      label: 'queueProps',
      defaults,
      user: { enforceSSL: false, retentionPeriod: Duration.days(4), queueName: 'q' },
    });
    // Assess: equal values (4 days) and props without a default (queueName) stay silent.
    expect(warnings(stack)).toEqual([
      `queueProps.enforceSSL overrides the secure default (true → false) [ack: ${SECURE_DEFAULT_OVERRIDDEN}]`,
    ]);
  });

  it('treats an undefined user value as not set', () => {
    // Prepare
    const stack = new Stack();
    // Act
    const merged = mergeProps<sqs.QueueProps>({
      scope: stack,
      label: 'queueProps',
      defaults,
      user: { enforceSSL: undefined },
    });
    // Assess
    expect(merged.enforceSSL).toBe(true);
    expect(warnings(stack)).toEqual([]);
  });

  it('rejects a user value for a required prop instead of dropping it', () => {
    // Prepare
    const stack = new Stack();
    // Act
    const merge = () =>
      mergeProps<sqs.QueueProps>({
        scope: stack,
        label: 'queueProps',
        defaults,
        user: { visibilityTimeout: Duration.seconds(1) },
        required: { visibilityTimeout: Duration.minutes(6) },
      });
    // Assess
    expect(merge).toThrow(
      'queueProps.visibilityTimeout is set by the construct and cannot be overridden'
    );
  });
});
