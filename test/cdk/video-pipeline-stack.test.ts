import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import aslValidator from 'asl-validator';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { VideoPipelineStack } from '../../lib/stacks/video-pipeline-stack.js';
import { resolveDefinition, synthVideoStack } from './synth.js';

let synth: ReturnType<typeof synthVideoStack>;

beforeAll(() => {
  // Act (shared): synthesizing is the expensive part; every test reads the same template.
  synth = synthVideoStack();
});

const resources = (type: string) => synth.template.findResources(type);
const getAttArn = (v: unknown) => (v as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

describe('security and synthesis gates', () => {
  it('passes cdk-nag AwsSolutions with every finding acknowledged (synth would throw otherwise)', () => {
    // Assess
    expect(synth.assembly.directory).toBeTruthy();
    expect(synth.app.node.tryFindChild('VideoPipeline')).toBeDefined();
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
      expect(esm.Properties.ScalingConfig.MaximumConcurrency).toBeGreaterThanOrEqual(2);
    }
  });

  it('encrypts every queue and topic', () => {
    // Assess
    for (const q of Object.values(resources('AWS::SQS::Queue'))) {
      expect(q.Properties.SqsManagedSseEnabled ?? q.Properties.KmsMasterKeyId).toBeTruthy();
    }
    for (const t of Object.values(resources('AWS::SNS::Topic'))) {
      expect(t.Properties.KmsMasterKeyId).toBeDefined();
    }
    synth.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('subscribes with raw delivery and a delivery DLQ; alerts only get FAILED/PARTIAL', () => {
    // Prepare
    const subs = Object.values(resources('AWS::SNS::Subscription'));
    // Assess
    expect(subs).toHaveLength(3);
    for (const sub of subs) {
      expect(sub.Properties.RawMessageDelivery).toBe(true);
      expect(sub.Properties.RedrivePolicy.deadLetterTargetArn).toBeDefined();
    }
    const filtered = subs.filter((s) => s.Properties.FilterPolicy);
    expect(filtered.map((s) => s.Properties.FilterPolicy)).toEqual([
      { status: ['FAILED', 'PARTIAL'] },
    ]);
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
    const withLayer = Object.values(resources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Layers
    );
    // Assess
    expect(layerIds).toHaveLength(1);
    expect(withLayer).toHaveLength(2);
    for (const fn of withLayer) {
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
    expect(asl.StartAt).toBe('Probe');
    expect(asl.States.Probe.Next).toBe('Plan');
    expect(asl.States.Plan.Next).toBe('FanOut');
    expect(asl.States.FanOut).toMatchObject({ Type: 'Map', MaxConcurrency: 10, Next: 'Aggregate' });
    const mapStates = (asl.States.FanOut.ItemProcessor as { States: typeof asl.States }).States;
    const taskStates = Object.values({ ...asl.States, ...mapStates }).filter(
      (s) => s.Type === 'Task'
    );
    expect(taskStates).toHaveLength(4);
    for (const task of taskStates) expect(task.TimeoutSeconds).toBeGreaterThan(0);
    expect(asl).toHaveProperty('TimeoutSeconds', 7200);
    // Each step retries the pipeline's retryable errors by name.
    expect(JSON.stringify(asl.States.Probe.Retry)).toContain('TransientServiceError');
  });

  it('honours the mapMaxConcurrency prop', () => {
    // Act
    const custom = synthVideoStack({ mapMaxConcurrency: 3 });
    // Assess
    const asl = resolveDefinition(custom.template) as {
      States: Record<string, { MaxConcurrency?: number }>;
    };
    expect(asl.States.FanOut.MaxConcurrency).toBe(3);
  });
});

describe('outputs', () => {
  it('exports what the CLI and the e2e suite read', () => {
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
      ])
    );
  });
});

describe('ffmpeg layer asset', () => {
  const layerAsset = (context: Record<string, unknown>) => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdk-layer-'));
    const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true, ...context } });
    new VideoPipelineStack(app, 'VideoPipeline');
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
