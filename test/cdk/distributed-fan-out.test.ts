import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { readMapRunResults } from '../../lambdas/shared/map-run-results.js';
import { cdkJsonContext } from '../../lib/app.js';
import { FanOutChecks, MapFanOutFanIn, type MapFanOutFanInProps } from '../../lib/index.js';
import { resolveDefinition } from './synth.js';

const fn = (scope: Construct, id: string) =>
  new lambda.Function(scope, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async (e) => e;'),
    timeout: Duration.seconds(30),
  });

/** A stack with cdk.json's feature flags, as `cdk synth` builds it. */
const stackFactory = (context: Record<string, unknown> = cdkJsonContext()) =>
  new Stack(new App({ context }), 'Test');

/** A distributed flow over `item` branches; `distributed` overrides merge into the defaults. */
const flowProps = (
  stack: Stack,
  overrides: Partial<MapFanOutFanInProps> = {},
  distributed: Partial<NonNullable<MapFanOutFanInProps['distributed']>> = {}
): MapFanOutFanInProps => {
  const scope = new Construct(stack, `Deps${stack.node.children.length}`);
  return {
    prepare: [{ name: 'Plan', handler: fn(scope, 'Plan'), resultPath: '$.plan' }],
    branchFunctions: [{ kind: 'item', handler: fn(scope, 'Work') }],
    aggregator: fn(scope, 'Aggregate'),
    distributed: { bucket: new s3.Bucket(scope, 'Data'), ...distributed },
    ...overrides,
  };
};

type Json = Record<string, unknown>;
const fanOutState = (stack: Stack) =>
  (resolveDefinition(Template.fromStack(stack)).States as Record<string, Json>).FanOut;

describe('MapFanOutFanIn, distributed form', () => {
  it('reads the plan from S3, writes results to S3 and keeps only their location in the state', () => {
    // Prepare
    const stack = stackFactory();
    const props = flowProps(stack, {}, { maxConcurrency: 500, toleratedFailurePercentage: 5 });
    const bucketId = stack.getLogicalId(
      props.distributed!.bucket.node.defaultChild as s3.CfnBucket
    );

    // Act
    new MapFanOutFanIn(stack, 'Flow', props);

    // Assess
    const fanOut = fanOutState(stack);
    expect(fanOut).toMatchObject({
      Type: 'Map',
      MaxConcurrency: 500,
      ToleratedFailurePercentage: 5,
      ResultPath: '$.results',
      ItemSelector: { 'branch.$': '$$.Map.Item.Value' },
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { Bucket: `ref-${bucketId}`, 'Key.$': '$.plan.itemsKey' },
      },
      ResultWriter: {
        Resource: 'arn:aws:states:::s3:putObject',
        Parameters: { Bucket: `ref-${bucketId}`, Prefix: 'map-runs' },
      },
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Aggregate' }],
    });
    expect(fanOut).not.toHaveProperty('ItemsPath');
  });

  it('fails the child execution on a branch failure, so the Map Run tolerance decides', () => {
    // Prepare
    const stack = stackFactory();

    // Act
    new MapFanOutFanIn(stack, 'Flow', flowProps(stack));

    // Assess
    const states = (fanOutState(stack).ItemProcessor as { States: Record<string, Json> }).States;
    expect(states.BranchFailed).toEqual({
      Type: 'Fail',
      ErrorPath: '$.error.Error',
      CausePath: '$.error.Cause',
    });
    expect(states.UnknownBranchKind).toMatchObject({ Type: 'Fail', Error: 'UnknownBranchKind' });
    expect(states.RunItem).toMatchObject({
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'BranchFailed' }],
    });
  });

  it('sends whole batches to the only worker with ItemBatcher', () => {
    // Prepare
    const stack = stackFactory();

    // Act
    new MapFanOutFanIn(
      stack,
      'Flow',
      flowProps(stack, {}, { itemBatcher: { maxItemsPerBatch: 50, maxInputBytesPerBatch: 65_536 } })
    );

    // Assess
    const fanOut = fanOutState(stack);
    expect(fanOut.ItemBatcher).toEqual({ MaxItemsPerBatch: 50, MaxInputBytesPerBatch: 65_536 });
    const processor = fanOut.ItemProcessor as { StartAt: string; States: Record<string, Json> };
    expect(processor.StartAt).toBe('RunItem');
    expect(Object.keys(processor.States)).toEqual(['RunItem']);
  });

  it('grants the Map Run its own child executions and the bucket objects, nothing wider', () => {
    // Prepare
    const stack = stackFactory();

    // Act
    const flow = new MapFanOutFanIn(stack, 'Flow', flowProps(stack));

    // Assess
    const template = Template.fromStack(stack);
    const machineId = stack.getLogicalId(
      flow.stateMachine.node.defaultChild as sfn.CfnStateMachine
    );
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'states:StartExecution', Resource: { Ref: machineId } }),
          Match.objectLike({ Action: ['states:DescribeExecution', 'states:StopExecution'] }),
        ]),
      },
    });
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>
    );
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['s3:GetObject', 's3:PutObject']));
    expect(actions.filter((a) => a.startsWith('s3:'))).not.toContain('s3:DeleteObject');
    expect(actions.some((a) => a.includes('*'))).toBe(false);
  });

  it('passes the project nag packs, the FanOut distributed rule included', () => {
    // Prepare
    const stack = stackFactory();
    new MapFanOutFanIn(stack, 'Flow', flowProps(stack));

    // Act
    const report = new FanOutChecks().validateScope(stack);

    // Assess
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it.each([
    [
      { distributed: { maxConcurrency: 0 } },
      /distributed.maxConcurrency \(0\) must be an integer from 1 to 10000/,
    ],
    [{ distributed: { maxConcurrency: 10_001 } }, /from 1 to 10000/],
    [{ distributed: { toleratedFailurePercentage: 101 } }, /toleratedFailurePercentage \(101\)/],
    [{ distributed: { toleratedFailureCount: -1 } }, /toleratedFailureCount \(-1\)/],
    [
      { distributed: { itemBatcher: {} } },
      /itemBatcher needs maxItemsPerBatch or maxInputBytesPerBatch/,
    ],
    [{ distributed: { itemBatcher: { maxInputBytesPerBatch: 300_000 } } }, /from 1 to 262144/],
    [{ flow: { maxConcurrency: 20 } }, /set distributed.maxConcurrency, not maxConcurrency/],
    [{ flow: { policy: { mode: 'sequential' } } }, /sequential mode needs the inline Map/],
  ] as const)('refuses %j at synth', (c, message) => {
    // Prepare
    const stack = stackFactory();
    const props = flowProps(stack, ('flow' in c ? c.flow : {}) as Partial<MapFanOutFanInProps>, {
      ...('distributed' in c ? c.distributed : {}),
    });

    // Act & Assess
    expect(() => new MapFanOutFanIn(stack, 'Flow', props)).toThrow(message);
  });

  it('refuses ItemBatcher with more than one worker', () => {
    // Prepare
    const stack = stackFactory();
    const props = flowProps(stack, {}, { itemBatcher: { maxItemsPerBatch: 10 } });
    const extra = { kind: 'other', handler: fn(stack, 'Other') };

    // Act & Assess
    expect(
      () =>
        new MapFanOutFanIn(stack, 'Flow', {
          ...props,
          branchFunctions: [...props.branchFunctions, extra],
        })
    ).toThrow(/itemBatcher sends whole batches to one branch function; 2 are given/);
  });

  it('refuses the distributed form when CDK would drop ResultWriterV2', () => {
    // Prepare: no cdk.json feature flags.
    const stack = stackFactory({});

    // Act & Assess
    expect(() => new MapFanOutFanIn(stack, 'Flow', flowProps(stack))).toThrow(
      /@aws-cdk\/aws-stepfunctions:useDistributedMapResultWriterV2/
    );
  });
});

describe('FanOut-SFNDistributedMapBounds', () => {
  const machine = (props: Partial<sfn.DistributedMapProps>) => {
    const stack = stackFactory();
    const map = new sfn.DistributedMap(stack, 'Map', props);
    map.itemProcessor(new sfn.Pass(stack, 'Pass'));
    new sfn.StateMachine(stack, 'Machine', {
      definitionBody: sfn.DefinitionBody.fromChainable(map),
    });
    return stack;
  };
  const violations = (stack: Stack) =>
    new FanOutChecks()
      .validateScope(stack)
      .violations.filter((v) => v.ruleName === 'FanOut-SFNDistributedMapBounds');
  const writer = () => ({ resultWriterV2: new sfn.ResultWriterV2({ bucketNamePath: '$.bucket' }) });

  it('Compliance: bounded and writing its results', () => {
    expect(violations(machine({ maxConcurrency: 1000, ...writer() }))).toHaveLength(0);
  });
  it('Noncompliance 1: no MaxConcurrency (10,000 at once)', () => {
    expect(violations(machine({ ...writer() }))).toHaveLength(1);
  });
  it('Noncompliance 2: no ResultWriter (every output back into the state)', () => {
    expect(violations(machine({ maxConcurrency: 10 }))).toHaveLength(1);
  });
});

describe('readMapRunResults', () => {
  /** An in-memory bucket with one Map Run's files, as ResultWriter lays them out. */
  const filesFactory = () => {
    const files: Record<string, unknown> = {
      'r/1/manifest.json': {
        DestinationBucket: 'b',
        MapRunArn: 'arn:aws:states:us-east-1:1:mapRun:M/FanOut:1',
        ResultFiles: {
          FAILED: [{ Key: 'r/1/FAILED_0.json', Size: 1 }],
          PENDING: [],
          SUCCEEDED: [
            { Key: 'r/1/SUCCEEDED_0.json', Size: 1 },
            { Key: 'r/1/SUCCEEDED_1.json', Size: 1 },
          ],
        },
      },
      'r/1/SUCCEEDED_0.json': [{ Status: 'SUCCEEDED', Input: '{"n":1}', Output: '{"d":2}' }],
      'r/1/SUCCEEDED_1.json': [{ Status: 'SUCCEEDED', Input: '{"n":2}', Output: '{"d":4}' }],
      'r/1/FAILED_0.json': [
        { Status: 'FAILED', Input: '{"n":3}', Error: 'ItemFailed', Cause: 'planned' },
      ],
    };
    return async (bucket: string, key: string) => {
      expect(bucket).toBe('b');
      if (!(key in files)) throw new Error(`no ${key}`);
      return files[key];
    };
  };
  const output = {
    MapRunArn: 'arn:aws:states:us-east-1:1:mapRun:M/FanOut:1',
    ResultWriterDetails: { Bucket: 'b', Key: 'r/1/manifest.json' },
  };

  it('reads every file the manifest lists, parsing inputs and outputs', async () => {
    // Act
    const results = await readMapRunResults(output, filesFactory());

    // Assess
    expect(results).toEqual({
      mapRunArn: output.MapRunArn,
      succeeded: [{ d: 2 }, { d: 4 }],
      failed: [{ input: { n: 3 }, status: 'FAILED', error: 'ItemFailed', cause: 'planned' }],
      pending: [],
    });
  });

  it('refuses a state that holds no ResultWriter location', async () => {
    await expect(readMapRunResults([{ d: 2 }], filesFactory())).rejects.toThrow(
      /ResultWriterDetails/
    );
  });
});
