import { renameSync } from 'node:fs';
import path from 'node:path';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from './helpers.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('Lambda execution environments', { timeout: 60_000 }, () => {
  let fx: Fixture;
  let name: string;
  const invoke = async (event: object) => {
    const r = await fx.lambda.send(
      new InvokeCommand({ FunctionName: name, Payload: JSON.stringify(event) })
    );
    return {
      functionError: r.FunctionError,
      payload: JSON.parse(Buffer.from(r.Payload!).toString()),
    };
  };

  beforeAll(async () => {
    // Prepare (shared): one runtime for the file; tests invoke its Probe function.
    fx = await startFixture();
    name = fx.rt.outputs.ProbeFunctionName;
  }, 120_000);
  afterAll(async () => {
    await fx?.close();
  });

  it('runs with template env, resolved references, Lambda context and layers on PATH', async () => {
    // Act
    const { functionError, payload } = await invoke({ action: 'env' });

    // Assess
    expect(functionError).toBeUndefined();
    expect(payload.env).toEqual({
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: fx.rt.endpoint,
      TABLE_HINT: 'x',
      BUCKET_NAME: fx.rt.outputs.UploadsBucketName,
      AWS_PROFILE: null,
    });
    expect(payload.context).toMatchObject({
      functionName: name,
      invokedFunctionArn: fx.rt.outputs.ProbeFunctionArn,
      memoryLimitInMB: '128',
    });
    expect(payload.context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    // Counted down from the function's 1 s Timeout (not the 3 s default, not unset).
    expect(payload.context.remaining).toBeGreaterThan(0);
    expect(payload.context.remaining).toBeLessThanOrEqual(1000);
    expect(payload.layer).toBe('hello from layer world');
    expect(payload.pid).not.toBe(process.pid);
  });

  it('reuses a warm environment for sequential invocations', async () => {
    // Prepare: a first invocation leaves a warm environment.
    const a = await invoke({ action: 'sleep', ms: 1 });

    // Act
    const b = await invoke({ action: 'sleep', ms: 1 });

    // Assess
    expect(a.payload.pid).toBe(b.payload.pid);
  });

  it('returns thrown errors as errorType/errorMessage', async () => {
    // Act
    const { functionError, payload } = await invoke({ action: 'throw' });

    // Assess
    expect(functionError).toBe('Unhandled');
    expect(payload).toMatchObject({
      errorType: 'FrameNotFoundError',
      errorMessage: 'frame 7 missing',
    });
  });

  it('kills a timed-out environment and reports it like Lambda', async () => {
    // Prepare: a warm environment.
    const before = await invoke({ action: 'sleep', ms: 1 });

    // Act: time out (the function's timeout is 1 s), then invoke again.
    const { functionError, payload } = await invoke({ action: 'sleep', ms: 5000 });
    const after = await invoke({ action: 'sleep', ms: 1 });

    // Assess
    expect(functionError).toBe('Unhandled');
    expect(payload.errorType).toBe('Sandbox.Timedout');
    expect(payload.errorMessage).toMatch(/Task timed out after 1\.00 seconds/);
    expect(after.functionError).toBeUndefined();
    expect(after.payload.pid).toEqual(expect.any(Number));
    // The timed-out environment is gone: a fresh process served the next call.
    expect(after.payload.pid).not.toBe(before.payload.pid);
    expect(alive(before.payload.pid)).toBe(false);
  });

  it('fails only the invocation when the process exits', async () => {
    // Act: exit the process, then invoke again.
    const { functionError, payload } = await invoke({ action: 'exit' });
    const next = await invoke({ action: 'sleep', ms: 1 });

    // Assess
    expect(functionError).toBe('Unhandled');
    expect(payload.errorType).toBe('Runtime.ExitError');
    expect(payload.errorMessage).toMatch(/exit status 3/);
    expect(next.functionError).toBeUndefined();
  });

  it('keeps running from its own snapshot when cdk.out is re-synthesized away', async () => {
    // Prepare: move the assembly away, as a concurrent `cdk synth` replacing it would.
    const assembly = path.join(fx.dir, 'cdk.out');
    renameSync(assembly, `${assembly}.moved`);
    try {
      // (still Prepare) a warm environment whose process will be replaced
      const warm = await invoke({ action: 'sleep', ms: 1 });
      // Act: crash the warm environment so the next invocation cold-starts from disk.
      const crash = await invoke({ action: 'exit' });
      const cold = await invoke({ action: 'sleep', ms: 1 });
      // Assess
      expect(crash.functionError).toBe('Unhandled');
      expect(cold.functionError).toBeUndefined();
      expect(cold.payload.pid).not.toBe(warm.payload.pid);
    } finally {
      renameSync(`${assembly}.moved`, assembly);
    }
  });

  it('throttles beyond ReservedConcurrentExecutions', async () => {
    // Act: three concurrent invocations; ReservedConcurrentExecutions is 2.
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => invoke({ action: 'sleep', ms: 400 }))
    );

    // Assess
    const rejected = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(rejected).toHaveLength(1);
    expect(rejected[0].reason).toMatchObject({ name: 'TooManyRequestsException' });
  });

  it('leaves no processes behind after stop()', async () => {
    // Prepare: at least one live environment (checked, so the assessment below is not vacuous).
    await invoke({ action: 'sleep', ms: 1 });
    const pids = fx.rt.lambda.pids();
    expect(pids.length).toBeGreaterThan(0);
    expect(pids.every(alive)).toBe(true);
    const all = [...pids];

    // Act
    await fx.rt.stop();

    // Assess
    expect(all.filter(alive)).toEqual([]);
    expect(fx.rt.lambda.pids()).toEqual([]);
    await expect(fetch(`${fx.rt.endpoint}/_local/health`)).rejects.toThrow();
  });
});
