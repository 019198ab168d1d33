import type { StateMachine } from 'aws-local-stepfunctions';

// The package declares EventLog but does not export it.
type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer T> ? T : never;

/** Shape of one event in GetExecutionHistory (details keyed like the AWS API). */
export interface HistoryEvent {
  timestamp: number;
  type: string;
  id: number;
  previousEventId: number;
  [details: string]: unknown;
}

export type PendingEvent = Omit<HistoryEvent, 'id' | 'previousEventId'>;

const json = (v: unknown) => JSON.stringify(v ?? null);

/**
 * Translates aws-local-stepfunctions' event log into the AWS history vocabulary.
 * Events with no AWS counterpart (StateRetried, StateCaught) are dropped: AWS shows
 * a retry as another Lambda/Task schedule, which the task handler records itself.
 */
export function toHistoryEvents(e: EventLog): PendingEvent[] {
  const ts = e.timestamp / 1000;
  switch (e.type) {
    case 'ExecutionStarted':
      return [
        {
          timestamp: ts,
          type: 'ExecutionStarted',
          executionStartedEventDetails: {
            input: json(e.input),
            inputDetails: { truncated: false },
          },
        },
      ];
    case 'ExecutionSucceeded':
      return [
        {
          timestamp: ts,
          type: 'ExecutionSucceeded',
          executionSucceededEventDetails: {
            output: json(e.output),
            outputDetails: { truncated: false },
          },
        },
      ];
    case 'ExecutionFailed':
      return [
        {
          timestamp: ts,
          type: 'ExecutionFailed',
          executionFailedEventDetails: { error: e.Error, cause: causeString(e.Cause) },
        },
      ];
    case 'ExecutionAborted':
      return [{ timestamp: ts, type: 'ExecutionAborted', executionAbortedEventDetails: {} }];
    case 'ExecutionTimeout':
      return [
        {
          timestamp: ts,
          type: 'ExecutionTimedOut',
          executionTimedOutEventDetails: { error: 'States.Timeout' },
        },
      ];
    case 'StateEntered':
      return [
        {
          timestamp: ts,
          type: `${e.state.type}StateEntered`,
          stateEnteredEventDetails: {
            name: e.state.name,
            input: json(e.state.input),
            inputDetails: { truncated: false },
          },
        },
        // AWS follows a Map's or Parallel's Entered with its Started event, and precedes
        // its Exited with Succeeded (GetExecutionHistory's HistoryEventType list:
        // https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html).
        ...(e.state.type === 'Map' || e.state.type === 'Parallel'
          ? [{ timestamp: ts, type: `${e.state.type}StateStarted` }]
          : []),
      ];
    case 'StateExited': {
      const assigned = (e as { assignedVariables?: Record<string, unknown> }).assignedVariables;
      return [
        ...(e.state.type === 'Map' || e.state.type === 'Parallel'
          ? [{ timestamp: ts, type: `${e.state.type}StateSucceeded` }]
          : []),
        {
          timestamp: ts,
          type: `${e.state.type}StateExited`,
          stateExitedEventDetails: {
            name: e.state.name,
            output: json(e.state.output),
            outputDetails: { truncated: false },
            // What the state's Assign set (JSONata engine), each value as JSON text:
            // https://docs.aws.amazon.com/step-functions/latest/apireference/API_StateExitedEventDetails.html
            ...(assigned && {
              assignedVariables: Object.fromEntries(
                Object.entries(assigned).map(([k, v]) => [k, json(v)])
              ),
              assignedVariablesDetails: { truncated: false },
            }),
          },
        },
      ];
    }
    case 'StateFailed':
      return e.state.type === 'Map'
        ? [{ timestamp: ts, type: 'MapStateFailed' }]
        : e.state.type === 'Parallel'
          ? [{ timestamp: ts, type: 'ParallelStateFailed' }]
          : [];
    case 'MapIterationStarted':
    case 'MapIterationSucceeded':
    case 'MapIterationFailed': {
      const key = `${e.type[0].toLowerCase()}${e.type.slice(1)}EventDetails`;
      return [{ timestamp: ts, type: e.type, [key]: { name: e.parentState.name, index: e.index } }];
    }
    default:
      return [];
  }
}

function causeString(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return typeof cause === 'string' ? cause : json(cause);
}

/** Drops input/output payloads for includeExecutionData=false. */
export function stripData(event: HistoryEvent): HistoryEvent {
  const out: HistoryEvent = { ...event };
  for (const [k, v] of Object.entries(out)) {
    if (k.endsWith('EventDetails') && v && typeof v === 'object') {
      const { input: _i, output: _o, ...rest } = v as Record<string, unknown>;
      out[k] = rest;
    }
  }
  return out;
}
