import type { Batch } from './distributed-map.js';
import type { HistoryEvent } from './history.js';
import type { ResumePoint } from './redrive.js';

/**
 * The records the service keeps: one execution (a parent, or a Distributed Map's child)
 * and one Map Run (./map-run.ts runs it); and the small pure helpers the executions API,
 * the executor and the Map Run share.
 */

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface Execution {
  arn: string;
  /** Set on the child executions of a Distributed Map. */
  mapRunArn?: string;
  name: string;
  stateMachineArn: string;
  status: ExecutionStatus;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
  history: HistoryEvent[];
  redriveCount: number;
  redriveDate?: Date;
  /**
   * The X-Ray header its tasks continue (StartExecution's `traceHeader`, else a new trace):
   * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-xray-tracing.html
   */
  traceHeader?: string;
  /** The status of the last status-change event, so one status is announced once. */
  announced?: ExecutionStatus;
  /** Where a redrive resumes (the unsuccessful top-level state); undefined = StartAt. */
  resume?: ResumePoint;
  /** While a redrive runs: the unsuccessful Map Runs it redrives, by mapRunKey. */
  redrivenMapRuns?: Map<string, MapRun>;
  /** Map Runs of this execution, settled when each has written its results. */
  mapRunWork?: Promise<unknown>[];
  abort?: () => void;
  done: Promise<void>;
}

export type MapRunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

/** A Map Run: what DescribeMapRun reports, plus the peak of children in flight. */
export interface MapRun {
  mapRunArn: string;
  executionArn: string;
  status: MapRunStatus;
  startDate: Date;
  stopDate?: Date;
  maxConcurrency: number;
  toleratedFailurePercentage: number;
  toleratedFailureCount: number;
  items: { total: number; succeeded: number; failed: number; aborted: number; pending: number };
  executions: { total: number; succeeded: number; failed: number; aborted: number };
  /** Most child executions running at once (local observation; AWS has no such counter). */
  peakRunning: number;
  children: Execution[];
  redriveCount: number;
  redriveDate?: Date;
  /** The Map state that ran it and that state's input (mapRunKey). */
  key: string;
  /** Its items, batched as its children got them: a redrive reuses them. */
  batches: Batch[];
  /** The child execution of each batch, by batch index (undefined: never started). */
  slots: Array<Execution | undefined>;
}

/** The state machine an execution runs, as its context object names it (`$$.StateMachine`). */
export interface MachineRef {
  Id: string;
  Name: string;
}

/** Thrown into the interpreter so Retry/Catch match `Error` exactly like AWS (errorType). */
export class TaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/** A date as the API's JSON carries it: epoch seconds. */
export const epoch = (d: Date | undefined) => (d ? d.getTime() / 1000 : undefined);

/** The fields ListExecutions returns for an execution; DescribeExecution starts with the same. */
export function executionListItem(e: Execution) {
  return {
    executionArn: e.arn,
    stateMachineArn: e.stateMachineArn,
    name: e.name,
    status: e.status,
    startDate: epoch(e.startDate),
    stopDate: epoch(e.stopDate),
    redriveCount: e.redriveCount,
    redriveDate: epoch(e.redriveDate),
  };
}

/** `maxResults` / `nextToken` paging, as the List APIs and GetExecutionHistory do it. */
export function paginate<T>(items: T[], body: Record<string, unknown>) {
  const max = Number(body.maxResults) > 0 ? Number(body.maxResults) : 100;
  const start = body.nextToken ? Number(body.nextToken) : 0;
  const page = items.slice(start, start + max);
  const nextToken = start + max < items.length ? String(start + max) : undefined;
  return { page, nextToken };
}

/** `$$.Execution` of an execution's context object. */
export const executionContext = (exec: Execution, accountId: string) => ({
  Id: exec.arn,
  Name: exec.name,
  Input: JSON.parse(exec.input),
  StartTime: exec.startDate.toISOString(),
  RoleArn: `arn:aws:iam::${accountId}:role/local`,
});
