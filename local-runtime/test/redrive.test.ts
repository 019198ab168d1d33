import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListMapRunsCommand,
  RedriveExecutionCommand,
  type SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../src/index.js';
import { REDRIVABLE_PERIOD_MS, ResumeTracker, redriveStatusOf } from '../src/sfn/redrive.js';
import {
  type AssemblyRuntime,
  startOnAssembly,
  stateMachineResources,
  waitFor,
  writeAssembly,
} from './helpers.js';

/**
 * RedriveExecution on the local runtime, against AWS's documented behaviour:
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html,
 * https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html,
 * https://docs.aws.amazon.com/step-functions/latest/dg/redrive-map-run.html.
 *
 * One Lambda (`Step`) counts its calls per step name in a file and fails or sleeps while
 * the test leaves a `fail-<step>` or `sleep-<step>` file: a test breaks a step, lets the
 * execution end unsuccessfully, repairs the step and redrives.
 */

const BUCKET = 'redrive-results';
const STEP_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:Step';

const STEP_HANDLER = `
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
export const handler = async (event) => {
  const step = String(event.step);
  if (!/^[a-z0-9-]+$/.test(step)) throw new Error('bad step name');
  const dir = process.env.STATE_DIR;
  appendFileSync(path.join(dir, 'calls.log'), step + '\\n');
  const sleep = path.join(dir, 'sleep-' + step);
  if (existsSync(sleep)) await new Promise((r) => setTimeout(r, Number(readFileSync(sleep, 'utf8'))));
  if (existsSync(path.join(dir, 'fail-' + step))) {
    const err = new Error('step ' + step + ' is broken');
    err.name = 'StepBroken';
    throw err;
  }
  return { step, done: true };
};
`;

const step = (name: string, next: Record<string, unknown>) => ({
  Type: 'Task',
  Resource: STEP_ARN,
  Parameters: { step: name },
  ...next,
});

/** An inline Map of one Step task per item, one at a time: the iterations before a broken one succeed, none is aborted. */
const inlineFan = {
  Type: 'Map',
  ItemsPath: '$.items',
  MaxConcurrency: 1,
  ItemProcessor: {
    ProcessorConfig: { Mode: 'INLINE' },
    StartAt: 'Item',
    States: {
      Item: { Type: 'Task', Resource: STEP_ARN, Parameters: { 'step.$': '$.step' }, End: true },
    },
  },
  End: true,
};

const machines: Record<string, Record<string, unknown>> = {
  Chain: {
    StartAt: 'A',
    States: {
      A: step('a', { ResultPath: '$.a', Next: 'B' }),
      B: step('b', { ResultPath: '$.b', Next: 'Done' }),
      Done: {
        Type: 'Pass',
        Parameters: { 'original.$': '$$.Execution.Input', 'a.$': '$.a', 'b.$': '$.b' },
        End: true,
      },
    },
  },
  Timed: {
    TimeoutSeconds: 2,
    StartAt: 'A',
    States: {
      A: step('t-a', { ResultPath: '$.a', Next: 'Slow' }),
      Slow: step('t-slow', { ResultPath: '$.slow', End: true }),
    },
  },
  Inline: {
    StartAt: 'Before',
    States: {
      Before: step('i-before', { ResultPath: null, Next: 'Fan' }),
      Fan: inlineFan,
    },
  },
  // The pipeline's shape since the one wave: an inline Map inside a Parallel branch.
  NestedInline: {
    StartAt: 'Wave',
    States: {
      Wave: {
        Type: 'Parallel',
        Branches: [
          {
            StartAt: 'Fan',
            States: { Fan: inlineFan },
          },
          { StartAt: 'Side', States: { Side: step('n-side', { End: true }) } },
        ],
        End: true,
      },
    },
  },
  Branches: {
    StartAt: 'Both',
    States: {
      Both: {
        Type: 'Parallel',
        Branches: [
          { StartAt: 'Left', States: { Left: step('left', { End: true }) } },
          { StartAt: 'Right', States: { Right: step('right', { End: true }) } },
        ],
        End: true,
      },
    },
  },
  Distributed: {
    StartAt: 'Fan',
    States: {
      Fan: {
        Type: 'Map',
        ItemsPath: '$.items',
        MaxConcurrency: 1,
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'Item',
          States: {
            Item: {
              Type: 'Task',
              Resource: STEP_ARN,
              Parameters: { 'step.$': '$.step' },
              End: true,
            },
          },
        },
        ResultWriter: {
          Resource: 'arn:aws:states:::s3:putObject',
          Parameters: { Bucket: BUCKET, Prefix: 'out' },
        },
        End: true,
      },
    },
  },
  FromS3: {
    StartAt: 'Fan',
    States: {
      Fan: {
        Type: 'Map',
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSON' },
          Parameters: { Bucket: BUCKET, 'Key.$': '$.key' },
        },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'Item',
          States: {
            Item: {
              Type: 'Task',
              Resource: STEP_ARN,
              Parameters: { 'step.$': '$.step' },
              End: true,
            },
          },
        },
        End: true,
      },
    },
  },
};

/** A hand-written assembly: the bucket, the Step function (asset dir) and the machines. */
function assembly(stateDir: string): string {
  const dir = writeAssembly('redrive', {
    Results: { Type: 'AWS::S3::Bucket', Properties: { BucketName: BUCKET } },
    Step: {
      Type: 'AWS::Lambda::Function',
      Metadata: { 'aws:asset:path': 'asset.step' },
      Properties: {
        FunctionName: 'Step',
        Runtime: 'nodejs24.x',
        Handler: 'index.handler',
        Timeout: 30,
        Code: { S3Bucket: 'assets', S3Key: 'step.zip' },
        Environment: { Variables: { STATE_DIR: stateDir } },
      },
    },
    ...stateMachineResources(machines),
  });
  const asset = path.join(dir, 'asset.step');
  mkdirSync(asset);
  writeFileSync(path.join(asset, 'index.mjs'), STEP_HANDLER);
  return dir;
}

describe('RedriveExecution on the local runtime', { timeout: 90_000 }, () => {
  let stateDir: string;
  let rt: LocalRuntime;
  let sfn: SFNClient;
  let s3: S3Client;
  const arnOf = (name: string) => `arn:aws:states:${rt.region}:000000000000:stateMachine:${name}`;

  /** How often the Step function ran each step since the test began. */
  const calls = (name: string) =>
    existsSync(path.join(stateDir, 'calls.log'))
      ? readFileSync(path.join(stateDir, 'calls.log'), 'utf8')
          .split('\n')
          .filter((l) => l === name).length
      : 0;
  const breakStep = (name: string) => writeFileSync(path.join(stateDir, `fail-${name}`), '1');
  const repairStep = (name: string) => rmSync(path.join(stateDir, `fail-${name}`), { force: true });
  const slowStep = (name: string, ms: number) =>
    writeFileSync(path.join(stateDir, `sleep-${name}`), String(ms));
  const unslowStep = (name: string) =>
    rmSync(path.join(stateDir, `sleep-${name}`), { force: true });

  const start = async (machine: string, input: object) => {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arnOf(machine), input: JSON.stringify(input) })
    );
    return executionArn!;
  };
  const finish = async (arn: string) => {
    await rt.stepFunctions.waitForExecution(arn);
    return sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
  };
  const redrive = async (arn: string) => {
    await sfn.send(new RedriveExecutionCommand({ executionArn: arn }));
    return finish(arn);
  };
  const history = async (arn: string): Promise<HistoryEvent[]> =>
    (await sfn.send(new GetExecutionHistoryCommand({ executionArn: arn }))).events ?? [];
  /** The events after the (last) ExecutionRedriven event. */
  const afterRedrive = (events: HistoryEvent[]) =>
    events.slice(events.findLastIndex((e) => e.type === 'ExecutionRedriven') + 1);

  let runtime: AssemblyRuntime;
  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'local-runtime-redrive-state-'));
    runtime = await startOnAssembly(assembly(stateDir));
    ({ rt, s3, sfn } = runtime);
  }, 60_000);
  afterAll(async () => {
    await runtime?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('resumes a FAILED execution at the failed state with its input; succeeded steps do not run again', async () => {
    // Prepare: B is broken, so the execution fails at B after A succeeded.
    breakStep('b');
    const arn = await start('Chain', { order: 1 });
    const failed = await finish(arn);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe('StepBroken');
    expect(failed.redriveStatus).toBe('REDRIVABLE');
    expect([calls('a'), calls('b')]).toEqual([1, 1]);
    repairStep('b');

    // Act
    const done = await redrive(arn);

    // Assess: A ran once in all, B twice; same ARN, redrive counted; the output has A's
    // kept result and the original execution input.
    expect(done.status).toBe('SUCCEEDED');
    expect([calls('a'), calls('b')]).toEqual([1, 2]);
    expect(done.executionArn).toBe(arn);
    expect(done.redriveCount).toBe(1);
    expect(done.redriveDate).toBeInstanceOf(Date);
    expect(JSON.parse(done.output!)).toEqual({
      original: { order: 1 },
      a: { step: 'a', done: true },
      b: { step: 'b', done: true },
    });
    expect(done.redriveStatus).toBe('NOT_REDRIVABLE');
    expect(done.redriveStatusReason).toBe('Execution is SUCCEEDED and cannot be redriven');
    const events = await history(arn);
    expect(events.filter((e) => e.type === 'ExecutionStarted')).toHaveLength(1);
    expect(events.find((e) => e.type === 'ExecutionRedriven')).toMatchObject({
      executionRedrivenEventDetails: { redriveCount: 1 },
    });
    const resumed = afterRedrive(events);
    const entered = resumed.filter((e) => e.type?.endsWith('StateEntered'));
    expect(entered.map((e) => e.stateEnteredEventDetails?.name)).toEqual(['B', 'Done']);
    expect(JSON.parse(entered[0].stateEnteredEventDetails!.input!)).toEqual({
      order: 1,
      a: { step: 'a', done: true },
    });
    // The ids go on from the first attempt's: one history.
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
  });

  it('refuses to redrive a SUCCEEDED or RUNNING execution, with AWS’s reasons', async () => {
    // Prepare
    const ok = await start('Chain', { order: 2 });
    await finish(ok);
    slowStep('a', 3000);
    const running = await start('Chain', { order: 3 });
    await waitFor(() => calls('a') >= 3, { what: 'A of the running execution' });

    // Act
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: running }));
    const refusals = await Promise.all(
      [ok, running].map((executionArn) =>
        sfn.send(new RedriveExecutionCommand({ executionArn })).then(
          () => undefined,
          (err: Error) => ({ name: err.name, message: err.message })
        )
      )
    );
    unslowStep('a');
    await finish(running);

    // Assess
    expect(d.redriveStatus).toBe('NOT_REDRIVABLE');
    expect(d.redriveStatusReason).toBe('Execution is RUNNING and cannot be redriven');
    expect(refusals).toEqual([
      { name: 'ExecutionNotRedrivable', message: 'Execution is SUCCEEDED and cannot be redriven' },
      { name: 'ExecutionNotRedrivable', message: 'Execution is RUNNING and cannot be redriven' },
    ]);
  });

  it('redrives an ABORTED execution from the step it was stopped in', async () => {
    // Prepare: stop the execution while B runs.
    const before = { a: calls('a'), b: calls('b') };
    slowStep('b', 2000);
    const arn = await start('Chain', { order: 4 });
    await waitFor(() => calls('b') > before.b, { what: 'B to start' });
    await sfn.send(new StopExecutionCommand({ executionArn: arn, error: 'StoppedByTest' }));
    const aborted = await finish(arn);
    expect(aborted.status).toBe('ABORTED');
    expect(aborted.redriveStatus).toBe('REDRIVABLE');
    unslowStep('b');

    // Act
    const done = await redrive(arn);

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect(calls('a') - before.a).toBe(1);
    expect(calls('b') - before.b).toBe(2);
  });

  it('redrives a TIMED_OUT execution from the step that ran out of time', async () => {
    // Prepare: the slow step outlasts the machine's 2 s TimeoutSeconds.
    slowStep('t-slow', 4000);
    const arn = await start('Timed', {});
    const timedOut = await finish(arn);
    expect(timedOut.status).toBe('TIMED_OUT');
    expect(timedOut.redriveStatus).toBe('REDRIVABLE');
    unslowStep('t-slow');

    // Act
    const done = await redrive(arn);

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect([calls('t-a'), calls('t-slow')]).toEqual([1, 2]);
    expect(JSON.parse(done.output!).a).toEqual({ step: 't-a', done: true });
  });

  it('reruns only the failed iterations of an inline Map; the others keep their results', async () => {
    // Prepare: the last item's step is broken.
    breakStep('m2');
    const items = ['m0', 'm1', 'm2'].map((s) => ({ step: s }));
    const arn = await start('Inline', { items });
    expect((await finish(arn)).status).toBe('FAILED');
    repairStep('m2');

    // Act
    const done = await redrive(arn);

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect([calls('i-before'), calls('m0'), calls('m1'), calls('m2')]).toEqual([1, 1, 1, 2]);
    expect(JSON.parse(done.output!)).toEqual(
      ['m0', 'm1', 'm2'].map((s) => ({ step: s, done: true }))
    );
    const iterations = afterRedrive(await history(arn)).filter(
      (e) => e.type === 'MapIterationStarted'
    );
    expect(iterations.map((e) => e.mapIterationStartedEventDetails?.index)).toEqual([2]);
  });

  it('reruns only the failed branch of a Parallel; the other keeps its result', async () => {
    // Prepare: the right branch fails after the left one has succeeded (so none is aborted).
    breakStep('right');
    slowStep('right', 500);
    const arn = await start('Branches', {});
    expect((await finish(arn)).status).toBe('FAILED');
    repairStep('right');
    unslowStep('right');

    // Act
    const done = await redrive(arn);

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect([calls('left'), calls('right')]).toEqual([1, 2]);
    expect(JSON.parse(done.output!)).toEqual([
      { step: 'left', done: true },
      { step: 'right', done: true },
    ]);
  });

  it('reruns only the failed iterations of an inline Map nested in a Parallel branch', async () => {
    // Prepare: the Map in the first branch fails at its last item; the other branch succeeds.
    breakStep('n2');
    const items = ['n0', 'n1', 'n2'].map((s) => ({ step: s }));
    const arn = await start('NestedInline', { items });
    expect((await finish(arn)).status).toBe('FAILED');
    repairStep('n2');

    // Act
    const done = await redrive(arn);

    // Assess: the branch ran again, its Map reused n0 and n1 (RedriveExecution does not
    // rerun successful steps), and the branch that had succeeded was not run again.
    expect(done.status).toBe('SUCCEEDED');
    expect([calls('n0'), calls('n1'), calls('n2'), calls('n-side')]).toEqual([1, 1, 2, 1]);
    expect(JSON.parse(done.output!)).toEqual([
      ['n0', 'n1', 'n2'].map((s) => ({ step: s, done: true })),
      { step: 'n-side', done: true },
    ]);
  });

  it('redrives the same Map Run of a Distributed Map: only its failed and pending children run', async () => {
    // Prepare: d2 fails, which fails the Map Run (no tolerance) before d3 starts.
    breakStep('d2');
    const items = ['d0', 'd1', 'd2', 'd3'].map((s) => ({ step: s }));
    const arn = await start('Distributed', { items });
    expect((await finish(arn)).status).toBe('FAILED');
    const [{ mapRunArn }] = (await sfn.send(new ListMapRunsCommand({ executionArn: arn })))
      .mapRuns!;
    const firstChildren = (
      await sfn.send(new ListExecutionsCommand({ mapRunArn }))
    ).executions!.map((e) => ({ arn: e.executionArn, status: e.status }));
    expect(firstChildren.map((c) => c.status).sort()).toEqual(['FAILED', 'SUCCEEDED', 'SUCCEEDED']);
    const failedChild = firstChildren.find((c) => c.status === 'FAILED')!.arn!;
    const child = await sfn.send(new DescribeExecutionCommand({ executionArn: failedChild }));
    expect(child.redriveStatus).toBe('REDRIVABLE_BY_MAP_RUN');
    repairStep('d2');

    // Act
    const done = await redrive(arn);

    // Assess: one Map Run, redriven once; the failed child redriven under its own ARN,
    // the pending one started, the succeeded ones untouched.
    expect(done.status).toBe('SUCCEEDED');
    expect([calls('d0'), calls('d1'), calls('d2'), calls('d3')]).toEqual([1, 1, 2, 1]);
    const runs = (await sfn.send(new ListMapRunsCommand({ executionArn: arn }))).mapRuns!;
    expect(runs.map((r) => r.mapRunArn)).toEqual([mapRunArn]);
    const run = await sfn.send(new DescribeMapRunCommand({ mapRunArn }));
    expect(run.status).toBe('SUCCEEDED');
    expect(run.redriveCount).toBe(1);
    expect(run.redriveDate).toBeInstanceOf(Date);
    expect(run.itemCounts).toMatchObject({ succeeded: 4, failed: 0, pending: 0, total: 4 });
    const children = (await sfn.send(new ListExecutionsCommand({ mapRunArn }))).executions!;
    expect(children).toHaveLength(4);
    const redriven = await sfn.send(new DescribeExecutionCommand({ executionArn: failedChild }));
    expect(redriven).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
    const events = await history(arn);
    expect(events.map((e) => e.type)).toContain('MapRunRedriven');
    expect(events.filter((e) => e.type === 'MapRunStarted')).toHaveLength(1);
    // ResultWriter's files now tell the final outcome: every item succeeded.
    const { ResultWriterDetails } = JSON.parse(done.output!);
    const manifest = JSON.parse(
      await (
        await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: ResultWriterDetails.Key }))
      ).Body!.transformToString()
    );
    expect(manifest.ResultFiles.FAILED).toEqual([]);
    expect(manifest.ResultFiles.PENDING).toEqual([]);
    const succeeded = JSON.parse(
      await (
        await s3.send(
          new GetObjectCommand({ Bucket: BUCKET, Key: manifest.ResultFiles.SUCCEEDED[0].Key })
        )
      ).Body!.transformToString()
    );
    expect(succeeded).toHaveLength(4);
    expect(
      succeeded.find((r: { ExecutionArn: string }) => r.ExecutionArn === failedChild)
    ).toMatchObject({ RedriveCount: 1, Status: 'SUCCEEDED' });
    // A child is redriven through its parent, not on its own.
    await expect(
      sfn.send(new RedriveExecutionCommand({ executionArn: failedChild }))
    ).rejects.toMatchObject({ name: 'ExecutionNotRedrivable' });
  });

  it('redrives the Map Run of an ABORTED parent: the aborted child and the unstarted items run', async () => {
    // Prepare: stop the parent while its Map Run's second child runs (one at a time).
    slowStep('e1', 3000);
    const items = ['e0', 'e1', 'e2', 'e3'].map((s) => ({ step: s }));
    const arn = await start('Distributed', { items });
    await waitFor(() => calls('e1') === 1, { what: 'the second child to start' });
    await sfn.send(new StopExecutionCommand({ executionArn: arn }));
    expect((await finish(arn)).status).toBe('ABORTED');
    const [{ mapRunArn }] = (await sfn.send(new ListMapRunsCommand({ executionArn: arn })))
      .mapRuns!;
    await waitFor(
      async () => (await sfn.send(new DescribeMapRunCommand({ mapRunArn }))).status === 'ABORTED',
      { what: 'the Map Run to end ABORTED' }
    );
    unslowStep('e1');

    // Act
    const done = await redrive(arn);

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect([calls('e0'), calls('e1'), calls('e2'), calls('e3')]).toEqual([1, 2, 1, 1]);
    const run = await sfn.send(new DescribeMapRunCommand({ mapRunArn }));
    expect(run).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
    expect(run.itemCounts).toMatchObject({ succeeded: 4, aborted: 0, pending: 0 });
    const children = (await sfn.send(new ListExecutionsCommand({ mapRunArn }))).executions!;
    expect(children.map((c) => c.status)).toEqual(Array(4).fill('SUCCEEDED'));
  });

  it('starts the Map Run on redrive when the first attempt never started one (ItemReader failed)', async () => {
    // Prepare: the items object does not exist yet.
    const arn = await start('FromS3', { key: 'later.json' });
    const failed = await finish(arn);
    expect(failed.error).toBe('States.ItemReaderFailed');
    expect((await sfn.send(new ListMapRunsCommand({ executionArn: arn }))).mapRuns).toEqual([]);
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'later.json',
        Body: JSON.stringify([{ step: 'f0' }, { step: 'f1' }]),
      })
    );

    // Act
    const done = await redrive(arn);

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect([calls('f0'), calls('f1')]).toEqual([1, 1]);
    const runs = (await sfn.send(new ListMapRunsCommand({ executionArn: arn }))).mapRuns!;
    expect(runs).toHaveLength(1);
    const run = await sfn.send(new DescribeMapRunCommand({ mapRunArn: runs[0].mapRunArn }));
    expect(run).toMatchObject({ status: 'SUCCEEDED', redriveCount: 0 });
  });
});

describe('redrive rules (pure)', () => {
  it('words NOT_REDRIVABLE as AWS does', () => {
    const now = Date.now();
    const old = new Date(now - REDRIVABLE_PERIOD_MS - 1000);
    expect(redriveStatusOf({ status: 'FAILED', stopDate: old }, 'STANDARD', now)).toEqual({
      redriveStatus: 'NOT_REDRIVABLE',
      redriveStatusReason: 'Execution redrivable period exceeded',
    });
    expect(
      redriveStatusOf({ status: 'FAILED', stopDate: new Date(now) }, 'EXPRESS', now)
    ).toMatchObject({ redriveStatus: 'NOT_REDRIVABLE' });
    expect(
      redriveStatusOf({ status: 'TIMED_OUT', stopDate: new Date(now) }, 'STANDARD', now)
    ).toEqual({ redriveStatus: 'REDRIVABLE' });
  });

  it('resumes after the last state that exited when the run stopped between two states', () => {
    const tracker = new ResumeTracker({ A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Pass' } });
    tracker.observe({ type: 'StateEntered', state: { name: 'A', type: 'Pass', input: 1 } });
    tracker.observe({
      type: 'StateExited',
      state: { name: 'A', type: 'Pass', input: 1, output: 2 },
    });
    expect(tracker.point()).toEqual({ state: 'B', input: 2, succeeded: {} });
  });

  it('ignores nested states of the same name (they carry an index)', () => {
    const tracker = new ResumeTracker({ Fan: { Type: 'Map' } });
    tracker.observe({ type: 'StateEntered', state: { name: 'Fan', type: 'Map', input: 'in' } });
    tracker.observe({
      type: 'StateEntered',
      index: 0,
      state: { name: 'Fan', type: 'Pass', input: 'x' },
    });
    tracker.observe({
      type: 'MapIterationSucceeded',
      index: 1,
      output: 'r1',
      parentState: { name: 'Fan' },
    });
    expect(tracker.point()).toEqual({ state: 'Fan', input: 'in', succeeded: { 1: 'r1' } });
  });
});
