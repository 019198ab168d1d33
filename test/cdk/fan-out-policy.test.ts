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
    workers: ['a', 'b', 'c', 'd'].map((kind) => ({ kind, handler: fn(scope, `Run-${kind}`) })),
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
});
