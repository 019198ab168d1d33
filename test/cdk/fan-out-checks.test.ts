import { Duration, Stack } from 'aws-cdk-lib';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { describe, expect, it } from 'vitest';
import { FanOutChecks } from '../../lib/index.js';

/**
 * One describe per rule of the FanOut pack, cdk-nag style: each stack is built
 * from plain CDK L2s (not this project's constructs, which refuse most of these
 * cases themselves), then the pack reports the rule's violating resources.
 */
const violations = (stack: Stack, rule: string): string[] =>
  new FanOutChecks()
    .validateScope(stack)
    .violations.filter((v) => v.ruleName === `FanOut-${rule}`)
    .flatMap((v) =>
      v.violatingResources.map((r) => (r as { constructPath?: string }).constructPath ?? '')
    );

const fn = (stack: Stack, id: string, timeout?: Duration) =>
  new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    timeout,
  });

const consumed = (visibilityTimeout: Duration | undefined, fnTimeout: Duration | undefined) => {
  const stack = new Stack();
  const queue = new sqs.Queue(stack, 'Queue', { visibilityTimeout });
  fn(stack, 'Consumer', fnTimeout).addEventSource(new SqsEventSource(queue));
  return stack;
};

const machine = (body: (stack: Stack) => sfn.IChainable) => {
  const stack = new Stack();
  new sfn.StateMachine(stack, 'Machine', {
    definitionBody: sfn.DefinitionBody.fromChainable(body(stack)),
  });
  return stack;
};

const invoke = (stack: Stack, id: string, taskTimeout?: Duration) =>
  new tasks.LambdaInvoke(stack, id, {
    lambdaFunction: fn(stack, `${id}Fn`),
    taskTimeout: taskTimeout && sfn.Timeout.duration(taskTimeout),
  });

describe('FanOut-SQSVisibilityTimeout', () => {
  it('Noncompliance 1: visibility 5 min for a 1 min consumer', () => {
    // Prepare
    const stack = consumed(Duration.minutes(5), Duration.minutes(1));
    // Act
    const found = violations(stack, 'SQSVisibilityTimeout');
    // Assess
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^Default\/Consumer\/SqsEventSource:/);
  });

  it('Noncompliance 2: SQS default visibility (30 s) for a 10 s consumer', () => {
    // Act
    const found = violations(consumed(undefined, Duration.seconds(10)), 'SQSVisibilityTimeout');
    // Assess
    expect(found).toHaveLength(1);
  });

  it('Compliance: exactly 6× the consumer timeout, and the defaults (30 s vs 3 s)', () => {
    // Act
    const exact = violations(
      consumed(Duration.minutes(6), Duration.minutes(1)),
      'SQSVisibilityTimeout'
    );
    const defaults = violations(consumed(undefined, undefined), 'SQSVisibilityTimeout');
    // Assess
    expect(exact).toEqual([]);
    expect(defaults).toEqual([]);
  });
});

describe('FanOut-SQSRedriveMaxReceiveCount', () => {
  const withRedrive = (maxReceiveCount: number) => {
    const stack = new Stack();
    const dlq = new sqs.Queue(stack, 'Dlq');
    const queue = new sqs.Queue(stack, 'Queue', {
      deadLetterQueue: { queue: dlq, maxReceiveCount },
    });
    return { stack, queue };
  };

  it('Noncompliance: maxReceiveCount 4', () => {
    // Prepare
    const { stack, queue } = withRedrive(4);
    // Act
    const found = violations(stack, 'SQSRedriveMaxReceiveCount');
    // Assess
    expect(found).toEqual([`${queue.node.path}/Resource`]);
  });

  it('Compliance: maxReceiveCount 5, and a queue without redrive (the DLQ itself) is N/A', () => {
    // Act
    const found = violations(withRedrive(5).stack, 'SQSRedriveMaxReceiveCount');
    // Assess
    expect(found).toEqual([]);
  });
});

describe('FanOut-SFNLambdaTaskTimeout', () => {
  it('Noncompliance 1: a top-level Lambda task without TimeoutSeconds', () => {
    // Prepare
    const stack = machine((s) => invoke(s, 'A', Duration.seconds(30)).next(invoke(s, 'B')));
    // Act
    const found = violations(stack, 'SFNLambdaTaskTimeout');
    // Assess
    expect(found).toEqual(['Default/Machine/Resource']);
  });

  it('Noncompliance 2: a Lambda task inside a Map iterator without TimeoutSeconds', () => {
    // Prepare
    const stack = machine((s) =>
      new sfn.Map(s, 'Fan', { maxConcurrency: 4, itemsPath: '$.items' }).itemProcessor(
        invoke(s, 'Inner')
      )
    );
    // Act
    const found = violations(stack, 'SFNLambdaTaskTimeout');
    // Assess
    expect(found).toHaveLength(1);
  });

  it('Compliance: every Lambda task has TimeoutSeconds, inside and outside the Map', () => {
    // Prepare
    const stack = machine((s) =>
      invoke(s, 'Outer', Duration.seconds(10)).next(
        new sfn.Map(s, 'Fan', { maxConcurrency: 4, itemsPath: '$.items' }).itemProcessor(
          invoke(s, 'Inner', Duration.seconds(20))
        )
      )
    );
    // Act
    const found = violations(stack, 'SFNLambdaTaskTimeout');
    // Assess
    expect(found).toEqual([]);
  });
});

describe('FanOut-SFNInlineMapConcurrency', () => {
  const mapWith = (maxConcurrency: number | undefined) =>
    machine((s) =>
      new sfn.Map(s, 'Fan', { maxConcurrency, itemsPath: '$.items' }).itemProcessor(
        new sfn.Pass(s, 'Work')
      )
    );

  it.each([
    { description: 'absent (unbounded)', maxConcurrency: undefined },
    { description: '0 (unbounded)', maxConcurrency: 0 },
    { description: '41', maxConcurrency: 41 },
  ])('Noncompliance: MaxConcurrency $description', ({ maxConcurrency }) => {
    // Act
    const found = violations(mapWith(maxConcurrency), 'SFNInlineMapConcurrency');
    // Assess
    expect(found).toHaveLength(1);
  });

  it.each([1, 40])('Compliance: MaxConcurrency %i', (maxConcurrency) => {
    // Act
    const found = violations(mapWith(maxConcurrency), 'SFNInlineMapConcurrency');
    // Assess
    expect(found).toEqual([]);
  });

  it('Compliance: a Distributed Map is not an inline Map', () => {
    // Prepare
    const stack = machine((s) =>
      new sfn.DistributedMap(s, 'Fan', { itemsPath: '$.items' }).itemProcessor(
        new sfn.Pass(s, 'Work')
      )
    );
    // Act
    const found = violations(stack, 'SFNInlineMapConcurrency');
    // Assess
    expect(found).toEqual([]);
  });
});

describe('FanOut-SQSDeadLetterAlarm', () => {
  /** A queue with a DLQ, and optionally an alarm on the DLQ's depth, with or without an action. */
  const redriven = (alarm: 'none' | 'silent' | 'notifying') => {
    const stack = new Stack();
    const dlq = new sqs.Queue(stack, 'Dlq');
    new sqs.Queue(stack, 'Queue', { deadLetterQueue: { queue: dlq, maxReceiveCount: 5 } });
    if (alarm !== 'none') {
      const created = dlq
        .metricApproximateNumberOfMessagesVisible()
        .createAlarm(stack, 'DlqAlarm', { threshold: 1, evaluationPeriods: 1 });
      if (alarm === 'notifying') {
        created.addAlarmAction(new actions.SnsAction(new sns.Topic(stack, 'Ops')));
      }
    }
    return { stack, dlq };
  };

  it('Noncompliance 1: a redrive target without any alarm', () => {
    // Prepare
    const { stack, dlq } = redriven('none');
    // Act
    const found = violations(stack, 'SQSDeadLetterAlarm');
    // Assess
    expect(found).toEqual([`${dlq.node.path}/Resource`]);
  });

  it('Noncompliance 2: an alarm on the DLQ that notifies nobody', () => {
    // Prepare
    const { stack, dlq } = redriven('silent');
    // Act
    const found = violations(stack, 'SQSDeadLetterAlarm');
    // Assess
    expect(found).toEqual([`${dlq.node.path}/Resource`]);
  });

  it("Noncompliance 3: an SNS subscription's delivery DLQ without an alarm", () => {
    // Prepare
    const stack = new Stack();
    const deliveryDlq = new sqs.Queue(stack, 'DeliveryDlq');
    new sns.Topic(stack, 'Topic').addSubscription(
      new subs.SqsSubscription(new sqs.Queue(stack, 'Target'), { deadLetterQueue: deliveryDlq })
    );
    // Act
    const found = violations(stack, 'SQSDeadLetterAlarm');
    // Assess: the DLQ is reported; the subscribed queue, which nothing dead-letters into, is N/A.
    expect(found).toEqual([`${deliveryDlq.node.path}/Resource`]);
  });

  it('Compliance: a depth alarm with an action on the DLQ; plain queues are N/A', () => {
    // Prepare
    const { stack } = redriven('notifying');
    new sqs.Queue(stack, 'Plain');
    // Act
    const found = violations(stack, 'SQSDeadLetterAlarm');
    // Assess
    expect(found).toEqual([]);
  });

  it('Noncompliance 4: an alarm with an action on another metric of the DLQ', () => {
    // Prepare
    const stack = new Stack();
    const dlq = new sqs.Queue(stack, 'Dlq');
    new sqs.Queue(stack, 'Queue', { deadLetterQueue: { queue: dlq, maxReceiveCount: 5 } });
    dlq
      .metricApproximateAgeOfOldestMessage()
      .createAlarm(stack, 'AgeAlarm', { threshold: 60, evaluationPeriods: 1 })
      .addAlarmAction(new actions.SnsAction(new sns.Topic(stack, 'Ops')));
    // Act
    const found = violations(stack, 'SQSDeadLetterAlarm');
    // Assess
    expect(found).toEqual([`${dlq.node.path}/Resource`]);
  });
});
