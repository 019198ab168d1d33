import { App, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { FanOutChecks } from '../../lib/index.js';

/**
 * Negative control for the packs the app factory applies: a stack that breaks
 * rules of each pack on purpose. If a pack stopped checking (or the test of the
 * real stack read an empty report for another reason), these would fail.
 */
const badStack = () => {
  const stack = new Stack(new App(), 'Bad');
  const consumer = new lambda.Function(stack, 'Consumer', {
    runtime: lambda.Runtime.NODEJS_20_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    timeout: Duration.minutes(1),
  });
  const dlq = new sqs.Queue(stack, 'Dlq');
  const queue = new sqs.Queue(stack, 'Queue', {
    visibilityTimeout: Duration.minutes(1),
    deadLetterQueue: { queue: dlq, maxReceiveCount: 1 },
  });
  consumer.addEventSource(new SqsEventSource(queue));
  new sfn.StateMachine(stack, 'Machine', {
    definitionBody: sfn.DefinitionBody.fromChainable(
      new sfn.Map(stack, 'Fan', { itemsPath: '$.items' }).itemProcessor(
        new tasks.LambdaInvoke(stack, 'Work', { lambdaFunction: consumer })
      )
    ),
  });
  return stack;
};

const ruleNames = (pack: { validateScope: (s: Stack) => { violations: { ruleName: string }[] } }) =>
  pack.validateScope(badStack()).violations.map((v) => v.ruleName);

describe('nag packs on a deliberately bad stack', () => {
  it('AwsSolutions reports the queue without TLS enforcement and the untraced, unlogged state machine', () => {
    // Act
    const found = ruleNames(new AwsSolutionsChecks());
    // Assess
    expect(found).toEqual(
      expect.arrayContaining(['AwsSolutions-SQS4', 'AwsSolutions-SF1', 'AwsSolutions-SF2'])
    );
  });

  it('Serverless reports the untraced function and state machine and the DLQ without redrive', () => {
    // Act
    const found = ruleNames(new ServerlessChecks());
    // Assess
    expect(found).toEqual(
      expect.arrayContaining([
        'Serverless-LambdaTracing',
        'Serverless-StepFunctionStateMachineXray',
        'Serverless-SQSRedrivePolicy',
      ])
    );
  });

  it('FanOut reports all five of its rules', () => {
    // Act
    const found = ruleNames(new FanOutChecks());
    // Assess
    expect(found.sort()).toEqual([
      'FanOut-SFNInlineMapConcurrency',
      'FanOut-SFNLambdaTaskTimeout',
      'FanOut-SQSDeadLetterAlarm',
      'FanOut-SQSRedriveMaxReceiveCount',
      'FanOut-SQSVisibilityTimeout',
    ]);
  });
});
