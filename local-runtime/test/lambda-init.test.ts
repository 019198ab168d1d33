import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LambdaRunner } from '../src/lambda/runner.js';
import type { FunctionSpec } from '../src/model.js';
import { captureLogger, waitFor } from './helpers.js';

/**
 * The Init phase as AWS documents it for on-demand functions: limited to 10 s, and past
 * that Lambda retries Init at the first invocation under the function's configured timeout.
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-ib
 *
 * The function below reads, per Init attempt, what that attempt should do (sleep, throw)
 * from INIT_PLAN, and appends its PID to INIT_LOG, so a test sees how many Inits ran.
 */
const HANDLER = `
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
const log = process.env.INIT_LOG;
const attempt = existsSync(log) ? readFileSync(log, 'utf8').split('\\n').filter(Boolean).length : 0;
appendFileSync(log, process.pid + '\\n');
const plan = JSON.parse(process.env.INIT_PLAN);
const step = plan[Math.min(attempt, plan.length - 1)];
if (step.sleepMs) await new Promise((r) => setTimeout(r, step.sleepMs));
if (step.throw) throw new TypeError('init attempt ' + (attempt + 1) + ' failed');
export const handler = async (event) => {
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  return { pid: process.pid, attempt: attempt + 1 };
};
`;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

interface InitStep {
  sleepMs?: number;
  throw?: boolean;
}

describe('Lambda Init phase: 10 s, then retried in the invocation', { timeout: 60_000 }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  /**
   * A runner with one function whose Init attempts follow `plan`. Timeouts that a case needs
   * to hold are 30 s, far above a Node start on a loaded machine.
   */
  const runnerFor = (plan: InitStep[], timeoutSeconds: number) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lambda-init-'));
    writeFileSync(path.join(dir, 'index.mjs'), HANDLER);
    const initLog = path.join(dir, 'inits.log');
    const fn: FunctionSpec = {
      logicalId: 'SlowInit',
      name: 'slow-init',
      arn: 'arn:aws:lambda:us-east-1:000000000000:function:slow-init',
      runtime: 'nodejs22.x',
      handler: 'index.handler',
      codeDir: dir,
      environment: { INIT_LOG: initLog, INIT_PLAN: JSON.stringify(plan) },
      timeoutSeconds,
      memoryMb: 128,
      layerBinDirs: [],
      ephemeralStorageMiB: 512,
    };
    const logs: string[] = [];
    const runner = new LambdaRunner([fn], {
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      logger: captureLogger(logs),
    });
    cleanups.push(async () => {
      await runner.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    const inits = () => readFileSync(initLog, 'utf8').split('\n').filter(Boolean).map(Number);
    return { runner, logs, inits };
  };

  it('an Init past 10 s does not fail the invocation: Init is retried within it', async () => {
    // Prepare: the first Init takes 11 s (past the phase's 10 s), the retry is quick.
    const { runner, logs, inits } = runnerFor([{ sleepMs: 11_000 }, {}], 30);

    // Act
    const r = await runner.invoke('slow-init', {});

    // Assess: it succeeded on the second Init, whose process is the one that stays warm.
    expect(r).toMatchObject({ ok: true, payload: { attempt: 2 } });
    const [first, second] = inits();
    expect(inits()).toHaveLength(2);
    expect(r.ok && (r.payload as { pid: number }).pid).toBe(second);
    await waitFor(() => !alive(first), { what: 'the timed-out Init process gone' });
    expect(runner.pids()).toEqual([second]);
    expect(logs.some((l) => /INIT_REPORT .* Phase: init Status: timeout/.test(l))).toBe(true);
    expect(logs.some((l) => /INIT_REPORT .* Phase: invoke Status: success/.test(l))).toBe(true);
    // The environment is warm now: the next invocation runs no Init.
    const next = await runner.invoke('slow-init', {});
    expect(next).toMatchObject({ ok: true, payload: { pid: second } });
    expect(inits()).toHaveLength(2);
  });

  it('the retried Init and the handler share the function timeout: Sandbox.Timedout past it', async () => {
    // Prepare: the retried Init (1.5 s) and the handler (1.5 s) each fit the 2 s timeout, together not.
    const { runner, inits } = runnerFor([{ sleepMs: 11_000 }, { sleepMs: 1500 }], 2);

    // Act
    const r = await runner.invoke('slow-init', { sleepMs: 1500 });

    // Assess: AWS's timeout error, not an Init error, and nothing left running.
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: `RequestId: ${r.requestId} Error: Task timed out after 2.00 seconds`,
    });
    expect(inits()).toHaveLength(2);
    await waitFor(() => inits().filter(alive).length === 0, { what: 'both Init processes gone' });
  });

  it('a retried Init slower than the function timeout times the invocation out', async () => {
    // Prepare: both Inits take 11 s; the function timeout is 3 s.
    const { runner, logs } = runnerFor([{ sleepMs: 11_000 }], 3);

    // Act
    const r = await runner.invoke('slow-init', {});

    // Assess
    expect(!r.ok && r.error.errorType).toBe('Sandbox.Timedout');
    expect(logs.some((l) => /INIT_REPORT .* Phase: invoke Status: timeout/.test(l))).toBe(true);
    await waitFor(() => runner.pids().length === 0, { what: 'no environment left' });
  });

  it('an Init error is retried once inside the invocation', async () => {
    // Prepare: the first Init throws, the second succeeds.
    const { runner, inits } = runnerFor([{ throw: true }, {}], 30);

    // Act
    const r = await runner.invoke('slow-init', {});

    // Assess
    expect(r).toMatchObject({ ok: true, payload: { attempt: 2 } });
    expect(inits()).toHaveLength(2);
  });

  it('an Init that fails again fails the invocation with the Init error', async () => {
    // Prepare: every Init throws.
    const { runner, inits } = runnerFor([{ throw: true }], 30);

    // Act
    const r = await runner.invoke('slow-init', {});

    // Assess: the second attempt's error, as the invocation's result.
    expect(!r.ok && r.error).toMatchObject({
      errorType: 'TypeError',
      errorMessage: 'init attempt 2 failed',
    });
    expect(inits()).toHaveLength(2);
    await waitFor(() => runner.pids().length === 0, { what: 'no environment left' });
  });
});
