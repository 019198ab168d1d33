import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { StateMachine } from 'aws-local-stepfunctions';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import {
  type FanOutPolicyProps,
  MapFanOutFanIn,
  type MapFanOutFanInProps,
} from '../../lib/constructs/map-fan-out-fan-in.js';
import type { InvokeResult, LambdaRunner } from '../../local-runtime/src/lambda/runner.js';
import { silentLogger } from '../../local-runtime/src/logger.js';
import { StepFunctionsService } from '../../local-runtime/src/sfn/service.js';
import { resolveDefinition } from './synth.js';

const fn = (scope: Construct, id: string) =>
  new lambda.Function(scope, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async (e) => e;'),
    timeout: Duration.seconds(30),
  });

/** A generic flow (no video): kinds `a`, `b`, `c`, `d`, each with its own worker. */
const flowPropsFactory = (
  stack: Stack,
  policy: FanOutPolicyProps,
  overrides: Partial<MapFanOutFanInProps> = {}
): MapFanOutFanInProps => {
  const scope = new Construct(stack, 'Functions');
  return {
    branchesPath: '$.items',
    branchFunctions: ['a', 'b', 'c', 'd'].map((kind) => ({
      kind,
      handler: fn(scope, `Run-${kind}`),
    })),
    aggregator: fn(scope, 'Merge'),
    policy,
    ...overrides,
  };
};

const idOf = (input: unknown): string => (input as { branch: { id: string } }).branch.id;

const build = (policy: FanOutPolicyProps, overrides: Partial<MapFanOutFanInProps> = {}) => {
  const stack = new Stack();
  const flow = new MapFanOutFanIn(stack, 'Flow', flowPropsFactory(stack, policy, overrides));
  return { stack, flow };
};

describe('fan-out policy validation at synth (one case per rule)', () => {
  it.each<[string, FanOutPolicyProps, RegExp]>([
    [
      'exactly one primary',
      { await: 'primary', kinds: { a: { role: 'primary' }, b: { role: 'primary' } } },
      /exactly one kind must have role "primary"; found 2 \(a, b\)/,
    ],
    [
      'a primary cannot be a fallback',
      { kinds: { b: { role: 'primary', fallbackFor: 'a' } } },
      /the primary "b" cannot be a fallback/,
    ],
    [
      'no fallback cycles',
      { kinds: { b: { fallbackFor: 'c' }, c: { fallbackFor: 'b' } } },
      /fallback cycle: b → c → b/,
    ],
    [
      'one fallback per origin',
      { kinds: { b: { fallbackFor: 'a' }, c: { fallbackFor: 'a' } } },
      /"a" has 2 fallbacks \(b, c\); at most one is allowed/,
    ],
    [
      'no fallback with await none',
      { await: 'none', kinds: { b: { fallbackFor: 'a' } } },
      /await "none" tracks no outcome, so "b" cannot be a fallback/,
    ],
    [
      'no timeout with await none',
      { await: 'none', kinds: { b: { timeout: Duration.seconds(5) } } },
      /await "none" tracks no outcome, so "b" cannot have a timeout/,
    ],
    [
      'every kind named has a worker',
      { kinds: { z: { role: 'secondary' } } },
      /policy names kind "z", which has no worker/,
    ],
    [
      'a fallback stands in for a kind that has a worker',
      { kinds: { b: { fallbackFor: 'z' } } },
      /"b" is a fallback for "z", which has no worker/,
    ],
    [
      'no timeout on a fire-and-forget kind',
      { kinds: { b: { role: 'fire-and-forget', timeout: Duration.seconds(5) } } },
      /"b" is fire-and-forget, which nothing waits for, so it cannot have a timeout/,
    ],
    [
      'no fallback for a fire-and-forget kind',
      { kinds: { b: { role: 'fire-and-forget' }, c: { fallbackFor: 'b' } } },
      /"b" is fire-and-forget, which nothing waits for, so it cannot have a fallback \(c\)/,
    ],
  ])('rejects a policy that breaks "%s"', (_rule, policy, message) => {
    // Prepare
    const stack = new Stack();
    const props = flowPropsFactory(stack, policy);
    // Act
    const act = () => new MapFanOutFanIn(stack, 'Flow', props);
    // Assess
    expect(act).toThrow(new RegExp(`^Default/Flow: invalid fan-out policy: .*${message.source}`));
  });

  it('rejects sequential mode with more than one branch in flight', () => {
    // Prepare
    const stack = new Stack();
    const props = flowPropsFactory(stack, { mode: 'sequential' }, { maxConcurrency: 4 });
    // Act
    const act = () => new MapFanOutFanIn(stack, 'Flow', props);
    // Assess
    expect(act).toThrow(/sequential mode runs one branch at a time; maxConcurrency is 4/);
  });

  it('accepts a chain of fallbacks and makes the first worker primary when none is marked', () => {
    // Prepare
    const policy: FanOutPolicyProps = {
      kinds: { c: { fallbackFor: 'b' }, d: { fallbackFor: 'c' } },
    };
    // Act
    const { flow } = build(policy);
    // Assess
    expect(flow.policy).toEqual({
      mode: 'parallel',
      await: 'all',
      maxInFlight: 10,
      kinds: { a: { role: 'primary' }, c: { fallbackFor: 'b' }, d: { fallbackFor: 'c' } },
    });
  });
});

describe('fan-out policy in the state machine', () => {
  it('sets MaxConcurrency 1 in sequential mode and the per-kind TimeoutSeconds on its task', () => {
    // Prepare
    const policy: FanOutPolicyProps = {
      mode: 'sequential',
      kinds: { b: { timeout: Duration.seconds(7) } },
    };
    // Act
    const { stack } = build(policy);
    // Assess
    const asl = resolveDefinition(Template.fromStack(stack)) as {
      States: Record<
        string,
        {
          MaxConcurrency?: number;
          ItemProcessor?: { States: Record<string, { TimeoutSeconds?: number }> };
        }
      >;
    };
    expect(asl.States.FanOut?.MaxConcurrency).toBe(1);
    // Each iteration gets what its worker needs to apply the stop rule.
    expect((asl.States.FanOut as { ItemSelector?: unknown }).ItemSelector).toEqual({
      'branch.$': '$$.Map.Item.Value',
      sequence: { 'index.$': '$$.Map.Item.Index', 'branches.$': '$.items', 'policy.$': '$.policy' },
    });
    expect(asl.States.FanOut?.ItemProcessor?.States.RunB?.TimeoutSeconds).toBe(7);
    expect(asl.States.FanOut?.ItemProcessor?.States.RunA?.TimeoutSeconds).toBe(60);
  });

  it('runs the fallback when its origin times out, keeps the origin timed out, and ignores the late result', async () => {
    // Prepare: `a` never answers within its 1 s timeout; its answer is released only after the execution.
    const policy: FanOutPolicyProps = {
      await: 'primary',
      kinds: { a: { role: 'primary', timeout: Duration.seconds(1) }, b: { fallbackFor: 'a' } },
    };
    const { stack } = build(policy);
    const definition = resolveDefinition(Template.fromStack(stack));
    let releaseLate: (value: unknown) => void = () => {};
    const late = new Promise((resolve) => {
      releaseLate = resolve;
    });
    let lateRuns = 0;
    const fallbackInputs: unknown[] = [];
    let aggregated: Record<string, unknown> | undefined;
    let lateRunsWhenAggregated = -1;
    const sm = new StateMachine(definition as never);
    // Act
    const execution = sm.run(
      {
        items: [
          { id: 'one', kind: 'a' },
          { id: 'two', kind: 'c' },
        ],
      },
      {
        overrides: {
          taskResourceLocalHandlers: {
            RunA: async (input) => {
              await late;
              lateRuns += 1;
              return { id: idOf(input), status: 'SUCCEEDED' };
            },
            RunB: async (input) => {
              fallbackInputs.push(input);
              return { id: idOf(input), status: 'SUCCEEDED' };
            },
            RunC: async (input) => {
              throw Object.assign(new Error(`c ${idOf(input)} broke`), { name: 'CBroke' });
            },
            Aggregate: async (input) => {
              aggregated = input as Record<string, unknown>;
              lateRunsWhenAggregated = lateRuns;
              return { status: 'COMPLETE', reason: null };
            },
          },
        },
      }
    );
    await execution.result;
    releaseLate(undefined);
    await late;
    // Assess
    expect(aggregated?.results).toEqual([
      {
        id: 'one',
        status: 'FAILED',
        error: 'States.Timeout',
        fallback: { id: 'one-fallback', status: 'SUCCEEDED' },
      },
      { id: 'two', status: 'FAILED', error: 'CBroke' },
    ]);
    expect(fallbackInputs).toEqual([
      { branch: { id: 'one-fallback', kind: 'b', origin: { id: 'one', kind: 'a' } } },
    ]);
    expect(aggregated?.policy).toEqual({
      mode: 'parallel',
      await: 'primary',
      maxInFlight: 10,
      kinds: { a: { role: 'primary', timeoutSeconds: 1 }, b: { fallbackFor: 'a' } },
    });
    // The timed-out run was still pending when the fan-in ran, and did finish afterwards.
    expect(lateRunsWhenAggregated).toBe(0);
    expect(lateRuns).toBe(1);
  });

  it("retries a fallback on its function's own named Retry (a checkpoint) and, its attempts spent, ends the chain FAILED with that name", async () => {
    // Prepare: `b` stands in for `a` and resumes on `FallbackIncomplete`, 2 retries (3 runs).
    const policy: FanOutPolicyProps = {
      await: 'primary',
      kinds: { a: { role: 'primary' }, b: { fallbackFor: 'a' } },
    };
    const stack = new Stack();
    const props = flowPropsFactory(stack, policy);
    new MapFanOutFanIn(stack, 'Flow', {
      ...props,
      branchFunctions: props.branchFunctions.map((w) =>
        w.kind === 'b'
          ? {
              ...w,
              retries: [
                {
                  errors: ['FallbackIncomplete'],
                  interval: Duration.seconds(1),
                  maxAttempts: 2,
                  backoffRate: 1,
                },
              ],
            }
          : w
      ),
    });
    const definition = resolveDefinition(Template.fromStack(stack));
    const runs: Record<string, number> = {};
    let aggregated: Record<string, unknown> | undefined;
    const named = (name: string, message: string) => Object.assign(new Error(message), { name });
    const sm = new StateMachine(definition as never);

    // Act: `resumes` needs 3 runs of its fallback; `gives-up` would need more than 3.
    const execution = sm.run(
      {
        items: [
          { id: 'resumes', kind: 'a' },
          { id: 'gives-up', kind: 'a' },
        ],
      },
      {
        overrides: {
          taskResourceLocalHandlers: {
            RunA: async () => {
              throw named('MediaToolError', '1 of 6 segments missing');
            },
            RunB: async (input) => {
              const id = idOf(input);
              runs[id] = (runs[id] ?? 0) + 1;
              if (id === 'gives-up-fallback' || (runs[id] ?? 0) < 3) {
                throw named('FallbackIncomplete', `${runs[id]} of 6 fallback segments stored`);
              }
              return { id, status: 'SUCCEEDED' };
            },
            Aggregate: async (input) => {
              aggregated = input as Record<string, unknown>;
              return { status: 'COMPLETE', reason: null };
            },
          },
          retryIntervalOverrides: { RunB: 0 },
        },
      }
    );
    await execution.result;

    // Assess: each fallback ran once plus its 2 retries; the origin's error is not retried.
    expect(runs).toEqual({ 'resumes-fallback': 3, 'gives-up-fallback': 3 });
    expect(aggregated?.results).toEqual([
      {
        id: 'resumes',
        status: 'FAILED',
        error: 'MediaToolError',
        fallback: { id: 'resumes-fallback', status: 'SUCCEEDED' },
      },
      {
        id: 'gives-up',
        status: 'FAILED',
        error: 'MediaToolError',
        fallback: { id: 'gives-up-fallback', status: 'FAILED', error: 'FallbackIncomplete' },
      },
    ]);
  });

  it('dispatches a fire-and-forget kind asynchronously: the fan-in runs while its worker is still running', async () => {
    // Prepare: `d` is fire-and-forget; its worker blocks until the test releases it, after the
    // execution has finished. The definition runs on the local runtime's Step Functions service
    // (the interpreter the e2e suite uses), with the Lambda runner replaced by these workers.
    const policy: FanOutPolicyProps = {
      await: 'all',
      kinds: { a: { role: 'primary' }, d: { role: 'fire-and-forget' } },
    };
    const { stack } = build(policy);
    const template = Template.fromStack(stack);
    const definition = resolveDefinition(template);
    const fnName = (kind: string) =>
      Object.keys(template.findResources('AWS::Lambda::Function')).find((id) =>
        id.startsWith(`FunctionsRun${kind}`)
      );
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const dEvents: unknown[] = [];
    let dFinished = false;
    let dFinishedWhenAggregated: boolean | undefined;
    let aggregated: Record<string, unknown> | undefined;
    const answer = (payload: unknown): InvokeResult => ({
      ok: true,
      payload,
      requestId: 'r',
      durationMs: 1,
    });
    const runner = {
      resolveName: () => ({}),
      invoke: async (name: string, event: unknown): Promise<InvokeResult> => {
        if (name.endsWith(`:${fnName('d')}`)) {
          dEvents.push(event);
          await released;
          dFinished = true;
          return answer({ id: idOf(event), status: 'SUCCEEDED' });
        }
        if (name.endsWith(`:${fnName('Merge')}`) || name.includes('FunctionsMerge')) {
          aggregated = event as Record<string, unknown>;
          dFinishedWhenAggregated = dFinished;
          return answer({ status: 'COMPLETE', reason: null });
        }
        return answer({ id: idOf(event), status: 'SUCCEEDED' });
      },
    } as unknown as LambdaRunner;
    const arn = 'arn:aws:states:us-east-1:123456789012:stateMachine:Flow';
    const service = new StepFunctionsService(
      [{ logicalId: 'Flow', name: 'Flow', arn, type: 'STANDARD', definition }],
      runner,
      { region: 'us-east-1', accountId: '123456789012', logger: silentLogger }
    );
    // Act
    const { executionArn } = service.startExecution({
      stateMachineArn: arn,
      input: JSON.stringify({
        items: [
          { id: 'one', kind: 'a' },
          { id: 'two', kind: 'd' },
        ],
      }),
    });
    const described = await service.waitForExecution(executionArn);
    release();
    await released;
    // Assess: the execution finished, with `two` SENT, while `d`'s worker was still blocked.
    expect(described.status).toBe('SUCCEEDED');
    expect(aggregated?.results).toEqual([
      { id: 'one', status: 'SUCCEEDED' },
      { id: 'two', status: 'SENT' },
    ]);
    expect(dFinishedWhenAggregated).toBe(false);
    expect(dEvents).toEqual([{ branch: { id: 'two', kind: 'd' } }]);
    await expect.poll(() => dFinished).toBe(true);
    const run = (definition.States as Record<string, { ItemProcessor?: { States: object } }>).FanOut
      ?.ItemProcessor?.States as Record<string, { Resource?: string; Parameters?: object }>;
    expect(run.RunD).toMatchObject({
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { InvocationType: 'Event' },
    });
    // An awaited kind stays a request-response invoke of the function itself.
    expect(run.RunA?.Resource).toBe(
      `arn:aws:lambda:us-east-1:123456789012:function:${fnName('a')}`
    );
  });
});
