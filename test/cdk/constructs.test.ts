import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { MapFanOutFanIn } from '../../lib/constructs/map-fan-out-fan-in.js';
import { QueueWorker } from '../../lib/constructs/queue-worker.js';
import { TopicFanOut } from '../../lib/constructs/topic-fan-out.js';

const inlineFunction = (stack: Stack, id: string, timeout = Duration.seconds(30)) =>
  new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async (e) => e;'),
    timeout,
  });

/** Synthesizing runs every construct's addValidation; errors come back as one thrown message. */
const validationErrors = (app: App): string => {
  try {
    app.synth();
    return '';
  } catch (err) {
    return String(err);
  }
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
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }),
      SqsManagedSseEnabled: true,
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 7 },
    });
    expect(worker.deadLetterQueue).toBeDefined();
    expect(worker.dlqAlarm).toBeDefined();
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
  ])('refuses to synthesize $description', ({ props, message }) => {
    // Prepare
    const app = new App();
    const stack = new Stack(app, 'S');
    // Act
    new QueueWorker(stack, 'Worker', { consumer: inlineFunction(stack, 'Consumer'), ...props });
    // Assess
    expect(validationErrors(app)).toContain(message);
  });

  it('inherits the event source check on maxConcurrency (2–1000)', () => {
    // Prepare
    const stack = new Stack();
    const consumer = inlineFunction(stack, 'Consumer');
    // Act
    const build = () => new QueueWorker(stack, 'Worker', { consumer, maxConcurrency: 1 });
    // Assess
    expect(build).toThrow('maxConcurrency must be between 2 and 1000');
  });
});

describe('TopicFanOut', () => {
  it('subscribes queues with raw delivery, a filter policy and the delivery DLQ', () => {
    // Prepare
    const stack = new Stack();
    const fanOut = new TopicFanOut(stack, 'Events');
    const worker = new QueueWorker(stack, 'Worker', {
      consumer: inlineFunction(stack, 'Consumer'),
    });
    // Act
    fanOut.addQueueSubscription(worker.queue, {
      filterPolicy: { kind: sns.SubscriptionFilter.stringFilter({ allowlist: ['a'] }) },
    });
    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      RawMessageDelivery: true,
      FilterPolicy: { kind: ['a'] },
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue() },
    });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });
});

describe('MapFanOutFanIn', () => {
  it('composes a different pipeline: one prepare step, a Map over $.pages, and a fan-in', () => {
    // Prepare (the README's "document indexing" example)
    const stack = new Stack();
    const split = inlineFunction(stack, 'Split');
    const indexPage = inlineFunction(stack, 'IndexPage', Duration.minutes(2));
    const merge = inlineFunction(stack, 'Merge');
    // Act
    const flow = new MapFanOutFanIn(stack, 'Indexing', {
      prepare: [{ name: 'Split', handler: split, resultPath: '$.split' }],
      itemsPath: '$.split.pages',
      worker: indexPage,
      aggregator: merge,
      maxConcurrency: 4,
      retryableErrors: ['ThrottledError'],
    });
    // Assess
    const template = Template.fromStack(stack);
    const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    const asl = JSON.stringify(machine.Properties.DefinitionString);
    expect(asl).toContain('\\"ItemsPath\\":\\"$.split.pages\\"');
    expect(asl).toContain('\\"MaxConcurrency\\":4');
    expect(asl).toContain('ThrottledError');
    expect(asl).toContain('\\"TimeoutSeconds\\":150'); // IndexPage: 120 s timeout + 30 s
    expect(flow.alarms).toHaveLength(4);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
  });

  it('rejects an inline Map concurrency above 40', () => {
    // Prepare
    const app = new App();
    const stack = new Stack(app, 'S');
    // Act
    new MapFanOutFanIn(stack, 'Flow', {
      itemsPath: '$.items',
      worker: inlineFunction(stack, 'W'),
      aggregator: inlineFunction(stack, 'A'),
      maxConcurrency: 100,
    });
    // Assess
    expect(validationErrors(app)).toContain('maxConcurrency (100) must be 0–40');
  });
});
