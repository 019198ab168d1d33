import * as z from 'zod/mini';

/**
 * What a queue's consumer does when its input overflows (issue 23): the
 * `overflow` prop of the QueueWorker construct, carried to the consumer in one
 * env var and applied per batch by lambdas/shared/overflow.ts.
 * - `block`: process everything; a backlog waits in the queue (retention, then the DLQ).
 * - `dropOldest`: a message older than `maxAgeSeconds` (SQS `SentTimestamp`) is
 *   deleted unprocessed and counted (`Dropped`).
 * - `dropNewest`: while the queue's backlog (visible messages plus this batch)
 *   exceeds `maxBacklog`, the batch's newest messages over the excess are deleted
 *   unprocessed and counted (`Dropped`).
 * - `spill`: a message older than `maxAgeSeconds` is moved, unprocessed, to the
 *   spill queue (`spillQueueUrl`; the worker's DLQ by default, so the existing
 *   `npm run redrive -- dlq …` brings it back) and counted (`Spilled`).
 * A message that carries {@link OVERFLOW_ATTRIBUTES.spilledFrom} was spilled and then
 * redriven by an operator: it is always processed, whatever its age.
 */
export const OVERFLOW_POLICIES = ['block', 'dropNewest', 'dropOldest', 'spill'] as const;
export type OverflowPolicyName = (typeof OVERFLOW_POLICIES)[number];

/** The consumer's env var holding its {@link OverflowConfig} as JSON. */
export const OVERFLOW_ENV = 'OVERFLOW_POLICY';

/** Metric names of what overflow did (dimensions: `input`, `tenant`). */
export const OVERFLOW_METRICS = { dropped: 'Dropped', spilled: 'Spilled' } as const;

/** Message attributes a spilled message carries in its spill queue. */
export const OVERFLOW_ATTRIBUTES = {
  /** The DLQ convention (lambdas/shared/sqs.ts): why the message is there. */
  errorName: 'error-name',
  errorMessage: 'error-message',
  sourceMessageId: 'source-message-id',
  sentTimestamp: 'sent-timestamp',
  /** The input it was spilled from; its presence marks a redriven message. */
  spilledFrom: 'overflow-spilled-from',
} as const;
/** The `error-name` of a spilled message (a poison message carries its own error's name). */
export const SPILLED_ERROR_NAME = 'OverflowSpilled';

const positiveInt = z.int().check(z.positive());
export const OverflowConfigSchema = z.discriminatedUnion('policy', [
  z.object({ policy: z.literal('block'), input: z.string() }),
  z.object({ policy: z.literal('dropOldest'), input: z.string(), maxAgeSeconds: positiveInt }),
  z.object({
    policy: z.literal('dropNewest'),
    input: z.string(),
    maxBacklog: positiveInt,
    queueUrl: z.string(),
  }),
  z.object({
    policy: z.literal('spill'),
    input: z.string(),
    maxAgeSeconds: positiveInt,
    spillQueueUrl: z.string(),
  }),
]);
export type OverflowConfig = z.infer<typeof OverflowConfigSchema>;
