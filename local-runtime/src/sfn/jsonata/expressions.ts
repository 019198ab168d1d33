import { createHash, randomUUID } from 'node:crypto';
import jsonata from 'jsonata';

/**
 * JSONata expressions in Step Functions state fields, evaluated with the reference
 * `jsonata` library.
 *
 * A field value (or any string nested in an object or array of it) that starts with `{%`
 * and ends with `%}` is an expression; other strings, numbers and keys are literals
 * (https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html).
 * Expressions see the reserved `$states` (input, result, errorOutput, context) and the
 * workflow variables by name (https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html).
 * A failed evaluation, or one that returns nothing, is `States.QueryEvaluationError`
 * (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
 */

/** The error a JSONata state fails with when an expression cannot be evaluated. */
export const QUERY_EVALUATION_ERROR = 'States.QueryEvaluationError';

/** Thrown when an expression fails or returns undefined; catchable like any state error. */
export class QueryEvaluationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = QUERY_EVALUATION_ERROR;
  }
}

/** `$states` as a JSONata state sees it (fields absent where the docs say they are unavailable). */
export interface StatesBinding {
  input: unknown;
  result?: unknown;
  errorOutput?: unknown;
  context: unknown;
}

const EXPRESSION = /^\{%([\s\S]*)%\}$/;

/** The expression inside `{% … %}`, or undefined for a literal string. */
export function expressionOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return EXPRESSION.exec(value)?.[1];
}

const compiled = new Map<string, jsonata.Expression>();

function compile(source: string): jsonata.Expression {
  let expr = compiled.get(source);
  if (!expr) {
    expr = jsonata(source);
    registerStepFunctionsFunctions(expr);
    compiled.set(source, expr);
  }
  return expr;
}

/** The expression does not parse: reported at creation, as AWS validates expressions then. */
export function syntaxErrorOf(source: string): string | undefined {
  try {
    compile(source);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Evaluates one field: literals stay as they are, `{% %}` strings are evaluated,
 * objects and arrays are walked (their keys are never evaluated).
 * @param field the field's name, for the error message (e.g. `Output`, `Arguments`)
 */
export async function evaluateField(
  value: unknown,
  field: string,
  states: StatesBinding,
  variables: Record<string, unknown>
): Promise<unknown> {
  const source = expressionOf(value);
  if (source !== undefined) return evaluateExpression(source, field, states, variables);
  if (Array.isArray(value)) {
    return Promise.all(value.map((v) => evaluateField(v, field, states, variables)));
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = await evaluateField(v, field, states, variables);
    }
    return out;
  }
  return value;
}

async function evaluateExpression(
  source: string,
  field: string,
  states: StatesBinding,
  variables: Record<string, unknown>
): Promise<unknown> {
  let result: unknown;
  try {
    // No root context: AWS refuses `$` and unqualified field names at the top level of an
    // expression, the input is `$states.input`. Here such a name finds nothing (undefined).
    result = await compile(source).evaluate(undefined, { ...variables, states });
  } catch (err) {
    throw new QueryEvaluationError(
      `An error occurred while evaluating the JSONata expression '${source.trim()}' specified for the field '${field}': ${(err as Error).message}`
    );
  }
  if (result === undefined) {
    throw new QueryEvaluationError(
      `The JSONata expression '${source.trim()}' specified for the field '${field}' returned nothing (undefined).`
    );
  }
  return toJson(result);
}

/**
 * JSONata's own values (sequences with extra flags, functions) as the JSON a state carries.
 * A function cannot be a state's data: it is an evaluation error.
 */
function toJson(value: unknown): unknown {
  if (typeof value === 'function') {
    throw new QueryEvaluationError('A JSONata expression returned a function, not JSON data');
  }
  return JSON.parse(JSON.stringify(value));
}

/**
 * The functions Step Functions adds to JSONata
 * (https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html#jsonata-functions).
 */
function registerStepFunctionsFunctions(expr: jsonata.Expression) {
  expr.registerFunction('partition', (array: unknown[], size: number) => {
    if (!Array.isArray(array) || !Number.isInteger(size) || size < 1) {
      throw new Error('$partition takes an array and a positive integer size');
    }
    const out: unknown[][] = [];
    for (let i = 0; i < array.length; i += size) out.push(array.slice(i, i + size));
    return out;
  });
  expr.registerFunction('range', (start: number, end: number, step: number) => {
    if (![start, end, step].every(Number.isFinite) || step === 0) {
      throw new Error('$range takes numbers start, end and a non-zero step');
    }
    const out: number[] = [];
    for (let v = start; step > 0 ? v <= end : v >= end; v += step) out.push(v);
    return out;
  });
  expr.registerFunction('hash', (data: unknown, algorithm: string) => {
    const algorithms: Record<string, string> = {
      MD5: 'md5',
      'SHA-1': 'sha1',
      'SHA-256': 'sha256',
      'SHA-384': 'sha384',
      'SHA-512': 'sha512',
    };
    const name = algorithms[algorithm];
    if (!name || typeof data !== 'string') {
      throw new Error('$hash takes a string and one of MD5, SHA-1, SHA-256, SHA-384, SHA-512');
    }
    return createHash(name).update(data).digest('hex');
  });
  // With a seed, the same number for the same seed (AWS documents the seed, not its generator).
  expr.registerFunction('random', (seed?: unknown) => {
    if (seed === undefined) return Math.random();
    const digest = createHash('sha256').update(JSON.stringify(seed)).digest();
    return digest.readUInt32BE(0) / 2 ** 32;
  });
  expr.registerFunction('uuid', () => randomUUID());
  expr.registerFunction('parse', (text: string) => JSON.parse(text));
}
