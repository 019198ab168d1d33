import { expect } from 'vitest';
import type { ConformanceCase } from './cases.js';

/**
 * JSONata workflows (`QueryLanguage: "JSONata"`), written here from what AWS's pages
 * document (not copied), with the results those pages describe. Every value a case
 * expects follows from a documented rule quoted in its comment.
 */

const DG = 'https://docs.aws.amazon.com/step-functions/latest/dg';
const TRANSFORMING = `${DG}/transforming-data.html`;
const VARIABLES = `${DG}/workflow-variables.html`;

const jsonata = (states: Record<string, unknown>, startAt = Object.keys(states)[0]) => ({
  QueryLanguage: 'JSONata',
  StartAt: startAt,
  States: states,
});

/** The ASL specification's Choice example, with JSONata Conditions (state-choice.html shows both forms). */
const choiceWithConditions = jsonata({
  Route: {
    Type: 'Choice',
    Choices: [
      { Condition: "{% $states.input.type != 'Private' %}", Next: 'Public' },
      {
        Condition:
          "{% $exists($states.input.value) and $type($states.input.value) = 'number' and $states.input.value >= 20 and $states.input.value < 30 %}",
        Next: 'ValueInTwenties',
      },
    ],
    Default: 'DefaultState',
  },
  Public: { Type: 'Pass', Output: "{% 'Public' %}", End: true },
  ValueInTwenties: { Type: 'Pass', Output: "{% 'ValueInTwenties' %}", End: true },
  DefaultState: { Type: 'Pass', Output: "{% 'DefaultState' %}", End: true },
});

export const JSONATA_CASES: ConformanceCase[] = [
  {
    // "Converting from JSONPath to JSONata": with the input {"title": "Doctor"} and the
    // variable customerName "María", Arguments give static, title and name, and a string
    // without {% %} ("$customerName") stays literal.
    id: 'jsonata-arguments-from-input-and-variable',
    source: `${TRANSFORMING}#converting-from-jsonpath-to-jsonata`,
    definition: jsonata({
      Remember: { Type: 'Pass', Assign: { customerName: 'María' }, Next: 'Build' },
      Build: {
        Type: 'Pass',
        Output: {
          static: 'Hello',
          title: '{% $states.input.title %}',
          name: '{% $customerName %}',
          'not-evaluated': '$customerName',
        },
        End: true,
      },
    }),
    input: { title: 'Doctor' },
    status: 'SUCCEEDED',
    output: { static: 'Hello', title: 'Doctor', name: 'María', 'not-evaluated': '$customerName' },
    history: [
      'ExecutionStarted',
      'PassStateEntered',
      'PassStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ],
    exactHistory: true,
    substitution: "the page's Task Arguments are built by a Pass Output (no Lambda is deployed)",
  },
  {
    // "Assign and Output are evaluated in parallel": both see the variables as they were
    // when the state was entered; the new value is visible from the next state on.
    id: 'jsonata-assign-visible-from-next-state',
    source: `${VARIABLES}#variable-evaluation-order`,
    definition: jsonata({
      Start: { Type: 'Pass', Assign: { count: 1 }, Next: 'Bump' },
      Bump: {
        Type: 'Pass',
        Assign: { count: '{% $count + 1 %}' },
        Output: { seenInBump: '{% $count %}' },
        Next: 'Read',
      },
      Read: {
        Type: 'Pass',
        Output: { seenInBump: '{% $states.input.seenInBump %}', seenAfter: '{% $count %}' },
        End: true,
      },
    }),
    input: {},
    status: 'SUCCEEDED',
    output: { seenInBump: 1, seenAfter: 2 },
  },
  {
    id: 'jsonata-choice-condition-not',
    source: `${DG}/state-choice.html`,
    definition: choiceWithConditions,
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
    id: 'jsonata-choice-condition-and',
    source: `${DG}/state-choice.html`,
    definition: choiceWithConditions,
    input: { type: 'Private', value: 25 },
    status: 'SUCCEEDED',
    output: 'ValueInTwenties',
  },
  {
    id: 'jsonata-choice-default',
    source: `${DG}/state-choice.html`,
    definition: choiceWithConditions,
    input: { type: 'Private', value: 35 },
    status: 'SUCCEEDED',
    output: 'DefaultState',
  },
  {
    // Map in JSONata: Items selects the array, ItemSelector builds each iteration's input
    // with $states.context.Map.Item.Index/Value, the Map's result is the iterations'
    // outputs in order; iterations read the outer variables.
    id: 'jsonata-map-items-item-selector',
    source: `${DG}/state-map-inline.html`,
    definition: jsonata({
      Rate: { Type: 'Pass', Assign: { taxRate: 0.5 }, Next: 'Each' },
      Each: {
        Type: 'Map',
        Items: '{% $states.input.orders %}',
        ItemSelector: {
          position: '{% $states.context.Map.Item.Index %}',
          price: '{% $states.context.Map.Item.Value.price %}',
        },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: 'Tax',
          States: {
            Tax: {
              Type: 'Pass',
              Output: {
                position: '{% $states.input.position %}',
                total: '{% $states.input.price * (1 + $taxRate) %}',
              },
              End: true,
            },
          },
        },
        End: true,
      },
    }),
    input: { orders: [{ price: 10 }, { price: 4 }] },
    status: 'SUCCEEDED',
    output: [
      { position: 0, total: 15 },
      { position: 1, total: 6 },
    ],
    history: [
      'ExecutionStarted',
      'PassStateEntered',
      'PassStateExited',
      'MapStateEntered',
      'MapStateStarted',
      'MapIterationStarted',
      'MapIterationSucceeded',
      'MapStateSucceeded',
      'MapStateExited',
      'ExecutionSucceeded',
    ],
  },
  {
    // Catch in JSONata: without Output the state's output is $states.errorOutput
    // ({Error, Cause}); Catch may Assign from it. A Parallel branch that reaches a Fail
    // state fails the Parallel with that Error and Cause.
    id: 'jsonata-catch-error-output-and-assign',
    source: `${DG}/concepts-error-handling.html`,
    definition: jsonata({
      Work: {
        Type: 'Parallel',
        Branches: [
          {
            StartAt: 'Reject',
            States: {
              Reject: {
                Type: 'Fail',
                Error: 'Order.Rejected',
                Cause: "{% 'order ' & $states.input.orderId & ' is out of stock' %}",
              },
            },
          },
        ],
        Catch: [
          {
            ErrorEquals: ['Order.Rejected'],
            Assign: { failure: '{% $states.errorOutput.Error %}' },
            Next: 'Report',
          },
        ],
        End: true,
      },
      Report: {
        Type: 'Pass',
        Output: { caught: '{% $states.input %}', failure: '{% $failure %}' },
        End: true,
      },
    }),
    input: { orderId: 'A-17' },
    status: 'SUCCEEDED',
    output: {
      caught: { Error: 'Order.Rejected', Cause: 'order A-17 is out of stock' },
      failure: 'Order.Rejected',
    },
    history: [
      'ExecutionStarted',
      'ParallelStateEntered',
      'ParallelStateStarted',
      'FailStateEntered',
      'ParallelStateFailed',
      'PassStateEntered',
      'ExecutionSucceeded',
    ],
  },
  {
    // Fail in JSONata: Error and Cause may be expressions; the execution fails with them.
    id: 'jsonata-fail-error-cause-expressions',
    source: `${DG}/state-fail.html`,
    definition: jsonata({
      Stop: {
        Type: 'Fail',
        Error: "{% 'Invoice.' & $states.input.reason %}",
        Cause: "{% 'invoice ' & $string($states.input.invoice) & ' cannot be paid' %}",
      },
    }),
    input: { reason: 'Overdue', invoice: 42 },
    status: 'FAILED',
    error: 'Invoice.Overdue',
    cause: 'invoice 42 cannot be paid',
    history: ['ExecutionStarted', 'FailStateEntered', 'ExecutionFailed'],
    exactHistory: true,
  },
  {
    // The functions Step Functions adds to JSONata: $partition splits an array into
    // chunks of the given size (the last may be shorter), $range counts from start to
    // end by step, both ends included.
    id: 'jsonata-step-functions-functions',
    source: `${TRANSFORMING}#jsonata-functions`,
    definition: jsonata({
      Compute: {
        Type: 'Pass',
        Output: {
          chunks: '{% $partition($states.input.items, 2) %}',
          evens: '{% $range(0, 6, 2) %}',
          parsed: '{% $parse($states.input.text) %}',
          id: '{% $uuid() %}',
        },
        End: true,
      },
    }),
    input: { items: ['a', 'b', 'c', 'd', 'e'], text: '{"ok":true}' },
    status: 'SUCCEEDED',
    check: (output) => {
      const o = output as Record<string, unknown>;
      expect(o.chunks).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
      expect(o.evens).toEqual([0, 2, 4, 6]);
      expect(o.parsed).toEqual({ ok: true });
      expect(o.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    },
  },
  {
    // Wait in JSONata: Seconds may be an expression; the state passes its input on.
    id: 'jsonata-wait-seconds-expression',
    source: `${DG}/state-wait.html`,
    definition: jsonata({
      Pause: { Type: 'Wait', Seconds: '{% $states.input.delay %}', End: true },
    }),
    input: { delay: 1 },
    status: 'SUCCEEDED',
    output: { delay: 1 },
    history: ['ExecutionStarted', 'WaitStateEntered', 'WaitStateExited', 'ExecutionSucceeded'],
    exactHistory: true,
  },
];
