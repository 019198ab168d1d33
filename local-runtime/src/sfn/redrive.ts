/**
 * RedriveExecution for the local runtime: where an unsuccessful execution resumes,
 * and whether it may.
 *
 * AWS: a redriven execution "continues the failed execution from the unsuccessful step
 * and uses the same input"; the results and history of successful steps are kept and
 * those steps are not run again; for an inline Map or Parallel only the iterations and
 * branches that failed or were aborted are rescheduled
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html,
 * https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html). The
 * unsuccessful step is the top-level state with a `<Type>StateEntered` event and no
 * `<Type>StateExited` event (https://docs.aws.amazon.com/step-functions/latest/dg/redrive-map-run.html).
 *
 * Pure pieces only: the service feeds the interpreter's event log to a ResumeTracker
 * and runs the definition again from the point it found.
 */

/** What AWS keeps a closed execution redrivable for. */
export const REDRIVABLE_PERIOD_MS = 14 * 24 * 3600 * 1000;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** Where a redrive resumes: the unsuccessful top-level state and the raw input it entered with. */
export interface ResumePoint {
  state: string;
  input: unknown;
  /**
   * For an inline Map or Parallel that did not complete: the output of each iteration
   * (by item index) or branch (by branch index) that succeeded, so a redrive reuses it.
   */
  succeeded: Record<number, unknown>;
  /**
   * The same for the Maps and Parallels nested in its branches (by state name, which is
   * unique in a machine): a branch that is run again reuses what they finished, since
   * RedriveExecution does not rerun successful steps. The patched interpreter hands these
   * into Parallel branches only; a Map iteration never receives them (a state nested in
   * iterations runs once per iteration, so one index per name would be ambiguous).
   */
  nested?: Record<string, Record<number, unknown>>;
  /** JSONata machines: the workflow variables when the state was entered (sfn/jsonata/engine.ts). */
  variables?: Record<string, unknown>;
}

/** One event of aws-local-stepfunctions' log, as far as redrive reads it. */
interface LogEvent {
  type: string;
  /** Set on events forwarded from a Map iteration or (patched) a Parallel branch. */
  index?: number;
  output?: unknown;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  parentState?: { name: string };
  /** Logged with each top-level StateEntered/StateExited by the JSONata engine. */
  variables?: Record<string, unknown>;
}

interface StateDef {
  Type: string;
  Next?: string;
}

/**
 * Follows one run's event log and remembers the top-level state that did not complete.
 * Nested events (Map iterations, Parallel branches) carry an `index`; the Map/Parallel
 * iteration and branch results of the state in flight are kept by index.
 */
export class ResumeTracker {
  private current: ResumePoint | undefined;
  /** The last top-level state that exited, for a run stopped between two states. */
  private lastExit:
    | { name: string; input: unknown; output: unknown; variables?: Record<string, unknown> }
    | undefined;
  private carried: ResumePoint | undefined;

  /**
   * @param states the definition's top-level states
   * @param carried the point this run resumes from (its kept results stay kept if the
   *   same state fails again)
   */
  constructor(
    private readonly states: Record<string, StateDef>,
    carried?: ResumePoint
  ) {
    this.carried = carried;
  }

  observe(e: LogEvent): void {
    switch (e.type) {
      case 'StateEntered':
        if (e.index !== undefined || !e.state || !(e.state.name in this.states)) return;
        this.current = {
          state: e.state.name,
          input: e.state.input,
          // The first entry of the state a redrive resumes at keeps what already succeeded.
          succeeded: this.carried?.state === e.state.name ? { ...this.carried.succeeded } : {},
          ...(this.carried?.state === e.state.name &&
            this.carried.nested && { nested: structuredClone(this.carried.nested) }),
          ...(e.variables && { variables: e.variables }),
        };
        this.carried = undefined;
        this.lastExit = undefined;
        return;
      case 'StateExited':
        if (e.index !== undefined || !e.state || e.state.name !== this.current?.state) return;
        this.lastExit = {
          name: e.state.name,
          input: e.state.input,
          output: e.state.output,
          variables: e.variables,
        };
        this.current = undefined;
        return;
      case 'MapIterationSucceeded':
      case 'ParallelBranchSucceeded':
        if (e.index === undefined || !this.current || !e.parentState) return;
        if (e.parentState.name === this.current.state) {
          this.current.succeeded[e.index] = e.output;
        } else {
          // Nested in the state in flight (its top-level events have no index).
          const nested = this.current.nested ?? {};
          this.current.nested = nested;
          const byIndex = nested[e.parentState.name] ?? {};
          byIndex[e.index] = e.output;
          nested[e.parentState.name] = byIndex;
        }
        return;
      default:
        return;
    }
  }

  /**
   * Where a redrive of this run resumes; undefined before any state ran (then it starts
   * at StartAt with the execution's input, as the first attempt did).
   */
  point(): ResumePoint | undefined {
    if (this.current) return this.current;
    if (this.carried) return this.carried;
    if (!this.lastExit) return undefined;
    // Stopped between two states: the next one has not started. A Choice is evaluated
    // again (it has no side effect); any other state hands its output to `Next`.
    const exited = this.states[this.lastExit.name];
    if (exited?.Type === 'Choice') {
      return { state: this.lastExit.name, input: this.lastExit.input, succeeded: {} };
    }
    if (exited?.Next) {
      const { output: input, variables } = this.lastExit;
      return { state: exited.Next, input, succeeded: {}, ...(variables && { variables }) };
    }
    return undefined;
  }
}

/** The definition a redrive runs: the same states, starting at the resume point. */
export function resumedDefinition<T extends { StartAt: string }>(
  definition: T,
  point: ResumePoint | undefined
): T {
  return point ? { ...definition, StartAt: point.state } : definition;
}

export interface RedriveStatus {
  redriveStatus: 'REDRIVABLE' | 'NOT_REDRIVABLE' | 'REDRIVABLE_BY_MAP_RUN';
  redriveStatusReason?: string;
}

/**
 * DescribeExecution's `redriveStatus` and `redriveStatusReason`, in AWS's words
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html):
 * only FAILED, TIMED_OUT or ABORTED Standard executions that closed in the last 14 days.
 * A Map Run's child is redriven through its parent (REDRIVABLE_BY_MAP_RUN).
 */
export function redriveStatusOf(
  e: { status: ExecutionStatus; stopDate?: Date; mapRunArn?: string },
  machineType: string,
  now = Date.now()
): RedriveStatus {
  if (e.status === 'RUNNING' || e.status === 'SUCCEEDED') {
    return {
      redriveStatus: 'NOT_REDRIVABLE',
      redriveStatusReason: `Execution is ${e.status} and cannot be redriven`,
    };
  }
  if (machineType === 'EXPRESS' && !e.mapRunArn) {
    return {
      redriveStatus: 'NOT_REDRIVABLE',
      redriveStatusReason: 'Execution of an EXPRESS state machine cannot be redriven',
    };
  }
  if (e.stopDate && now - e.stopDate.getTime() > REDRIVABLE_PERIOD_MS) {
    return {
      redriveStatus: 'NOT_REDRIVABLE',
      redriveStatusReason: 'Execution redrivable period exceeded',
    };
  }
  if (e.mapRunArn) return { redriveStatus: 'REDRIVABLE_BY_MAP_RUN' };
  return { redriveStatus: 'REDRIVABLE' };
}
