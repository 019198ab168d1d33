import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';

/**
 * The JSONPath fields of a state that runs on the engine (./engine.ts): a JSONPath state
 * in a machine that mixes query languages, or one that uses workflow variables. Each
 * field is evaluated by aws-local-stepfunctions itself, as a one-state machine, so paths,
 * payload templates, intrinsic functions and Choice rules keep exactly the semantics (and
 * the patches, see patches/) they have in a JSONPath-only machine.
 *
 * Workflow variables (https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html):
 * a JSONPath state reads a variable as `$name` (optionally followed by a path, `$name.a[0]`)
 * wherever it gives a path: a `"key.$"` of Parameters, ItemSelector, ResultSelector or
 * Assign, an intrinsic function's argument, a Choice rule's `Variable` or `…Path`,
 * InputPath, OutputPath, ItemsPath and the other `…Path` fields. `$$` stays the context
 * object and `$` (or `$.…`) the state's data. The interpreter has no variables, so each such
 * reference is rewritten to a path into the context object, under a key no AWS context
 * field has, and the variables are put there for that one evaluation.
 */

type Json = unknown;

/** Where the variables sit in the context object while a rewritten field is evaluated. */
const VARIABLES_KEY = 'LocalRuntimeWorkflowVariables';

/** `$name` (not `$$`, `$.`, `$[`) at the start of a path. */
const VARIABLE_PATH = /^\$([A-Za-z_][A-Za-z0-9_]*)/;

/** A path that reads a variable, rewritten to read it from the context object. */
export function rewritePath(path: string): string {
  return path.replace(VARIABLE_PATH, `$$$$.${VARIABLES_KEY}.$1`);
}

/**
 * An intrinsic function call with its variable arguments rewritten: every `$name` outside a
 * quoted string literal that is not part of `$$` (escapes inside literals are skipped).
 */
function rewriteIntrinsic(call: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < call.length; i++) {
    const c = call[i];
    if (quoted && c === '\\') {
      out += c + (call[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === "'") quoted = !quoted;
    if (!quoted && c === '$' && call[i - 1] !== '$' && /[A-Za-z_]/.test(call[i + 1] ?? '')) {
      out += `$$.${VARIABLES_KEY}.`;
      continue;
    }
    out += c;
  }
  return out;
}

/** A `"key.$"` value: a path or an intrinsic function call. */
const rewriteDynamic = (value: string) =>
  value.startsWith('$') ? rewritePath(value) : rewriteIntrinsic(value);

/** A payload template (Parameters, ItemSelector, ResultSelector, Assign) with variables rewritten. */
export function rewriteTemplate(template: Json): Json {
  if (Array.isArray(template)) return template.map(rewriteTemplate);
  if (template === null || typeof template !== 'object') return template;
  return Object.fromEntries(
    Object.entries(template).map(([k, v]) => [
      k,
      k.endsWith('.$') && typeof v === 'string' ? rewriteDynamic(v) : rewriteTemplate(v),
    ])
  );
}

/** The path fields of a state (and of its Choice rules) that may read variables. */
const PATH_FIELDS = [
  'InputPath',
  'OutputPath',
  'ItemsPath',
  'SecondsPath',
  'TimestampPath',
  'ErrorPath',
  'CausePath',
  'TimeoutSecondsPath',
  'HeartbeatSecondsPath',
  'MaxConcurrencyPath',
];

/** A Choice rule with its `Variable` and `…Path` operands rewritten, nested rules too. */
export function rewriteRule(rule: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(rule)) {
    if (k === 'And' || k === 'Or') out[k] = (v as Record<string, Json>[]).map(rewriteRule);
    else if (k === 'Not') out[k] = rewriteRule(v as Record<string, Json>);
    else if ((k === 'Variable' || k.endsWith('Path')) && typeof v === 'string') {
      out[k] = rewritePath(v);
    } else out[k] = v;
  }
  return out;
}

/** A JSONPath state with every variable reference rewritten (ResultPath writes state data only). */
export function rewriteState<T extends Record<string, Json>>(state: T): T {
  const out: Record<string, Json> = { ...state };
  for (const f of PATH_FIELDS) {
    if (typeof out[f] === 'string') out[f] = rewritePath(out[f] as string);
  }
  for (const f of ['Parameters', 'ItemSelector', 'ResultSelector', 'Assign']) {
    if (f in out) out[f] = rewriteTemplate(out[f]);
  }
  for (const f of ['ErrorPath', 'CausePath']) {
    if (typeof state[f] === 'string' && !(state[f] as string).startsWith('$')) {
      out[f] = rewriteIntrinsic(state[f] as string);
    }
  }
  if (Array.isArray(out.Choices)) out.Choices = out.Choices.map(rewriteRule);
  if (Array.isArray(out.Catch)) {
    out.Catch = out.Catch.map((c: Record<string, Json>) =>
      'Assign' in c ? { ...c, Assign: rewriteTemplate(c.Assign) } : c
    );
  }
  return out as T;
}

/** The context object a rewritten field is evaluated with. */
export const withVariables = (context: Record<string, Json>, variables: Record<string, Json>) => ({
  ...context,
  [VARIABLES_KEY]: variables,
});

/**
 * Runs a one-state (or, for Choice, one-rule) machine on the interpreter. Its failure is
 * the state's: the interpreter's own error (`States.Runtime`, a Fail state's Error and
 * Cause), unwrapped from the execution error.
 */
async function runOnInterpreter(
  definition: Record<string, Json>,
  input: Json,
  context: Record<string, Json>
): Promise<Json> {
  const sm = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
  try {
    return await sm.run(input as never, { context: context as never }).result;
  } catch (err) {
    if (err instanceof ExecutionError && err.cause instanceof Error) throw err.cause;
    throw err;
  }
}

/**
 * The running state's name, so `$$.State.Name` is right: the interpreter sets `$$.State`
 * itself (Name, EnteredTime, RetryCount 0) for the one state it runs.
 */
const nameIn = (context: Record<string, Json>) =>
  (context.State as { Name?: string } | undefined)?.Name ?? 'S';

const single = (state: Record<string, Json>, context: Record<string, Json>) => ({
  StartAt: nameIn(context),
  States: { [nameIn(context)]: state },
});

/** The value at a path (a variable, `$$…` or the data); null: `{}`, as for InputPath/OutputPath. */
export async function valueAt(
  path: string | null | undefined,
  data: Json,
  context: Record<string, Json>
): Promise<Json> {
  if (path === undefined) return data;
  if (path === null) return {};
  const out = (await runOnInterpreter(
    single({ Type: 'Pass', Parameters: { 'v.$': path }, End: true }, context),
    data,
    context
  )) as { v: Json };
  return out.v;
}

/** A payload template (Parameters, ItemSelector, ResultSelector, Assign) on `data`. */
export function evaluateTemplate(
  template: Json,
  data: Json,
  context: Record<string, Json>
): Promise<Json> {
  return runOnInterpreter(
    single({ Type: 'Pass', Parameters: template, End: true }, context),
    data,
    context
  );
}

/**
 * ResultPath then OutputPath: the state's (effective) result put into its raw input.
 * https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html
 */
export function placeResult(
  rawInput: Json,
  result: Json,
  fields: { ResultPath?: string | null; OutputPath?: string | null },
  context: Record<string, Json>
): Promise<Json> {
  const state: Record<string, Json> = { Type: 'Pass', Result: result, End: true };
  if ('ResultPath' in fields) state.ResultPath = fields.ResultPath;
  if ('OutputPath' in fields) state.OutputPath = fields.OutputPath;
  return runOnInterpreter(single(state, context), rawInput, context);
}

/** Whether a Choice rule (JSONPath operators) holds for the Choice state's effective input. */
export async function ruleHolds(
  rule: Record<string, Json>,
  input: Json,
  context: Record<string, Json>
): Promise<boolean> {
  const { Next: _next, Assign: _assign, ...test } = rule;
  // The two ends have names no state can have (the interpreter does not validate them here).
  const [yes, no] = ['\u0000yes', '\u0000no'];
  const verdict = await runOnInterpreter(
    {
      StartAt: nameIn(context),
      States: {
        [nameIn(context)]: { Type: 'Choice', Choices: [{ ...test, Next: yes }], Default: no },
        [yes]: { Type: 'Pass', Result: true, End: true },
        [no]: { Type: 'Pass', Result: false, End: true },
      },
    },
    input,
    context
  );
  return verdict === true;
}

/** A Fail state's Error and Cause (given, or at ErrorPath/CausePath: a path or an intrinsic). */
export async function failureFields(
  state: Record<string, Json>,
  input: Json,
  context: Record<string, Json>
): Promise<{ error?: string; cause?: string }> {
  const dynamic = (path: Json) =>
    typeof path === 'string'
      ? (evaluateTemplate({ 'v.$': path }, input, context) as Promise<{ v: string }>).then(
          (o) => o.v
        )
      : undefined;
  return {
    error: (await dynamic(state.ErrorPath)) ?? (state.Error as string | undefined),
    cause: (await dynamic(state.CausePath)) ?? (state.Cause as string | undefined),
  };
}

/**
 * A JSONPath-only definition as the interpreter's own validation can read it: every
 * state's variable references rewritten (valid context paths) and `Assign` left out
 * (a field it predates), nested workflows too. The runtime validates machines with
 * variables this way before they run on the engine.
 */
export function withoutVariables(definition: Record<string, Json>): Record<string, Json> {
  const states = (definition.States ?? {}) as Record<string, Record<string, Json>>;
  const out: Record<string, Json> = {};
  for (const [name, raw] of Object.entries(states)) {
    const { Assign: _assign, ...s } = rewriteState(raw);
    if (Array.isArray(s.Choices)) {
      s.Choices = s.Choices.map(({ Assign: _a, ...rule }: Record<string, Json>) => rule);
    }
    if (Array.isArray(s.Catch)) {
      s.Catch = s.Catch.map(({ Assign: _a, ...c }: Record<string, Json>) => c);
    }
    for (const key of ['ItemProcessor', 'Iterator']) {
      if (s[key]) s[key] = withoutVariables(s[key] as Record<string, Json>);
    }
    if (Array.isArray(s.Branches)) {
      s.Branches = s.Branches.map((b: Record<string, Json>) => withoutVariables(b));
    }
    out[name] = s;
  }
  return { ...definition, States: out };
}
