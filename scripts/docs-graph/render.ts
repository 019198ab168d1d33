/**
 * Amazon States Language definition → mermaid flowchart, as a pure function, so the
 * README's state-machine diagram is drawn from the synthesized machine and never by hand.
 *
 * Drawing rules (the legend under the diagram in README.md says the same):
 * - a Task is a rectangle (`λ` when it invokes a Lambda function), a Choice a rhombus,
 *   a Pass (or Wait) a stadium, a Succeed a double circle, a Fail a flag;
 * - a Map or Parallel state is a subgraph holding its item processor / each branch
 *   (a Parallel branch is a nested subgraph); an edge to or from the state meets the box;
 * - `Next` is a solid arrow, a Choice rule a solid arrow labelled with its condition
 *   (`otherwise` for the Default), a Catch a dashed arrow labelled with its errors.
 * Retry is not drawn: it changes no path through the machine.
 *
 * ASL: https://states-language.net/spec.html and
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html
 */

export interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Default?: string;
  readonly Choices?: readonly AslChoiceRule[];
  readonly Catch?: readonly { readonly ErrorEquals: readonly string[]; readonly Next: string }[];
  readonly Resource?: string;
  readonly MaxConcurrency?: number;
  readonly ItemProcessor?: AslMachine & { readonly ProcessorConfig?: { readonly Mode?: string } };
  /** The pre-2022 name of a Map's ItemProcessor. */
  readonly Iterator?: AslMachine;
  readonly Branches?: readonly AslMachine[];
}

export interface AslMachine {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, AslState>>;
}

/** A Choice rule: a comparison (`Variable` + one operator), a boolean combination, or JSONata. */
export type AslChoiceRule = Readonly<Record<string, unknown>> & { readonly Next?: string };

/** The comparison operators of a Choice rule, as drawn on an edge. */
const OPERATORS: Readonly<Record<string, string>> = {
  StringEquals: '==',
  StringLessThan: '<',
  StringGreaterThan: '>',
  StringLessThanEquals: '<=',
  StringGreaterThanEquals: '>=',
  StringMatches: 'matches',
  NumericEquals: '==',
  NumericLessThan: '<',
  NumericGreaterThan: '>',
  NumericLessThanEquals: '<=',
  NumericGreaterThanEquals: '>=',
  BooleanEquals: '==',
  TimestampEquals: '==',
  TimestampLessThan: '<',
  TimestampGreaterThan: '>',
  TimestampLessThanEquals: '<=',
  TimestampGreaterThanEquals: '>=',
};

/** `$.branch.kind` → `branch.kind`: the edge label names the field, not the JSONPath syntax. */
const field = (path: unknown): string => String(path).replace(/^\$\.?/, '') || '$';

/** A compared value: strings in single quotes, so the label needs no escaped double quote. */
const literal = (value: unknown): string =>
  typeof value === 'string' ? `'${value}'` : JSON.stringify(value);

/** One Choice rule as text: `branch.kind == "thumbnail"`, `plan.segments present`, `a and b`. */
export const describeRule = (rule: AslChoiceRule): string => {
  if (typeof rule.Condition === 'string') return rule.Condition.replace(/^\{%\s*|\s*%\}$/g, '');
  if (Array.isArray(rule.And)) return rule.And.map((r) => describeRule(r)).join(' and ');
  if (Array.isArray(rule.Or)) return rule.Or.map((r) => describeRule(r)).join(' or ');
  if (rule.Not) return `not (${describeRule(rule.Not as AslChoiceRule)})`;
  const variable = field(rule.Variable);
  for (const [key, value] of Object.entries(rule)) {
    if (key === 'Variable' || key === 'Next') continue;
    const path = key.endsWith('Path');
    const op = OPERATORS[path ? key.slice(0, -4) : key];
    if (op) return `${variable} ${op} ${path ? field(value) : literal(value)}`;
    if (key === 'IsPresent') return `${variable} ${value ? 'present' : 'absent'}`;
    if (key.startsWith('Is'))
      return `${variable} ${value ? '' : 'not '}${key.slice(2).toLowerCase()}`;
  }
  throw new Error(`describeRule: no operator in Choice rule ${JSON.stringify(rule)}`);
};

/** Mermaid label text inside double quotes: its own entity codes for the characters it parses. */
const label = (text: string): string =>
  text.replace(/&/g, '#amp;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');

/** A mermaid node id: letters, digits and `_`; state names are unique in a machine (ASL). */
const nodeId = (name: string): string => `s_${name.replace(/[^A-Za-z0-9]/g, '_')}`;

const isLambda = (resource: string | undefined): boolean =>
  resource !== undefined &&
  (/^arn:[^:]+:lambda:/.test(resource) || resource.includes(':::lambda:invoke'));

/** Options: a title comment; the defaults suit the README. */
export interface RenderOptions {
  /** Flowchart direction. @default 'TD' */
  readonly direction?: 'TD' | 'LR';
}

/**
 * Renders an ASL definition as a mermaid `flowchart`. Deterministic: states in definition
 * order, edges in the order the state lists them, so the output is stable for a drift test.
 * Throws on a transition to a state that does not exist in its scope.
 */
export const renderMermaid = (definition: AslMachine, options: RenderOptions = {}): string => {
  const lines: string[] = [`flowchart ${options.direction ?? 'TD'}`];
  const edges: string[] = [];
  const seen = new Set<string>();

  const renderScope = (
    machine: AslMachine,
    indent: string,
    startId: string,
    startLabel: string
  ): void => {
    const names = Object.keys(machine.States);
    const check = (from: string, to: string): string => {
      if (!names.includes(to)) throw new Error(`renderMermaid: ${from} → ${to}: no such state`);
      return nodeId(to);
    };
    if (!names.includes(machine.StartAt)) {
      throw new Error(`renderMermaid: StartAt ${machine.StartAt}: no such state`);
    }
    lines.push(`${indent}${startId}(("${label(startLabel)}"))`);
    edges.push(`  ${startId} --> ${nodeId(machine.StartAt)}`);
    for (const name of names) {
      const state = machine.States[name];
      const id = nodeId(name);
      if (seen.has(id)) throw new Error(`renderMermaid: two states map to node ${id} (${name})`);
      seen.add(id);
      switch (state.Type) {
        case 'Map': {
          const processor = state.ItemProcessor ?? state.Iterator;
          if (!processor) throw new Error(`renderMermaid: Map ${name} has no ItemProcessor`);
          const distributed = state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED';
          const title = [
            name,
            distributed ? 'Distributed Map' : 'Map',
            ...(state.MaxConcurrency ? [`MaxConcurrency ${state.MaxConcurrency}`] : []),
          ].join(' · ');
          lines.push(`${indent}subgraph ${id} ["${label(title)}"]`);
          renderScope(processor, `${indent}  `, `${id}_start`, 'each item');
          lines.push(`${indent}end`);
          break;
        }
        case 'Parallel': {
          lines.push(`${indent}subgraph ${id} ["${label(`${name} · Parallel`)}"]`);
          (state.Branches ?? []).forEach((branch, i) => {
            const branchId = `${id}_b${i + 1}`;
            lines.push(`${indent}  subgraph ${branchId} ["branch ${i + 1}"]`);
            renderScope(branch, `${indent}    `, `${branchId}_start`, 'start');
            lines.push(`${indent}  end`);
          });
          lines.push(`${indent}end`);
          break;
        }
        case 'Task':
          lines.push(`${indent}${id}["${label(isLambda(state.Resource) ? `λ ${name}` : name)}"]`);
          break;
        case 'Choice':
          lines.push(`${indent}${id}{"${label(name)}"}`);
          break;
        case 'Succeed':
          lines.push(`${indent}${id}((("${label(name)}")))`);
          break;
        case 'Fail':
          lines.push(`${indent}${id}>"${label(`${name} (Fail)`)}"]`);
          break;
        default:
          lines.push(`${indent}${id}(["${label(name)}"])`);
      }
      if (state.Next) edges.push(`  ${id} --> ${check(name, state.Next)}`);
      for (const rule of state.Choices ?? []) {
        if (!rule.Next) throw new Error(`renderMermaid: a Choice rule of ${name} has no Next`);
        edges.push(`  ${id} -- "${label(describeRule(rule))}" --> ${check(name, rule.Next)}`);
      }
      if (state.Default) edges.push(`  ${id} -- otherwise --> ${check(name, state.Default)}`);
      for (const c of state.Catch ?? []) {
        edges.push(
          `  ${id} -. "${label(`Catch ${c.ErrorEquals.join(', ')}`)}" .-> ${check(name, c.Next)}`
        );
      }
    }
  };

  renderScope(definition, '  ', 'start', 'start');
  return `${[...lines, ...edges].join('\n')}\n`;
};

const BEGIN = '<!-- state-machine:begin -->';
const END = '<!-- state-machine:end -->';

/**
 * Puts `mermaid` between the README's marker comments, fenced, with a note on how it
 * was made. Throws when the markers are missing or out of order.
 */
export const replaceBetweenMarkers = (document: string, mermaid: string, note: string): string => {
  const begin = document.indexOf(BEGIN);
  const end = document.indexOf(END);
  if (begin < 0 || end < begin) {
    throw new Error(`the document has no ${BEGIN} … ${END} block`);
  }
  const block = `${BEGIN}\n<!-- ${note} -->\n\n\`\`\`mermaid\n${mermaid}\`\`\`\n\n`;
  return document.slice(0, begin) + block + document.slice(end);
};

export const MARKERS = { begin: BEGIN, end: END } as const;

/** The name of the one state that stands for several alike tasks in a folded diagram. */
export const FOLDED_TASK = 'Run‹Kind› · one task per kind';

/**
 * Folds the tasks a Choice routes to that are alike (Lambda tasks with the same
 * Next, End and Catch, reached from nowhere else) into one state, so the README's
 * diagram shows the shape of the workflow and does not change when a branch kind
 * like the others is registered. A task with its own path (a fallback) stays.
 * Applied to every scope (Map processors, Parallel branches), one group per
 * scope (the first Choice with alike targets). Pure.
 */
export const foldAlikeTasks = (machine: AslMachine): AslMachine => {
  const states: Record<string, AslState> = {};
  for (const [name, state] of Object.entries(machine.States)) {
    states[name] = {
      ...state,
      ...(state.ItemProcessor && {
        ItemProcessor: { ...state.ItemProcessor, ...foldAlikeTasks(state.ItemProcessor) },
      }),
      ...(state.Iterator && { Iterator: foldAlikeTasks(state.Iterator) }),
      ...(state.Branches && { Branches: state.Branches.map(foldAlikeTasks) }),
    };
  }
  const inbound = new Map<string, number>();
  const count = (to: string | undefined) => to && inbound.set(to, (inbound.get(to) ?? 0) + 1);
  for (const s of Object.values(states)) {
    count(s.Next);
    count(s.Default);
    for (const r of s.Choices ?? []) count(r.Next);
    for (const c of s.Catch ?? []) count(c.Next);
  }
  count(machine.StartAt);
  const shape = (s: AslState) => JSON.stringify([s.Next, s.End, s.Catch]);
  for (const [name, choice] of Object.entries(states)) {
    if (choice.Type !== 'Choice' || !choice.Choices) continue;
    const groups = new Map<string, string[]>();
    for (const rule of choice.Choices) {
      const target = rule.Next && states[rule.Next];
      if (!rule.Next || !target || target.Type !== 'Task' || !isLambda(target.Resource)) continue;
      if (inbound.get(rule.Next) !== 1) continue;
      groups.set(shape(target), [...(groups.get(shape(target)) ?? []), rule.Next]);
    }
    const folded = [...groups.values()].find((g) => g.length > 1);
    if (!folded || states[FOLDED_TASK]) continue;
    const first = choice.Choices.find((r) => r.Next === folded[0]) as AslChoiceRule;
    const choices = choice.Choices.flatMap((r) => {
      if (!r.Next || !folded.includes(r.Next)) return [r];
      return r === first
        ? [{ Variable: r.Variable, StringEquals: '‹kind›', Next: FOLDED_TASK }]
        : [];
    });
    states[name] = { ...choice, Choices: choices };
    const renamed: Record<string, AslState> = {};
    for (const [n, s] of Object.entries(states)) {
      if (n === folded[0]) renamed[FOLDED_TASK] = s;
      else if (!folded.includes(n)) renamed[n] = s;
    }
    return { ...machine, States: renamed };
  }
  return { ...machine, States: states };
};
