import type { ConformanceCase } from './cases.js';

/**
 * Workflow variables in JSONPath states, machines that mix query languages, and a
 * Distributed Map in a JSONata machine: written here from what AWS's pages document (not
 * copied), with the results those pages describe. Each case's comment names the rule its
 * expected value follows from.
 */

const DG = 'https://docs.aws.amazon.com/step-functions/latest/dg';
const VARIABLES = `${DG}/workflow-variables.html`;
const TRANSFORMING = `${DG}/transforming-data.html`;

/** Cases with a JSONata state (LocalStack needs its Java JSONata evaluator for them). */
export const MIXED_OR_JSONATA_CASE_IDS = [
  'mixed-jsonpath-machine-jsonata-state',
  'jsonata-distributed-map-items',
];

export const VARIABLE_CASES: ConformanceCase[] = [
  {
    // "Passing data between states with variables": a JSONPath state assigns with
    // `"name.$": path` (the path reads the state's result; for a Pass with Parameters that is
    // the Parameters' output), and a later state reads the variable as `"x.$": "$name"`.
    id: 'jsonpath-assign-and-reference',
    source: VARIABLES,
    definition: {
      StartAt: 'Store',
      States: {
        Store: {
          Type: 'Pass',
          Parameters: { 'product.$': '$.item', quantity: 2 },
          Assign: { 'productName.$': '$.product', 'count.$': '$.quantity', available: true },
          Next: 'Skip',
        },
        Skip: { Type: 'Pass', Result: 'unrelated', Next: 'Use' },
        Use: {
          Type: 'Pass',
          Parameters: {
            'name.$': '$productName',
            'count.$': '$count',
            'available.$': '$available',
            'previousOutput.$': '$',
          },
          End: true,
        },
      },
    },
    input: { item: 'product1' },
    status: 'SUCCEEDED',
    output: { name: 'product1', count: 2, available: true, previousOutput: 'unrelated' },
    history: [
      'ExecutionStarted',
      'PassStateEntered',
      'PassStateExited',
      'PassStateEntered',
      'PassStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ],
    exactHistory: true,
  },
  {
    // "Variable evaluation order": every field of a state's Assign reads the variables as
    // they were when the state was entered (not what a sibling field assigns), and the new
    // values are visible from the next state on.
    id: 'jsonpath-assign-evaluated-on-entry',
    source: `${VARIABLES}#variable-evaluation-order`,
    definition: {
      StartAt: 'Start',
      States: {
        Start: { Type: 'Pass', Assign: { x: 1 }, Next: 'Swap' },
        Swap: {
          Type: 'Pass',
          Assign: { 'x.$': 'States.MathAdd($x, 10)', 'oldX.$': '$x' },
          Parameters: { 'seenInSwap.$': '$x' },
          Next: 'Read',
        },
        Read: {
          Type: 'Pass',
          Parameters: { 'seenInSwap.$': '$.seenInSwap', 'x.$': '$x', 'oldX.$': '$oldX' },
          End: true,
        },
      },
    },
    input: {},
    status: 'SUCCEEDED',
    output: { seenInSwap: 1, x: 11, oldX: 1 },
  },
  {
    // Variables are referenced by `$name` in JSONPath paths, intrinsic functions included
    // (the intrinsic functions page: arguments are paths, `$$` the context object).
    id: 'jsonpath-variable-in-intrinsic',
    source: VARIABLES,
    definition: {
      StartAt: 'Name',
      States: {
        Name: { Type: 'Pass', Assign: { greeting: 'Hello', 'who.$': '$.who' }, Next: 'Say' },
        Say: {
          Type: 'Pass',
          Parameters: { 'text.$': "States.Format('{}, {}! ({})', $greeting, $who, $.mood)" },
          End: true,
        },
      },
    },
    input: { who: 'María', mood: 'happy' },
    status: 'SUCCEEDED',
    output: { text: 'Hello, María! (happy)' },
  },
  {
    // A Choice rule's Variable (and a comparison's …Path) may be a variable; the matched
    // rule's own Assign runs (Choice is among the states that support Assign).
    id: 'jsonpath-choice-on-variable',
    source: VARIABLES,
    definition: {
      StartAt: 'Threshold',
      States: {
        Threshold: { Type: 'Pass', Assign: { threshold: 20 }, Next: 'Route' },
        Route: {
          Type: 'Choice',
          Choices: [
            {
              Variable: '$.value',
              NumericGreaterThanEqualsPath: '$threshold',
              Assign: { verdict: 'high' },
              Next: 'Done',
            },
          ],
          Default: 'Low',
        },
        Low: { Type: 'Pass', Assign: { verdict: 'low' }, Next: 'Done' },
        Done: { Type: 'Pass', Parameters: { 'verdict.$': '$verdict' }, End: true },
      },
    },
    input: { value: 25 },
    status: 'SUCCEEDED',
    output: { verdict: 'high' },
  },
  {
    // "Variable scope": Map iterations read the variables of the outer scope; a
    // catcher's Assign reads the error output as `$` ("Assign in Catch").
    id: 'jsonpath-map-reads-outer-variable',
    source: VARIABLES,
    definition: {
      StartAt: 'Rate',
      States: {
        Rate: { Type: 'Pass', Assign: { rate: 3 }, Next: 'Each' },
        Each: {
          Type: 'Map',
          ItemsPath: '$.prices',
          ItemSelector: { 'price.$': '$$.Map.Item.Value', 'rate.$': '$rate' },
          ItemProcessor: {
            StartAt: 'Apply',
            States: {
              Apply: {
                Type: 'Pass',
                Parameters: { 'total.$': 'States.MathAdd($.price, $.rate)' },
                End: true,
              },
            },
          },
          ResultPath: '$.totals',
          End: true,
        },
      },
    },
    input: { prices: [1, 5] },
    status: 'SUCCEEDED',
    output: { prices: [1, 5], totals: [{ total: 4 }, { total: 8 }] },
  },
  {
    // A Fail state's error caught by a Parallel: the catcher's Assign reads `$` as the
    // error output ({Error, Cause}); its ResultPath puts that output into the raw input.
    id: 'jsonpath-catch-assign-error-output',
    source: VARIABLES,
    definition: {
      StartAt: 'Try',
      States: {
        Try: {
          Type: 'Parallel',
          Branches: [
            {
              StartAt: 'Boom',
              States: { Boom: { Type: 'Fail', Error: 'Custom.Error', Cause: 'it broke' } },
            },
          ],
          Catch: [
            {
              ErrorEquals: ['States.ALL'],
              Assign: { 'failure.$': '$.Error' },
              ResultPath: '$.caught',
              Next: 'Report',
            },
          ],
          End: true,
        },
        Report: {
          Type: 'Pass',
          Parameters: { 'failure.$': '$failure', 'cause.$': '$.caught.Cause', 'id.$': '$.id' },
          End: true,
        },
      },
    },
    input: { id: 7 },
    status: 'SUCCEEDED',
    output: { failure: 'Custom.Error', cause: 'it broke', id: 7 },
  },
  {
    // QueryLanguage per state: a JSONPath machine may have a state that sets JSONata
    // (the reverse is refused). The JSONata state reads `$states.input` and the variables a
    // JSONPath state assigned; what it assigns is read by the next JSONPath state.
    id: 'mixed-jsonpath-machine-jsonata-state',
    source: TRANSFORMING,
    definition: {
      StartAt: 'PathState',
      States: {
        PathState: {
          Type: 'Pass',
          Assign: { 'base.$': '$.base' },
          ResultPath: null,
          Next: 'NataState',
        },
        NataState: {
          Type: 'Pass',
          QueryLanguage: 'JSONata',
          Assign: { doubled: '{% $base * 2 %}' },
          Output: { sum: '{% $states.input.add + $base %}' },
          Next: 'PathAgain',
        },
        PathAgain: {
          Type: 'Pass',
          Parameters: { 'sum.$': '$.sum', 'doubled.$': '$doubled' },
          End: true,
        },
      },
    },
    input: { base: 5, add: 1 },
    status: 'SUCCEEDED',
    output: { sum: 6, doubled: 10 },
  },
  {
    // A Distributed Map in a JSONata machine: Items selects the array, ItemSelector builds
    // each child's input from $states.context.Map.Item and the parent's variables; the child
    // workflow's states are JSONata (the machine's language); the result is the children's
    // outputs in item order (no ResultWriter).
    id: 'jsonata-distributed-map-items',
    source: `${DG}/state-map-distributed.html`,
    definition: {
      QueryLanguage: 'JSONata',
      StartAt: 'Init',
      States: {
        Init: { Type: 'Pass', Assign: { bonus: 10 }, Next: 'Each' },
        Each: {
          Type: 'Map',
          Items: '{% $states.input.values %}',
          ItemSelector: {
            value: '{% $states.context.Map.Item.Value + $bonus %}',
            index: '{% $states.context.Map.Item.Index %}',
          },
          ItemProcessor: {
            ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
            StartAt: 'Label',
            States: {
              Label: {
                Type: 'Pass',
                Output: "{% $string($states.input.index) & ':' & $string($states.input.value) %}",
                End: true,
              },
            },
          },
          Output: { labels: '{% $states.result %}' },
          End: true,
        },
      },
    },
    input: { values: [1, 2] },
    status: 'SUCCEEDED',
    output: { labels: ['0:11', '1:12'] },
    history: ['MapStateEntered', 'MapRunStarted', 'MapRunSucceeded', 'MapStateExited'],
  },
];
