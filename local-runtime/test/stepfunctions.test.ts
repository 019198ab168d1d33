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
    fx = await startFixture();
    arn = fx.rt.outputs.StateMachineArn;
  }, 120_000);
  afterAll(() => fx?.close());

  it('respects the Map MaxConcurrency', async () => {
    const t0 = Date.now();
    const { executionArn } = await start(
      'concurrency',
      Array.from({ length: 6 }, () => ({ sleepMs: 300 }))
    );
    const d = await fx.rt.stepFunctions.waitForExecution(executionArn!);
    expect(d.status).toBe('SUCCEEDED');
    const out = JSON.parse(d.output!);
    expect(out).toMatchObject({ count: 6, succeeded: 6, maxOverlap: 2 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900); // 3 waves of 300 ms
  });

  it('retries a matching error and catches a named Lambda error type', async () => {
    const { executionArn } = await start('retry-catch', [
      { flaky: true },
      { fail: true },
      { sleepMs: 10 },
    ]);
    const d = await fx.rt.stepFunctions.waitForExecution(executionArn!);
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
    const { executionArn } = await start('lambda-timeout', [{ sleepMs: 5000 }]);
    const d = await fx.rt.stepFunctions.waitForExecution(executionArn!);
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output!).errors).toEqual(['Sandbox.Timedout']);
    const { events } = await fx.sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    const f = events!.find((e) => e.type === 'LambdaFunctionFailed')!
      .lambdaFunctionFailedEventDetails!;
    expect(JSON.parse(f.cause!).errorMessage).toMatch(/Task timed out after 2\.00 seconds/);
  });

  it('starts a single execution for a duplicated StartExecution', async () => {
    const items = [{ sleepMs: 500 }];
    const input = JSON.stringify({ runId: 'dup', items });
    const [a, b] = await Promise.all([
      fx.sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'dup', input })),
      fx.sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'dup', input })),
    ]);
    expect(a.executionArn).toBe(b.executionArn);
    await expect(
      fx.sfn.send(
        new StartExecutionCommand({ stateMachineArn: arn, name: 'dup', input: '{"other":1}' })
      )
    ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    await fx.rt.stepFunctions.waitForExecution(a.executionArn!);
    // Closed executions keep their name: even the same input collides now.
    await expect(
      fx.sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'dup', input }))
    ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    const list = await fx.sfn.send(new ListExecutionsCommand({ stateMachineArn: arn }));
    expect(list.executions!.filter((e) => e.name === 'dup')).toHaveLength(1);
  });

  it('describes, lists by status and stops executions like the AWS API', async () => {
    const { executionArn } = await start('to-stop', [{ sleepMs: 1500 }]);
    const running = await fx.sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(running).toMatchObject({ status: 'RUNNING', name: 'to-stop', stateMachineArn: arn });
    expect(running.startDate).toBeInstanceOf(Date);
    const listed = await fx.sfn.send(
      new ListExecutionsCommand({ stateMachineArn: arn, statusFilter: 'RUNNING' })
    );
    expect(listed.executions!.map((e) => e.name)).toContain('to-stop');
    await fx.sfn.send(new StopExecutionCommand({ executionArn, error: 'Manual', cause: 'test' }));
    const stopped = await fx.sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(stopped).toMatchObject({ status: 'ABORTED', error: 'Manual', cause: 'test' });
    expect(stopped.stopDate).toBeInstanceOf(Date);
    const aborted = await fx.sfn.send(
      new ListExecutionsCommand({ stateMachineArn: arn, statusFilter: 'ABORTED' })
    );
    expect(aborted.executions!.map((e) => e.name)).toEqual(['to-stop']);
  });

  it('returns AWS error shapes', async () => {
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
