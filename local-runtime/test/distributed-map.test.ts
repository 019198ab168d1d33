import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeMapRunCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListMapRunsCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../src/index.js';
import {
  batchItems,
  type ChildRecord,
  exceedsTolerance,
  parseItems,
  resultFiles,
  rewriteDistributedMaps,
} from '../src/sfn/distributed-map.js';
import {
  type AssemblyRuntime,
  startOnAssembly,
  stateMachineResources,
  writeAssembly,
} from './helpers.js';

const BUCKET = 'dmap-items';

/** A child workflow: items with `fail` fail with ItemFailed, `waitSeconds` wait, others double `n`. */
const processor = (itemPath = '$') => ({
  ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
  StartAt: 'Route',
  States: {
    Route: {
      Type: 'Choice',
      Choices: [
        {
          And: [
            { Variable: `${itemPath}.fail`, IsPresent: true },
            { Variable: `${itemPath}.fail`, BooleanEquals: true },
          ],
          Next: 'ItemFails',
        },
        { Variable: `${itemPath}.waitSeconds`, IsPresent: true, Next: 'Hold' },
      ],
      Default: 'Double',
    },
    Hold: { Type: 'Wait', SecondsPath: `${itemPath}.waitSeconds`, Next: 'Double' },
    ItemFails: { Type: 'Fail', Error: 'ItemFailed', Cause: 'the item asked to fail' },
    Double: {
      Type: 'Pass',
      Parameters: {
        'n.$': `${itemPath}.n`,
        'doubled.$': `States.MathAdd(${itemPath}.n, ${itemPath}.n)`,
      },
      End: true,
    },
  },
});

const reader = (inputType = 'JSON') => ({
  Resource: 'arn:aws:states:::s3:getObject',
  ReaderConfig: { InputType: inputType },
  Parameters: { Bucket: BUCKET, 'Key.$': '$.key' },
});
const writer = {
  Resource: 'arn:aws:states:::s3:putObject',
  Parameters: { Bucket: BUCKET, Prefix: 'results' },
};

/** One state machine per case: the Distributed Map fields under test, on the processor above. */
const machines: Record<string, Record<string, unknown>> = {
  Plain: {
    ItemReader: reader(),
    ItemSelector: {
      'n.$': '$$.Map.Item.Value.n',
      'index.$': '$$.Map.Item.Index',
      'run.$': '$.run',
    },
    ResultWriter: writer,
    MaxConcurrency: 20,
  },
  Lines: { ItemReader: reader('JSONL'), MaxConcurrency: 5 },
  Batched: {
    ItemReader: reader(),
    ItemBatcher: { MaxItemsPerBatch: 3, BatchInput: { 'run.$': '$.run' } },
    ResultWriter: writer,
    Processor: processor('$.Items[0]'),
  },
  Throttled: { ItemsPath: '$.items', MaxConcurrency: 2 },
  TolerateCount: {
    ItemReader: reader(),
    ToleratedFailureCount: 2,
    ResultWriter: writer,
    MaxConcurrency: 1,
  },
  TolerateShare: { ItemReader: reader(), ToleratedFailurePercentage: 20, ResultWriter: writer },
  Strict: { ItemsPath: '$.items' },
};

function definition(fields: Record<string, unknown>) {
  const { Processor, ...rest } = fields;
  return {
    StartAt: 'Fan',
    States: {
      Fan: {
        Type: 'Map',
        ...rest,
        ItemProcessor: Processor ?? processor(),
        ResultPath: '$.mapped',
        End: true,
      },
    },
  };
}

/**
 * The Map Run in a JSONata machine: ItemReader and ResultWriter take `Arguments`, the other
 * fields expressions, with `$states.input`, `$states.context.Map.Item` and variables
 * (https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html); the child
 * workflow's states are JSONata too (the machine's QueryLanguage).
 */
const jsonataMachine = {
  QueryLanguage: 'JSONata',
  StartAt: 'Remember',
  States: {
    Remember: { Type: 'Pass', Assign: { run: '{% $states.input.run %}' }, Next: 'Fan' },
    Fan: {
      Type: 'Map',
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON', MaxItems: '{% $states.input.max %}' },
        Arguments: { Bucket: BUCKET, Key: '{% $states.input.key %}' },
      },
      ItemSelector: {
        n: '{% $states.context.Map.Item.Value.n %}',
        fail: '{% $states.context.Map.Item.Value.fail = true %}',
        run: '{% $run %}',
      },
      ResultWriter: {
        Resource: 'arn:aws:states:::s3:putObject',
        Arguments: { Bucket: BUCKET, Prefix: "{% 'results-' & $run %}" },
      },
      MaxConcurrency: '{% 1 + 2 %}',
      ToleratedFailureCount: '{% $states.input.tolerate %}',
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'Route',
        States: {
          Route: {
            Type: 'Choice',
            Choices: [{ Condition: '{% $states.input.fail %}', Next: 'ItemFails' }],
            Default: 'Double',
          },
          ItemFails: { Type: 'Fail', Error: 'ItemFailed', Cause: 'the item asked to fail' },
          Double: {
            Type: 'Pass',
            Output: {
              n: '{% $states.input.n %}',
              doubled: '{% $states.input.n * 2 %}',
              run: '{% $states.input.run %}',
            },
            End: true,
          },
        },
      },
      Output: { mapped: '{% $states.result %}' },
      End: true,
    },
  },
};

/** A hand-written assembly: one bucket and the machines above, no Lambda needed. */
const assembly = (): string =>
  writeAssembly('dmap', {
    Items: { Type: 'AWS::S3::Bucket', Properties: { BucketName: BUCKET } },
    ...stateMachineResources({
      ...Object.fromEntries(Object.entries(machines).map(([n, f]) => [n, definition(f)])),
      Nata: jsonataMachine,
    }),
  });

/** `count` items `{ n }`, the ones at `failing` indexes asking to fail. */
const itemsFactory = (count: number, failing: number[] = []) =>
  Array.from({ length: count }, (_, n) => (failing.includes(n) ? { n, fail: true } : { n }));

describe('Distributed Map on the local runtime', { timeout: 60_000 }, () => {
  let rt: LocalRuntime;
  let s3: S3Client;
  let sfn: SFNClient;
  const arnOf = (name: string) => `arn:aws:states:${rt.region}:000000000000:stateMachine:${name}`;

  const putItems = async (key: string, items: unknown[], jsonl = false) => {
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: key,
        Body: jsonl ? items.map((i) => JSON.stringify(i)).join('\n') : JSON.stringify(items),
      })
    );
  };
  const getJson = async (key: string) => {
    const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return JSON.parse(await r.Body!.transformToString());
  };
  const execute = async (machine: string, input: object) => {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arnOf(machine), input: JSON.stringify(input) })
    );
    const d = await rt.stepFunctions.waitForExecution(executionArn!);
    const { mapRuns } = await sfn.send(new ListMapRunsCommand({ executionArn }));
    return { ...d, executionArn: executionArn!, mapRunArn: mapRuns?.[0]?.mapRunArn };
  };

  let runtime: AssemblyRuntime;
  beforeAll(async () => {
    // Prepare (shared): one runtime with every machine of this file.
    runtime = await startOnAssembly(assembly());
    ({ rt, s3, sfn } = runtime);
  }, 60_000);
  afterAll(() => runtime?.close());

  it('reads 100 items from S3, runs a child each and writes the results as AWS does', async () => {
    // Prepare
    await putItems('plain.json', itemsFactory(100));

    // Act
    const d = await execute('Plain', { key: 'plain.json', run: 'r1' });

    // Assess: the state holds a reference to the results, not the results.
    expect(d.status).toBe('SUCCEEDED');
    const { mapped } = JSON.parse(d.output!);
    const mapRunId = d.mapRunArn!.split(':').at(-1);
    expect(d.mapRunArn).toMatch(
      /^arn:aws:states:[^:]+:000000000000:mapRun:Plain\/Fan:[0-9a-f-]{36}$/
    );
    expect(mapped).toEqual({
      MapRunArn: d.mapRunArn,
      ResultWriterDetails: { Bucket: BUCKET, Key: `results/${mapRunId}/manifest.json` },
    });
    const manifest = await getJson(mapped.ResultWriterDetails.Key);
    expect(manifest).toMatchObject({
      DestinationBucket: BUCKET,
      MapRunArn: d.mapRunArn,
      ResultFiles: {
        FAILED: [],
        PENDING: [],
        SUCCEEDED: [{ Key: `results/${mapRunId}/SUCCEEDED_0.json` }],
      },
    });
    const succeeded: ChildRecord[] = await getJson(`results/${mapRunId}/SUCCEEDED_0.json`);
    expect(succeeded).toHaveLength(100);
    const outputs = succeeded.map((r) => JSON.parse(r.Output!)).sort((a, b) => a.n - b.n);
    expect(outputs[0]).toEqual({ n: 0, doubled: 0 });
    expect(outputs[99]).toEqual({ n: 99, doubled: 198 });
    expect(JSON.parse(succeeded.find((r) => JSON.parse(r.Input).n === 7)!.Input)).toEqual({
      n: 7,
      index: 7,
      run: 'r1',
    });
    expect(succeeded[0]).toMatchObject({
      Status: 'SUCCEEDED',
      InputDetails: { Included: true },
      OutputDetails: { Included: true },
      RedriveCount: 0,
      StateMachineArn: `arn:aws:states:${rt.region}:000000000000:stateMachine:Plain/Fan`,
    });
    const run = await sfn.send(new DescribeMapRunCommand({ mapRunArn: d.mapRunArn }));
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      maxConcurrency: 20,
      itemCounts: { total: 100, succeeded: 100, failed: 0, pending: 0, running: 0 },
      executionCounts: { total: 100, succeeded: 100 },
    });
    const children = await sfn.send(
      new ListExecutionsCommand({ mapRunArn: d.mapRunArn, maxResults: 1000 })
    );
    expect(children.executions).toHaveLength(100);
    const { events } = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn: d.executionArn, maxResults: 1000 })
    );
    const types = events!.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'MapStateEntered',
        'MapRunStarted',
        'MapRunSucceeded',
        'MapStateExited',
      ])
    );
    expect(types).not.toContain('TaskStateEntered');
  });

  it('runs in a JSONata machine: Arguments, expressions and variables in every field', async () => {
    // Prepare: 5 items, item 1 fails; MaxItems keeps 4 of them, one failure is tolerated.
    await putItems('nata.json', itemsFactory(5, [1]));

    // Act
    const d = await execute('Nata', { key: 'nata.json', run: 'r9', max: 4, tolerate: 1 });

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    const { mapped } = JSON.parse(d.output!);
    const mapRunId = d.mapRunArn!.split(':').at(-1);
    expect(mapped).toEqual({
      MapRunArn: d.mapRunArn,
      ResultWriterDetails: { Bucket: BUCKET, Key: `results-r9/${mapRunId}/manifest.json` },
    });
    const manifest = await getJson(mapped.ResultWriterDetails.Key);
    const succeeded: ChildRecord[] = await getJson(manifest.ResultFiles.SUCCEEDED[0].Key);
    expect(succeeded.map((r) => JSON.parse(r.Output!)).sort((a, b) => a.n - b.n)).toEqual([
      { n: 0, doubled: 0, run: 'r9' },
      { n: 2, doubled: 4, run: 'r9' },
      { n: 3, doubled: 6, run: 'r9' },
    ]);
    const failed: ChildRecord[] = await getJson(manifest.ResultFiles.FAILED[0].Key);
    expect(failed.map((f) => JSON.parse(f.Input))).toEqual([{ n: 1, fail: true, run: 'r9' }]);
    const run = await sfn.send(new DescribeMapRunCommand({ mapRunArn: d.mapRunArn }));
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      maxConcurrency: 3,
      toleratedFailureCount: 1,
      itemCounts: { total: 4, succeeded: 3, failed: 1, pending: 0 },
    });
  });

  it('reads JSON Lines and returns outputs in item order when nothing writes them', async () => {
    // Prepare
    await putItems('lines.jsonl', itemsFactory(12), true);

    // Act
    const d = await execute('Lines', { key: 'lines.jsonl' });

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output!).mapped).toEqual(
      Array.from({ length: 12 }, (_, n) => ({ n, doubled: 2 * n }))
    );
  });

  it('batches items with ItemBatcher and passes BatchInput to each batch', async () => {
    // Prepare
    await putItems('batched.json', itemsFactory(10));

    // Act
    const d = await execute('Batched', { key: 'batched.json', run: 'b1' });

    // Assess: 10 items, 3 a batch → 4 children, each input { BatchInput, Items }.
    expect(d.status).toBe('SUCCEEDED');
    const mapRunId = d.mapRunArn!.split(':').at(-1);
    const succeeded: ChildRecord[] = await getJson(`results/${mapRunId}/SUCCEEDED_0.json`);
    const inputs = succeeded
      .map((r) => JSON.parse(r.Input))
      .sort((a, b) => a.Items[0].n - b.Items[0].n);
    expect(inputs.map((i) => i.Items.map((x: { n: number }) => x.n))).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
      [9],
    ]);
    expect(inputs.every((i) => i.BatchInput.run === 'b1')).toBe(true);
    const run = await sfn.send(new DescribeMapRunCommand({ mapRunArn: d.mapRunArn }));
    expect(run.itemCounts).toMatchObject({ total: 10, succeeded: 10 });
    expect(run.executionCounts).toMatchObject({ total: 4, succeeded: 4 });
  });

  it('keeps at most MaxConcurrency children in flight', async () => {
    // Act: six items that each wait a second, MaxConcurrency 2.
    const d = await execute('Throttled', {
      items: Array.from({ length: 6 }, (_, n) => ({ n, waitSeconds: 1 })),
    });

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(rt.stepFunctions.mapRun(d.mapRunArn!)?.peakRunning).toBe(2);
  });

  it('tolerates failures up to ToleratedFailureCount and reports them in FAILED_0.json', async () => {
    // Prepare
    await putItems('two-fail.json', itemsFactory(10, [3, 8]));

    // Act
    const d = await execute('TolerateCount', { key: 'two-fail.json' });

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    const manifest = await getJson(JSON.parse(d.output!).mapped.ResultWriterDetails.Key);
    expect(manifest.ResultFiles.SUCCEEDED).toHaveLength(1);
    const failed: ChildRecord[] = await getJson(manifest.ResultFiles.FAILED[0].Key);
    expect(failed.map((f) => JSON.parse(f.Input).n).sort()).toEqual([3, 8]);
    expect(failed[0]).toMatchObject({
      Status: 'FAILED',
      Error: 'ItemFailed',
      Cause: 'the item asked to fail',
      RedriveStatus: 'REDRIVABLE',
    });
    expect(failed[0]).not.toHaveProperty('Output');
  });

  it('fails with States.ExceedToleratedFailureThreshold past the count, leaving the rest PENDING', async () => {
    // Prepare: three failures at the start, one child at a time: the third fails the run.
    await putItems('three-fail.json', itemsFactory(10, [0, 1, 2]));

    // Act
    const d = await execute('TolerateCount', { key: 'three-fail.json' });

    // Assess
    expect(d.status).toBe('FAILED');
    expect(d.error).toBe('States.ExceedToleratedFailureThreshold');
    const run = await sfn.send(new DescribeMapRunCommand({ mapRunArn: d.mapRunArn }));
    expect(run).toMatchObject({ status: 'FAILED', toleratedFailureCount: 2 });
    expect(run.itemCounts).toMatchObject({ total: 10, failed: 3, succeeded: 0, pending: 7 });
    const mapRunId = d.mapRunArn!.split(':').at(-1);
    const manifest = await getJson(`results/${mapRunId}/manifest.json`);
    expect(manifest.ResultFiles.SUCCEEDED).toEqual([]);
    const pending = await getJson(manifest.ResultFiles.PENDING[0].Key);
    expect(pending.map((p: { Input: string }) => JSON.parse(p.Input).n)).toEqual([
      3, 4, 5, 6, 7, 8, 9,
    ]);
    const { events } = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn: d.executionArn })
    );
    expect(events!.find((e) => e.type === 'MapRunFailed')?.mapRunFailedEventDetails?.error).toBe(
      'States.ExceedToleratedFailureThreshold'
    );
  });

  it('applies ToleratedFailurePercentage to the share of failed items', async () => {
    // Prepare: 2 of 10 failing is 20% (tolerated); 3 of 10 is 30% (not).
    await putItems('pct-ok.json', itemsFactory(10, [1, 5]));
    await putItems('pct-over.json', itemsFactory(10, [1, 5, 9]));

    // Act
    const ok = await execute('TolerateShare', { key: 'pct-ok.json' });
    const over = await execute('TolerateShare', { key: 'pct-over.json' });

    // Assess
    expect(ok.status).toBe('SUCCEEDED');
    expect(over.status).toBe('FAILED');
    expect(over.error).toBe('States.ExceedToleratedFailureThreshold');
  });

  it('fails on the first failed item when no tolerance is set', async () => {
    // Act
    const d = await execute('Strict', { items: itemsFactory(3, [1]) });

    // Assess
    expect(d.status).toBe('FAILED');
    expect(d.error).toBe('States.ExceedToleratedFailureThreshold');
  });

  it('fails with States.ItemReaderFailed when the items object is missing or not an array', async () => {
    // Prepare
    await putItems('object.json', { not: 'an array' } as never);

    // Act
    const missing = await execute('Plain', { key: 'nowhere.json', run: 'x' });
    const notArray = await execute('Plain', { key: 'object.json', run: 'x' });

    // Assess
    expect(missing).toMatchObject({ status: 'FAILED', error: 'States.ItemReaderFailed' });
    expect(missing.cause).toContain(`s3://${BUCKET}/nowhere.json`);
    expect(notArray).toMatchObject({ status: 'FAILED', error: 'States.ItemReaderFailed' });
    expect(notArray.cause).toContain('must hold a JSON array, found object');
  });
});

describe('Distributed Map pieces', () => {
  it('rewrites a Distributed Map into a Task that keeps its transitions and error handling', () => {
    // Prepare
    const def = definition({
      ...machines.Plain,
      InputPath: '$.in',
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Fan' }],
    });

    // Act
    const { definition: out, maps } = rewriteDistributedMaps(def);

    // Assess
    const fan = (out.States as Record<string, Record<string, unknown>>).Fan;
    expect(fan).toEqual({
      Type: 'Task',
      Resource: 'local:states:distributed-map:Fan',
      TimeoutSeconds: 1_728_000,
      InputPath: '$.in',
      ResultPath: '$.mapped',
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Fan' }],
      End: true,
    });
    expect(maps.get('local:states:distributed-map:Fan')?.state.ItemReader).toEqual(reader());
  });

  it('batches by count and by serialized size, and refuses an item too big for any batch', () => {
    // Prepare
    const items = [{ a: 'x'.repeat(10) }, { a: 'y'.repeat(10) }, { a: 'z'.repeat(10) }];

    // Act
    const byCount = batchItems(items, { maxItems: 2 });
    // {"Items":[{"a":"xxxxxxxxxx"}]} is 30 bytes; two items are 49.
    const bySize = batchItems(items, { maxBytes: 48 });

    // Assess
    expect(byCount.map((b) => b.indexes)).toEqual([[0, 1], [2]]);
    expect(bySize.map((b) => b.indexes)).toEqual([[0], [1], [2]]);
    expect(batchItems(items, { maxBytes: 49 }).map((b) => b.indexes)).toEqual([[0, 1], [2]]);
    expect(() => batchItems(items, { maxBytes: 29 })).toThrow(/item 0 is 30 bytes as a batch/);
    expect(batchItems(items, undefined).map((b) => b.input)).toEqual(items);
  });

  it('decides the tolerance like AWS: nothing by default, either bound when both are set', () => {
    expect(exceedsTolerance(1, 100, {})).toBe(true);
    expect(exceedsTolerance(0, 100, {})).toBe(false);
    expect(exceedsTolerance(5, 100, { count: 5 })).toBe(false);
    expect(exceedsTolerance(6, 100, { count: 5 })).toBe(true);
    expect(exceedsTolerance(10, 100, { percentage: 10 })).toBe(false);
    expect(exceedsTolerance(11, 100, { percentage: 10 })).toBe(true);
    expect(exceedsTolerance(3, 10, { count: 5, percentage: 20 })).toBe(true);
  });

  it('names result files <prefix>/<mapRunId>/<STATUS>_0.json and lists them in the manifest', () => {
    // Prepare
    const record = { Output: '{"k":1}', Status: 'SUCCEEDED' } as ChildRecord;

    // Act
    const { files, manifestKey } = resultFiles({
      bucket: 'b',
      prefix: 'out/',
      mapRunArn: 'arn:aws:states:us-east-1:000000000000:mapRun:M/Fan:1234',
      succeeded: [record],
      failed: [],
      pending: [],
      outputType: 'JSON',
      transformation: 'COMPACT',
    });

    // Assess
    expect(manifestKey).toBe('out/1234/manifest.json');
    expect(files).toEqual([
      { key: 'out/1234/SUCCEEDED_0.json', body: '[{"k":1}]' },
      {
        key: 'out/1234/manifest.json',
        body: JSON.stringify({
          DestinationBucket: 'b',
          MapRunArn: 'arn:aws:states:us-east-1:000000000000:mapRun:M/Fan:1234',
          ResultFiles: {
            FAILED: [],
            PENDING: [],
            SUCCEEDED: [{ Key: 'out/1234/SUCCEEDED_0.json', Size: 9 }],
          },
        }),
      },
    ]);
  });

  it('parses JSON arrays and JSON Lines, naming the object when it cannot', () => {
    expect(parseItems('[1,2]', 'JSON', 's3://b/k')).toEqual([1, 2]);
    expect(parseItems('{"a":1}\n\n{"a":2}\n', 'JSONL', 's3://b/k')).toEqual([{ a: 1 }, { a: 2 }]);
    expect(() => parseItems('{', 'JSON', 's3://b/k')).toThrow(/s3:\/\/b\/k is not JSON/);
    expect(() => parseItems('1\nx', 'JSONL', 's3://b/k')).toThrow(/line 2 is not JSON/);
  });
});
