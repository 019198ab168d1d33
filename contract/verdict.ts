import * as z from 'zod/mini';
import { EXECUTION_ENDINGS, type ExecutionEnding } from './schemas.js';

/**
 * The verdict keeper's contract: the EventBridge event Step Functions sends
 * when a Standard execution changes status, and the Fail state's error name
 * that marks an aggregator which failed past its retries.
 *
 * Event shape: https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html
 * (`startDate`/`stopDate` are epoch milliseconds; `input`/`output` are JSON
 * strings, null when over the event's size limit, which `inputDetails.included:
 * false` then says, and the keeper reads the input with DescribeExecution).
 */
export const EXECUTION_STATUS_CHANGE = 'Step Functions Execution Status Change';
export const STATES_EVENT_SOURCE = 'aws.states';

/** The error of the Fail state the Aggregate state's Catch leads to. */
export const AGGREGATE_FAILED_ERROR = 'AggregateFailed';

export const ExecutionStatusChangeDetailSchema = z.object({
  executionArn: z.string().check(z.minLength(1)),
  stateMachineArn: z.string().check(z.minLength(1)),
  name: z.string(),
  status: z.string(),
  // Epoch milliseconds on AWS; LocalStack 4.14.0 sends ISO 8601 text (docs/localstack.md).
  startDate: z.union([z.number(), z.string()]),
  stopDate: z.nullish(z.union([z.number(), z.string()])),
  input: z.nullish(z.string()),
  inputDetails: z.nullish(z.object({ included: z.boolean() })),
  output: z.nullish(z.string()),
  error: z.nullish(z.string()),
  cause: z.nullish(z.string()),
});
export type ExecutionStatusChangeDetail = z.infer<typeof ExecutionStatusChangeDetailSchema>;

export const ExecutionStatusChangeEventSchema = z.object({
  source: z.literal(STATES_EVENT_SOURCE),
  'detail-type': z.literal(EXECUTION_STATUS_CHANGE),
  time: z.optional(z.string()),
  detail: ExecutionStatusChangeDetailSchema,
});
export type ExecutionStatusChangeEvent = z.infer<typeof ExecutionStatusChangeEventSchema>;

/** Pure: an event date (epoch ms, or ISO text) as a Date; undefined when absent or unreadable. */
export const eventDate = (v: number | string | null | undefined): Date | undefined => {
  if (v === null || v === undefined) return undefined;
  const d = new Date(typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : Date.parse(v));
  return Number.isNaN(d.getTime()) ? undefined : d;
};

/** The endings the rule forwards to the keeper (every status that ends an execution unsuccessfully). */
export const VERDICT_ENDINGS: readonly ExecutionEnding[] = EXECUTION_ENDINGS;
