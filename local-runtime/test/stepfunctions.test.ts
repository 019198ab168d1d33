import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from './helpers.js';

describe('Step Functions service', { timeout: 60_000 }, () => {
  let fx: Fixture;
  let arn: string;
  const start = (name: string | undefined, items: object[]) =>
    fx.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: arn,
        name,
        input: JSON.stringify({ runId: name ?? 'anon', items }),
      })
    );

  beforeAll(async () => {
    // Prepare (shared): one runtime for the file and its fixture state machine.
    fx = await startFixture();
    arn = fx.rt.outputs.StateMachineArn;
  }, 120_000);
  afterAll(() => fx?.close());

  it('respects the Map MaxConcurrency', async () => {
    // Act: six 300 ms items through a Map whose MaxConcurrency is 2.
    const { executionArn } = await start(
      'concurrency',
      Array.from({ length: 6 }, () => ({ sleepMs: 300 }))
    );
    const d = await fx.rt.stepFunctions.waitForExecution(executionArn!);

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    const out = JSON.parse(d.output!);
    // maxOverlap: the most segments whose [started, ended) intervals overlapped, as they recorded them.
    expect(out).toMatchObject({ count: 6, succeeded: 6, maxOverlap: 2 });
  });

  it('continues the StartExecution traceHeader in every task, each with its own segment', async () => {
    // Prepare
    const root = '1-6a1b2c3d-0123456789abcdef01234567';
    const header = `Root=${root};Parent=53995c3f42cd8ad8;Sampled=1`;

    // Act: a traced execution and an untraced one
    const traced = await fx.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: arn,
        name: 'traced',
        input: JSON.stringify({ runId: 'traced', items: [{ sleepMs: 1 }, { sleepMs: 1 }] }),
        traceHeader: header,
      })
    );
    const untraced = await start('untraced', [{ sleepMs: 1 }]);
    await fx.rt.stepFunctions.waitForExecution(traced.executionArn!);
    await fx.rt.stepFunctions.waitForExecution(untraced.executionArn!);
    const described = await fx.sfn.send(
      new DescribeExecutionCommand({ executionArn: traced.executionArn })
    );
    const reports = (trace: string) =>
      fx.logs.filter((l) => l.includes(' REPORT ') && l.includes(`XRAY TraceId: ${trace}\t`));
    const history = await fx.sfn.send(
      new GetExecutionHistoryCommand({ executionArn: traced.executionArn })
    );
    const tasks = history.events!.filter(
      (e) => e.type === 'LambdaFunctionStarted' || e.type === 'TaskStarted'
    );

    // Assess: one REPORT per task of the traced execution, all in its trace, none of the other's
    expect(described.traceHeader).toBe(header);
    expect(tasks.length).toBeGreaterThanOrEqual(3);
    expect(reports(root)).toHaveLength(tasks.length);
    const segments = reports(root).map((l) => /SegmentId: (\w+)/.exec(l)?.[1]);
    expect(new Set(segments).size).toBe(tasks.length);
    expect(segments).not.toContain('53995c3f42cd8ad8');
    const all = await (await fetch(new URL(`/_local/logs?traceId=${root}`, fx.rt.endpoint))).json();
    expect(all.records).toHaveLength(tasks.length);
  });

  it('retries a matching error and catches a named Lambda error type', async () => {
    // Act
    const { executionArn } = await start('retry-catch', [
      { flaky: true },
      { fail: true },
      { sleepMs: 10 },
    ]);
    const d = await fx.rt.stepFunctions.waitForExecution(executionArn!);

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output!)).toMatchObject({
      count: 3,
      succeeded: 2,
      errors: ['FrameNotFoundError'],
    });
    const { events } = await fx.sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 })
    );
    const failed = events!
      .filter((e) => e.type === 'LambdaFunctionFailed')
      .map((e) => e.lambdaFunctionFailedEventDetails);
    expect(failed.map((f) => f?.error).sort()).toEqual(['Flaky', 'FrameNotFoundError']);
    const cause = JSON.parse(failed.find((f) => f?.error === 'FrameNotFoundError')!.cause!);
    expect(cause).toMatchObject({
      errorType: 'FrameNotFoundError',
      errorMessage: 'no frame at segment 1',
    });
    const types = events!.map((e) => e.type);
    expect(types[0]).toBe('ExecutionStarted');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    for (const t of [
      'MapStateEntered',
      'MapIterationStarted',
      'MapIterationSucceeded',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionSucceeded',
      'TaskSucceeded',
    ]) {
      expect(types).toContain(t);
    }
    expect(events!.map((e) => e.id)).toEqual(events!.map((_, i) => i + 1));
  });

  it('surfaces a Lambda timeout as Sandbox.Timedout (catchable)', async () => {
    // Act: an item that outlives the Lambda's 2 s timeout.
    const { executionArn } = await start('lambda-timeout', [{ sleepMs: 5000 }]);
    const d = await fx.rt.stepFunctions.waitForExecution(executionArn!);

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output!).errors).toEqual(['Sandbox.Timedout']);
    const { events } = await fx.sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    const f = events!.find((e) => e.type === 'LambdaFunctionFailed')!
      .lambdaFunctionFailedEventDetails!;
    expect(JSON.parse(f.cause!).errorMessage).toMatch(/Task timed out after 2\.00 seconds/);
  });

  it('starts a single execution for a duplicated StartExecution', async () => {
    // Prepare
    const items = [{ sleepMs: 500 }];
    const input = JSON.stringify({ runId: 'dup', items });

    // Act: the same StartExecution twice at once.
    const [a, b] = await Promise.all([
      fx.sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'dup', input })),
      fx.sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'dup', input })),
    ]);

    // Assess
    expect(a.executionArn).toBe(b.executionArn);
    // Act & Assess: while it runs, the same name with another input collides.
    await expect(
      fx.sfn.send(
        new StartExecutionCommand({ stateMachineArn: arn, name: 'dup', input: '{"other":1}' })
      )
    ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });

    // Act: let it close.
    await fx.rt.stepFunctions.waitForExecution(a.executionArn!);

    // Act & Assess: closed executions keep their name: even the same input collides now.
    await expect(
      fx.sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'dup', input }))
    ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    // Assess: only one execution was ever started under that name.
    const list = await fx.sfn.send(new ListExecutionsCommand({ stateMachineArn: arn }));
    expect(list.executions!.filter((e) => e.name === 'dup')).toHaveLength(1);
  });

  it('describes, lists by status and stops executions like the AWS API', async () => {
    // Prepare: an execution that runs for 1.5 s.
    const { executionArn } = await start('to-stop', [{ sleepMs: 1500 }]);

    // Act: describe and list it while it runs.
    const running = await fx.sfn.send(new DescribeExecutionCommand({ executionArn }));
    const listed = await fx.sfn.send(
      new ListExecutionsCommand({ stateMachineArn: arn, statusFilter: 'RUNNING' })
    );

    // Assess
    expect(running).toMatchObject({ status: 'RUNNING', name: 'to-stop', stateMachineArn: arn });
    expect(running.startDate).toBeInstanceOf(Date);
    expect(listed.executions!.map((e) => e.name)).toContain('to-stop');

    // Act: stop it, then describe and list it again.
    await fx.sfn.send(new StopExecutionCommand({ executionArn, error: 'Manual', cause: 'test' }));
    const stopped = await fx.sfn.send(new DescribeExecutionCommand({ executionArn }));
    const aborted = await fx.sfn.send(
      new ListExecutionsCommand({ stateMachineArn: arn, statusFilter: 'ABORTED' })
    );

    // Assess
    expect(stopped).toMatchObject({ status: 'ABORTED', error: 'Manual', cause: 'test' });
    expect(stopped.stopDate).toBeInstanceOf(Date);
    expect(aborted.executions!.map((e) => e.name)).toEqual(['to-stop']);
  });

  it('returns AWS error shapes', async () => {
    // Act & Assess: an unknown execution, an unknown state machine, input that is not JSON.
    await expect(
      fx.sfn.send(
        new DescribeExecutionCommand({
          executionArn: `${arn.replace(':stateMachine:', ':execution:')}:nope`,
        })
      )
    ).rejects.toMatchObject({ name: 'ExecutionDoesNotExist', $metadata: { httpStatusCode: 400 } });
    await expect(
      fx.sfn.send(new StartExecutionCommand({ stateMachineArn: `${arn}x`, input: '{}' }))
    ).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
    await expect(
      fx.sfn.send(new StartExecutionCommand({ stateMachineArn: arn, input: '{not json' }))
    ).rejects.toMatchObject({ name: 'InvalidExecutionInput' });
  });
});
