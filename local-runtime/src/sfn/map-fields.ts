import type { DistributedMapState } from './distributed-map.js';
import { evaluateField } from './jsonata/expressions.js';
import { rewritePath, rewriteTemplate, withVariables } from './jsonata/jsonpath-fields.js';

/**
 * The fields of a Distributed Map state that its Map Run evaluates, in the state's query
 * language. JSONPath: ItemsPath, payload templates (`"key.$"`, intrinsics) and `…Path`
 * fields, with workflow variables read as `$name`; JSONata: `Items`, and `{% %}` expressions
 * anywhere in ItemSelector, ItemReader `Arguments`, ItemBatcher, ResultWriter `Arguments`,
 * MaxConcurrency and the tolerated failures, with `$states.input`, `$states.context` and
 * the variables (https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html,
 * https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html).
 * A Distributed Map's child executions do not see the parent's variables; the fields the
 * parent evaluates (ItemSelector among them) do.
 */
export interface MapFields {
  /** The items when there is no ItemReader: ItemsPath (default `$`) or Items (default the input). */
  items(): Promise<unknown>;
  /** A template field; `extra` adds to the context object (`Map.Item` for ItemSelector). */
  template(value: unknown, field: string, extra?: Record<string, unknown>): Promise<unknown>;
  /** A number given directly (JSONata: possibly an expression) or at a JSONPath `…Path`. */
  value<T>(direct: T | undefined, path: string | undefined, field: string): Promise<T | undefined>;
  /** ItemReader's and ResultWriter's own arguments: `Parameters` (JSONPath) or `Arguments`. */
  readonly argumentsField: 'Parameters' | 'Arguments';
}

/** Evaluates a JSONPath payload template with the interpreter (the service's one-state Pass). */
export type JsonPathTemplate = (
  template: object,
  input: unknown,
  context: object
) => Promise<unknown>;

export function mapFieldsFor(
  state: DistributedMapState,
  language: string,
  input: unknown,
  context: Record<string, unknown>,
  variables: Record<string, unknown>,
  evaluateJsonPath: JsonPathTemplate
): MapFields {
  if (language === 'JSONata') {
    const ev = (value: unknown, field: string, extra?: Record<string, unknown>) =>
      evaluateField(value, field, { input, context: { ...context, ...extra } }, variables);
    return {
      argumentsField: 'Arguments',
      items: () => (state.Items === undefined ? Promise.resolve(input) : ev(state.Items, 'Items')),
      template: (value, field, extra) => ev(value, field, extra),
      value: async <T>(direct: T | undefined, _path: string | undefined, field: string) =>
        direct === undefined ? undefined : ((await ev(direct, field)) as T),
    };
  }
  // Without variables the fields go as written (the service caches a template's machine).
  const hasVariables = Object.keys(variables).length > 0;
  const ctx = (extra?: Record<string, unknown>) =>
    hasVariables ? withVariables({ ...context, ...extra }, variables) : { ...context, ...extra };
  const valueAt = async (path: string, extra?: Record<string, unknown>) =>
    ((await evaluateJsonPath({ 'v.$': rewritePath(path) }, input, ctx(extra))) as { v: unknown }).v;
  return {
    argumentsField: 'Parameters',
    items: () => valueAt(state.ItemsPath ?? '$'),
    template: (value, _field, extra) =>
      evaluateJsonPath(
        (hasVariables ? rewriteTemplate(value) : value) as object,
        input,
        ctx(extra)
      ),
    value: async <T>(direct: T | undefined, path: string | undefined) =>
      path === undefined ? direct : ((await valueAt(path)) as T),
  };
}
