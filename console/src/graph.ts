import type { HistoryEvent } from '@aws-sdk/client-sfn';

/**
 * The execution graph: the state machine's definition (DescribeStateMachine) laid
 * out in layers (a state's layer is its longest path from StartAt), with each state's
 * status, input, output and error folded from one execution's history. Map and
 * Parallel states carry their inner graphs. Pure: data.ts does the I/O.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html
 */

export interface GraphState {
  name: string;
  type: string;
  /** Every state this one can go to: Next, Default, each Choice's Next, each Catch's Next. */
  next: string[];
  /** Map (ItemProcessor / Iterator) and Parallel (Branches) inner graphs. */
  children?: Graph[];
}

export interface Graph {
  startAt: string;
  /** Layer by layer, from StartAt (longest path); states unreachable from it come last. */
  layers: GraphState[][];
}

interface AslState {
  Type?: string;
  Next?: string;
  Default?: string;
  Choices?: { Next?: string }[];
  Catch?: { Next?: string }[];
  Iterator?: AslMachine;
  ItemProcessor?: AslMachine;
  Branches?: AslMachine[];
}
interface AslMachine {
  StartAt?: string;
  States?: Record<string, AslState>;
}

const graphOf = (m: AslMachine): Graph => {
  const states = m.States ?? {};
  const nodes = new Map<string, GraphState>(
    Object.entries(states).map(([name, s]) => {
      const next = [
        s.Next,
        s.Default,
        ...(s.Choices ?? []).map((c) => c.Next),
        ...(s.Catch ?? []).map((c) => c.Next),
      ].filter((n): n is string => typeof n === 'string' && n in states);
      const inner = s.ItemProcessor ?? s.Iterator;
      const children = inner ? [graphOf(inner)] : s.Branches?.map(graphOf);
      return [
        name,
        { name, type: s.Type ?? '?', next: [...new Set(next)], ...(children ? { children } : {}) },
      ];
    })
  );
  // Longest path from StartAt over the forward edges: a state sits below every state that
  // can lead to it (Aggregate after FanOut, not beside Route because a Catch also reaches it).
  // Edges back to a state still on the DFS path (a polling loop) do not count.
  const order: string[] = [];
  const back = new Set<string>();
  const mark = new Map<string, 'open' | 'done'>();
  const visit = (name: string) => {
    mark.set(name, 'open');
    for (const n of nodes.get(name)?.next ?? []) {
      if (mark.get(n) === 'open') back.add(`${name}>${n}`);
      else if (!mark.has(n)) visit(n);
    }
    mark.set(name, 'done');
    order.push(name);
  };
  if (m.StartAt && nodes.has(m.StartAt)) visit(m.StartAt);
  const layerOf = new Map<string, number>();
  for (const name of order.reverse()) {
    const l = layerOf.get(name) ?? 0;
    layerOf.set(name, l);
    for (const n of nodes.get(name)?.next ?? []) {
      if (!back.has(`${name}>${n}`)) layerOf.set(n, Math.max(layerOf.get(n) ?? 0, l + 1));
    }
  }
  const unreachable = Math.max(-1, ...layerOf.values()) + 1;
  const layers: GraphState[][] = [];
  for (const node of nodes.values()) {
    const l = layerOf.get(node.name) ?? unreachable;
    const layer = layers[l] ?? [];
    layer.push(node);
    layers[l] = layer;
  }
  return { startAt: m.StartAt ?? '', layers: layers.filter(Boolean) };
};

/** Pure: the graph of an ASL definition (the JSON string DescribeStateMachine returns). */
export const graphFromDefinition = (definition: string): Graph =>
  graphOf(JSON.parse(definition) as AslMachine);

export type StateStatus = 'running' | 'succeeded' | 'failed';

export interface StateRun {
  status: StateStatus;
  /** How many times it was entered (a Map's inner states run once per item). */
  entered: number;
  /** The last entry's input and exit's output (cut at DETAIL_CHARS). */
  input?: string;
  output?: string;
  error?: string;
}

/** Inputs and outputs shown per state are cut here: a plan or a Map's output can be large. */
export const DETAIL_CHARS = 8192;
const cut = (s: string | undefined) =>
  s === undefined ? undefined : s.length > DETAIL_CHARS ? `${s.slice(0, DETAIL_CHARS)}…` : s;

/** Events that fail the state being run (a Task's or the Map Run's own failure). */
const FAILURE_DETAILS = [
  'taskFailedEventDetails',
  'lambdaFunctionFailedEventDetails',
  'taskTimedOutEventDetails',
  'lambdaFunctionTimedOutEventDetails',
  'mapRunFailedEventDetails',
  'executionFailedEventDetails',
] as const;

/**
 * Pure: each state's status from one execution's history, by name. A state is
 * failed when a failure event came while it was the latest one entered and it
 * was not exited afterwards (a Catch moves on to the next state's entry).
 */
export const stateRunsFromHistory = (events: readonly HistoryEvent[]): Record<string, StateRun> => {
  const runs: Record<string, StateRun> = {};
  let current: string | undefined;
  for (const e of events) {
    const entered = e.stateEnteredEventDetails;
    if (entered?.name) {
      const prev = runs[entered.name];
      runs[entered.name] = {
        status: 'running',
        entered: (prev?.entered ?? 0) + 1,
        ...(entered.input !== undefined ? { input: cut(entered.input) } : {}),
      };
      current = entered.name;
      continue;
    }
    const exited = e.stateExitedEventDetails;
    if (exited?.name) {
      const r = runs[exited.name];
      if (r) {
        r.output = cut(exited.output);
        if (r.status === 'running') r.status = 'succeeded';
      }
      continue;
    }
    for (const k of FAILURE_DETAILS) {
      const d = e[k] as { error?: string; cause?: string } | undefined;
      const r = current ? runs[current] : undefined;
      if (d && r && r.status === 'running') {
        r.status = 'failed';
        r.error = cut([d.error, d.cause].filter(Boolean).join(': '));
      }
    }
  }
  return runs;
};
