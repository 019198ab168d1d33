import * as z from 'zod/mini';
import {
  AGGREGATE_FAILED_ERROR,
  type ExecutionEnding,
  ExecutionEndingSchema,
  type ExecutionStatusChangeDetail,
  ExecutionStatusChangeEventSchema,
  eventDate,
  type Manifest,
  type WorkflowInput,
  WorkflowInputSchema,
} from '../../contract/index.js';
import { type FailedVerdictIo, writeFailedVerdict } from '../aggregate/failed-verdict.js';
import { nothingRunManifest } from '../aggregate/nothing-run.js';
import { failureReason } from '../aggregate/verdict.js';
import { parseEvent } from '../shared/validate.js';

/**
 * The verdict keeper: every execution of the video state machine that ends
 * FAILED, TIMED_OUT or ABORTED without the aggregator's manifest gets a FAILED
 * manifest and a `VideoProcessed` FAILED event (so the Alerts queue sees it).
 * It never replaces a manifest: its write is conditional (If-None-Match: *),
 * so the aggregator's verdict, or an earlier one, always stands.
 * docs/architecture.md "Every ending has a verdict".
 */

/** What the execution says about itself now (DescribeExecution). */
export interface ExecutionNow {
  status: string;
  input: string;
}

/** The keeper's I/O, injected so the decisions stay pure and testable: a FAILED verdict's, and DescribeExecution. */
export interface VerdictIo extends FailedVerdictIo {
  describeExecution(executionArn: string): Promise<ExecutionNow>;
}

export interface VerdictOptions {
  outputBucket: string;
  topicArn: string;
  /** Only this state machine's executions are judged (the rule filters too). */
  stateMachineArn: string;
  now?: () => Date;
}

export type VerdictOutcome =
  /** Not an unsuccessful ending of our state machine: nothing to do. */
  | { outcome: 'ignored'; why: string }
  /** The execution is no longer in that ending (it was redriven): its next ending decides. */
  | { outcome: 'superseded'; why: string }
  /** A manifest already exists (the aggregator's, or an earlier verdict): it stands. */
  | { outcome: 'kept'; videoId: string; status: string }
  /** This keeper wrote the FAILED manifest (or found its own from an earlier attempt) and published. */
  | {
      outcome: 'written' | 'republished';
      videoId: string;
      tenant: string;
      ending: ExecutionEnding;
      reason: string;
    };

const REASON_LIMIT = 1000;

/** Pure: the ending an execution status stands for; undefined for RUNNING, SUCCEEDED, PENDING_REDRIVE… */
export const endingOf = (status: string): ExecutionEnding | undefined => {
  const parsed = ExecutionEndingSchema.safeParse(status);
  return parsed.success ? parsed.data : undefined;
};

const AggregateFailureCauseSchema = z.object({ Error: z.string(), Cause: z.optional(z.string()) });

/**
 * Pure: why the video has no verdict of its own, in words. The Aggregate
 * state's Catch packs the aggregator's `{Error, Cause}` as JSON into the
 * AggregateFailed cause; any other error is a state the workflow did not catch.
 */
export const verdictReason = (
  ending: ExecutionEnding,
  error: string | null | undefined,
  cause: string | null | undefined
): string => {
  // StopExecution may carry a cause without an error; either is worth reading.
  const detail = error
    ? failureReason({ Error: error, Cause: cause ?? undefined })
    : cause
      ? truncate(cause)
      : undefined;
  switch (ending) {
    case 'ABORTED':
      return `execution stopped (StopExecution) before the aggregator's verdict${detail ? `: ${detail}` : ''}`;
    case 'TIMED_OUT':
      return "execution timed out: it ran past the state machine's TimeoutSeconds before the aggregator's verdict";
    case 'FAILED': {
      if (error === AGGREGATE_FAILED_ERROR && cause) {
        const caught = caughtError(cause);
        return truncate(
          `the aggregator failed past its retries: ${caught ? failureReason(caught) : cause}`
        );
      }
      return truncate(
        `execution failed before the aggregator's verdict: ${detail ?? 'no error given'}`
      );
    }
  }
};

/** The aggregator's `{Error, Cause}` out of the AggregateFailed cause (States.JsonToString of the Catch's result). */
const caughtError = (cause: string): { Error: string; Cause?: string } | undefined => {
  try {
    const parsed = AggregateFailureCauseSchema.safeParse(JSON.parse(cause));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
};

const truncate = (s: string): string =>
  s.length > REASON_LIMIT ? `${s.slice(0, REASON_LIMIT - 1)}…` : s;

const iso = (v: number | string | null | undefined, fallback: Date): string =>
  (eventDate(v) ?? fallback).toISOString();

/**
 * Pure: the FAILED manifest for an execution that ended without a verdict.
 * It knows only the execution's input and ending: no probe, no branches (the
 * execution's history has them), and no usage to price, so the estimate is 0.
 */
export const verdictManifest = (
  input: WorkflowInput,
  detail: Pick<ExecutionStatusChangeDetail, 'executionArn' | 'stopDate' | 'error' | 'cause'>,
  ending: ExecutionEnding,
  now: Date
): Manifest =>
  nothingRunManifest(input, verdictReason(ending, detail.error, detail.cause), now, {
    // The redrive of a redrive: the attempt number lives in the execution's input.
    redrive: input.redrive
      ? { ...input.redrive, executionName: detail.executionArn.split(':').pop() ?? '' }
      : null,
    ending,
    execution: {
      arn: detail.executionArn,
      stopDate: iso(detail.stopDate, now),
      error: detail.error ?? null,
    },
  });

const ExistingVerdictSchema = z.object({
  status: z.string(),
  ending: z.nullish(z.string()),
  execution: z.nullish(z.object({ arn: z.string(), stopDate: z.string() })),
});

/**
 * Pure: is `existing` this keeper's own verdict on this very ending (an earlier
 * attempt wrote it, then failed to publish)? Then the event is published again;
 * any other manifest stands untouched and unannounced.
 */
export const isOwnVerdict = (
  existing: unknown,
  detail: Pick<ExecutionStatusChangeDetail, 'executionArn' | 'stopDate'>,
  ending: ExecutionEnding
): boolean => {
  const parsed = ExistingVerdictSchema.safeParse(existing);
  if (!parsed.success) return false;
  const m = parsed.data;
  return (
    m.ending === ending &&
    m.execution?.arn === detail.executionArn &&
    m.execution.stopDate === eventDate(detail.stopDate)?.toISOString()
  );
};

/** Every status in which an execution no longer runs (the admission lease is given back). */
const STOPPED_STATUSES = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

/**
 * Pure: the execution name (the videoId, which names its admission lease) of
 * a status-change event saying that an execution of `stateMachineArn`
 * stopped; undefined for any other event. Unlike a verdict, a release needs no
 * DescribeExecution: a lease given back early (the execution redriven to
 * RUNNING since) costs at most one slot until it ends again.
 */
export const stoppedExecution = (event: unknown, stateMachineArn: string): string | undefined => {
  const parsed = ExecutionStatusChangeEventSchema.safeParse(event);
  if (!parsed.success) return undefined;
  const { detail } = parsed.data;
  if (detail.stateMachineArn !== stateMachineArn || !STOPPED_STATUSES.has(detail.status)) {
    return undefined;
  }
  return detail.name || detail.executionArn.split(':').pop();
};

/** Judges one Execution Status Change event. */
export const keepVerdict = async (
  event: unknown,
  opts: VerdictOptions,
  io: VerdictIo,
  correlate: (videoId: string, tenant: string) => void = () => {}
): Promise<VerdictOutcome> => {
  const { detail } = parseEvent(ExecutionStatusChangeEventSchema, event, 'status-change event');
  const ending = endingOf(detail.status);
  if (!ending) return { outcome: 'ignored', why: `status ${detail.status} is not an ending` };
  if (detail.stateMachineArn !== opts.stateMachineArn) {
    return {
      outcome: 'ignored',
      why: `state machine ${detail.stateMachineArn} is not the video's`,
    };
  }
  // The event is a notice, the execution the fact: a redriven execution is RUNNING again,
  // and the input may be left out of an event over its size limit.
  const now = await io.describeExecution(detail.executionArn);
  if (now.status !== detail.status) {
    return {
      outcome: 'superseded',
      why: `execution is ${now.status} now, not ${detail.status} (redriven?)`,
    };
  }
  const input = parseEvent(WorkflowInputSchema, JSON.parse(now.input), 'execution input');
  correlate(input.videoId, input.tenant);
  const manifest = verdictManifest(input, detail, ending, (opts.now ?? (() => new Date()))());
  const written = await writeFailedVerdict(
    input,
    manifest,
    { outputBucket: opts.outputBucket, topicArn: opts.topicArn },
    io,
    (existing) => (isOwnVerdict(existing, detail, ending) ? manifest.reason : undefined)
  );
  if (written.outcome === 'kept') {
    const status = ExistingVerdictSchema.safeParse(written.existing);
    return {
      outcome: 'kept',
      videoId: input.videoId,
      status: status.success ? status.data.status : 'unreadable',
    };
  }
  const { outcome } = written;
  return {
    outcome,
    videoId: input.videoId,
    tenant: input.tenant,
    ending,
    reason: manifest.reason ?? '',
  };
};
