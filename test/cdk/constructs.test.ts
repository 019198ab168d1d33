import { join } from 'node:path';
import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, type IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import {
  MapFanOutFanIn,
  type MapFanOutFanInProps,
  OverflowPolicy,
  PipelineAlarms,
  PipelineDashboard,
  PipelineFunction,
  QueueWithDeadLetter,
  QueueWorker,
  TopicFanOut,
} from '../../lib/index.js';
import { PROJECT_ROOT } from '../../lib/project-root.js';

const inlineFunction = (stack: Construct, id: string, timeout?: Duration) =>
  new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async (e) => e;'),
    timeout,
  });

/** The logical id of an L2's CfnResource, as the template names it. */
const logicalId = (stack: Stack, l2: IConstruct): string =>
  stack.resolve((l2.node.defaultChild as unknown as { logicalId: string }).logicalId);

const overrideWarnings = (stack: Stack) =>
  Annotations.fromStack(stack).findWarning(
    '*',
    Match.stringLikeRegexp('overrides the secure default')
  );

const stateMachineAsl = (template: Template) => {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  return JSON.stringify(machine.Properties.DefinitionString);
};

/** The README's "document indexing" example: a pipeline with nothing video-specific. */
const flowProps = (
  stack: Stack,
  overrides: Partial<MapFanOutFanInProps> = {}
): MapFanOutFanInProps => {
  // Each call gets its own functions, so one test can build several flows.
  const scope = new Construct(stack, `Functions${stack.node.children.length}`);
  return {
    prepare: [{ name: 'Split', handler: inlineFunction(scope, 'Split'), resultPath: '$.split' }],
    branchesPath: '$.split.pages',
    branchFunctions: [
      { kind: 'page', handler: inlineFunction(scope, 'IndexPage', Duration.minutes(2)) },
    ],
    aggregator: inlineFunction(scope, 'Merge'),
    ...overrides,
  };
};

describe('QueueWorker', () => {
  it('defaults to a DLQ after 5 receives, visibility 6× the consumer timeout, and partial batch responses', () => {
    // Prepare
    const stack = new Stack();
    const consumer = inlineFunction(stack, 'Consumer', Duration.seconds(45));
    // Act
    const worker = new QueueWorker(stack, 'Worker', { consumer, maxConcurrency: 7 });
    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 270,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack, worker.deadLetterQueue!), 'Arn'] },
        maxReceiveCount: 5,
      },
      SqsManagedSseEnabled: true,
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 7 },
      BatchSize: 10,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalId(stack, worker.deadLetterQueue!), 'QueueName'] },
        },
      ],
    });
    expect(worker.queue.node.path).toBe('Default/Worker/Resource/Resource');
  });

  it.each([
    {
      description: 'a visibility timeout under 6× the consumer timeout',
      props: { visibilityTimeout: Duration.seconds(60) },
      message: 'visibilityTimeout (60s) must be at least 6 × the consumer timeout (180s)',
    },
    {
      description: 'maxReceiveCount below 5',
      props: { maxReceiveCount: 2 },
      message: 'maxReceiveCount (2) must be at least 5',
    },
    {
      description: 'both visibilityTimeout and queueProps.visibilityTimeout',
      props: {
        visibilityTimeout: Duration.minutes(5),
        queueProps: { visibilityTimeout: Duration.minutes(6) },
      },
      message: 'not both',
    },
  ])('refuses $description in the constructor', ({ props, message }) => {
    // Prepare
    const stack = new Stack();
    const consumer = inlineFunction(stack, 'Consumer', Duration.seconds(30));
    // Act
    const build = () => new QueueWorker(stack, 'Worker', { consumer, ...props });
    // Assess
    expect(build).toThrow(message);
  });

  it('refuses a deadLetterQueue in queueProps: the construct owns the redrive policy', () => {
    // Prepare
    const stack = new Stack();
    const consumer = inlineFunction(stack, 'Consumer', Duration.seconds(30));
    const other = new sqs.Queue(stack, 'Other');
    // Act
    const build = () =>
      new QueueWorker(stack, 'Worker', {
        consumer,
        queueProps: { deadLetterQueue: { queue: other, maxReceiveCount: 9 } },
      });
    // Assess
    expect(build).toThrow('queueProps.deadLetterQueue is set by the construct');
  });

  it('needs consumerTimeout for an imported consumer, and checks visibility against it', () => {
    // Prepare
    const stack = new Stack();
    const consumer = lambda.Function.fromFunctionArn(
      stack,
      'Imported',
      'arn:aws:lambda:us-east-1:123456789012:function:imported'
    );
    // Act
    const withoutTimeout = () => new QueueWorker(stack, 'A', { consumer });
    const tooShort = () =>
      new QueueWorker(stack, 'B', {
        consumer,
        consumerTimeout: Duration.minutes(1),
        visibilityTimeout: Duration.minutes(5),
      });
    new QueueWorker(stack, 'C', { consumer, consumerTimeout: Duration.seconds(20) });
    // A timeout only known at deploy time (its own stack, so the unused parameter stays out of `stack`).
    const tokenStack = new Stack();
    const tokenTimeout = () =>
      new QueueWorker(tokenStack, 'D', {
        consumer: lambda.Function.fromFunctionArn(tokenStack, 'Imported', consumer.functionArn),
        consumerTimeout: Duration.seconds(
          new CfnParameter(tokenStack, 'Seconds', { type: 'Number' }).valueAsNumber
        ),
      });
    // Assess
    expect(withoutTimeout).toThrow('consumerTimeout is required');
    expect(tokenTimeout).toThrow(
      'the consumer timeout is a token; pass visibilityTimeout explicitly'
    );
    expect(tooShort).toThrow(
      'visibilityTimeout (300s) must be at least 6 × the consumer timeout (360s)'
    );
    Template.fromStack(stack).hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 120 });
  });

  it('consumes an existing queue without creating one, and rejects queue settings with it', () => {
    // Prepare
    const stack = new Stack();
    const consumer = inlineFunction(stack, 'Consumer', Duration.seconds(10));
    const existing = new sqs.Queue(stack, 'Existing', { visibilityTimeout: Duration.minutes(1) });
    // Act
    const worker = new QueueWorker(stack, 'Worker', { consumer, existingQueueObj: existing });
    const conflicting = () =>
      new QueueWorker(stack, 'Worker2', {
        consumer,
        existingQueueObj: existing,
        maxReceiveCount: 7,
      });
    // Assess
    expect(worker.queue).toBe(existing);
    expect(worker.deadLetterQueue).toBeUndefined();
    Template.fromStack(stack).resourceCountIs('AWS::SQS::Queue', 1);
    expect(conflicting).toThrow('existingQueueObj cannot be combined with maxReceiveCount');
  });

  it('warns when queueProps replaces a secure default, and stays silent otherwise', () => {
    // Prepare
    const quiet = new Stack();
    const loud = new Stack();
    // Act
    new QueueWorker(quiet, 'Worker', {
      consumer: inlineFunction(quiet, 'Consumer'),
      queueProps: { queueName: 'work' },
    });
    new QueueWorker(loud, 'Worker', {
      consumer: inlineFunction(loud, 'Consumer'),
      queueProps: { enforceSSL: false },
    });
    // Assess
    expect(overrideWarnings(quiet)).toEqual([]);
    expect(overrideWarnings(loud).map((w) => w.entry.data)).toEqual([
      expect.stringContaining('queueProps.enforceSSL overrides the secure default (true → false)'),
    ]);
  });
});

describe('QueueWorker overflow', () => {
  const overflowEnv = (stack: Stack, consumer: lambda.Function) =>
    Template.fromStack(stack).findResources('AWS::Lambda::Function')[logicalId(stack, consumer)]
      ?.Properties.Environment?.Variables?.OVERFLOW_POLICY;

  it('blocks by default: no policy reaches the consumer', () => {
    // Prepare
    const stack = new Stack();
    const consumer = inlineFunction(stack, 'Consumer');
    // Act
    const worker = new QueueWorker(stack, 'Worker', { consumer });
    // Assess
    expect(worker.overflow.policy).toBe('block');
    expect(overflowEnv(stack, consumer)).toBeUndefined();
  });

  it('dropOldest writes its age and the input name', () => {
    // Prepare
    const stack = new Stack();
    const consumer = inlineFunction(stack, 'Consumer');
    // Act
    new QueueWorker(stack, 'Worker', {
      consumer,
      overflow: OverflowPolicy.dropOldest(Duration.minutes(10)),
      inputName: 'Thumbnails',
    });
    // Assess
    expect(overflowEnv(stack, consumer)).toBe(
      '{"policy":"dropOldest","input":"Thumbnails","maxAgeSeconds":600}'
    );
  });

  it('dropNewest reads its own queue depth, and may', () => {
    // Prepare
    const stack = new Stack();
    const consumer = inlineFunction(stack, 'Consumer');
    // Act
    const worker = new QueueWorker(stack, 'Worker', {
      consumer,
      overflow: OverflowPolicy.dropNewest(500),
    });
    // Assess
    const queueId = logicalId(stack, worker.queue);
    expect(overflowEnv(stack, consumer)).toEqual({
      'Fn::Join': [
        '',
        [
          '{"policy":"dropNewest","input":"Worker","maxBacklog":500,"queueUrl":"',
          { Ref: queueId },
          '"}',
        ],
      ],
    });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sqs:GetQueueAttributes',
            Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
          }),
        ]),
      },
    });
  });

  it('spills to a named queue, which the consumer may send to', () => {
    // Prepare
    const stack = new Stack();
    const consumer = inlineFunction(stack, 'Consumer');
    const later = new sqs.Queue(stack, 'Later', { enforceSSL: true });
    // Act
    new QueueWorker(stack, 'Worker', {
      consumer,
      overflow: OverflowPolicy.spill(Duration.hours(1), later),
    });
    // Assess
    const laterId = logicalId(stack, later);
    expect(JSON.stringify(overflowEnv(stack, consumer))).toContain(`{"Ref":"${laterId}"}`);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['sqs:SendMessage']),
            Resource: { 'Fn::GetAtt': [laterId, 'Arn'] },
          }),
        ]),
      },
    });
  });

  it('spills to a named bucket: its name and the source queue reach the consumer, which may only put under its input prefix', () => {
    // Prepare
    const stack = new Stack();
    const consumer = inlineFunction(stack, 'Consumer');
    const bucket = new s3.Bucket(stack, 'Spill', { enforceSSL: true });
    // Act
    const worker = new QueueWorker(stack, 'Worker', {
      consumer,
      overflow: OverflowPolicy.spillToBucket(Duration.hours(1), bucket),
      inputName: 'Audit',
    });
    // Assess
    const bucketId = logicalId(stack, bucket);
    expect(overflowEnv(stack, consumer)).toEqual({
      'Fn::Join': [
        '',
        [
          '{"policy":"spill","input":"Audit","maxAgeSeconds":3600,"spillBucket":"',
          { Ref: bucketId },
          '","queueUrl":"',
          { Ref: logicalId(stack, worker.queue) },
          '"}',
        ],
      ],
    });
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>)
      .filter((st) => JSON.stringify(st.Resource ?? '').includes(bucketId));
    expect(statements).toEqual([
      expect.objectContaining({
        Action: expect.arrayContaining(['s3:PutObject']),
        Resource: {
          'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/overflow-spill/Audit/*']],
        },
      }),
    ]);
    expect(JSON.stringify(statements)).not.toMatch(/s3:(GetObject|DeleteObject|ListBucket)/);
  });

  it.each([
    {
      name: 'a bucket spill whose input name cannot be a key segment',
      build: (stack: Stack) =>
        new QueueWorker(stack, 'Worker', {
          consumer: inlineFunction(stack, 'Consumer'),
          overflow: OverflowPolicy.spillToBucket(Duration.hours(1), new s3.Bucket(stack, 'B')),
          inputName: 'audit/../x',
        }),
      message: /inputName "audit\/\.\.\/x" must match/,
    },
    {
      name: 'a spill from an existing queue without a named target',
      build: (stack: Stack) =>
        new QueueWorker(stack, 'Worker', {
          consumer: inlineFunction(stack, 'Consumer'),
          existingQueueObj: new sqs.Queue(stack, 'Existing'),
          overflow: OverflowPolicy.spill(Duration.hours(1)),
        }),
      message: /overflow spill: name the spill queue/,
    },
    {
      name: 'an age below a second',
      build: (stack: Stack) =>
        new QueueWorker(stack, 'Worker', {
          consumer: inlineFunction(stack, 'Consumer'),
          overflow: OverflowPolicy.dropOldest(Duration.millis(500)),
        }),
      message: /maxAge must be a whole number of seconds, at least 1, got 0.5/,
    },
    {
      name: 'a backlog bound of 0',
      build: (stack: Stack) =>
        new QueueWorker(stack, 'Worker', {
          consumer: inlineFunction(stack, 'Consumer'),
          overflow: OverflowPolicy.dropNewest(0),
        }),
      message: /maxBacklog must be a positive whole number, got 0/,
    },
    {
      name: 'two policies on one function',
      build: (stack: Stack) => {
        const consumer = inlineFunction(stack, 'Consumer');
        const overflow = OverflowPolicy.dropOldest(Duration.hours(1));
        new QueueWorker(stack, 'A', { consumer, overflow });
        new QueueWorker(stack, 'B', { consumer, overflow });
      },
      message:
        /Default\/B: overflow dropOldest: Default\/Consumer already applies the policy of Default\/A/,
    },
  ])('refuses $name at synth', ({ build, message }) => {
    // Act / Assess
    expect(() => build(new Stack())).toThrow(message);
  });

  it('TopicFanOut.addQueueWorker subscribes the worker it creates', () => {
    // Prepare
    const stack = new Stack();
    const fanOut = new TopicFanOut(stack, 'Topic');
    // Act
    const worker = fanOut.addQueueWorker(stack, 'Worker', {
      consumer: inlineFunction(stack, 'Consumer'),
      overflow: OverflowPolicy.dropOldest(Duration.hours(1)),
    });
    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      RawMessageDelivery: true,
      Endpoint: { 'Fn::GetAtt': [logicalId(stack, worker.queue), 'Arn'] },
    });
  });
});

describe('QueueWithDeadLetter', () => {
  it('creates a queue, its DLQ (14 days) and an alarm on the DLQ depth', () => {
    // Prepare
    const stack = new Stack();
    // Act
    const alerts = new QueueWithDeadLetter(stack, 'Alerts', { dlqAlarmThreshold: 3 });
    // Assess
    const template = Template.fromStack(stack);
    const dlqId = logicalId(stack, alerts.deadLetterQueue);
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 1_209_600 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 3,
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
    });
    expect(alerts.queue.node.id).toBe('Resource');
  });
});

describe('TopicFanOut', () => {
  it('subscribes queues with raw delivery, a filter policy and the alarmed delivery DLQ', () => {
    // Prepare
    const stack = new Stack();
    const fanOut = new TopicFanOut(stack, 'Events');
    const queue = new sqs.Queue(stack, 'Target');
    // Act
    fanOut.addQueueSubscription(queue, {
      filterPolicy: { kind: sns.SubscriptionFilter.stringFilter({ allowlist: ['a'] }) },
    });
    // Assess
    const template = Template.fromStack(stack);
    const dlqId = logicalId(stack, fanOut.deliveryDeadLetterQueue);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      RawMessageDelivery: true,
      FilterPolicy: { kind: ['a'] },
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
    });
    const keyId = logicalId(stack, fanOut.masterKey!);
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    expect(fanOut.topic.node.id).toBe('Resource');
  });

  it('refuses a masterKey in topicProps and warns when TLS enforcement is turned off', () => {
    // Prepare
    const stack = new Stack();
    // Act
    new TopicFanOut(stack, 'Loose', { topicProps: { enforceSSL: false } });
    const withKey = () =>
      new TopicFanOut(stack, 'Keyed', { topicProps: { masterKey: new kms.Key(stack, 'K') } });
    // Assess
    expect(withKey).toThrow('topicProps.masterKey is set by the construct');
    expect(overrideWarnings(stack).map((w) => w.entry.data)).toEqual([
      expect.stringContaining('topicProps.enforceSSL overrides the secure default'),
    ]);
  });

  it('fans out from an existing topic, which cannot take topic settings or a service grant', () => {
    // Prepare
    const stack = new Stack();
    const topic = sns.Topic.fromTopicArn(stack, 'T', 'arn:aws:sns:us-east-1:123456789012:t');
    // Act
    const fanOut = new TopicFanOut(stack, 'Events', { existingTopicObj: topic });
    fanOut.addQueueSubscription(new sqs.Queue(stack, 'Q'));
    // Assess
    expect(fanOut.topic).toBe(topic);
    Template.fromStack(stack).resourceCountIs('AWS::SNS::Topic', 0);
    Template.fromStack(stack).hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:t',
    });
    expect(() => fanOut.grantServicePublish('s3.amazonaws.com', '123456789012')).toThrow(
      'grantServicePublish needs a topic this construct created'
    );
    expect(
      () => new TopicFanOut(stack, 'Both', { existingTopicObj: topic, topicProps: {} })
    ).toThrow('existingTopicObj cannot be combined with topicProps or masterKey');
  });
});

describe('PipelineFunction', () => {
  const entry = join(PROJECT_ROOT, 'lambdas', 'plan', 'handler.ts');

  it('merges functionProps over the secure defaults, warns on turning tracing off, names the function Resource', () => {
    // Prepare
    const stack = new Stack();
    // Act
    const fn = new PipelineFunction(stack, 'Plan', {
      entry,
      timeout: Duration.seconds(20),
      functionProps: { tracing: lambda.Tracing.DISABLED, description: 'plans branches' },
    });
    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Timeout: 20,
      MemorySize: 256,
      Description: 'plans branches',
      TracingConfig: Match.absent(),
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }),
    });
    expect(overrideWarnings(stack).map((w) => w.entry.data)).toEqual([
      expect.stringContaining(
        'functionProps.tracing overrides the secure default ("Active" → "Disabled")'
      ),
    ]);
    expect(fn.function.node.id).toBe('Resource');
  });

  it.each([
    {
      description: 'a setting given both as a prop and in functionProps',
      props: { timeout: Duration.seconds(5), functionProps: { timeout: Duration.seconds(6) } },
      message: 'timeout set both as a prop and in functionProps',
    },
    {
      description: 'a required setting in functionProps',
      props: { functionProps: { handler: 'other' } },
      message: 'functionProps.handler is set by the construct',
    },
  ])('refuses $description', ({ props, message }) => {
    // Prepare
    const stack = new Stack();
    // Act
    const build = () => new PipelineFunction(stack, 'Fn', { entry, ...props });
    // Assess
    expect(build).toThrow(message);
  });
});

describe('MapFanOutFanIn', () => {
  it('composes a different pipeline: one prepare step, a Map over $.split.pages, and a fan-in', () => {
    // Prepare
    const stack = new Stack();
    // Act
    const flow = new MapFanOutFanIn(
      stack,
      'Indexing',
      flowProps(stack, { maxConcurrency: 4, retryableErrors: ['ThrottledError'] })
    );
    // Assess
    const template = Template.fromStack(stack);
    const asl = stateMachineAsl(template);
    expect(asl).toContain('\\"ItemsPath\\":\\"$.split.pages\\"');
    expect(asl).toContain('\\"MaxConcurrency\\":4');
    expect(asl).toContain('ThrottledError');
    expect(asl).toContain('\\"RunPage\\":{');
    expect(asl).toContain('\\"TimeoutSeconds\\":150'); // IndexPage: 120 s timeout + 30 s
    expect(flow.stateMachine.node.id).toBe('Resource');
    expect(flow.alarms.map((a) => a.node.id)).toEqual([
      'ExecutionsFailedAlarm',
      'ExecutionsTimedOutAlarm',
      'ExecutionsAbortedAlarm',
      'ExecutionThrottledAlarm',
    ]);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
    });
  });

  it.each([
    { maxConcurrency: 100, message: 'maxConcurrency (100) must be an integer from 1 to 40' },
    { maxConcurrency: 0, message: 'maxConcurrency (0) must be an integer from 1 to 40' },
  ])('refuses maxConcurrency $maxConcurrency in the constructor', ({ maxConcurrency, message }) => {
    // Prepare
    const stack = new Stack();
    // Act
    const build = () => new MapFanOutFanIn(stack, 'Flow', flowProps(stack, { maxConcurrency }));
    // Assess
    expect(build).toThrow(message);
  });

  it('refuses deferred branches with a distributed FanOut: the Joins map reruns the inline routes', () => {
    // Prepare
    const stack = new Stack();
    const bucket = new s3.Bucket(stack, 'Items');
    const props = flowProps(stack, { branchesPath: undefined });
    // Act
    const build = () =>
      new MapFanOutFanIn(stack, 'Flow', {
        ...props,
        distributed: { bucket },
        preFanOut: {
          stateName: 'Chunks',
          worker: inlineFunction(stack, 'Chunk'),
          itemsRefPath: '$.split.chunks',
          bucket,
          resultPrefix: 'chunk-runs',
          deferredPath: '$.branch.chunked',
        },
      });
    // Assess
    expect(build).toThrow('preFanOut.deferredPath needs the inline FanOut');
  });

  it('refuses two branch functions for one kind, and none at all', () => {
    // Prepare
    const stack = new Stack();
    const fn = inlineFunction(stack, 'W');
    // Act
    const twice = () =>
      new MapFanOutFanIn(
        stack,
        'A',
        flowProps(stack, {
          branchFunctions: [
            { kind: 'page', handler: fn },
            { kind: 'page', handler: fn },
          ],
        })
      );
    const none = () => new MapFanOutFanIn(stack, 'B', flowProps(stack, { branchFunctions: [] }));
    // Assess
    expect(twice).toThrow('more than one branch function for branch kind page');
    expect(none).toThrow('needs at least one branch function');
  });

  it('merges stateMachineProps over the secure defaults, warning when tracing is turned off', () => {
    // Prepare
    const app = new App();
    const stack = new Stack(app, 'S');
    // Act
    new MapFanOutFanIn(
      stack,
      'Flow',
      flowProps(stack, { stateMachineProps: { tracingEnabled: false, comment: 'indexing' } })
    );
    const twoTimeouts = () =>
      new MapFanOutFanIn(
        stack,
        'Flow2',
        flowProps(stack, {
          stateMachineProps: { timeout: Duration.minutes(1) },
          executionTimeout: Duration.minutes(2),
        })
      );
    const ownDefinition = () =>
      new MapFanOutFanIn(
        stack,
        'Flow3',
        flowProps(stack, {
          stateMachineProps: { definitionBody: sfn.DefinitionBody.fromString('{}') },
        })
      );
    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: false },
    });
    expect(overrideWarnings(stack).map((w) => w.entry.data)).toEqual([
      expect.stringContaining(
        'stateMachineProps.tracingEnabled overrides the secure default (true → false)'
      ),
    ]);
    expect(twoTimeouts).toThrow('executionTimeout and stateMachineProps.timeout both set');
    expect(ownDefinition).toThrow('stateMachineProps.definitionBody is set by the construct');
  });

  it('refuses logRetention together with stateMachineProps.logs, which replaces the log group it sizes', () => {
    // Prepare
    const stack = new Stack();
    const elsewhere = new logs.LogGroup(stack, 'Elsewhere');
    // Act
    const both = () =>
      new MapFanOutFanIn(
        stack,
        'Flow',
        flowProps(stack, {
          logRetention: logs.RetentionDays.ONE_WEEK,
          stateMachineProps: { logs: { destination: elsewhere, level: sfn.LogLevel.ALL } },
        })
      );
    // Assess
    expect(both).toThrow(
      "Default/Flow: logRetention applies to the construct's log group; stateMachineProps.logs replaces it"
    );
  });
});

describe('PipelineAlarms', () => {
  const watched = (stack: Stack) => ({
    queue: new QueueWithDeadLetter(stack, 'Work'),
    fn: inlineFunction(stack, 'Consumer'),
  });

  it('defaults: an encrypted TLS-only topic CloudWatch may use, 15 min age, 1 throttle, every alarm notifying it', () => {
    // Prepare
    const stack = new Stack();
    const { queue, fn } = watched(stack);
    // Act
    const alarms = new PipelineAlarms(stack, 'Alarms', {
      queues: [{ label: 'Work', queue: queue.queue }],
      functions: [{ label: 'Consumer', function: fn }],
      existingAlarms: [queue.dlqAlarm],
    });
    const template = Template.fromStack(stack);
    // Assess
    const topicRef = { Ref: logicalId(stack, alarms.alarmTopic) };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 900,
      Statistic: 'Maximum',
      AlarmActions: [topicRef],
      OKActions: [topicRef],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Throttles',
      Threshold: 1,
      AlarmActions: [topicRef],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      AlarmActions: [topicRef],
    });
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
    expect(alarms.alarms).toHaveLength(3);
  });

  it('uses a given topic and per-queue ages, and refuses topicProps with it and a bad threshold', () => {
    // Prepare
    const stack = new Stack();
    const { queue, fn } = watched(stack);
    const ops = new sns.Topic(stack, 'Ops');
    // Act
    new PipelineAlarms(stack, 'Alarms', {
      queues: [{ label: 'Work', queue: queue.queue, maxMessageAge: Duration.hours(1) }],
      functions: [{ label: 'Consumer', function: fn }],
      alarmTopic: ops,
    });
    const both = () =>
      new PipelineAlarms(stack, 'Both', {
        queues: [],
        functions: [],
        alarmTopic: ops,
        topicProps: { displayName: 'x' },
      });
    const zero = () =>
      new PipelineAlarms(stack, 'Zero', { queues: [], functions: [], throttleThreshold: 0 });
    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 3600,
      AlarmActions: [{ Ref: logicalId(stack, ops) }],
    });
    template.resourceCountIs('AWS::SNS::Topic', 1);
    expect(both).toThrow(/topicProps configure a topic; alarmTopic replaces it/);
    expect(zero).toThrow(/throttleThreshold must be a positive integer/);
  });
});

describe('PipelineDashboard', () => {
  it('is the Resource child, and lists the alarms only when given', () => {
    // Prepare
    const stack = new Stack();
    const queue = new QueueWithDeadLetter(stack, 'Work');
    const machine = new sfn.StateMachine(stack, 'Machine', {
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Noop')),
    });
    const common = {
      queues: [{ label: 'Work', queue: queue.queue }],
      deadLetterQueues: [{ label: 'WorkDLQ', queue: queue.deadLetterQueue }],
      stateMachine: machine,
      functions: [{ label: 'Consumer', function: inlineFunction(stack, 'Consumer') }],
    };
    // Act
    const withAlarms = new PipelineDashboard(stack, 'WithAlarms', {
      ...common,
      alarms: [queue.dlqAlarm],
      dashboardName: 'ops',
    });
    const plain = new PipelineDashboard(stack, 'Plain', common);
    // Assess
    // Booleans: CDK objects have an inspect() that vitest's diff printer cannot call.
    expect(withAlarms.node.defaultChild === withAlarms.dashboard).toBe(true);
    expect(withAlarms.dashboard.node.id).toBe('Resource');
    const bodies = Object.values(
      Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard')
    ).map((d) => JSON.stringify(d.Properties.DashboardBody));
    expect(bodies).toHaveLength(2);
    const named = Object.values(
      Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard')
    )
      .map((d) => d.Properties.DashboardName)
      .filter(Boolean);
    expect(named).toEqual(['ops']);
    // The alarm status widget, as it appears in the stringified body.
    const alarmWidget = '\\"type\\":\\"alarm\\"';
    expect(bodies.filter((b) => b.includes(alarmWidget))).toHaveLength(1);
    expect(plain.dashboard.node.id).toBe('Resource');
  });
});
