/**
 * EventBridge event pattern matching, for the rules the local runtime runs
 * (AWS::Events::Rule). No maintained npm package implements it (AWS's own
 * engine, event-ruler, is Java), so this is the small subset a rule here may
 * use, each as the documentation defines it:
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 *
 * - a field whose pattern value is an array matches when the event's value (or,
 *   for an array in the event, any of its elements) matches any element;
 * - exact values (string, number, boolean, null; numbers compared as numbers),
 *   `prefix`, `suffix` (both also with `equals-ignore-case`), `equals-ignore-case`,
 *   `anything-but` (a value, a list, `prefix`, `suffix`), `numeric`, `exists`,
 *   `wildcard` (`*` only), and `$or` at any level of the pattern.
 *
 * Anything else (`cidr`, unknown operators) is refused when the rule is loaded
 * (`patternProblems`), never silently ignored.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Matcher = Json;

const OPERATORS = new Set([
  'prefix',
  'suffix',
  'equals-ignore-case',
  'anything-but',
  'numeric',
  'exists',
  'wildcard',
]);
const NUMERIC_OPS = new Set(['<', '<=', '=', '>=', '>']);

const isObject = (v: unknown): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** What in a pattern this matcher cannot evaluate; empty when the whole pattern is supported. */
export function patternProblems(pattern: unknown, path = ''): string[] {
  if (!isObject(pattern)) return [`${path || '(root)'}: a pattern must be a JSON object`];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(pattern)) {
    const at = path ? `${path}.${key}` : key;
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2) {
        problems.push(`${at}: $or takes an array of at least two patterns`);
      } else {
        for (const [i, p] of value.entries()) problems.push(...patternProblems(p, `${at}[${i}]`));
      }
    } else if (Array.isArray(value)) {
      for (const m of value) problems.push(...matcherProblems(m, at));
    } else if (isObject(value)) {
      problems.push(...patternProblems(value, at));
    } else {
      problems.push(`${at}: a leaf of a pattern must be an array of values`);
    }
  }
  return problems;
}

function matcherProblems(m: Matcher, at: string): string[] {
  if (!isObject(m)) return [];
  const keys = Object.keys(m);
  if (keys.length !== 1)
    return [`${at}: a matcher object takes one operator, got ${keys.join(', ')}`];
  const [op] = keys as [string];
  if (!OPERATORS.has(op)) return [`${at}: operator "${op}" is not supported locally`];
  const v = m[op];
  if (op === 'numeric') {
    if (!Array.isArray(v) || v.length === 0 || v.length % 2 !== 0)
      return [`${at}: numeric takes [op, number, …] pairs`];
    for (let i = 0; i < v.length; i += 2) {
      if (!NUMERIC_OPS.has(String(v[i])) || typeof v[i + 1] !== 'number')
        return [`${at}: numeric pair ${JSON.stringify(v.slice(i, i + 2))} is not [op, number]`];
    }
  }
  if (op === 'exists' && typeof v !== 'boolean') return [`${at}: exists takes true or false`];
  return [];
}

/** Does `event` match `pattern`? (Validate the pattern with `patternProblems` first.) */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (!isObject(pattern)) return false;
  for (const [key, value] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!(value as Json[]).some((p) => matchesPattern(p, event))) return false;
      continue;
    }
    const present = isObject(event) && Object.hasOwn(event, key);
    const field = present ? (event as Record<string, Json>)[key] : undefined;
    if (Array.isArray(value)) {
      if (!matchesLeaf(value, present, field)) return false;
    } else if (isObject(value)) {
      // A nested pattern needs an object in the event; `exists: false` inside may match its absence.
      if (!matchesPattern(value, isObject(field) ? field : {})) return false;
      if (!isObject(field) && !onlyAbsence(value)) return false;
    }
  }
  return true;
}

/** True when every leaf of a nested pattern is `exists: false` (satisfied by a missing object). */
function onlyAbsence(pattern: Record<string, Json>): boolean {
  return Object.values(pattern).every((v) =>
    Array.isArray(v)
      ? v.length > 0 && v.every((m) => isObject(m) && m.exists === false)
      : isObject(v) && onlyAbsence(v)
  );
}

function matchesLeaf(matchers: Json[], present: boolean, field: Json | undefined): boolean {
  const values: Json[] = present ? (Array.isArray(field) ? field : [field as Json]) : [];
  return matchers.some((m) => {
    if (isObject(m) && 'exists' in m) {
      // An empty array in the event counts as absent for exists.
      return m.exists === (present && values.length > 0);
    }
    return values.some((v) => matchesValue(m, v));
  });
}

const lower = (s: string) => s.toLowerCase();

function matchesString(spec: Json, v: string, how: (a: string, b: string) => boolean): boolean {
  if (typeof spec === 'string') return how(v, spec);
  if (isObject(spec) && typeof spec['equals-ignore-case'] === 'string') {
    return how(lower(v), lower(spec['equals-ignore-case']));
  }
  return false;
}

function matchesValue(m: Matcher, v: Json): boolean {
  if (!isObject(m)) {
    if (typeof m === 'number' && typeof v === 'number') return m === v;
    return m === v;
  }
  const [op] = Object.keys(m) as [string];
  const spec = m[op] as Json;
  switch (op) {
    case 'prefix':
      return typeof v === 'string' && matchesString(spec, v, (a, b) => a.startsWith(b));
    case 'suffix':
      return typeof v === 'string' && matchesString(spec, v, (a, b) => a.endsWith(b));
    case 'equals-ignore-case':
      return typeof v === 'string' && typeof spec === 'string' && lower(v) === lower(spec);
    case 'wildcard':
      return typeof v === 'string' && typeof spec === 'string' && wildcard(spec).test(v);
    case 'numeric':
      return typeof v === 'number' && numeric(spec as Json[], v);
    case 'anything-but': {
      if (isObject(spec)) return !matchesValue(spec, v);
      const excluded = Array.isArray(spec) ? spec : [spec];
      return !excluded.some((x) => x === v);
    }
    default:
      return false;
  }
}

function numeric(spec: Json[], v: number): boolean {
  for (let i = 0; i < spec.length; i += 2) {
    const n = spec[i + 1] as number;
    const ok =
      spec[i] === '<'
        ? v < n
        : spec[i] === '<='
          ? v <= n
          : spec[i] === '='
            ? v === n
            : spec[i] === '>='
              ? v >= n
              : v > n;
    if (!ok) return false;
  }
  return true;
}

function wildcard(spec: string): RegExp {
  const escaped = spec.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`, 's');
}
