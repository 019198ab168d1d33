import { STATE_NAMES } from '../contract/index.js';

/**
 * The states a branch kind adds to the workflow (MapFanOutFanIn builds them):
 * what the cost model counts as transitions and what the CLI and the console
 * follow in an execution's history. One place, so the three cannot drift.
 */

/**
 * The states one attempt of `kind` passes through, in order: its task; or,
 * when it stands in for a failed `origin`, the Parallel around it, its task
 * and the Pass that reports the origin with its fallback.
 */
export const attemptStates = (kind: string, origin?: string): string[] =>
  origin === undefined
    ? [STATE_NAMES.runBranch(kind)]
    : [STATE_NAMES.fallback(kind), STATE_NAMES.runBranch(kind), STATE_NAMES.fellBack(origin)];

/** The state that reports a chain whose last attempt (of `kind`) did not deliver. */
export const chainFailedState = (kind: string, isFallback: boolean): string =>
  isFallback ? STATE_NAMES.fallbackFailed(kind) : STATE_NAMES.branchFailed;

/** Per video with segments: the Distributed Map, then one task state per segment (a child execution each). */
export const segmentStates = (segmentKind: string, segments: number): string[] =>
  segments > 0
    ? [
        STATE_NAMES.segments,
        ...Array.from({ length: segments }, () => STATE_NAMES.runBranch(segmentKind)),
      ]
    : [];

/**
 * The task states whose input is one branch, and the states whose output is
 * a branch's BranchRef, for the planned kinds and the policy's fallbacks.
 */
export const branchStates = (
  plannedKinds: Iterable<string>,
  fallbacks: Iterable<{ kind: string; origin: string }>
): { tasks: Set<string>; refs: Set<string> } => {
  const tasks = new Set<string>();
  const refs = new Set<string>();
  for (const kind of plannedKinds) {
    const run = attemptStates(kind);
    for (const s of run) tasks.add(s);
    for (const s of run) refs.add(s);
  }
  for (const { kind, origin } of fallbacks) {
    const [, run, fellBack] = attemptStates(kind, origin);
    if (run) tasks.add(run);
    for (const s of [run, fellBack, chainFailedState(kind, true)]) if (s) refs.add(s);
  }
  // The Joins map (parallel mode with segments) runs deferred branches through the same
  // states under a prefix: a join is followed like the FanOut's run it replaces.
  const joined = (set: Set<string>) => new Set([...set, ...[...set].map(joinState)]);
  return { tasks: joined(tasks), refs: joined(refs) };
};

/** The Joins map's copy of a FanOut branch state (`RunRendition` → `JoinRunRendition`). */
export const joinState = (state: string): string => `${STATE_NAMES.joinPrefix}${state}`;
