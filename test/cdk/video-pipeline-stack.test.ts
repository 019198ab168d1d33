import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import aslValidator from 'asl-validator';
import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { pascalCase, STATE_NAMES } from '../../contract/index.js';
import { KINDS, SEGMENT_KIND } from '../../kinds/index.js';
import { createPipelineApp, FanOutChecks } from '../../lib/index.js';
import { resolveDefinition, synthVideoStack, tempOutdir } from './synth.js';

let synth: ReturnType<typeof synthVideoStack>;

beforeAll(() => {
  // Act (shared): synthesizing is the expensive part; every test reads the same template.
  synth = synthVideoStack();
});

const resources = (type: string) => synth.template.findResources(type);
const getAttArn = (v: unknown) => (v as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
/** Construct ids of the per-kind functions (one per registered kind). */
const branchFunctionId = (kind: string) => `${pascalCase(kind)}Branch`;
/** The functions that are not per kind: Probe, Plan, Aggregate, StartWorkflow, UploadAudit, RunningGauge. */
const PIPELINE_FUNCTIONS = 6;

describe('security and synthesis gates', () => {
  it.each([
    { pack: 'AwsSolutions', make: () => new AwsSolutionsChecks() },
    { pack: 'Serverless', make: () => new ServerlessChecks() },
    { pack: 'FanOut', make: () => new FanOutChecks() },
  ])('has no unacknowledged $pack finding', ({ make }) => {
    // Act
    const report = make().validateScope(synth.app);
    // Assess
    expect(report.violations).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('registers the three packs in the app factory, so a finding fails the synth', () => {
    // Prepare: the factory's packs on a stack with one finding per pack's rule (see nag-packs.test.ts).
    const outdir = tempOutdir('cdk-nag-');
    const { app } = createPipelineApp({ outdir });
    const bad = new Stack(app, 'Bad');
    const dlq = new sqs.Queue(bad, 'Dlq', { enforceSSL: true });
    new sqs.Queue(bad, 'Orphan', { enforceSSL: true });
    new sqs.Queue(bad, 'Hasty', {
      enforceSSL: true,
      deadLetterQueue: { queue: dlq, maxReceiveCount: 1 },
    });
    // Act
    let message = '';
    try {
      app.synth();
    } catch (err) {
      message = String(err);
    }
    // Assess: Orphan has no DLQ (AwsSolutions, Serverless); Hasty gives up after 1 receive (FanOut).
    expect(message).toContain('AwsSolutions-SQS3');
    expect(message).toContain('Serverless-SQSRedrivePolicy');
    expect(message).toContain('FanOut-SQSRedriveMaxReceiveCount');
  });

  it('contains no Custom:: resources (LocalStack community skips them silently)', () => {
    // Prepare
    const types = Object.values(
      synth.template.toJSON().Resources as Record<string, { Type: string }>
    ).map((r) => r.Type);
    // Assess
    expect(types.length).toBeGreaterThan(40);
    expect(
      types.filter((t) => t.startsWith('Custom::') || t === 'AWS::CloudFormation::CustomResource')
    ).toEqual([]);
  });

  it('uses no managed policies and no function:* or s3:* grants', () => {
    // Prepare
    const roles = Object.values(resources('AWS::IAM::Role'));
    const policies = JSON.stringify(resources('AWS::IAM::Policy'));
    // Assess
    expect(roles.length).toBeGreaterThan(0);
    for (const role of roles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(policies).not.toMatch(/function:\*|"s3:\*"|FullAccess/);
  });
});

describe('checkov suppressions', () => {
  it('skips checkov checks only in resource metadata, each with an id and a reason', () => {
    // Prepare
    const skips = Object.entries(
      synth.template.toJSON().Resources as Record<
        string,
        { Metadata?: { checkov?: { skip?: { id: string; comment: string }[] } } }
      >
    ).flatMap(([id, r]) =>
      (r.Metadata?.checkov?.skip ?? []).map((skip) => ({ resource: id, ...skip }))
    );
    // Assess: 4 per function (the pipeline's and one per kind), 3 for the verdict keeper
    // (it has a DLQ), one per log group (each function's, the keeper's and the state
    // machine's), 9 SSE-SQS queues, the access-log bucket.
    const functions = PIPELINE_FUNCTIONS + KINDS.length;
    expect(skips).toHaveLength(functions * 4 + 3 + (functions + 2) + 9 + 1);
    for (const skip of skips) {
      expect(skip.id).toMatch(/^CKV_AWS_\d+$/);
      expect(skip.comment.length).toBeGreaterThan(20);
    }
  });
});

describe('upload trigger', () => {
  it('declares S3→SNS natively on a private, TLS-only, encrypted, versioned bucket', () => {
    // Prepare
    const [uploadId, upload] = Object.entries(resources('AWS::S3::Bucket')).find(
      ([, b]) => b.Properties.NotificationConfiguration
    )!;
    // Assess
    expect(upload.Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
        ],
      },
    });
    const [topicConfig] = upload.Properties.NotificationConfiguration.TopicConfigurations;
    expect(topicConfig.Event).toBe('s3:ObjectCreated:*');
    expect(topicConfig.Filter.S3Key.Rules).toEqual([{ Name: 'prefix', Value: 'uploads/' }]);
    // The bucket must be created after the topic policy, or S3 rejects the destination.
    const topicPolicyIds = Object.keys(resources('AWS::SNS::TopicPolicy'));
    expect(topicPolicyIds).toContain(
      upload.DependsOn.find((d: string) => topicPolicyIds.includes(d))
    );
    synth.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: uploadId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });
});

describe('event fan-out', () => {
  it('gives every worker queue a DLQ (maxReceiveCount ≥ 5) and a visibility timeout ≥ 6× its consumer timeout', () => {
    // Prepare
    const functions = resources('AWS::Lambda::Function');
    const queues = resources('AWS::SQS::Queue');
    const mappings = Object.values(resources('AWS::Lambda::EventSourceMapping'));
    // Assess
    expect(mappings).toHaveLength(2);
    for (const esm of mappings) {
      const queue = queues[getAttArn(esm.Properties.EventSourceArn)];
      const fn = functions[(esm.Properties.FunctionName as { Ref: string }).Ref];
      expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Properties.Timeout);
      expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBeGreaterThanOrEqual(5);
      expect(esm.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    }
    // The starter may start 5 workflows at once; the audit keeps the construct default of 2.
    expect(mappings.map((m) => m.Properties.ScalingConfig.MaximumConcurrency).sort()).toEqual([
      2, 5,
    ]);
  });

  it('encrypts every queue and topic', () => {
    // Assess
    for (const q of Object.values(resources('AWS::SQS::Queue'))) {
      expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    }
    const keyIds = Object.entries(resources('AWS::KMS::Key'))
      .filter(([, k]) => k.Properties.EnableKeyRotation === true)
      .map(([id]) => id);
    const topics = Object.values(resources('AWS::SNS::Topic'));
    expect(topics).toHaveLength(3); // VideoUploaded, VideoProcessed and the alarm topic
    for (const t of topics) {
      expect(keyIds).toContain(t.Properties.KmsMasterKeyId['Fn::GetAtt'][0]);
    }
  });

  it('subscribes with raw delivery and a delivery DLQ; alerts only get FAILED/PARTIAL', () => {
    // Prepare
    const subs = Object.values(resources('AWS::SNS::Subscription'));
    // Assess
    expect(subs).toHaveLength(3);
    const queueIds = Object.keys(resources('AWS::SQS::Queue'));
    for (const sub of subs) {
      expect(sub.Properties.RawMessageDelivery).toBe(true);
      expect(queueIds).toContain(getAttArn(sub.Properties.RedrivePolicy.deadLetterTargetArn));
    }
    const filtered = subs.filter((s) => s.Properties.FilterPolicy);
    expect(filtered.map((s) => s.Properties.FilterPolicy)).toEqual([
      { status: ['FAILED', 'PARTIAL'] },
    ]);
  });
});

describe('dead-letter queues', () => {
  it('gives every queue that is not a DLQ a redrive policy, and every DLQ a depth alarm', () => {
    // Prepare
    const queues = resources('AWS::SQS::Queue');
    const dlqIds = new Set([
      ...Object.values(queues)
        .filter((q) => q.Properties.RedrivePolicy)
        .map((q) => getAttArn(q.Properties.RedrivePolicy.deadLetterTargetArn)),
      ...Object.values(resources('AWS::SNS::Subscription')).map((s) =>
        getAttArn(s.Properties.RedrivePolicy.deadLetterTargetArn)
      ),
      // The verdict keeper's: its function's and its rule target's dead-letter queue.
      ...Object.values(resources('AWS::Lambda::Function'))
        .filter((f) => f.Properties.DeadLetterConfig)
        .map((f) => getAttArn(f.Properties.DeadLetterConfig.TargetArn)),
    ]);
    const alarmed = Object.values(resources('AWS::CloudWatch::Alarm'))
      .filter((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible')
      .map((a) => getAttArn(a.Properties.Dimensions[0].Value));
    // Assess: 3 worker/alert DLQs, 2 subscription delivery DLQs and the verdict keeper's.
    expect(dlqIds.size).toBe(6);
    expect([...dlqIds].sort()).toEqual([...alarmed].sort());
    // The starter's queue re-receives uploads held back by backpressure, so it allows 100.
    for (const [id, q] of Object.entries(queues)) {
      if (!dlqIds.has(id))
        expect(q.Properties.RedrivePolicy?.maxReceiveCount, id).toBe(
          id.startsWith('StartWorkflowWorker') ? 100 : 5
        );
    }
    for (const id of dlqIds) {
      expect(queues[id].Properties.MessageRetentionPeriod).toBe(1_209_600);
    }
  });
});

describe('workflow', () => {
  it('logs at ALL with X-Ray, and every function runs nodejs24.x with active tracing', () => {
    // Assess
    synth.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
      TracingConfiguration: { Enabled: true },
    });
    for (const fn of Object.values(resources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
  });

  it('runs the ffmpeg functions on x86_64 with the ffmpeg layer', () => {
    // Prepare
    const layerIds = Object.keys(resources('AWS::Lambda::LayerVersion'));
    const withLayer = Object.entries(resources('AWS::Lambda::Function')).filter(
      ([, f]) => f.Properties.Layers
    );
    // Assess: Probe and every kind that declares usesFfmpeg in its sizing.
    expect(layerIds).toHaveLength(1);
    expect(withLayer.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(
      [
        'Probe',
        ...KINDS.filter((k) => k.sizing.usesFfmpeg).map((k) => branchFunctionId(k.kind)),
      ].sort()
    );
    for (const [, fn] of withLayer) {
      expect(fn.Properties.Architectures).toEqual(['x86_64']);
      expect(fn.Properties.Layers).toEqual([{ Ref: layerIds[0] }]);
    }
  });

  it('synthesizes a valid JSONPath ASL: Probe → Plan → Map → Aggregate with explicit task timeouts', () => {
    // Prepare
    const asl = resolveDefinition(synth.template) as {
      StartAt: string;
      QueryLanguage?: string;
      States: Record<string, Record<string, unknown>>;
    };
    // Act
    const { isValid, errors } = aslValidator(asl);
    // Assess
    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
    expect(asl.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect(asl.StartAt).toBe('ApplyPolicy');
    expect(asl.States.ApplyPolicy).toMatchObject({
      Type: 'Pass',
      ResultPath: '$.policy',
      Next: 'Probe',
      Result: {
        mode: 'parallel',
        await: 'primary',
        maxInFlight: 10,
        kinds: {
          rendition: { role: 'primary' },
          thumbnail: { role: 'secondary' },
          metadata: { role: 'secondary' },
          'rendition-fallback': { fallbackFor: 'rendition' },
        },
      },
    });
    expect(asl.States.Probe.Next).toBe('Plan');
    // One wave: the FanOut and the segments run together; the deferred joins run after them.
    expect(asl.States.Plan.Next).toBe('Wave');
    const wave = asl.States.Wave as {
      Branches: Array<{ StartAt: string; States: typeof asl.States }>;
    } & Record<string, unknown>;
    expect(wave).toMatchObject({
      Type: 'Parallel',
      // Only the FanOut's refs leave the Parallel: not two copies of the state.
      ResultSelector: { 'fanOut.$': '$[0]' },
      ResultPath: '$.wave',
      Next: 'Joins',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Aggregate' }],
    });
    const [fanOutBranch, segmentsBranch] = wave.Branches;
    expect(fanOutBranch?.StartAt).toBe('FanOut');
    expect(segmentsBranch?.StartAt).toBe('SegmentsNeeded');
    const fanOut = fanOutBranch!.States.FanOut as Record<string, unknown>;
    expect(fanOut).toMatchObject({
      Type: 'Map',
      MaxConcurrency: 10,
      ResultPath: '$.results',
      OutputPath: '$.results',
      End: true,
    });
    expect(segmentsBranch!.States.SegmentsNeeded).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.plan.segments', IsPresent: true, Next: 'Segments' }],
      Default: 'SegmentsDone',
    });
    expect(segmentsBranch!.States.SegmentsDone).toMatchObject({
      Type: 'Pass',
      OutputPath: null,
      End: true,
    });
    const segments = segmentsBranch!.States.Segments as {
      ItemReader: Record<string, unknown>;
      ItemProcessor: { ProcessorConfig: Record<string, string>; States: typeof asl.States };
    } & Record<string, unknown>;
    expect(segments).toMatchObject({
      Type: 'Map',
      MaxConcurrency: 300,
      ResultPath: null,
      Next: 'SegmentsDone',
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { 'Key.$': '$.plan.segments.key' },
      },
      ResultWriter: { Parameters: { Prefix: 'outputs/_segment-runs/' } },
    });
    expect(segments.ItemProcessor.ProcessorConfig.Mode).toBe('DISTRIBUTED');
    // A failed Map Run ends its branch quietly: the joins report the missing segments.
    expect(segments.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.preFanOutFailure', Next: 'SegmentsDone' },
    ]);
    const segmentTask = segments.ItemProcessor.States[STATE_NAMES.runBranch(SEGMENT_KIND)];
    expect(segmentTask?.Type).toBe('Task');
    expect(segmentTask?.TimeoutSeconds).toBeGreaterThan(0);
    const mapStates = (fanOut.ItemProcessor as { States: typeof asl.States }).States;
    expect(mapStates.RouteBranch.Type).toBe('Choice');
    // The FanOut leaves a segmented rendition to the Joins map, before routing by kind.
    expect((mapStates.RouteBranch as unknown as { Choices: unknown[] }).Choices[0]).toEqual({
      Variable: '$.branch.segmentation',
      IsPresent: true,
      Next: 'Deferred',
    });
    expect(mapStates.Deferred).toMatchObject({
      Type: 'Pass',
      Parameters: { 'id.$': '$.branch.id', status: 'SKIPPED' },
    });
    const joins = asl.States.Joins as Record<string, unknown>;
    expect(joins).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.plan.branches',
      MaxConcurrency: 10,
      ResultPath: '$.wave.joins',
      Next: 'Aggregate',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Aggregate' }],
    });
    expect(joins.ItemSelector).toEqual(fanOut.ItemSelector);
    const joinStates = (joins.ItemProcessor as { States: typeof asl.States }).States;
    // The Joins map runs only deferred branches; the others pass.
    expect(joinStates.JoinRouteBranch).toMatchObject({
      Type: 'Choice',
      Default: 'NoJoin',
    });
    expect(JSON.stringify(joinStates.JoinRouteBranch)).toContain('$.branch.segmentation');
    // The join keeps the rendition's timeout and fallback.
    const run = STATE_NAMES.runBranch('rendition');
    expect(joinStates[`Join${run}`]?.TimeoutSeconds).toBe(mapStates[run]?.TimeoutSeconds);
    const taskStates = Object.entries({ ...asl.States, ...mapStates }).filter(
      ([, s]) => s.Type === 'Task'
    );
    // One task per kind the FanOut routes; a fallback's task sits inside its Parallel.
    const routed = KINDS.filter((k) => k.runBy === 'fan-out' && k.policy.fallbackFor === undefined);
    expect(taskStates.map(([name]) => name).sort()).toEqual(
      ['Aggregate', 'Plan', 'Probe', ...routed.map((k) => STATE_NAMES.runBranch(k.kind))].sort()
    );
    for (const [, task] of taskStates) expect(task.TimeoutSeconds).toBeGreaterThan(0);
    expect(mapStates.BranchFailed.Type).toBe('Pass');
    // A failed or timed-out origin falls back inside its own iteration, in the FanOut and in the Joins.
    const fallbacks = KINDS.flatMap((k) =>
      k.policy.fallbackFor === undefined ? [] : [{ kind: k.kind, origin: k.policy.fallbackFor }]
    );
    expect(fallbacks.length).toBeGreaterThan(0);
    for (const [states, prefix] of [
      [mapStates, ''],
      [joinStates, 'Join'],
    ] as const) {
      for (const { kind, origin } of fallbacks) {
        const fallback = states[`${prefix}${STATE_NAMES.fallback(kind)}`] as {
          Type: string;
          Branches: Array<{ StartAt: string; States: Record<string, { Type: string }> }>;
        };
        expect(fallback.Type).toBe('Parallel');
        expect(fallback.Branches[0]?.StartAt).toBe(`${prefix}${STATE_NAMES.runBranch(kind)}`);
        expect(
          JSON.stringify(states[`${prefix}${STATE_NAMES.runBranch(origin)}`]?.Catch)
        ).toContain(`${prefix}${STATE_NAMES.fallback(kind)}`);
      }
    }
    expect(mapStates.UnknownBranchKind.Type).toBe('Pass');
    // videoTimeout's default (test/cdk/verdict-keeper.test.ts derives it).
    expect(asl).toHaveProperty('TimeoutSeconds', 82_622);
    // Each step retries the pipeline's retryable errors by name.
    expect(JSON.stringify(asl.States.Probe.Retry)).toContain('TransientServiceError');
  });

  it("lets the Segments map, nested in the Wave's Parallel, start, describe and stop its own child executions", () => {
    // Assess: aws-cdk issue #29266 (a Distributed Map in a Parallel got no execution policy). The
    // pinned CDK walks nested state graphs and grants it; this pins that, since without it every
    // Map Run fails on AWS only (the local runtime and LocalStack do not check IAM).
    // https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html
    const machine = Object.keys(resources('AWS::StepFunctions::StateMachine')).find((id) =>
      id.startsWith('Workflow')
    );
    expect(machine).toBeDefined();
    const executions = Match.objectLike({
      'Fn::Join': Match.arrayWith([
        Match.arrayWith([
          ':execution:',
          { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: machine }] }] },
          ':*',
        ]),
      ]),
    });
    synth.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'states:StartExecution', Resource: { Ref: machine } }),
          Match.objectLike({
            Action: ['states:DescribeExecution', 'states:StopExecution'],
            Resource: executions,
          }),
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^WorkflowRole') }],
    });
  });

  it('honours the mapMaxConcurrency prop', () => {
    // Act
    const custom = synthVideoStack({ mapMaxConcurrency: 3 });
    // Assess
    const asl = resolveDefinition(custom.template) as {
      States: Record<
        string,
        {
          MaxConcurrency?: number;
          Branches?: Array<{ States: Record<string, { MaxConcurrency?: number }> }>;
        }
      >;
    };
    expect(asl.States.Wave?.Branches?.[0]?.States.FanOut?.MaxConcurrency).toBe(3);
    expect(asl.States.Joins?.MaxConcurrency).toBe(3);
  });

  describe("the segmented fallback's checkpoint Retry", () => {
    type State = Record<string, unknown> & {
      Type: string;
      Retry?: Array<Record<string, unknown>>;
      Catch?: Array<Record<string, unknown>>;
    };
    /** Every Task state of a definition by name: top level, Map item processors, Parallel branches. */
    const tasksOf = (definition: unknown): Map<string, State> => {
      const found = new Map<string, State>();
      const walk = (states: Record<string, State>) => {
        for (const [name, state] of Object.entries(states)) {
          if (state.Type === 'Task') found.set(name, state);
          const inner = (state.ItemProcessor ?? state.Iterator) as
            | { States: Record<string, State> }
            | undefined;
          if (inner) walk(inner.States);
          for (const b of (state.Branches ?? []) as Array<{ States: Record<string, State> }>) {
            walk(b.States);
          }
        }
      };
      walk((definition as { States: Record<string, State> }).States);
      return found;
    };
    const fallbackTasks = [
      STATE_NAMES.runBranch('rendition-fallback'),
      `Join${STATE_NAMES.runBranch('rendition-fallback')}`,
    ];

    it('retries FallbackIncomplete by name on the fallback task, in the FanOut and in the Joins, 61 times', () => {
      // Prepare: defaults, 120 segments at most; 2 stored an attempt → 60 + audio + join = 62 attempts.
      const tasks = tasksOf(resolveDefinition(synth.template));

      // Assess
      for (const name of fallbackTasks) {
        const task = tasks.get(name);
        expect(task, name).toBeDefined();
        expect(task!.Retry).toContainEqual({
          ErrorEquals: ['FallbackIncomplete'],
          IntervalSeconds: 1,
          MaxAttempts: 61,
          BackoffRate: 1,
        });
        // Anything else still ends the fallback: its Catch leads to the failed chain.
        expect(task!.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'] })]);
      }
    });

    it('retries FallbackIncomplete nowhere else, and the generic Retry does not list it', () => {
      // Prepare
      const tasks = tasksOf(resolveDefinition(synth.template));

      // Assess
      for (const [name, task] of tasks) {
        const retrying = (task.Retry ?? []).filter((r) =>
          (r.ErrorEquals as string[]).includes('FallbackIncomplete')
        );
        expect(retrying, name).toHaveLength(fallbackTasks.includes(name) ? 1 : 0);
        if (fallbackTasks.includes(name)) expect(retrying[0]!.ErrorEquals).toHaveLength(1);
      }
    });

    it('derives the attempts from maxSegments: 60 segments → ⌈60 / 2⌉ + 2 = 32 attempts', () => {
      // Act
      const custom = synthVideoStack({ maxSegments: 60 });

      // Assess
      const task = tasksOf(resolveDefinition(custom.template)).get(fallbackTasks[0]!);
      expect(task?.Retry).toContainEqual(
        expect.objectContaining({ ErrorEquals: ['FallbackIncomplete'], MaxAttempts: 31 })
      );
    });
  });
});

describe('outputs', () => {
  it('exports what the CLI, the console and the e2e suite read', () => {
    // Assess
    const outputs = Object.keys(synth.template.toJSON().Outputs);
    expect(outputs).toEqual(
      expect.arrayContaining([
        'UploadBucketName',
        'OutputBucketName',
        'StateMachineArn',
        'UploadTopicArn',
        'ProcessedTopicArn',
        'StartWorkflowQueueUrl',
        'StartWorkflowDeadLetterQueueUrl',
        // Every DLQ, for the console's Queues panel and `redrive dlq`.
        'UploadAuditDeadLetterQueueUrl',
        'AlertsDeadLetterQueueUrl',
        'VerdictDeadLetterQueueUrl',
        'VideoUploadedDeliveryDeadLetterQueueUrl',
        'VideoProcessedDeliveryDeadLetterQueueUrl',
      ])
    );
  });
});

describe('ffmpeg layer asset', () => {
  const layerAsset = (context: Record<string, unknown>) => {
    const outdir = tempOutdir('cdk-layer-');
    const { app } = createPipelineApp({
      outdir,
      context: { 'aws:cdk:enable-asset-metadata': true, ...context },
    });
    const dir = app.synth().directory;
    const template = JSON.parse(readFileSync(join(dir, 'VideoPipeline.template.json'), 'utf8'));
    const [layer] = Object.values(
      template.Resources as Record<string, { Type: string; Metadata: Record<string, string> }>
    ).filter((r) => r.Type === 'AWS::Lambda::LayerVersion');
    const assetPath = layer.Metadata['aws:asset:path'];
    return { assetPath, files: readdirSync(join(dir, assetPath, 'bin')).sort() };
  };

  it('has bin/ffmpeg and bin/ffprobe under the same hash even when CDK skips bundling (cdk ls/diff)', () => {
    // Act
    const normal = layerAsset({});
    const skipped = layerAsset({ 'aws:cdk:bundling-stacks': [] });
    // Assess
    expect(normal.files).toEqual(['ffmpeg', 'ffprobe']);
    expect(skipped).toEqual(normal);
  });
});

describe('backpressure', () => {
  it('gives the starter its bound, its backoff cap, the pointer bucket and its own queue', () => {
    // Assess
    synth.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          MAX_RUNNING_WORKFLOWS: '10',
          BACKPRESSURE_MAX_SECONDS: '120',
          STARTER_QUEUE_URL: { Ref: Match.stringLikeRegexp('^StartWorkflowWorker') },
          OUTPUT_BUCKET: { Ref: Match.stringLikeRegexp('^OutputBucket') },
        }),
      },
    });
  });

  it('sets no tenant quotas and names no metric tenants in the production app', () => {
    // Act
    const tenantVars = Object.values(resources('AWS::Lambda::Function')).flatMap((f) =>
      Object.keys(f.Properties.Environment?.Variables ?? {}).filter(
        (v) => v === 'TENANT_QUOTAS' || v === 'METRIC_TENANTS'
      )
    );
    // Assess: test tenants (the e2e suite's) come only from its own app entry (test/e2e/app.ts).
    expect(tenantVars).toEqual([]);
  });

  it('passes tenantQuotas to the starter as TENANT_QUOTAS and names their tenants in METRIC_TENANTS on every function that emits per-tenant metrics', () => {
    // Prepare
    const quotas = { default: 10, tenants: { 'noisy-neighbour': 3 } };

    // Act
    const withQuotas = synthVideoStack({ tenantQuotas: quotas });

    // Assess: the starter enforces them; the branch workers, the aggregator and the starter name them.
    withQuotas.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ TENANT_QUOTAS: JSON.stringify(quotas) }),
      },
    });
    const named = Object.entries(withQuotas.template.findResources('AWS::Lambda::Function'))
      .filter(([, f]) => f.Properties.Environment?.Variables?.METRIC_TENANTS !== undefined)
      .map(([id, f]) => [
        id.replace(/[0-9A-F]{8}$/, ''),
        f.Properties.Environment.Variables.METRIC_TENANTS,
      ]);
    expect(named.sort()).toEqual(
      [
        ['Aggregate', 'noisy-neighbour'],
        ['StartWorkflow', 'noisy-neighbour'],
        ['UploadAudit', 'noisy-neighbour'],
        ['VerdictKeeper', 'noisy-neighbour'],
        ['RunningGauge', 'noisy-neighbour'],
        ...KINDS.map((k) => [branchFunctionId(k.kind), 'noisy-neighbour']),
      ].sort()
    );
  });

  it('refuses an invalid metric tenant at synth', () => {
    // Act
    const act = () => synthVideoStack({ metricTenants: ['Acme Corp'] });

    // Assess
    expect(act).toThrow(/^metricTenants: "Acme Corp" is invalid: /);
  });

  it('refuses invalid tenant quotas at synth, naming the field', () => {
    // Act
    const act = () => synthVideoStack({ tenantQuotas: { default: 5, tenants: { acme: 0 } } });

    // Assess
    expect(act).toThrow(/^tenantQuotas is invalid: tenants\.acme: /);
  });

  it('retries a throttled Lambda step on its own, for about 20 minutes, before the fault Retry', () => {
    // Prepare: every Task state of the definition, Map item processor included.
    const tasks: Array<{ Retry?: Array<Record<string, unknown>> }> = [];
    const walk = (states: Record<string, Record<string, unknown>>) => {
      for (const state of Object.values(states)) {
        if (state.Type === 'Task') tasks.push(state as never);
        const inner = (state.ItemProcessor ?? state.Iterator) as
          | { States: Record<string, Record<string, unknown>> }
          | undefined;
        if (inner) walk(inner.States);
      }
    };
    walk(resolveDefinition(synth.template).States as never);
    // Assess
    expect(tasks.length).toBeGreaterThan(0);
    for (const task of tasks) {
      expect(task.Retry?.[0]).toEqual({
        ErrorEquals: ['Lambda.TooManyRequestsException'],
        IntervalSeconds: 2,
        MaxAttempts: 25,
        BackoffRate: 2,
        MaxDelaySeconds: 60,
        JitterStrategy: 'FULL',
      });
      expect(task.Retry?.[1]?.ErrorEquals).not.toContain('Lambda.TooManyRequestsException');
    }
  });
});

describe('dashboard and alarms', () => {
  type Json = Record<string, unknown>;
  const alarms = () => Object.values(resources('AWS::CloudWatch::Alarm')) as Json[];
  const props = (r: Json) => r.Properties as Json;
  const getAtt = (v: unknown) => (v as { 'Fn::GetAtt'?: [string, string] })?.['Fn::GetAtt'];

  /** Queues something dead-letters into, read from the template (SQS redrive and SNS delivery). */
  const deadLetterQueueIds = (): string[] => {
    const redrives = [
      ...Object.values(resources('AWS::SQS::Queue')),
      ...Object.values(resources('AWS::SNS::Subscription')),
    ].map((r) => (r.Properties?.RedrivePolicy as { deadLetterTargetArn?: unknown }) ?? {});
    // Asynchronous Lambda and EventBridge target DLQs (the verdict keeper's).
    const asyncDlqs = [
      ...Object.values(resources('AWS::Lambda::Function')).map(
        (f) => (f.Properties?.DeadLetterConfig as { TargetArn?: unknown })?.TargetArn
      ),
      ...Object.values(resources('AWS::Events::Rule')).flatMap((r) =>
        (r.Properties.Targets as Array<{ DeadLetterConfig?: { Arn?: unknown } }>).map(
          (t) => t.DeadLetterConfig?.Arn
        )
      ),
    ];
    return [
      ...new Set([
        ...redrives.flatMap((r) => getAtt(r.deadLetterTargetArn)?.[0] ?? []),
        ...asyncDlqs.flatMap((arn) => getAtt(arn)?.[0] ?? []),
      ]),
    ].sort();
  };
  const onQueue = (metric: string, queueId: string) =>
    alarms().filter(
      (a) =>
        props(a).MetricName === metric &&
        (props(a).Dimensions as Array<{ Name: string; Value: unknown }>).some(
          (d) => d.Name === 'QueueName' && getAtt(d.Value)?.[0] === queueId
        )
    );
  const alarmTopicId = () => {
    const [id] = Object.entries(resources('AWS::SNS::Topic'))
      .filter(([logicalId]) => logicalId.startsWith('Alarms'))
      .map(([logicalId]) => logicalId);
    return id;
  };

  /** The dashboard body as JSON, each intrinsic replaced by `<LogicalId>` or `<LogicalId.Attr>`. */
  const dashboardBody = (): { widgets: Array<{ properties: Json }> } => {
    const [dashboard] = Object.values(resources('AWS::CloudWatch::Dashboard'));
    const body = dashboard?.Properties?.DashboardBody as { 'Fn::Join': [string, unknown[]] };
    const text = body['Fn::Join'][1]
      .map((part) => {
        if (typeof part === 'string') return part;
        const att = getAtt(part);
        if (att) return `<${att[0]}.${att[1]}>`;
        const ref = (part as { Ref?: string }).Ref;
        if (ref) return `<${ref}>`;
        throw new Error(`Unexpected intrinsic in DashboardBody: ${JSON.stringify(part)}`);
      })
      .join('');
    return JSON.parse(text);
  };
  const widget = (title: string) => {
    const found = dashboardBody().widgets.find((w) => w.properties.title === title);
    if (!found) throw new Error(`no widget titled ${title}`);
    return found.properties as { metrics: unknown[][] };
  };
  /** One line per graphed series: a metric's fields, or a math expression's text. */
  const metricLines = (title: string) =>
    widget(title).metrics.map((m) =>
      m
        .map((part) =>
          typeof part === 'object' && part !== null && 'expression' in part
            ? String(part.expression)
            : typeof part === 'string'
              ? part
              : JSON.stringify(part)
        )
        .join(' ')
    );

  it('derives six DLQs from the template: both SQS consumers, the alerts DLQ, both SNS delivery DLQs and the verdict keeper’s', () => {
    // Act
    const ids = deadLetterQueueIds();
    // Assess
    expect(ids).toHaveLength(6);
    expect(ids).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^AlertsDeadLetterQueue/),
        expect.stringMatching(/^VerdictDeadLetterQueue/),
        expect.stringMatching(/^VideoUploadedDeliveryDeadLetterQueue/),
        expect.stringMatching(/^VideoProcessedDeliveryDeadLetterQueue/),
      ])
    );
  });

  it('alarms on the depth of every DLQ in the template at 1 message, notifying the alarm topic', () => {
    // Act
    const perDlq = deadLetterQueueIds().map((id) => ({
      id,
      alarms: onQueue('ApproximateNumberOfMessagesVisible', id).map((a) => ({
        threshold: props(a).Threshold,
        actions: props(a).AlarmActions,
      })),
    }));
    // Assess
    for (const { id, alarms: found } of perDlq) {
      expect(found, id).toEqual([{ threshold: 1, actions: [{ Ref: alarmTopicId() }] }]);
    }
  });

  it('alarms on the age of the oldest message of every queue that is not a DLQ', () => {
    // Prepare
    const dlqs = new Set(deadLetterQueueIds());
    const workQueues = Object.keys(resources('AWS::SQS::Queue')).filter((id) => !dlqs.has(id));
    // Act
    const perQueue = workQueues.map((id) => onQueue('ApproximateAgeOfOldestMessage', id));
    // Assess
    expect(workQueues).toHaveLength(3);
    for (const found of perQueue) {
      expect(found).toHaveLength(1);
      expect(props(found[0] as Json).AlarmActions).toEqual([{ Ref: alarmTopicId() }]);
    }
  });

  it('alarms on throttles of every function in the template', () => {
    // Prepare
    const functionIds = Object.keys(resources('AWS::Lambda::Function'));
    // Act
    const perFunction = functionIds.map((id) =>
      alarms().filter(
        (a) =>
          props(a).MetricName === 'Throttles' &&
          (props(a).Dimensions as Array<{ Value: unknown }>).some(
            (d) => (d.Value as { Ref?: string }).Ref === id
          )
      )
    );
    // Assess
    expect(functionIds.length).toBeGreaterThanOrEqual(8);
    for (const found of perFunction) {
      expect(found).toHaveLength(1);
      expect(props(found[0] as Json)).toMatchObject({
        Threshold: 1,
        Statistic: 'Sum',
        AlarmActions: [{ Ref: alarmTopicId() }],
      });
    }
  });

  it('alarms on failed executions, and every alarm in the template notifies the alarm topic', () => {
    // Act
    const failed = alarms().filter(
      (a) => props(a).MetricName === 'ExecutionsFailed' && props(a).Namespace === 'AWS/States'
    );
    const silent = Object.entries(resources('AWS::CloudWatch::Alarm')).filter(
      ([, a]) =>
        JSON.stringify(a.Properties.AlarmActions) !== JSON.stringify([{ Ref: alarmTopicId() }])
    );
    // Assess
    expect(failed).toHaveLength(1);
    expect(silent.map(([id]) => id)).toEqual([]);
  });

  it('encrypts the alarm topic with a rotating key that CloudWatch may use', () => {
    // Prepare
    const topic = resources('AWS::SNS::Topic')[alarmTopicId() as string];
    const keyId = getAtt(topic?.Properties.KmsMasterKeyId)?.[0] as string;
    // Act
    const key = resources('AWS::KMS::Key')[keyId];
    const statements = key?.Properties.KeyPolicy.Statement as Array<{
      Principal?: { Service?: string };
      Action: string[];
    }>;
    // Assess
    expect(key?.Properties.EnableKeyRotation).toBe(true);
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey*']),
        }),
      ])
    );
  });

  it('charts depth and oldest-message age for every queue, and depth for every DLQ', () => {
    // Prepare
    const dlqs = deadLetterQueueIds();
    const workQueues = Object.keys(resources('AWS::SQS::Queue')).filter((id) => !dlqs.includes(id));
    // Act
    const depth = metricLines('Queue depth (visible messages)').join('\n');
    const age = metricLines('Latency per input: age of the oldest message (s)').join('\n');
    const dlqDepth = metricLines('DLQ depth').join('\n');
    // Assess
    for (const id of workQueues) expect(depth).toContain(`<${id}.QueueName>`);
    for (const id of [...workQueues, ...dlqs]) expect(age).toContain(`<${id}.QueueName>`);
    for (const id of dlqs) expect(dlqDepth).toContain(`<${id}.QueueName>`);
    expect(age).toContain('ApproximateAgeOfOldestMessage');
  });

  it('charts each input queue: pending (visible + in flight) and emitted (deleted)', () => {
    // Prepare
    const dlqs = deadLetterQueueIds();
    const workQueues = Object.keys(resources('AWS::SQS::Queue')).filter((id) => !dlqs.includes(id));
    // Act
    const pending = widget('Pending per input (visible + in flight)').metrics;
    const emitted = metricLines('Emitted per input (processed and deleted)').join('\n');
    // Assess: one sum per queue over its two depth metrics, each labelled
    const sums = pending.filter((m) =>
      m.some((p) => typeof p === 'object' && p && 'expression' in p)
    );
    expect(sums).toHaveLength(workQueues.length);
    const lines = metricLines('Pending per input (visible + in flight)').join('\n');
    for (const id of workQueues) {
      expect(lines).toMatch(
        new RegExp(`ApproximateNumberOfMessagesVisible QueueName <${id}.QueueName>`)
      );
      expect(lines).toMatch(
        new RegExp(`ApproximateNumberOfMessagesNotVisible QueueName <${id}.QueueName>`)
      );
      expect(emitted).toContain(`NumberOfMessagesDeleted QueueName <${id}.QueueName>`);
    }
  });

  it('charts the overall RunningWorkflows gauge next to its per-tenant series', () => {
    // Act
    const lines = metricLines('Running workflows (overall, per tenant)');
    // Assess
    expect(lines[0]).toMatch(
      /^FanOutFanIn RunningWorkflows service video-pipeline .*"stat":"Maximum"/
    );
  });

  it('charts executions started, succeeded, failed and throttled, and throttles per function', () => {
    // Prepare
    const functionIds = Object.keys(resources('AWS::Lambda::Function'));
    // Act
    const executions = metricLines('Executions').join('\n');
    const throttles = metricLines('Lambda throttles per function').join('\n');
    // Assess
    for (const metric of [
      'ExecutionsStarted',
      'ExecutionsSucceeded',
      'ExecutionsFailed',
      'ExecutionThrottled',
    ]) {
      expect(executions).toContain(metric);
    }
    for (const id of functionIds) expect(throttles).toContain(`<${id}>`);
  });

  it.each([
    ['Branches emitted (started)', 'FanOutSent', 'kind,service,tenant'],
    ['Branches succeeded', 'FanOutSucceeded', 'kind,service,tenant'],
    ['Branches failed', 'FanOutFailed', 'kind,service,tenant'],
    ['Branches timed out', 'FanOutTimedOut', 'kind,service,tenant'],
    ['Branch duration (p50, p95)', 'BranchDurationMs', 'kind,service,tenant'],
    ['Upload → manifest latency per tenant (p50, p95)', 'UploadToManifestMs', 'service,tenant'],
    ['Uploads waiting on backpressure per tenant', 'UploadsHeldBack', 'service,tenant'],
    ['Running workflows (overall, per tenant)', 'RunningWorkflows', 'service,tenant'],
    ['Videos by status per tenant', 'VideosCompleted', 'service,tenant'],
    ['Videos by status per tenant', 'VideosPartial', 'service,tenant'],
    ['Videos by status per tenant', 'VideosFailed', 'service,tenant'],
    ['Dropped, spilled and rejected per input and tenant', 'Dropped', 'input,service,tenant'],
    ['Dropped, spilled and rejected per input and tenant', 'Spilled', 'input,service,tenant'],
    ['Dropped, spilled and rejected per input and tenant', 'Rejected', 'input,service,tenant'],
  ])('charts %s from the EMF metric %s over {%s}', (title, metric, dims) => {
    // Act
    const lines = metricLines(title).join('\n');
    // Assess
    expect(lines).toContain(
      `SEARCH('{FanOutFanIn,${dims}} service="video-pipeline" MetricName="${metric}"'`
    );
  });
});

describe('running workflows gauge', () => {
  it('runs every minute from a scheduled rule, without retries, and may only list executions', () => {
    // Prepare: the gauge is the function the scheduled rule targets
    const [ruleProps] = Object.values(resources('AWS::Events::Rule'))
      .map((r) => r.Properties)
      .filter((p) => p.ScheduleExpression !== undefined);
    const gaugeId = getAttArn(ruleProps?.Targets[0].Arn);
    const gauge = resources('AWS::Lambda::Function')[gaugeId];
    const [machineId] = Object.keys(resources('AWS::StepFunctions::StateMachine'));

    // Assess: one scheduled rule, every minute, a missed run not retried
    expect(ruleProps).toMatchObject({
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [gaugeId, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        },
      ],
    });
    expect(gauge?.Properties.Environment.Variables.STATE_MACHINE_ARN).toEqual({ Ref: machineId });
    const roleId = getAttArn(gauge?.Properties.Role);
    const statements = Object.values(resources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: unknown }>);
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: 'states:ListExecutions', Resource: { Ref: machineId } })
    );
    // Only its logs and X-Ray besides: no data access at all
    expect(statements.map((st) => st.Action).filter((a) => a !== 'states:ListExecutions')).toEqual([
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
    ]);
    synth.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [gaugeId, 'Arn'] },
      Principal: 'events.amazonaws.com',
    });
  });
});

describe('cost profile', () => {
  it("gives the aggregator each function's synthesized memory and architecture", () => {
    // Prepare: the aggregator is the only function with a COST_PROFILE.
    const withProfile = Object.values(resources('AWS::Lambda::Function')).filter(
      (fn) => fn.Properties.Environment?.Variables?.COST_PROFILE !== undefined
    );
    expect(withProfile).toHaveLength(1);
    const [aggregator] = withProfile;

    // Act
    const profile = JSON.parse(aggregator?.Properties.Environment.Variables.COST_PROFILE);

    // Assess: the sizes the stack and the branch kinds declare (media functions are x86_64)
    expect(profile).toEqual({
      probe: { memoryMiB: 1024, architecture: 'x86_64' },
      plan: { memoryMiB: 256, architecture: 'arm64' },
      aggregate: { memoryMiB: 512, architecture: 'arm64' },
      kinds: Object.fromEntries(
        KINDS.map(({ kind, sizing }) => [
          kind,
          { memoryMiB: sizing.memoryMiB, architecture: sizing.usesFfmpeg ? 'x86_64' : 'arm64' },
        ])
      ),
    });
    expect(aggregator?.Properties.MemorySize).toBe(profile.aggregate.memoryMiB);
  });
});

describe('audit batching', () => {
  it('gathers up to 100 uploads or 5 s per invocation, with room in the visibility timeout', () => {
    // Prepare: the audit writer's mapping and queue
    const [auditFnId] = Object.entries(resources('AWS::Lambda::Function'))
      .filter(([, fn]) => fn.Properties.Environment?.Variables?.AUDIT_BUCKET !== undefined)
      .map(([id]) => id);
    const mapping = Object.values(resources('AWS::Lambda::EventSourceMapping')).find(
      (m) => m.Properties.FunctionName?.Ref === auditFnId
    );
    const queueId = getAttArn(mapping?.Properties.EventSourceArn);

    // Assess
    expect(mapping?.Properties).toMatchObject({
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    // 6 × the 30 s timeout + the 5 s window
    expect(resources('AWS::SQS::Queue')[queueId]?.Properties.VisibilityTimeout).toBe(185);
  });

  it('spills an upload event older than 24 h to the audit DLQ, which it may send to', () => {
    // Prepare: the audit writer, its queue's DLQ (from the RedrivePolicy) and its role
    const [auditFnId, auditFn] = Object.entries(resources('AWS::Lambda::Function')).find(
      ([, fn]) => fn.Properties.Environment?.Variables?.AUDIT_BUCKET !== undefined
    )!;
    const mapping = Object.values(resources('AWS::Lambda::EventSourceMapping')).find(
      (m) => m.Properties.FunctionName?.Ref === auditFnId
    );
    const queue = resources('AWS::SQS::Queue')[getAttArn(mapping?.Properties.EventSourceArn)];
    const dlqId = getAttArn(queue?.Properties.RedrivePolicy.deadLetterTargetArn);

    // Assess: the policy, with the DLQ's URL, reaches the consumer
    expect(auditFn.Properties.Environment.Variables.OVERFLOW_POLICY).toEqual({
      'Fn::Join': [
        '',
        [
          '{"policy":"spill","input":"UploadAudit","maxAgeSeconds":86400,"spillQueueUrl":"',
          { Ref: dlqId },
          '"}',
        ],
      ],
    });
    const roleId = getAttArn(auditFn.Properties.Role);
    synth.template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: roleId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['sqs:SendMessage']),
            Resource: { 'Fn::GetAtt': [dlqId, 'Arn'] },
          }),
        ]),
      },
    });
  });

  it('leaves the starter blocking: losing an upload would leave a video without a manifest', () => {
    // Prepare
    const starter = Object.values(resources('AWS::Lambda::Function')).find(
      (fn) => fn.Properties.Environment?.Variables?.STARTER_QUEUE_URL !== undefined
    );
    // Assess
    expect(starter?.Properties.Environment.Variables.OVERFLOW_POLICY).toBeUndefined();
  });
});
