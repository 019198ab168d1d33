import path from 'node:path';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRuntime } from '../src/index.js';
import { type Fixture, silent, startFixture, waitFor } from './helpers.js';

// The fixture reserves 2 for Probe: an account of 3 leaves 1 for everything else.
const ACCOUNT = 3;

describe('account-level Lambda concurrency', { timeout: 60_000 }, () => {
  let fx: Fixture;
  let segment: string;
  const invokeSegment = (sleepMs: number) =>
    fx.lambda.send(
      new InvokeCommand({
        FunctionName: segment,
        Payload: JSON.stringify({ index: 0, runId: 'direct', item: { sleepMs } }),
      })
    );

  beforeAll(async () => {
    // Prepare (shared)
    fx = await startFixture({ accountConcurrency: ACCOUNT });
    segment = fx.rt.model.functions.find((f) => f.logicalId.startsWith('Segment'))!.name;
  }, 120_000);
  afterAll(() => fx?.close());

  it('throttles a synchronous invoke beyond the unreserved pool instead of queueing it', async () => {
    // Prepare: one invocation holds the only unreserved slot.
    const first = invokeSegment(1500);
    await waitFor(() => fx.rt.lambda.inFlight(segment) === 1);

    // Act
    const second = await invokeSegment(1).catch((e: Error) => e);

    // Assess: Lambda's 429 TooManyRequestsException, while the first one still completes.
    expect(second).toMatchObject({
      name: 'TooManyRequestsException',
      $metadata: { httpStatusCode: 429 },
    });
    expect((await first).FunctionError).toBeUndefined();
  });

  it('surfaces the throttle to Step Functions as Lambda.TooManyRequestsException', async () => {
    // Act: a Map of two concurrent segments; the account has room for one.
    const { executionArn } = await fx.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: fx.rt.outputs.StateMachineArn,
        input: JSON.stringify({
          runId: 'throttled',
          items: [{ sleepMs: 1500 }, { sleepMs: 1500 }],
        }),
      })
    );
    const d = await fx.rt.stepFunctions.waitForExecution(executionArn!);

    // Assess: the fixture retries and catches neither, so the execution fails with it.
    expect(d.status).toBe('FAILED');
    expect(d.error).toBe('Lambda.TooManyRequestsException');
  });

  it('rejects at start a stack that reserves more than the account has', async () => {
    // Act
    const err = await startLocalRuntime({
      assemblyDir: path.join(fx.dir, 'cdk.out'),
      port: 0,
      logger: silent,
      accountConcurrency: 1,
    }).catch((e: Error) => e);

    // Assess
    expect(err).toMatchObject({
      name: 'LocalRuntimeError',
      message: "The stack reserves 2 concurrent executions, more than the account's 1",
    });
  });
});
