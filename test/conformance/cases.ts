/**
 * Public workflows from AWS's own pages, written out here (not copied) with the
 * result AWS documents for them. Each case names its source. Where a sample calls a
 * service the local targets do not emulate (a Lambda function that is not deployed,
 * DynamoDB), the call is replaced by a Pass state with the result the page shows;
 * `substitution` says so. Expected values are literal: they are AWS's, not ours.
 */
export interface ConformanceCase {
  id: string;
  source: string;
  definition: Record<string, unknown>;
  input: unknown;
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  /** For values AWS generates (UUIDs, random numbers): checked instead of `output`. */
  check?: (output: unknown) => void;
  error?: string;
  cause?: string;
  /** Event types that must appear in this order (other events may sit between them). */
  history?: string[];
  /** When set, the history must be exactly `history`. */
  exactHistory?: boolean;
  substitution?: string;
}

const SPEC = 'https://states-language.net/spec.html';
const DG = 'https://docs.aws.amazon.com/step-functions/latest/dg';
const INTRINSICS = `${DG}/intrinsic-functions.html`;

const pass = (state: Record<string, unknown>) => ({
  StartAt: 'S',
  States: { S: { Type: 'Pass', End: true, ...state } },
});

/** One Pass state whose Parameters evaluate intrinsic functions. */
const intrinsic = (
  id: string,
  params: Record<string, string>,
  input: unknown,
  output: unknown
) => ({
  id,
  source: INTRINSICS,
  definition: pass({ Parameters: params }),
  input,
  status: 'SUCCEEDED' as const,
  output,
});

const ending = (name: string) => ({ Type: 'Pass', Result: name, End: true });

/** The ASL specification's Choice example, with its three ends as named Pass states. */
const choiceExample = {
  StartAt: 'ChoiceStateX',
  States: {
    ChoiceStateX: {
      Type: 'Choice',
      Choices: [
        { Not: { Variable: '$.type', StringEquals: 'Private' }, Next: 'Public' },
        {
          And: [
            { Variable: '$.value', IsPresent: true },
            { Variable: '$.value', IsNumeric: true },
            { Variable: '$.value', NumericGreaterThanEquals: 20 },
            { Variable: '$.value', NumericLessThan: 30 },
          ],
          Next: 'ValueInTwenties',
        },
      ],
      Default: 'DefaultState',
    },
    Public: ending('Public'),
    ValueInTwenties: ending('ValueInTwenties'),
    DefaultState: ending('DefaultState'),
  },
};

const helloInput = {
  comment: 'This is a test of the input and output of a Task state.',
  details: 'Default example',
  who: 'AWS Step Functions',
};
const HELLO = 'Hello, AWS Step Functions!';
const helloSubstitution =
  'the HelloFunction Lambda task is a Pass state with its documented result';

const shipInput = {
  'ship-date': '2016-03-14T01:59:00Z',
  detail: {
    'delivery-partner': 'UQS',
    shipped: [
      { prod: 'R31', 'dest-code': 9511, quantity: 1344 },
      { prod: 'S39', 'dest-code': 9511, quantity: 40 },
    ],
  },
};

const inputArray = { inputArray: [1, 2, 3, 4, 5, 6, 7, 8, 9] };

export const CASES: ConformanceCase[] = [
  {
    id: 'spec-pass-result-path',
    source: `${SPEC}#pass-state`,
    definition: pass({
      Result: { 'x-datum': 0.381018, 'y-datum': 622.2269926397355 },
      ResultPath: '$.coords',
    }),
    input: { georefOf: 'Home' },
    status: 'SUCCEEDED',
    output: { georefOf: 'Home', coords: { 'x-datum': 0.381018, 'y-datum': 622.2269926397355 } },
    history: ['ExecutionStarted', 'PassStateEntered', 'PassStateExited', 'ExecutionSucceeded'],
    exactHistory: true,
  },
  {
    id: 'spec-choice-not',
    source: `${SPEC}#choice-state`,
    definition: choiceExample,
    input: { type: 'Public' },
    status: 'SUCCEEDED',
    output: 'Public',
    history: [
      'ExecutionStarted',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ],
    exactHistory: true,
  },
  {
    id: 'spec-choice-and',
    source: `${SPEC}#choice-state`,
    definition: choiceExample,
    input: { type: 'Private', value: 25 },
    status: 'SUCCEEDED',
    output: 'ValueInTwenties',
  },
  {
    id: 'spec-choice-default',
    source: `${SPEC}#choice-state`,
    definition: choiceExample,
    input: { type: 'Private', value: 35 },
    status: 'SUCCEEDED',
    output: 'DefaultState',
  },
  {
    id: 'choice-string-matches',
    source: `${DG}/state-choice.html`,
    definition: {
      StartAt: 'C',
      States: {
        C: {
          Type: 'Choice',
          Choices: [{ Variable: '$.file', StringMatches: 'log-*.txt', Next: 'Log' }],
          Default: 'Other',
        },
        Log: ending('Log'),
        Other: ending('Other'),
      },
    },
    input: { file: 'log-2026-12-07.txt' },
    status: 'SUCCEEDED',
    output: 'Log',
  },
  {
    id: 'choice-timestamp',
    source: `${DG}/state-choice.html`,
    definition: {
      StartAt: 'C',
      States: {
        C: {
          Type: 'Choice',
          Choices: [
            {
              Variable: '$.when',
              TimestampGreaterThanPath: '$.deadline',
              Next: 'Late',
            },
          ],
          Default: 'OnTime',
        },
        Late: ending('Late'),
        OnTime: ending('OnTime'),
      },
    },
    input: { when: '2026-12-07T10:00:00Z', deadline: '2026-12-07T09:00:00Z' },
    status: 'SUCCEEDED',
    output: 'Late',
  },
  {
    id: 'dg-input-path',
    source: `${DG}/input-output-inputpath-params.html`,
    definition: pass({ InputPath: '$.dataset2' }),
    input: {
      comment: 'Example for InputPath.',
      dataset1: { val1: 1, val2: 2, val3: 3 },
      dataset2: { val1: 'a', val2: 'b', val3: 'c' },
    },
    status: 'SUCCEEDED',
    output: { val1: 'a', val2: 'b', val3: 'c' },
  },
  {
    id: 'dg-parameters',
    source: `${DG}/input-output-inputpath-params.html`,
    definition: pass({
      Parameters: {
        comment: 'Selecting what I care about.',
        MyDetails: {
          'size.$': '$.product.details.size',
          'exists.$': '$.product.availability',
          StaticValue: 'foo',
        },
      },
    }),
    input: {
      comment: 'Example for Parameters.',
      product: {
        details: { color: 'blue', size: 'small', material: 'cotton' },
        availability: 'in stock',
        sku: '2317',
        cost: '$23',
      },
    },
    status: 'SUCCEEDED',
    output: {
      comment: 'Selecting what I care about.',
      MyDetails: { size: 'small', exists: 'in stock', StaticValue: 'foo' },
    },
  },
  {
    id: 'dg-parameters-context-object',
    source: `${DG}/input-output-contextobject.html`,
    definition: pass({
      Parameters: { 'original.$': '$$.Execution.Input', 'state.$': '$$.State.Name' },
    }),
    input: { a: 1 },
    status: 'SUCCEEDED',
    output: { original: { a: 1 }, state: 'S' },
  },
  {
    id: 'dg-result-path-field',
    source: `${DG}/input-output-resultpath.html`,
    definition: pass({ Result: HELLO, ResultPath: '$.taskresult' }),
    input: helloInput,
    status: 'SUCCEEDED',
    output: { ...helloInput, taskresult: HELLO },
    substitution: helloSubstitution,
  },
  {
    id: 'dg-result-path-replace',
    source: `${DG}/input-output-resultpath.html`,
    definition: pass({ Result: HELLO, ResultPath: '$' }),
    input: helloInput,
    status: 'SUCCEEDED',
    output: HELLO,
    substitution: helloSubstitution,
  },
  {
    id: 'dg-result-path-null',
    source: `${DG}/input-output-resultpath.html`,
    definition: pass({ Result: HELLO, ResultPath: null }),
    input: helloInput,
    status: 'SUCCEEDED',
    output: helloInput,
    substitution: helloSubstitution,
  },
  {
    id: 'dg-output-path',
    source: `${DG}/input-output-example.html`,
    definition: pass({ Result: HELLO, ResultPath: '$.taskresult', OutputPath: '$.taskresult' }),
    input: helloInput,
    status: 'SUCCEEDED',
    output: HELLO,
    substitution: helloSubstitution,
  },
  {
    id: 'spec-parallel',
    source: `${SPEC}#parallel-state`,
    definition: {
      StartAt: 'LookupCustomerInfo',
      States: {
        LookupCustomerInfo: {
          Type: 'Parallel',
          End: true,
          Branches: [
            {
              StartAt: 'LookupAddress',
              States: {
                LookupAddress: { Type: 'Pass', Parameters: { 'address.$': '$.id' }, End: true },
              },
            },
            {
              StartAt: 'LookupPhone',
              States: {
                LookupPhone: { Type: 'Pass', Parameters: { 'phone.$': '$.id' }, End: true },
              },
            },
          ],
        },
      },
    },
    input: { id: 'c-42' },
    status: 'SUCCEEDED',
    output: [{ address: 'c-42' }, { phone: 'c-42' }],
    history: [
      'ExecutionStarted',
      'ParallelStateEntered',
      'ParallelStateStarted',
      'PassStateEntered',
      'PassStateExited',
      'ParallelStateSucceeded',
      'ParallelStateExited',
      'ExecutionSucceeded',
    ],
    substitution: 'the LookupAddress/LookupPhone Lambda tasks are Pass states',
  },
  {
    id: 'dg-result-selector-parallel',
    source: `${DG}/input-output-inputpath-params.html#input-output-resultselector`,
    definition: {
      StartAt: 'P',
      States: {
        P: {
          Type: 'Parallel',
          ResultSelector: { 'first.$': '$[0].v', 'second.$': '$[1].v' },
          ResultPath: '$.combined',
          End: true,
          Branches: [
            { StartAt: 'A', States: { A: { Type: 'Pass', Result: { v: 1 }, End: true } } },
            { StartAt: 'B', States: { B: { Type: 'Pass', Result: { v: 2 }, End: true } } },
          ],
        },
      },
    },
    input: { keep: true },
    status: 'SUCCEEDED',
    output: { keep: true, combined: { first: 1, second: 2 } },
  },
  {
    id: 'dg-map-item-selector',
    source: `${DG}/state-map-inline.html`,
    definition: {
      StartAt: 'Validate-All',
      States: {
        'Validate-All': {
          Type: 'Map',
          ItemsPath: '$.detail.shipped',
          ItemSelector: {
            'parcel.$': '$$.Map.Item.Value',
            'courier.$': '$.detail.delivery-partner',
          },
          ResultPath: '$.detail.shipped',
          MaxConcurrency: 0,
          ItemProcessor: {
            ProcessorConfig: { Mode: 'INLINE' },
            StartAt: 'Validate',
            States: { Validate: { Type: 'Pass', End: true } },
          },
          End: true,
        },
      },
    },
    input: shipInput,
    status: 'SUCCEEDED',
    output: {
      ...shipInput,
      detail: {
        ...shipInput.detail,
        shipped: shipInput.detail.shipped.map((parcel) => ({ parcel, courier: 'UQS' })),
      },
    },
    history: [
      'ExecutionStarted',
      'MapStateEntered',
      'MapStateStarted',
      'MapIterationStarted',
      'PassStateEntered',
      'PassStateExited',
      'MapIterationSucceeded',
      'MapStateSucceeded',
      'MapStateExited',
      'ExecutionSucceeded',
    ],
    substitution: 'the ship-val Lambda task is a Pass state that returns its input',
  },
  {
    id: 'dg-map-item-index',
    source: `${DG}/input-output-contextobject.html`,
    definition: {
      StartAt: 'M',
      States: {
        M: {
          Type: 'Map',
          ItemSelector: { 'index.$': '$$.Map.Item.Index', 'value.$': '$$.Map.Item.Value' },
          MaxConcurrency: 1,
          ItemProcessor: {
            ProcessorConfig: { Mode: 'INLINE' },
            StartAt: 'P',
            States: { P: { Type: 'Pass', End: true } },
          },
          End: true,
        },
      },
    },
    input: ['a', 'b', 'c'],
    status: 'SUCCEEDED',
    output: [
      { index: 0, value: 'a' },
      { index: 1, value: 'b' },
      { index: 2, value: 'c' },
    ],
  },
  {
    id: 'scatter-gather-result-path-root',
    source:
      'https://github.com/aws-samples/step-functions-workflows-collection (scatter-gather pattern)',
    definition: {
      StartAt: 'Scatter',
      States: {
        Scatter: {
          Type: 'Map',
          ItemsPath: '$.items',
          ResultPath: '$',
          ItemProcessor: {
            ProcessorConfig: { Mode: 'INLINE' },
            StartAt: 'Work',
            States: { Work: { Type: 'Pass', Parameters: { 'done.$': '$' }, End: true } },
          },
          Next: 'Gather',
        },
        Gather: { Type: 'Pass', Parameters: { 'count.$': 'States.ArrayLength($)' }, End: true },
      },
    },
    input: { items: [1, 2, 3] },
    status: 'SUCCEEDED',
    output: { count: 3 },
    substitution: 'the per-item Lambda is a Pass state',
  },
  {
    id: 'dg-wait-then-succeed',
    source: `${DG}/state-wait.html`,
    definition: {
      StartAt: 'wait_one_second',
      States: {
        wait_one_second: { Type: 'Wait', Seconds: 1, Next: 'Done' },
        Done: { Type: 'Succeed' },
      },
    },
    input: { x: 1 },
    status: 'SUCCEEDED',
    output: { x: 1 },
    history: [
      'ExecutionStarted',
      'WaitStateEntered',
      'WaitStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ],
    exactHistory: true,
  },
  {
    id: 'spec-fail',
    source: `${SPEC}#fail-state`,
    definition: {
      StartAt: 'FailState',
      States: { FailState: { Type: 'Fail', Error: 'ErrorA', Cause: 'Kaiju attack' } },
    },
    input: {},
    status: 'FAILED',
    error: 'ErrorA',
    cause: 'Kaiju attack',
    history: ['ExecutionStarted', 'FailStateEntered', 'ExecutionFailed'],
    exactHistory: true,
  },
  {
    id: 'dg-catch-parallel',
    source: `${DG}/concepts-error-handling.html`,
    definition: {
      StartAt: 'P',
      States: {
        P: {
          Type: 'Parallel',
          Branches: [
            {
              StartAt: 'Boom',
              States: { Boom: { Type: 'Fail', Error: 'CustomError', Cause: 'boom' } },
            },
          ],
          Catch: [
            { ErrorEquals: ['Other'], Next: 'Wrong' },
            { ErrorEquals: ['CustomError'], ResultPath: '$.error', Next: 'Recovered' },
          ],
          End: true,
        },
        Wrong: ending('Wrong'),
        Recovered: { Type: 'Pass', End: true },
      },
    },
    input: { job: 7 },
    status: 'SUCCEEDED',
    output: { job: 7, error: { Error: 'CustomError', Cause: 'boom' } },
  },
  {
    id: 'dg-catch-states-all-after-retry',
    source: `${DG}/concepts-error-handling.html`,
    definition: {
      StartAt: 'P',
      States: {
        P: {
          Type: 'Parallel',
          Branches: [
            {
              StartAt: 'Boom',
              States: { Boom: { Type: 'Fail', Error: 'Transient', Cause: 'again' } },
            },
          ],
          Retry: [{ ErrorEquals: ['Transient'], IntervalSeconds: 1, MaxAttempts: 1 }],
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: 'Recovered' }],
          End: true,
        },
        Recovered: { Type: 'Pass', Result: 'recovered', End: true },
      },
    },
    input: {},
    status: 'SUCCEEDED',
    output: 'recovered',
  },
  intrinsic(
    'intrinsic-array',
    { 'BuildId.$': 'States.Array($.Id)' },
    { Id: 123456 },
    { BuildId: [123456] }
  ),
  intrinsic(
    'intrinsic-array-functions',
    {
      'partition.$': 'States.ArrayPartition($.inputArray,4)',
      'contains.$': 'States.ArrayContains($.inputArray, $.lookingFor)',
      'range.$': 'States.ArrayRange(1, 9, 2)',
      'item.$': 'States.ArrayGetItem($.inputArray, $.index)',
      'length.$': 'States.ArrayLength($.inputArray)',
    },
    { ...inputArray, lookingFor: 5, index: 5 },
    {
      partition: [[1, 2, 3, 4], [5, 6, 7, 8], [9]],
      contains: true,
      range: [1, 3, 5, 7, 9],
      item: 6,
      length: 9,
    }
  ),
  intrinsic(
    'intrinsic-array-unique',
    { 'unique.$': 'States.ArrayUnique($.inputArray)' },
    { inputArray: [1, 2, 3, 3, 3, 3, 3, 3, 4] },
    { unique: [1, 2, 3, 4] }
  ),
  intrinsic(
    'intrinsic-base64',
    {
      'encoded.$': 'States.Base64Encode($.input)',
      'decoded.$': "States.Base64Decode('RGF0YSB0byBlbmNvZGU=')",
    },
    { input: 'Data to encode' },
    { encoded: 'RGF0YSB0byBlbmNvZGU=', decoded: 'Data to encode' }
  ),
  intrinsic(
    'intrinsic-hash',
    { 'output.$': 'States.Hash($.Data, $.Algorithm)' },
    { Data: 'input data', Algorithm: 'SHA-1' },
    { output: 'aaff4a450a104cd177d28d18d74485e8cae074b7' }
  ),
  intrinsic(
    'intrinsic-json-merge',
    { 'output.$': 'States.JsonMerge($.json1, $.json2, false)' },
    { json1: { a: { a1: 1, a2: 2 }, b: 2 }, json2: { a: { a3: 1, a4: 2 }, c: 3 } },
    { output: { a: { a3: 1, a4: 2 }, b: 2, c: 3 } }
  ),
  intrinsic(
    'intrinsic-json-string-round-trip',
    {
      'toJson.$': 'States.StringToJson($.someString)',
      'asString.$': 'States.JsonToString($.someJson)',
    },
    { someString: '{"number": 20}', someJson: { name: 'Foo', year: 2020 } },
    { toJson: { number: 20 }, asString: '{"name":"Foo","year":2020}' }
  ),
  {
    id: 'parameters-key-named-like-object-member',
    source: `${DG}/input-output-inputpath-params.html`,
    definition: pass({ Parameters: { 'toString.$': '$.a', constructor: 1 } }),
    input: { a: 'x' },
    status: 'SUCCEEDED',
    output: { toString: 'x', constructor: 1 },
  },
  intrinsic(
    'intrinsic-escaped-backslash-literal',
    // The page: `'`, `{`, `}` and `\\` in a literal are escaped with a backslash.
    {
      'path.$': "States.Format('C:\\\\Temp\\\\{}.txt', $.name)",
      'quote.$': "States.Format('it\\'s')",
    },
    { name: 'clip' },
    { path: 'C:\\Temp\\clip.txt', quote: "it's" }
  ),
  {
    id: 'intrinsic-json-to-string-quotes',
    source: INTRINSICS,
    definition: {
      StartAt: 'A',
      States: {
        A: { Type: 'Pass', Parameters: { 's.$': 'States.JsonToString($.x)' }, Next: 'B' },
        B: { Type: 'Pass', Parameters: { 'back.$': 'States.StringToJson($.s)' }, End: true },
      },
    },
    input: { x: { said: 'he said "hi" \\ back', u: 'é✓' } },
    status: 'SUCCEEDED',
    output: { back: { said: 'he said "hi" \\ back', u: 'é✓' } },
  },
  intrinsic(
    'intrinsic-math-add-string-split-format',
    {
      'sum.$': 'States.MathAdd($.value1, $.step)',
      'split.$': 'States.StringSplit($.inputString, $.splitter)',
      'greeting.$': "States.Format('Hello, my name is {}.', $.name)",
    },
    { value1: 111, step: -1, inputString: '1,2,3,4,5', splitter: ',', name: 'Arnav' },
    { sum: 110, split: ['1', '2', '3', '4', '5'], greeting: 'Hello, my name is Arnav.' }
  ),
  {
    id: 'intrinsic-uuid-random',
    source: INTRINSICS,
    definition: pass({
      Parameters: { 'uuid.$': 'States.UUID()', 'random.$': 'States.MathRandom($.start, $.end)' },
    }),
    input: { start: 1, end: 999 },
    status: 'SUCCEEDED',
    check: (output) => {
      const { uuid, random } = output as { uuid: string; random: number };
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(uuid)) {
        throw new Error(`States.UUID gave ${uuid}, not a version 4 UUID`);
      }
      if (!Number.isInteger(random) || random < 1 || random >= 999) {
        throw new Error(`States.MathRandom(1, 999) gave ${random}`);
      }
    },
  },
];
