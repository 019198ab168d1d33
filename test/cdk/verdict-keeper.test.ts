import { rmSync } from 'node:fs';
import { App, Duration } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VideoPipelineStack, videoTimeoutFor } from '../../lib/stacks/video-pipeline-stack.js';
import { resolveDefinition, synthVideoStack } from './synth.js';

let synth: ReturnType<typeof synthVideoStack>;

beforeAll(() => {
  // Act (shared): the real app, nag packs and all.
  synth = synthVideoStack();
});
afterAll(() => {
  if (synth) rmSync(synth.outdir, { recursive: true, force: true });
});

const logicalIdOf = (type: string, props: Record<string, unknown>) => {
  const found = Object.keys(synth.template.findResources(type, { Properties: props }));
  expect(found).toHaveLength(1);
  return found[0]!;
};
const keeperId = () =>
  logicalIdOf('AWS::Lambda::Function', {
    Environment: {
      Variables: Match.objectLike({
        STATE_MACHINE_ARN: Match.anyValue(),
        PROCESSED_TOPIC_ARN: Match.anyValue(),
      }),
    },
  });
/** The rule that asks for verdicts (the other rule, on SUCCEEDED, only gives leases back). */
const endingsRuleId = () =>
  logicalIdOf('AWS::Events::Rule', {
    EventPattern: Match.objectLike({
      detail: Match.objectLike({ status: ['FAILED', 'TIMED_OUT', 'ABORTED'] }),
    }),
  });
const machineId = () =>
  Object.keys(synth.template.findResources('AWS::StepFunctions::StateMachine'))[0]!;
const failuresQueueId = () =>
  Object.keys(synth.template.findResources('AWS::SQS::Queue')).find((id) =>
    /^VerdictDeadLetterQueue[0-9A-F]{8}$/.test(id)
  )!;

describe('the verdict keeper', () => {
  it('routes every unsuccessful ending of the video state machine to the keeper', () => {
    synth.template.hasResourceProperties('AWS::Events::Rule', {
      State: 'ENABLED',
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
          stateMachineArn: [{ Ref: machineId() }],
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [keeperId(), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [failuresQueueId(), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
        }),
      ],
    });
  });

  it('sends successes to the keeper too, only to give their admission lease back', () => {
    synth.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { status: ['SUCCEEDED'], stateMachineArn: [{ Ref: machineId() }] },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [keeperId(), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [failuresQueueId(), 'Arn'] } },
        }),
      ],
    });
    synth.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          PROCESSED_TOPIC_ARN: Match.anyValue(),
          ADMISSION_LEDGER_BUCKET: { Ref: Match.stringLikeRegexp('^OutputBucket') },
        }),
      },
    });
  });

  it("keeps the keeper's own failed events (after Lambda's retries) in the same alarmed queue", () => {
    synth.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ STATE_MACHINE_ARN: { Ref: machineId() } }) },
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [failuresQueueId(), 'Arn'] } },
    });
    synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [failuresQueueId(), 'QueueName'] } },
      ],
      Threshold: 1,
    });
  });

  it('lets EventBridge invoke the keeper and dead-letter into the queue, and nothing more', () => {
    synth.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [keeperId(), 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [endingsRuleId(), 'Arn'] },
    });
    synth.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: failuresQueueId() }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: {
              ArnEquals: {
                'aws:SourceArn': { 'Fn::GetAtt': [endingsRuleId(), 'Arn'] },
              },
            },
          }),
        ]),
      },
    });
  });

  it('gives the keeper DescribeExecution on the video executions only, and a conditional PUT on outputs/', () => {
    const policies = synth.template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^VerdictKeeper') }] },
    });
    const statements = Object.values(policies).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>
    );
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(
      expect.arrayContaining([
        'states:DescribeExecution',
        's3:PutObject',
        's3:GetObject',
        'sns:Publish',
      ])
    );
    expect(actions).not.toContain('s3:DeleteObject');
    const describe = statements.find((s) => s.Action === 'states:DescribeExecution')!;
    expect(JSON.stringify(describe.Resource)).toContain(':execution:');
    expect(JSON.stringify(describe.Resource)).toContain(machineId());
  });

  it('catches an aggregator that failed past its retries into the AggregateFailed Fail state', () => {
    const states = resolveDefinition(synth.template).States as Record<
      string,
      Record<string, unknown>
    >;
    expect(states.Aggregate!.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.aggregateFailure', Next: 'AggregateFailure' },
    ]);
    expect(states.AggregateFailure).toMatchObject({
      Type: 'Pass',
      Parameters: { 'cause.$': 'States.JsonToString($.aggregateFailure)' },
      Next: 'AggregateFailed',
    });
    expect(states.AggregateFailed).toEqual({
      Type: 'Fail',
      Error: 'AggregateFailed',
      CausePath: '$.cause',
    });
  });

  it('sets the default per-video deadline: twice one pass through the longest path', () => {
    // probe 120+30, plan 30+30, 2 waves ((2 renditions + the audio parts) × 120 items / 300)
    // of 600+30,
    // one fan-out wave of rendition 630 + its segmented fallback's 62 attempts of 630
    // (⌈120 segments / 2 an attempt⌉ + audio + join) with 61 retry intervals of 1 s,
    // aggregator 60+30 → 150 + 60 + 1,260 + (630 + 39,060 + 61) + 90 = 41,311 s; ×2.
    expect(resolveDefinition(synth.template).TimeoutSeconds).toBe(82_622);
  });
});

describe('videoTimeout', () => {
  /** A stack without bundling or the ffmpeg layer asset: construction is all these tests need. */
  const build = (videoTimeout?: Duration) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new VideoPipelineStack(app, 'S', {
      videoTimeout,
      ffmpegLayer: lambda.LayerVersion.fromLayerVersionArn(
        app,
        'Layer',
        'arn:aws:lambda:us-east-1:123456789012:layer:ffmpeg:1'
      ),
    });
    return stack;
  };

  it('becomes the state machine TimeoutSeconds', () => {
    const stack = build(Duration.minutes(30));
    const machine = Object.values(
      Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine')
    )[0]!;
    const parts = machine.Properties.DefinitionString['Fn::Join'][1] as unknown[];
    const text = parts.filter((p) => typeof p === 'string').join('');
    // The machine-level field, after States (a task's TimeoutSeconds is followed by other keys).
    expect(text).toMatch(/}},"TimeoutSeconds":1800,"QueryLanguage":"JSONPath"}$/);
  });

  it('reports a deadline shorter than one pass through the work at synth', () => {
    const stack = build(Duration.seconds(5));
    Annotations.fromStack(stack).hasWarning(
      '/S',
      Match.stringLikeRegexp('videoTimeout \\(5 s\\) is shorter than one pass')
    );
  });

  it.each([Duration.seconds(0), Duration.days(366)])('refuses %s', (timeout) => {
    expect(() => build(timeout)).toThrow(
      /executionTimeout .* must be whole seconds from 1 to 31536000/
    );
  });

  it('derives the default from the work (pure)', () => {
    const work = {
      probeSeconds: 10,
      planSeconds: 20,
      segmentSeconds: 100,
      segmentWaves: 2,
      branchChainSeconds: 50,
      fanOutWaves: 3,
      aggregateSeconds: 5,
    };
    expect(videoTimeoutFor(work).toSeconds()).toBe(2 * (10 + 20 + 200 + 150 + 5));
  });
});
