import { describe, expect, it } from 'vitest';
import { unsupportedAslFeatures } from '../src/asl-support.js';
import type { InvokeResult, LambdaRunner } from '../src/lambda/runner.js';
import { definitionErrors, structureErrors } from '../src/sfn/jsonata/definition-check.js';
import { StepFunctionsService } from '../src/sfn/service.js';
import { silent } from './helpers.js';

/**
 * JSONata machines on the service (sfn/jsonata/engine.ts), with a stand-in Lambda.
 * Expected values follow AWS's pages:
 * https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html and
 * https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html
 */

const MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:J';
const LAMBDA = 'arn:aws:states:::lambda:invoke';

/** A Lambda runner whose functions are plain functions; a thrown Error is a function error. */
function lambdaOf(fns: Record<string, (payload: unknown, call: number) => unknown>) {
  const calls: Array<{ fn: string; payload: unknown }> = [];
  const runner = {
    resolveName: (name: string) => (name in fns ? { name } : undefined),
    invoke: async (name: string, payload: unknown): Promise<InvokeResult> => {
      calls.push({ fn: name, payload });
      const n = calls.filter((c) => c.fn === name).length;
      try {
        const out = await fns[name](payload, n);
        return { ok: true, payload: out, requestId: 'r', durationMs: 1 };
      } catch (err) {
        const e = err as Error;
        return {
          ok: false,
          error: { errorType: e.name, errorMessage: e.message },
          requestId: 'r',
          durationMs: 1,
        };
      }
    },
  };
  return { runner: runner as unknown as LambdaRunner, calls };
}

function serviceWith(
  definition: Record<string, unknown>,
  fns: Record<string, (payload: unknown, call: number) => unknown> = {}
) {
  const { runner, calls } = lambdaOf(fns);
  const sfn = new StepFunctionsService(
    [{ logicalId: 'J', name: 'J', arn: MACHINE, type: 'STANDARD', definition }],
    runner,
    { region: 'us-east-1', accountId: '000000000000', logger: silent }
  );
  return { sfn, calls };
}

async function runOnce(
  definition: Record<string, unknown>,
  input: unknown,
  fns: Record<string, (payload: unknown, call: number) => unknown> = {}
) {
  const { sfn, calls } = serviceWith(definition, fns);
  const { executionArn } = sfn.startExecution({
    stateMachineArn: MACHINE,
    input: JSON.stringify(input),
  });
  const d = await sfn.waitForExecution(executionArn);
  const { events } = sfn.getExecutionHistory({ executionArn });
  return { d, events, calls, sfn, executionArn };
}

const machine = (states: Record<string, unknown>, startAt = Object.keys(states)[0]) => ({
  QueryLanguage: 'JSONata',
  StartAt: startAt,
  States: states,
});

const functionError = (name: string, message: string) => {
  const e = new Error(message);
  e.name = name;
  return e;
};

describe('JSONata states', () => {
  it('Pass: Output and Assign see the variables as they were on entry; the next state sees the new ones', async () => {
    // Prepare
    const def = machine({
      First: {
        Type: 'Pass',
        Assign: { total: '{% $states.input.a + $states.input.b %}', label: 'fixed' },
        Next: 'Second',
      },
      Second: {
        Type: 'Pass',
        Assign: { total: '{% $total * 10 %}' },
        Output: { before: '{% $total %}', label: '{% $label %}', literal: '$total' },
        Next: 'Third',
      },
      Third: { Type: 'Pass', Output: '{% $total %}', End: true },
    });

    // Act
    const { d, events } = await runOnce(def, { a: 2, b: 3 });

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output!)).toBe(50);
    const second = events.find(
      (e) =>
        e.type === 'PassStateExited' &&
        (e.stateExitedEventDetails as { name: string }).name === 'Second'
    );
    const secondDetails = second?.stateExitedEventDetails as { output: string };
    expect(JSON.parse(secondDetails.output)).toEqual({
      before: 5,
      label: 'fixed',
      literal: '$total',
    });
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'PassStateEntered',
      'PassStateExited',
      'PassStateEntered',
      'PassStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('Task: Arguments go to the same lambda:invoke invoker (TaskScheduled parameters), Output reads $states.result', async () => {
    // Prepare
    const def = machine({
      Call: {
        Type: 'Task',
        Resource: LAMBDA,
        Arguments: { FunctionName: 'double', Payload: { n: '{% $states.input.n %}' } },
        Output: '{% $states.result.Payload %}',
        End: true,
      },
    });

    // Act
    const { d, events, calls } = await runOnce(
      def,
      { n: 21 },
      {
        double: (p) => ({ doubled: (p as { n: number }).n * 2 }),
      }
    );

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output!)).toEqual({ doubled: 42 });
    expect(calls).toEqual([{ fn: 'double', payload: { n: 21 } }]);
    const scheduled = events.find((e) => e.type === 'TaskScheduled');
    expect(scheduled?.taskScheduledEventDetails).toMatchObject({
      resourceType: 'lambda',
      resource: 'invoke',
      parameters: JSON.stringify({ FunctionName: 'double', Payload: { n: 21 } }),
    });
    const succeeded = events.find((e) => e.type === 'TaskSucceeded');
    const succeededDetails = succeeded?.taskSucceededEventDetails as { output: string };
    // The result as AWS returns it for lambda:invoke, SDK metadata included (connect-lambda.html).
    expect(JSON.parse(succeededDetails.output)).toMatchObject({
      ExecutedVersion: '$LATEST',
      Payload: { doubled: 42 },
      SdkHttpMetadata: { HttpStatusCode: 200 },
      SdkResponseMetadata: { RequestId: expect.any(String) },
      StatusCode: 200,
    });
  });

  it('Retry runs the Task again; Catch takes $states.errorOutput into its Output and Assign', async () => {
    // Prepare
    const def = machine({
      Call: {
        Type: 'Task',
        Resource: LAMBDA,
        Arguments: { FunctionName: 'flaky' },
        Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 0.01, MaxAttempts: 2 }],
        Catch: [
          {
            ErrorEquals: ['States.ALL'],
            Assign: { failedWith: '{% $states.errorOutput.Error %}' },
            Output: { why: '{% $states.errorOutput.Cause %}', was: '{% $states.input %}' },
            Next: 'Report',
          },
        ],
        End: true,
      },
      Report: {
        Type: 'Pass',
        Output: { error: '{% $failedWith %}', why: '{% $states.input.why %}' },
        End: true,
      },
    });

    // Act
    const { d, calls } = await runOnce(
      def,
      { id: 7 },
      {
        flaky: () => {
          throw functionError('Flaky', 'try again');
        },
      }
    );

    // Assess: the first call and two retries, then the catcher.
    expect(calls).toHaveLength(3);
    expect(d.status).toBe('SUCCEEDED');
    const out = JSON.parse(d.output!);
    expect(out.error).toBe('Flaky');
    expect(JSON.parse(out.why)).toEqual({ errorType: 'Flaky', errorMessage: 'try again' });
  });

  it('Choice: the first true Condition wins, with its own Assign; no match and no Default is States.NoChoiceMatched', async () => {
    // Prepare
    const def = machine({
      Route: {
        Type: 'Choice',
        Choices: [
          { Condition: '{% $states.input.n > 10 %}', Assign: { size: 'big' }, Next: 'Done' },
          { Condition: '{% $states.input.n > 0 %}', Assign: { size: 'small' }, Next: 'Done' },
        ],
      },
      Done: { Type: 'Succeed', Output: '{% $size %}' },
    });

    // Act
    const big = await runOnce(def, { n: 11 });
    const small = await runOnce(def, { n: 1 });
    const none = await runOnce(def, { n: -1 });

    // Assess
    expect(JSON.parse(big.d.output!)).toBe('big');
    expect(JSON.parse(small.d.output!)).toBe('small');
    expect(none.d).toMatchObject({ status: 'FAILED', error: 'States.NoChoiceMatched' });
  });

  it('Map: Items and ItemSelector with $states.context.Map.Item; iterations read outer variables, their Assign stays inside', async () => {
    // Prepare
    const def = machine({
      Init: { Type: 'Pass', Assign: { factor: 3, seen: 'outer' }, Next: 'Each' },
      Each: {
        Type: 'Map',
        Items: '{% $states.input.values %}',
        ItemSelector: {
          index: '{% $states.context.Map.Item.Index %}',
          value: '{% $states.context.Map.Item.Value %}',
        },
        MaxConcurrency: 2,
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: 'Scale',
          States: {
            Scale: {
              Type: 'Pass',
              Assign: { seen: 'inner' },
              Output: '{% $states.input.value * $factor + $states.input.index %}',
              End: true,
            },
          },
        },
        Next: 'After',
      },
      After: {
        Type: 'Pass',
        Output: { results: '{% $states.input %}', seen: '{% $seen %}' },
        End: true,
      },
    });

    // Act
    const { d, events } = await runOnce(def, { values: [1, 2, 3] });

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output!)).toEqual({ results: [3, 7, 11], seen: 'outer' });
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'MapIterationSucceeded')).toHaveLength(3);
    expect(types.indexOf('MapStateStarted')).toBeLessThan(types.indexOf('MapIterationStarted'));
    expect(types.lastIndexOf('MapIterationSucceeded')).toBeLessThan(
      types.indexOf('MapStateSucceeded')
    );
  });

  it('Parallel: Arguments are each branch input; the result is the branch outputs in order', async () => {
    // Prepare
    const def = machine({
      Both: {
        Type: 'Parallel',
        Arguments: { x: '{% $states.input.x %}' },
        Branches: [
          {
            StartAt: 'A',
            States: { A: { Type: 'Pass', Output: '{% $states.input.x + 1 %}', End: true } },
          },
          {
            StartAt: 'B',
            States: { B: { Type: 'Pass', Output: '{% $states.input.x * 2 %}', End: true } },
          },
        ],
        Output: '{% $sum($states.result) %}',
        End: true,
      },
    });

    // Act
    const { d, events } = await runOnce(def, { x: 5 });

    // Assess
    expect(JSON.parse(d.output!)).toBe(16);
    expect(events.map((e) => e.type)).toContain('ParallelStateSucceeded');
  });

  it('Wait with an expression, then Fail with Error and Cause from expressions', async () => {
    // Prepare
    const def = machine({
      Pause: { Type: 'Wait', Seconds: '{% $states.input.wait %}', Next: 'Stop' },
      Stop: {
        Type: 'Fail',
        Error: '{% "Order." & $states.input.code %}',
        Cause: '{% "order " & $string($states.input.id) & " rejected" %}',
      },
    });

    // Act
    const { d, events } = await runOnce(def, { wait: 0, code: 'Rejected', id: 12 });

    // Assess
    expect(d).toMatchObject({
      status: 'FAILED',
      error: 'Order.Rejected',
      cause: 'order 12 rejected',
    });
    expect(events.at(-1)).toMatchObject({
      type: 'ExecutionFailed',
      executionFailedEventDetails: { error: 'Order.Rejected', cause: 'order 12 rejected' },
    });
  });

  it('an expression that returns nothing is States.QueryEvaluationError, which a Catch can handle', async () => {
    // Prepare
    const failing = machine({
      Read: { Type: 'Pass', Output: '{% $states.input.missing %}', End: true },
    });
    // The input is $states.input, not the expression's context: a bare name finds nothing.
    const unqualified = machine({ Read: { Type: 'Pass', Output: '{% present %}', End: true } });
    const caught = machine({
      Read: {
        Type: 'Task',
        Resource: LAMBDA,
        Arguments: { FunctionName: 'f', Payload: '{% $states.input.missing %}' },
        Catch: [{ ErrorEquals: ['States.QueryEvaluationError'], Next: 'Handled' }],
        End: true,
      },
      Handled: { Type: 'Pass', Output: '{% $states.input.Error %}', End: true },
    });

    // Act
    const a = await runOnce(failing, {});
    const c = await runOnce(unqualified, { present: 1 });
    const b = await runOnce(caught, {}, { f: () => 'never' });

    // Assess
    expect(a.d).toMatchObject({ status: 'FAILED', error: 'States.QueryEvaluationError' });
    expect(a.d.cause).toMatch(/'\$states\.input\.missing'.*'Output'.*undefined/);
    expect(JSON.parse(b.d.output!)).toBe('States.QueryEvaluationError');
    expect(b.calls).toHaveLength(0);
    expect(c.d).toMatchObject({ status: 'FAILED', error: 'States.QueryEvaluationError' });
  });

  it('TimeoutSeconds from an expression ends a slow Task with States.Timeout', async () => {
    // Prepare
    const def = machine({
      Slow: {
        Type: 'Task',
        Resource: LAMBDA,
        Arguments: { FunctionName: 'slow' },
        TimeoutSeconds: '{% $states.input.limit %}',
        End: true,
      },
    });

    // Act
    const { d } = await runOnce(
      def,
      { limit: 1 },
      {
        slow: () => new Promise((r) => setTimeout(() => r('late'), 3000)),
      }
    );

    // Assess
    expect(d).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
  });

  it('a callback Task gets $states.context.Task.Token in its Arguments and ends with SendTaskSuccess', async () => {
    // Prepare: the function hands the token back, as a worker would.
    const def = machine({
      Wait: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Arguments: {
          FunctionName: 'worker',
          Payload: { token: '{% $states.context.Task.Token %}', job: '{% $states.input.job %}' },
        },
        Output: { answer: '{% $states.result %}' },
        End: true,
      },
    });
    let sfn: StepFunctionsService | undefined;
    const { runner, calls } = lambdaOf({
      worker: (p) => {
        const { token, job } = p as { token: string; job: string };
        setTimeout(
          () =>
            sfn?.handle('SendTaskSuccess', {
              taskToken: token,
              output: JSON.stringify({ done: job }),
            }),
          10
        );
        return 'accepted';
      },
    });
    sfn = new StepFunctionsService(
      [{ logicalId: 'J', name: 'J', arn: MACHINE, type: 'STANDARD', definition: def }],
      runner,
      { region: 'us-east-1', accountId: '000000000000', logger: silent, integrations: {} as never }
    );

    // Act
    const { executionArn } = sfn.startExecution({
      stateMachineArn: MACHINE,
      input: '{"job":"j1"}',
    });
    const d = await sfn.waitForExecution(executionArn);

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output!)).toEqual({ answer: { done: 'j1' } });
    expect((calls[0].payload as { token: string }).token).toMatch(/\S{8,}/);
    const types = sfn.getExecutionHistory({ executionArn }).events.map((e) => e.type);
    expect(types).toContain('TaskSubmitted');
  });

  it('state-level QueryLanguage: a JSONPath machine whose states all say JSONata runs as JSONata', async () => {
    // Prepare
    const def = {
      StartAt: 'A',
      States: {
        A: { Type: 'Pass', QueryLanguage: 'JSONata', Assign: { k: 2 }, Next: 'B' },
        B: {
          Type: 'Pass',
          QueryLanguage: 'JSONata',
          Output: '{% $states.input.n * $k %}',
          End: true,
        },
      },
    };

    // Act
    const { d } = await runOnce(def, { n: 4 });

    // Assess
    expect(unsupportedAslFeatures(def)).toEqual([]);
    expect(JSON.parse(d.output!)).toBe(8);
  });

  it('StopExecution aborts a waiting machine; the machine TimeoutSeconds times one out', async () => {
    // Prepare
    const waiting = machine({ Long: { Type: 'Wait', Seconds: 30, End: true } });
    const bounded = {
      ...machine({ Long: { Type: 'Wait', Seconds: 30, End: true } }),
      TimeoutSeconds: 1,
    };
    const a = serviceWith(waiting);
    const b = serviceWith(bounded);

    // Act
    const stopped = a.sfn.startExecution({ stateMachineArn: MACHINE });
    a.sfn.stopExecution({ executionArn: stopped.executionArn, error: 'Operator' });
    const timed = b.sfn.startExecution({ stateMachineArn: MACHINE });
    const [sd, td] = await Promise.all([
      a.sfn.waitForExecution(stopped.executionArn),
      b.sfn.waitForExecution(timed.executionArn),
    ]);

    // Assess
    expect(sd).toMatchObject({ status: 'ABORTED', error: 'Operator' });
    expect(td).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
    const last = (sfn: StepFunctionsService, executionArn: string) =>
      sfn.getExecutionHistory({ executionArn }).events.at(-1)?.type;
    expect(last(a.sfn, stopped.executionArn)).toBe('ExecutionAborted');
    expect(last(b.sfn, timed.executionArn)).toBe('ExecutionTimedOut');
  });

  it('RedriveExecution of a Map reruns only the failed iteration', async () => {
    // Prepare: item 2 fails on its first call only, after the others have succeeded.
    const def = machine({
      Each: {
        Type: 'Map',
        Items: '{% $states.input.items %}',
        ItemProcessor: {
          StartAt: 'Call',
          States: {
            Call: {
              Type: 'Task',
              Resource: LAMBDA,
              Arguments: { FunctionName: 'maybe', Payload: '{% $states.input %}' },
              Output: '{% $states.result.Payload %}',
              End: true,
            },
          },
        },
        End: true,
      },
    });
    let failedOnce = false;
    const { sfn, calls, executionArn, d } = await runOnce(
      def,
      { items: [1, 2, 3] },
      {
        maybe: async (p) => {
          if (p === 2 && !failedOnce) {
            failedOnce = true;
            // Later than the others, so they have succeeded when the Map fails.
            await new Promise((r) => setTimeout(r, 200));
            throw functionError('Boom', 'item 2 fails once');
          }
          return (p as number) * 10;
        },
      }
    );
    expect(d.status).toBe('FAILED');
    const before = calls.length;

    // Act
    sfn.redriveExecution({ executionArn });
    const after = await sfn.waitForExecution(executionArn);

    // Assess
    expect(after.status).toBe('SUCCEEDED');
    expect(JSON.parse(after.output!)).toEqual([10, 20, 30]);
    // Items 1 and 3 succeeded before item 2 failed: they keep their results.
    expect(calls.slice(before).map((c) => c.payload)).toEqual([2]);
  });

  it('RedriveExecution resumes at the failed state with the variables it had', async () => {
    // Prepare: the second call of the function succeeds.
    const def = machine({
      Remember: { Type: 'Pass', Assign: { who: '{% $states.input.who %}' }, Next: 'Call' },
      Call: {
        Type: 'Task',
        Resource: LAMBDA,
        Arguments: { FunctionName: 'once', Payload: { who: '{% $who %}' } },
        Output: '{% $states.result.Payload %}',
        End: true,
      },
    });
    const { sfn, calls, executionArn, d } = await runOnce(
      def,
      { who: 'ada' },
      {
        once: (p, n) => {
          if (n === 1) throw functionError('Boom', 'first call fails');
          return p;
        },
      }
    );
    expect(d.status).toBe('FAILED');

    // Act
    sfn.redriveExecution({ executionArn });
    const after = await sfn.waitForExecution(executionArn);

    // Assess
    expect(after.status).toBe('SUCCEEDED');
    expect(JSON.parse(after.output!)).toEqual({ who: 'ada' });
    expect(calls.map((c) => c.payload)).toEqual([{ who: 'ada' }, { who: 'ada' }]);
  });
});

describe('JSONata definition checks', () => {
  it.each([
    ['Parameters', { Type: 'Pass', Parameters: { a: 1 }, End: true }, "'Parameters'"],
    ['ResultPath', { Type: 'Pass', ResultPath: '$.x', End: true }, "'ResultPath'"],
    ['InputPath', { Type: 'Pass', InputPath: '$', End: true }, "'InputPath'"],
    [
      'ItemsPath',
      {
        Type: 'Map',
        ItemsPath: '$.a',
        ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } },
        End: true,
      },
      "'ItemsPath'",
    ],
    ['SecondsPath', { Type: 'Wait', SecondsPath: '$.s', End: true }, "'SecondsPath'"],
    [
      'a Choice Variable',
      { Type: 'Choice', Choices: [{ Variable: '$.a', IsPresent: true, Next: 'S' }] },
      "'Variable'",
    ],
    [
      'a bad expression',
      { Type: 'Pass', Output: '{% $states.input. %}', End: true },
      'invalid JSONata in /States/S/Output',
    ],
  ])('a JSONata state with %s is refused naming it', (_what, state, named) => {
    const errors = definitionErrors(machine({ S: state }));
    expect(errors.join('\n')).toContain(named);
    expect(errors.join('\n')).toContain('/States/S');
  });

  it('a JSONPath state with Arguments or a Condition is refused naming it', () => {
    const errors = definitionErrors({
      StartAt: 'S',
      States: {
        S: { Type: 'Pass', Arguments: {}, Next: 'C' },
        C: { Type: 'Choice', Choices: [{ Condition: '{% true %}', Next: 'S' }] },
      },
    });
    expect(errors).toEqual([
      "SCHEMA_VALIDATION_FAILED: The field 'Arguments' is not supported for JSONPath states at /States/S/Arguments",
      "SCHEMA_VALIDATION_FAILED: The field 'Condition' is not supported for JSONPath states at /States/C/Choices/0/Condition",
    ]);
  });

  it('mixed languages, JSONPath Assign and a Distributed Map in a JSONata machine all run; a JSONPath state in a JSONata machine is refused as AWS does', () => {
    const runnable = [
      ...unsupportedAslFeatures({
        StartAt: 'J',
        States: {
          J: { Type: 'Pass', QueryLanguage: 'JSONata', Next: 'V' },
          V: { Type: 'Pass', Assign: { a: 1 }, End: true },
        },
      }),
      ...unsupportedAslFeatures(
        machine({
          M: {
            Type: 'Map',
            ItemProcessor: {
              ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
              StartAt: 'P',
              States: { P: { Type: 'Pass', End: true } },
            },
            End: true,
          },
        })
      ),
    ];
    expect(runnable).toEqual([]);
    expect(
      definitionErrors(machine({ P: { Type: 'Pass', QueryLanguage: 'JSONPath', End: true } }))
    ).toEqual([
      "SCHEMA_VALIDATION_FAILED: The QueryLanguage of a state cannot be JSONPath when the state machine's QueryLanguage is JSONata at /States/P/QueryLanguage",
    ]);
  });

  it('a transition to a missing state is refused where it is; any JSON is a valid Output', () => {
    const errors = structureErrors(
      machine({
        S: { Type: 'Pass', Output: 3, Next: 'M' },
        M: {
          Type: 'Map',
          ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', Next: 'Nowhere' } } },
          End: true,
        },
      })
    );
    expect(errors).toEqual([
      "MISSING_TRANSITION_TARGET: State 'Nowhere' does not exist at /States/M/ItemProcessor/States/P/Next",
    ]);
  });

  it('a JSONata machine the engine runs has no problems', () => {
    const def = machine({
      S: { Type: 'Pass', Output: '{% $states.input %}', Assign: { x: 1 }, End: true },
    });
    expect(unsupportedAslFeatures(def)).toEqual([]);
  });
});
