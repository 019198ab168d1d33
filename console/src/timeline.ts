import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { progressFromHistory } from '../../cli/src/index.js';
import { STATE_NAMES, STATE_PATHS } from '../../contract/index.js';

/**
 * The Gantt rows of one execution, folded from its history: the published
 * record of a run on AWS, LocalStack and the local runtime alike. Branch rows
 * come from the CLI's fold (cli/src/history.ts) so both views agree.
 */

/** `skipped`: the execution ended without entering it (a failed Probe skips Plan and the Map). */
export type BarStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'timed-out' | 'skipped';

export interface TimelineBar {
  /** `Probe`, `Plan`, a branch id, `Aggregate`. */
  label: string;
  group: 'step' | 'branch';
  /** The branch kind (branch rows only). */
  kind?: string;
  status: BarStatus;
  /** ISO times; absent while the bar has not started / not ended. */
  start?: string;
  end?: string;
  /** The error name a failed branch reported. */
  error?: string;
}

export interface Timeline {
  /** ExecutionStarted, if the history has begun. */
  start?: string;
  /** The Segments Distributed Map's Map Run (MapRunStarted), for DescribeMapRun. */
  segmentsMapRunArn?: string;
  /** The terminal execution event, once there is one. */
  end?: string;
  bars: TimelineBar[];
}

const TERMINAL_EVENTS = new Set([
  'ExecutionSucceeded',
  'ExecutionFailed',
  'ExecutionAborted',
  'ExecutionTimedOut',
]);

const iso = (d: Date | undefined): string | undefined => d?.toISOString();

const hasFailure = (json: string | undefined): boolean => {
  if (!json) return false;
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null && STATE_PATHS.failure.slice(2) in value;
  } catch {
    return false;
  }
};

const stepBar = (
  events: readonly HistoryEvent[],
  name: string,
  /** When a later step began or the execution ended: a step still open then has failed. */
  closedAt: (after: number) => Date | undefined
): TimelineBar => {
  const enteredIndex = events.findIndex((e) => e.stateEnteredEventDetails?.name === name);
  if (enteredIndex < 0) return { label: name, group: 'step', status: 'pending' };
  const entered = events[enteredIndex];
  const exited = events.find(
    (e, i) => i > enteredIndex && e.stateExitedEventDetails?.name === name
  );
  if (exited) {
    return {
      label: name,
      group: 'step',
      // aws-local-stepfunctions exits a task whose error a Catch handled; the Catch put
      // the error at `$.failure`, which the step's input did not have.
      status:
        hasFailure(exited.stateExitedEventDetails?.output) &&
        !hasFailure(entered?.stateEnteredEventDetails?.input)
          ? 'failed'
          : 'succeeded',
      start: iso(entered?.timestamp),
      end: iso(exited.timestamp),
    };
  }
  // AWS does not exit a task whose error a Catch handled: the next state's entry ends it.
  const closed = closedAt(enteredIndex);
  return {
    label: name,
    group: 'step',
    status: closed ? 'failed' : 'running',
    start: iso(entered?.timestamp),
    ...(closed ? { end: iso(closed) } : {}),
  };
};

/**
 * A bar of an execution that has ended: never entered, it was skipped; still running, it
 * was cut off by the ending (a stopped or timed-out execution ends its running branches
 * with it), so it ends there, failed, named by the execution's ending.
 */
const settle = (b: TimelineBar, ended: HistoryEvent): TimelineBar => {
  if (b.status === 'pending') return { ...b, status: 'skipped' };
  if (b.status !== 'running') return b;
  return {
    ...b,
    status: 'failed',
    ...(ended.timestamp ? { end: ended.timestamp.toISOString() } : {}),
    error: `cut off: ${ended.type ?? 'execution ended'}`,
  };
};

export const timelineFromHistory = (events: readonly HistoryEvent[]): Timeline => {
  const started = events.find((e) => e.type === 'ExecutionStarted');
  const ended = events.find((e) => e.type && TERMINAL_EVENTS.has(e.type));
  // In the Wave (parallel mode) the FanOut runs beside the Segments map, so its entry closes
  // nothing; the Segments branch ends at SegmentsDone, and the Joins map follows both.
  const wave = events.some((e) => e.stateEnteredEventDetails?.name === STATE_NAMES.wave);
  const topLevel = new Set<string>([
    STATE_NAMES.probe,
    STATE_NAMES.plan,
    STATE_NAMES.segments,
    ...(wave ? [STATE_NAMES.segmentsDone, STATE_NAMES.joins] : [STATE_NAMES.fanOut]),
    STATE_NAMES.aggregate,
  ]);
  const closedAt = (after: number): Date | undefined =>
    events.find(
      (e, i) =>
        i > after &&
        (TERMINAL_EVENTS.has(e.type ?? '') || topLevel.has(e.stateEnteredEventDetails?.name ?? ''))
    )?.timestamp;

  const progress = progressFromHistory(events);
  const branchBars: TimelineBar[] = (progress.plan ?? []).map((b) => {
    const live = progress.branches.get(b.id);
    return {
      label: b.id,
      group: 'branch',
      kind: b.kind,
      status: live?.status ?? 'pending',
      ...(live?.enteredAt ? { start: iso(live.enteredAt) } : {}),
      ...(live?.exitedAt ? { end: iso(live.exitedAt) } : {}),
      ...(live?.error ? { error: live.error } : {}),
    };
  });
  // Only a run with a segmented rendition enters the Segments map: its row is there while
  // the long encodes run (minutes with no branch bar moving otherwise).
  const segmented = events.some((e) => e.stateEnteredEventDetails?.name === STATE_NAMES.segments);
  const mapRunArn = events.find((e) => e.mapRunStartedEventDetails?.mapRunArn)
    ?.mapRunStartedEventDetails?.mapRunArn;
  const bars = [
    stepBar(events, STATE_NAMES.probe, closedAt),
    stepBar(events, STATE_NAMES.plan, closedAt),
    ...(segmented ? [stepBar(events, STATE_NAMES.segments, closedAt)] : []),
    ...branchBars,
    stepBar(events, STATE_NAMES.aggregate, closedAt),
  ];
  return {
    ...(started?.timestamp ? { start: iso(started.timestamp) } : {}),
    ...(ended?.timestamp ? { end: iso(ended.timestamp) } : {}),
    ...(mapRunArn ? { segmentsMapRunArn: mapRunArn } : {}),
    bars: ended ? bars.map((b) => settle(b, ended)) : bars,
  };
};
