import { describe, expect, it } from 'vitest';
import type { InvokeResult, LambdaRunner } from '../src/lambda/runner.js';
import { rewritePath, rewriteRule, rewriteTemplate } from '../src/sfn/jsonata/jsonpath-fields.js';
import { StepFunctionsService } from '../src/sfn/service.js';
import { silent } from './helpers.js';

/**
 * Workflow variables in JSONPath states, machines that mix query languages, and a
 * Distributed Map in a JSONata machine, on the service with a stand-in Lambda. Expected
 * values follow AWS's pages:
 * https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html (Assign, `$name`,
 * scopes, evaluation at entry), https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
 * and https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html (QueryLanguage
 * per state).
 */

const MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:V';

function runnerOf(fns: Record<string, (payload: unknown) => unknown>) {
  const calls: Array<{ fn: string; payload: unknown }> = [];
  const runner = {
    resolveName: (name: string) => (name in fns ? { name } : undefined),
    invoke: async (name: string, payload: unknown): Promise<InvokeResult> => {
      calls.push({ fn: name, payload });
      try {
        return { ok: true, payload: await fns[name](payload), requestId: 'r', durationMs: 1 };
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

async function runOnce(
  definition: Record<string, unknown>,
  input: unknown,
  fns: Record<string, (payload: unknown) => unknown> = {}
) {
  const { runner, calls } = runnerOf(fns);
  const sfn = new StepFunctionsService(
    [{ logicalId: 'V', name: 'V', arn: MACHINE, type: 'STANDARD', definition }],
    runner,
    { region: 'us-east-1', accountId: '000000000000', logger: silent }
  );
  const { executionArn } = sfn.startExecution({
    stateMachineArn: MACHINE,
    input: JSON.stringify(input),
  });
  const d = await sfn.waitForExecution(executionArn);
  const { events } = sfn.getExecutionHistory({ executionArn });
  return { d, events, calls, sfn, executionArn };
}

const outputOf = (d: { output?: string }) => JSON.parse(d.output ?? 'null');

/** The details of the named state's StateExited event (fails the test when there is none). */
function exitedDetails(events: Array<Record<string, unknown>>, name: string) {
  const e = events.find(
    (x) => (x.stateExitedEventDetails as { name?: string } | undefined)?.name === name
  );
  expect(e, `a StateExited event for ${name}`).toBeDefined();
  return (e as Record<string, unknown>).stateExitedEventDetails as {
    output: string;
    assignedVariables?: Record<string, string>;
  };
}

/** The parsed output of the named state's StateExited event. */
const exitedOutput = (events: Array<Record<string, unknown>>, name: string) =>
  JSON.parse(exitedDetails(events, name).output);

const functionError = (name: string, message: string) => {
  const e = new Error(message);
  e.name = name;
  return e;
};

describe('variable references in JSONPath fields', () => {
  it('rewrites `$name` paths and intrinsic arguments, never `$`, `$$` or quoted text', () => {
    expect(rewritePath('$count')).toBe('$$.LocalRuntimeWorkflowVariables.count');
    expect(rewritePath('$order.items[0]')).toBe('$$.LocalRuntimeWorkflowVariables.order.items[0]');
    for (const untouched of ['$', '$.a', '$$.Execution.Id', '$[0]']) {
      expect(rewritePath(untouched)).toBe(untouched);
    }
    expect(
      rewriteTemplate({
        'a.$': "States.Format('{} $notVar \\' $still', $who, $.b, $$.State.Name)",
        nested: { 'b.$': '$x' },
        literal: '$x',
      })
    ).toEqual({
      'a.$':
        "States.Format('{} $notVar \\' $still', $$.LocalRuntimeWorkflowVariables.who, $.b, $$.State.Name)",
      nested: { 'b.$': '$$.LocalRuntimeWorkflowVariables.x' },
      literal: '$x',
    });
    expect(
      rewriteRule({
        Not: { Variable: '$n', NumericGreaterThanPath: '$limit' },
        Next: 'X',
      })
    ).toEqual({
      Not: {
        Variable: '$$.LocalRuntimeWorkflowVariables.n',
        NumericGreaterThanPath: '$$.LocalRuntimeWorkflowVariables.limit',
      },
      Next: 'X',
    });
  });
});

describe('Assign in JSONPath states', () => {
  it('Pass: `$` is the result; every Assign field reads the variables as they were on entry', async () => {
    // Prepare
    const def = {
      StartAt: 'Init',
      States: {
        Init: {
          Type: 'Pass',
          Parameters: { 'n.$': '$.start', tag: 'first' },
          Assign: { 'x.$': '$.n', 'label.$': '$.tag', fixed: { k: [1, 2] } },
          Next: 'Bump',
        },
        Bump: {
          Type: 'Pass',
          Parameters: { 'seen.$': '$x' },
          Assign: { 'x.$': 'States.MathAdd($x, 1)', 'previous.$': '$x' },
          ResultPath: '$.bump',
          Next: 'Read',
        },
        Read: {
          Type: 'Pass',
          Parameters: {
            'x.$': '$x',
            'previous.$': '$previous',
            'text.$': "States.Format('{} #{}', $label, $x)",
            'k.$': '$fixed.k[1]',
            'bump.$': '$.bump',
          },
          End: true,
        },
      },
    };

    // Act
    const { d, events } = await runOnce(def, { start: 1 });

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(outputOf(d)).toEqual({
      x: 2,
      previous: 1,
      text: 'first #2',
      k: 2,
      bump: { seen: 1 },
    });
    expect(exitedDetails(events, 'Bump').assignedVariables).toEqual({ x: '2', previous: '1' });
  });

  it('Task: `$` in Assign is the result after ResultSelector; ResultPath and OutputPath apply to the output only', async () => {
    // Prepare
    const def = {
      StartAt: 'Remember',
      States: {
        Remember: { Type: 'Pass', Assign: { 'who.$': '$.who' }, Next: 'Call' },
        Call: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: 'greet', Payload: { 'name.$': '$who' } },
          ResultSelector: { 'greeting.$': '$.Payload.text' },
          Assign: { 'greeting.$': '$.greeting' },
          ResultPath: '$.call',
          OutputPath: '$.call',
          Next: 'Done',
        },
        Done: {
          Type: 'Pass',
          Parameters: { 'fromVariable.$': '$greeting', 'fromInput.$': '$.greeting' },
          End: true,
        },
      },
    };

    // Act
    const { d, calls } = await runOnce(
      def,
      { who: 'Ada' },
      { greet: (p) => ({ text: `hello ${(p as { name: string }).name}` }) }
    );

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(calls).toEqual([{ fn: 'greet', payload: { name: 'Ada' } }]);
    expect(outputOf(d)).toEqual({ fromVariable: 'hello Ada', fromInput: 'hello Ada' });
  });

  it('Catch: `$` in the catcher Assign is the error output; its ResultPath puts it into the input', async () => {
    // Prepare
    const def = {
      StartAt: 'Call',
      States: {
        Call: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: 'boom', Payload: {} },
          Catch: [
            {
              ErrorEquals: ['States.ALL'],
              Assign: { 'failedWith.$': '$.Error' },
              ResultPath: '$.error',
              Next: 'Report',
            },
          ],
          End: true,
        },
        Report: {
          Type: 'Pass',
          Parameters: { 'error.$': '$failedWith', 'kept.$': '$.kept', 'cause.$': '$.error.Cause' },
          End: true,
        },
      },
    };

    // Act
    const { d } = await runOnce(
      def,
      { kept: true },
      {
        boom: () => {
          throw functionError('Overheated', 'too hot');
        },
      }
    );

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    const out = outputOf(d);
    expect(out.error).toBe('Overheated');
    expect(out.kept).toBe(true);
    expect(JSON.parse(out.cause)).toMatchObject({ errorType: 'Overheated' });
  });

  it('Choice: a rule reads a variable as its Variable; the matched rule assigns', async () => {
    // Prepare
    const def = {
      StartAt: 'Limit',
      States: {
        Limit: { Type: 'Pass', Assign: { limit: 10 }, Next: 'Decide' },
        Decide: {
          Type: 'Choice',
          Choices: [
            {
              Variable: '$.n',
              NumericGreaterThanPath: '$limit',
              Assign: { size: 'big' },
              Next: 'Done',
            },
            { Variable: '$limit', NumericEquals: 10, Assign: { size: 'small' }, Next: 'Done' },
          ],
          Default: 'Done',
        },
        Done: { Type: 'Pass', Parameters: { 'size.$': '$size' }, End: true },
      },
    };

    // Act
    const big = await runOnce(def, { n: 11 });
    const small = await runOnce(def, { n: 3 });

    // Assess
    expect(outputOf(big.d)).toEqual({ size: 'big' });
    expect(outputOf(small.d)).toEqual({ size: 'small' });
  });

  it('Map: iterations read the outer variables; what an iteration assigns stays in it', async () => {
    // Prepare
    const def = {
      StartAt: 'Init',
      States: {
        Init: { Type: 'Pass', Assign: { factor: 3, seen: 'outer' }, Next: 'Each' },
        Each: {
          Type: 'Map',
          ItemsPath: '$.xs',
          ItemSelector: { 'x.$': '$$.Map.Item.Value', 'f.$': '$factor' },
          ItemProcessor: {
            StartAt: 'Inner',
            States: {
              Inner: {
                Type: 'Pass',
                Assign: { seen: 'inner' },
                Parameters: { 'product.$': 'States.MathAdd($.x, $.f)', 'seen.$': '$seen' },
                End: true,
              },
            },
          },
          Next: 'After',
        },
        After: {
          Type: 'Pass',
          Parameters: { 'results.$': '$', 'seen.$': '$seen' },
          End: true,
        },
      },
    };

    // Act
    const { d } = await runOnce(def, { xs: [1, 2] });

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(outputOf(d)).toEqual({
      results: [
        { product: 4, seen: 'outer' },
        { product: 5, seen: 'outer' },
      ],
      seen: 'outer',
    });
  });

  it("the context object is AWS's: `$$.State.Name` is the running state, and `$$` carries no variables", async () => {
    // Prepare
    const def = {
      StartAt: 'Remember',
      States: {
        Remember: { Type: 'Pass', Assign: { v: 1 }, Next: 'Look' },
        Look: {
          Type: 'Pass',
          Parameters: { 'state.$': '$$.State.Name', 'keys.$': '$$', 'v.$': '$v' },
          Next: 'Plain',
        },
        Plain: {
          Type: 'Pass',
          Parameters: { 'state.$': '$$.State.Name', 'look.$': '$.state', 'ctx.$': '$$' },
          End: true,
        },
      },
    };

    // Act
    const { d, events } = await runOnce(def, {});

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    const look = exitedOutput(events, 'Look');
    expect(look.state).toBe('Look');
    expect(look.v).toBe(1);
    const out = outputOf(d);
    expect(out.state).toBe('Plain');
    expect(Object.keys(out.ctx).sort()).toEqual(['Execution', 'State', 'StateMachine', 'Task']);
  });

  it('a variable that was never assigned fails the state with States.Runtime', async () => {
    // Prepare
    const def = {
      StartAt: 'A',
      States: {
        A: { Type: 'Pass', Assign: { a: 1 }, Next: 'B' },
        B: { Type: 'Pass', Parameters: { 'v.$': '$missing' }, End: true },
      },
    };

    // Act
    const { d } = await runOnce(def, {});

    // Assess
    expect(d.status).toBe('FAILED');
    expect(d.error).toBe('States.Runtime');
  });
});

describe('CreateStateMachine with variables in JSONPath states', () => {
  const create = (definition: Record<string, unknown>) => {
    const sfn = new StepFunctionsService([], runnerOf({}).runner, {
      region: 'us-east-1',
      accountId: '000000000000',
      logger: silent,
    });
    return sfn.handle('CreateStateMachine', {
      name: 'WithVariables',
      roleArn: 'arn:aws:iam::000000000000:role/any',
      definition: JSON.stringify(definition),
    });
  };

  it('accepts variable references and Assign, and still refuses what the interpreter refuses in JSONPath', async () => {
    // Prepare
    const valid = {
      StartAt: 'A',
      States: {
        A: { Type: 'Pass', Assign: { 'v.$': '$.v' }, Next: 'B' },
        B: { Type: 'Pass', Parameters: { 'v.$': "States.Format('{}', $v)" }, End: true },
      },
    };
    const badPath = {
      StartAt: 'A',
      States: { A: { Type: 'Pass', Assign: { v: 1 }, InputPath: 'not-a-path', End: true } },
    };

    // Act
    const created = await create(valid);
    const refused = await create(badPath).catch((e: Error) => e);

    // Assess
    expect(created).toMatchObject({ stateMachineArn: expect.stringContaining('WithVariables') });
    expect(refused).toMatchObject({ name: 'InvalidDefinition' });
    expect((refused as Error).message).toMatch(/InputPath/);
  });
});

describe('RedriveExecution of a JSONPath machine with variables', () => {
  it('resumes at the failed state with the variables it had; the states before it do not run again', async () => {
    // Prepare: the function fails on its first call only.
    const def = {
      StartAt: 'Remember',
      States: {
        Remember: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: 'first', Payload: {} },
          ResultSelector: { 'who.$': '$.Payload' },
          Assign: { 'who.$': '$.who' },
          Next: 'Call',
        },
        Call: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: 'once', Payload: { 'who.$': '$who' } },
          OutputPath: '$.Payload',
          End: true,
        },
      },
    };
    let calledOnce = false;
    const { sfn, calls, executionArn, d } = await runOnce(
      def,
      {},
      {
        first: () => 'Ada',
        once: (p) => {
          if (!calledOnce) {
            calledOnce = true;
            throw functionError('Flaky', 'first call fails');
          }
          return { greeted: (p as { who: string }).who };
        },
      }
    );
    expect(d.status).toBe('FAILED');

    // Act
    sfn.redriveExecution({ executionArn });
    const after = await sfn.waitForExecution(executionArn);

    // Assess
    expect(after.status).toBe('SUCCEEDED');
    expect(JSON.parse(after.output ?? 'null')).toEqual({ greeted: 'Ada' });
    expect(calls.map((c) => c.fn)).toEqual(['first', 'once', 'once']);
  });
});

describe('a JSONPath machine with JSONata states', () => {
  it('each state runs in its own language and both share the variables', async () => {
    // Prepare
    const def = {
      StartAt: 'PathFirst',
      States: {
        PathFirst: {
          Type: 'Pass',
          Parameters: { 'a.$': '$.a' },
          Assign: { 'fromPath.$': '$.a' },
          ResultPath: '$.copied',
          Next: 'Nata',
        },
        Nata: {
          Type: 'Pass',
          QueryLanguage: 'JSONata',
          Assign: { fromNata: '{% $fromPath * 10 %}' },
          Output: { sum: '{% $states.input.copied.a + $fromPath %}' },
          Next: 'PathAgain',
        },
        PathAgain: {
          Type: 'Pass',
          Parameters: { 'sum.$': '$.sum', 'fromNata.$': '$fromNata' },
          End: true,
        },
      },
    };

    // Act
    const { d, events } = await runOnce(def, { a: 4 });

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(exitedOutput(events, 'Nata')).toEqual({ sum: 8 });
    expect(outputOf(d)).toEqual({ sum: 8, fromNata: 40 });
  });

  it('a JSONata state inside a JSONPath Parallel branch; the branch falls back to the machine language', async () => {
    // Prepare
    const def = {
      StartAt: 'Both',
      States: {
        Both: {
          Type: 'Parallel',
          Branches: [
            {
              StartAt: 'N',
              States: {
                N: {
                  Type: 'Pass',
                  QueryLanguage: 'JSONata',
                  Output: '{% $uppercase($states.input.w) %}',
                  End: true,
                },
              },
            },
            { StartAt: 'P', States: { P: { Type: 'Pass', InputPath: '$.w', End: true } } },
          ],
          ResultSelector: { 'both.$': '$' },
          End: true,
        },
      },
    };

    // Act
    const { d } = await runOnce(def, { w: 'ab' });

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(outputOf(d)).toEqual({ both: ['AB', 'ab'] });
  });
});

describe('a Distributed Map in a JSONata machine', () => {
  it('Items, ItemSelector (reading a variable and $states.context.Map.Item), MaxConcurrency and a JSONata child workflow', async () => {
    // Prepare
    const def = {
      QueryLanguage: 'JSONata',
      StartAt: 'Init',
      States: {
        Init: { Type: 'Pass', Assign: { offset: 100 }, Next: 'Each' },
        Each: {
          Type: 'Map',
          Items: '{% $states.input.xs %}',
          ItemSelector: {
            value: '{% $states.context.Map.Item.Value + $offset %}',
            index: '{% $states.context.Map.Item.Index %}',
          },
          MaxConcurrency: '{% 1 + 1 %}',
          ItemProcessor: {
            ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
            StartAt: 'Double',
            States: {
              Double: {
                Type: 'Pass',
                Output: '{% $states.input.value * 2 + $states.input.index %}',
                End: true,
              },
            },
          },
          Assign: { count: '{% $count($states.result) %}' },
          Output: { doubled: '{% $states.result %}' },
          Next: 'Done',
        },
        Done: {
          Type: 'Pass',
          Output: { doubled: '{% $states.input.doubled %}', count: '{% $count %}' },
          End: true,
        },
      },
    };

    // Act
    const { d, events, sfn, executionArn } = await runOnce(def, { xs: [1, 2, 3] });

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(outputOf(d)).toEqual({ doubled: [202, 205, 208], count: 3 });
    const types = events.map((e) => e.type);
    expect(types).toContain('MapRunStarted');
    expect(types).toContain('MapStateEntered');
    const started = events.find((e) => e.type === 'MapRunStarted');
    expect(started).toBeDefined();
    const { mapRunArn } = (started as Record<string, unknown>).mapRunStartedEventDetails as {
      mapRunArn: string;
    };
    expect(sfn.describeMapRun(mapRunArn)).toMatchObject({
      status: 'SUCCEEDED',
      maxConcurrency: 2,
      itemCounts: { total: 3, succeeded: 3 },
    });
    const children = sfn.listExecutions({ mapRunArn }).executions;
    expect(children).toHaveLength(3);
    expect(executionArn).toContain(':execution:V:');
  });

  it('Items that are not an array fail the Map state with States.Runtime, named', async () => {
    // Prepare
    const def = {
      QueryLanguage: 'JSONata',
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map',
          Items: '{% $states.input.notArray %}',
          ItemProcessor: {
            ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
            StartAt: 'P',
            States: { P: { Type: 'Pass', End: true } },
          },
          End: true,
        },
      },
    };

    // Act
    const { d } = await runOnce(def, { notArray: { a: 1 } });

    // Assess
    expect(d.status).toBe('FAILED');
    expect(d.error).toBe('States.Runtime');
    expect(d.cause).toMatch(/Each: Items is not an array/);
  });
});
