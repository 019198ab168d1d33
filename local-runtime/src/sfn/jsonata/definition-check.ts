import { expressionOf, syntaxErrorOf } from './expressions.js';

/**
 * Checks of a definition's query languages, before anything runs.
 *
 * `definitionErrors`: what AWS itself refuses. A JSONata state has `Arguments` and `Output`
 * where a JSONPath state has the five path fields, and no `…Path` variants of its other
 * fields (https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html);
 * a JSONPath state has no `Arguments`, `Output`, or Choice `Condition`.
 *
 * A JSONata machine's states are all JSONata: AWS refuses `QueryLanguage: JSONPath` on a
 * state of it (a JSONPath machine may have JSONata states).
 *
 * `unsupportedQueryLanguageFeatures`: what AWS runs but the local runtime does not (yet),
 * named so the machine is refused instead of run with other semantics
 * (local-runtime/README.md lists them).
 */

interface StateDef {
  Type?: string;
  QueryLanguage?: string;
  Choices?: Array<Record<string, unknown>>;
  Catch?: Array<Record<string, unknown>>;
  Branches?: WorkflowDef[];
  ItemProcessor?: WorkflowDef & { ProcessorConfig?: { Mode?: string } };
  Iterator?: WorkflowDef;
  [field: string]: unknown;
}

interface WorkflowDef {
  QueryLanguage?: string;
  States?: Record<string, StateDef>;
}

/** Fields only JSONPath states have. */
const JSONPATH_ONLY_FIELDS = [
  'InputPath',
  'Parameters',
  'ResultSelector',
  'ResultPath',
  'OutputPath',
  'Result',
  'ItemsPath',
  'SecondsPath',
  'TimestampPath',
  'ErrorPath',
  'CausePath',
  'TimeoutSecondsPath',
  'HeartbeatSecondsPath',
  'MaxConcurrencyPath',
  'ToleratedFailureCountPath',
  'ToleratedFailurePercentagePath',
];

/** Fields only JSONata states (or their Choice rules) have. */
const JSONATA_ONLY_FIELDS = ['Arguments', 'Output', 'Items'];

/** Choice-rule fields of JSONPath (the comparison operators end in these or are these). */
const JSONPATH_RULE = /^(Variable|And|Or|Not|(String|Numeric|Boolean|Timestamp)\w+|Is\w+)$/;

/** Fields of a state whose values may hold `{% %}` expressions (checked for syntax). */
const EXPRESSION_FIELDS = [
  'Arguments',
  'Output',
  'Assign',
  'Items',
  'ItemSelector',
  'MaxConcurrency',
  'Seconds',
  'Timestamp',
  'Error',
  'Cause',
  'TimeoutSeconds',
  'HeartbeatSeconds',
];

/**
 * @param at where the state is, as AWS's validation names it (`/States/M/ItemProcessor/States/P`)
 * @param label the same as the runtime's other feature checks name it (`M > P`)
 */
type Visit = (
  state: StateDef,
  at: string,
  label: string,
  language: string,
  machineLanguage: string
) => void;

function walk(def: WorkflowDef, visit: Visit, path = '', label = '', machineLanguage?: string) {
  const machine = machineLanguage ?? def.QueryLanguage ?? 'JSONPath';
  for (const [name, s] of Object.entries(def.States ?? {})) {
    const at = `${path}/States/${name}`;
    const named = label ? `${label} > ${name}` : name;
    visit(s, at, named, s.QueryLanguage ?? machine, machine);
    const processor = s.ItemProcessor ?? s.Iterator;
    if (processor) walk(processor, visit, `${at}/ItemProcessor`, named, machine);
    for (const [i, b] of (s.Branches ?? []).entries()) {
      walk(b, visit, `${at}/Branches/${i}`, named, machine);
    }
  }
}

/** Every string in a field that is a `{% %}` expression. */
function expressions(value: unknown, out: string[] = []): string[] {
  const source = expressionOf(value);
  if (source !== undefined) out.push(source);
  else if (Array.isArray(value)) for (const v of value) expressions(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) expressions(v, out);
  }
  return out;
}

/** What AWS's validation refuses, each with the exact field and where it is. */
export function definitionErrors(definition: Record<string, unknown>): string[] {
  const errors: string[] = [];
  const field = (at: string, name: string, language: string) =>
    `SCHEMA_VALIDATION_FAILED: The field '${name}' is not supported for ${language} states at ${at}/${name}`;
  walk(definition as WorkflowDef, (s, at, _label, language, machine) => {
    // A JSONata machine's states are all JSONata; only a JSONPath machine may mix
    // (https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html).
    if (machine === 'JSONata' && s.QueryLanguage === 'JSONPath') {
      errors.push(
        `SCHEMA_VALIDATION_FAILED: The QueryLanguage of a state cannot be JSONPath when the state machine's QueryLanguage is JSONata at ${at}/QueryLanguage`
      );
    }
    if (language === 'JSONata') {
      for (const f of JSONPATH_ONLY_FIELDS) if (f in s) errors.push(field(at, f, 'JSONata'));
      (s.Choices ?? []).forEach((rule, i) => {
        for (const f of Object.keys(rule)) {
          if (JSONPATH_RULE.test(f)) errors.push(field(`${at}/Choices/${i}`, f, 'JSONata'));
        }
      });
      (s.Catch ?? []).forEach((c, i) => {
        if ('ResultPath' in c) errors.push(field(`${at}/Catch/${i}`, 'ResultPath', 'JSONata'));
      });
      for (const f of EXPRESSION_FIELDS) {
        for (const source of expressions(s[f])) {
          const problem = syntaxErrorOf(source);
          if (problem) {
            errors.push(`SCHEMA_VALIDATION_FAILED: invalid JSONata in ${at}/${f}: ${problem}`);
          }
        }
      }
    } else {
      for (const f of JSONATA_ONLY_FIELDS) if (f in s) errors.push(field(at, f, 'JSONPath'));
      (s.Choices ?? []).forEach((rule, i) => {
        if ('Condition' in rule) {
          errors.push(field(`${at}/Choices/${i}`, 'Condition', 'JSONPath'));
        }
      });
      (s.Catch ?? []).forEach((c, i) => {
        if ('Output' in c) errors.push(field(`${at}/Catch/${i}`, 'Output', 'JSONPath'));
      });
    }
  });
  return errors;
}

/**
 * The one query language all states use (each its own `QueryLanguage`, else the machine's),
 * or `mixed`.
 */
export function queryLanguageOf(definition: unknown): 'JSONata' | 'JSONPath' | 'mixed' {
  const def = (definition ?? {}) as WorkflowDef;
  const languages = new Set<string>();
  walk(def, (_s, _at, _label, language) => languages.add(language));
  if (languages.size > 1) return 'mixed';
  const only = [...languages][0] ?? def.QueryLanguage;
  return only === 'JSONata' ? 'JSONata' : 'JSONPath';
}

/** Whether any state (or Choice rule, or catcher) of the machine assigns variables. */
export function assignsVariables(definition: unknown): boolean {
  let found = false;
  walk((definition ?? {}) as WorkflowDef, (s) => {
    if (
      'Assign' in s ||
      (s.Choices ?? []).some((r) => 'Assign' in r) ||
      (s.Catch ?? []).some((c) => 'Assign' in c)
    ) {
      found = true;
    }
  });
  return found;
}

/**
 * True when the machine runs on the engine (./engine.ts): it has a JSONata state, or
 * variables (which the interpreter does not have). Other machines run on
 * aws-local-stepfunctions as they are.
 */
export const runsOnEngine = (definition: unknown) =>
  queryLanguageOf(definition) !== 'JSONPath' || assignsVariables(definition);

/** What the local runtime cannot run of the query languages, by name and place. */
export function unsupportedQueryLanguageFeatures(definition: Record<string, unknown>): string[] {
  const problems: string[] = [];
  walk(definition as WorkflowDef, (s, _at, at, language) => {
    // A callback Task's timers are read from the definition before it runs (sfn/task-tokens.ts).
    if (language === 'JSONata' && String(s.Resource ?? '').endsWith('.waitForTaskToken')) {
      for (const f of ['TimeoutSeconds', 'HeartbeatSeconds']) {
        if (expressionOf(s[f]) !== undefined) {
          problems.push(`${at}: ${f} as a JSONata expression on a .waitForTaskToken Task`);
        }
      }
    }
  });
  return problems;
}

const STATE_TYPES = new Set([
  'Pass',
  'Task',
  'Choice',
  'Wait',
  'Succeed',
  'Fail',
  'Parallel',
  'Map',
]);

/**
 * The structure of a JSONata machine: StartAt and every transition name a state of the same
 * workflow, every state a known Type, every non-terminal state a Next or End. (The
 * interpreter's own schema check predates JSONata and refuses valid ones, e.g. a number as
 * `Output`, so JSONata machines are checked here instead.)
 */
export function structureErrors(definition: Record<string, unknown>, path = ''): string[] {
  const def = definition as WorkflowDef & { StartAt?: string };
  const errors: string[] = [];
  const states = def.States ?? {};
  const target = (name: unknown, at: string) => {
    if (typeof name !== 'string' || !(name in states)) {
      errors.push(`MISSING_TRANSITION_TARGET: State '${String(name)}' does not exist at ${at}`);
    }
  };
  target(def.StartAt, `${path}/StartAt`);
  for (const [name, s] of Object.entries(states)) {
    const at = `${path}/States/${name}`;
    if (!STATE_TYPES.has(String(s.Type))) {
      errors.push(`SCHEMA_VALIDATION_FAILED: unknown state Type '${String(s.Type)}' at ${at}/Type`);
      continue;
    }
    if ('Next' in s) target(s.Next, `${at}/Next`);
    else if (!['Choice', 'Succeed', 'Fail'].includes(String(s.Type)) && s.End !== true) {
      errors.push(`SCHEMA_VALIDATION_FAILED: a ${s.Type} state needs Next or End at ${at}`);
    }
    if ('Default' in s) target(s.Default, `${at}/Default`);
    for (const [i, rule] of (s.Choices ?? []).entries()) {
      target(rule.Next, `${at}/Choices/${i}/Next`);
    }
    for (const [i, c] of (s.Catch ?? []).entries()) target(c.Next, `${at}/Catch/${i}/Next`);
    const processor = s.ItemProcessor ?? s.Iterator;
    if (processor) errors.push(...structureErrors({ ...processor }, `${at}/ItemProcessor`));
    for (const [i, b] of (s.Branches ?? []).entries()) {
      errors.push(...structureErrors({ ...b }, `${at}/Branches/${i}`));
    }
  }
  return errors;
}
