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
 *   `npm run redrive -- dlq …` brings it back) or to a bucket (`spillBucket`: one
 *   {@link SpillObject} per batch under {@link spillObjectKey}, which
 *   `npm run redrive -- spill …` sends back to `queueUrl`) and counted (`Spilled`).
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
  z
    .object({
      policy: z.literal('spill'),
      input: z.string(),
      maxAgeSeconds: positiveInt,
      /** Spill to this queue... */
      spillQueueUrl: z.optional(z.string()),
      /** ...or to this bucket, for a later redrive into `queueUrl` (the input's own queue). */
      spillBucket: z.optional(z.string()),
      queueUrl: z.optional(z.string()),
    })
    .check(
      z.refine(
        (c) =>
          c.spillQueueUrl !== undefined
            ? c.spillBucket === undefined
            : c.spillBucket !== undefined && c.queueUrl !== undefined,
        'spill names either spillQueueUrl, or spillBucket with the input queueUrl'
      )
    ),
]);
export type OverflowConfig = z.infer<typeof OverflowConfigSchema>;

/** Where spilled batches live in a spill bucket; `redrive spill` lists under it. */
export const SPILL_PREFIX = 'overflow-spill/';

/**
 * An input name usable as one segment of a spill object's key (the QueueWorker
 * construct refuses others for a bucket spill).
 */
export const SPILL_INPUT_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * The key of one spilled batch: the input and the time of the spill, then a random id.
 * Nothing of the messages' content is in it (a body never becomes a path).
 */
export const spillObjectKey = (input: string, at: Date, id: string): string => {
  if (!SPILL_INPUT_PATTERN.test(input)) {
    throw new Error(`spill input "${input}" is not a key segment (${SPILL_INPUT_PATTERN})`);
  }
  if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw new Error(`spill id "${id}" is not a key segment`);
  return `${SPILL_PREFIX}${input}/${at.toISOString()}-${id}.json`;
};

const SpilledAttributeSchema = z.object({
  dataType: z.string(),
  stringValue: z.optional(z.string()),
  /** base64, as Lambda's SQS record carries it. */
  binaryValue: z.optional(z.string()),
});

/** One spilled batch in a spill bucket: enough to send each message back as it came. */
export const SpillObjectSchema = z.object({
  input: z.string(),
  /** The input's queue, where `redrive spill` sends the messages back. */
  queueUrl: z.string(),
  spilledAt: z.string(),
  records: z.array(
    z.object({
      messageId: z.string(),
      body: z.string(),
      sentTimestamp: z.string(),
      reason: z.string(),
      messageAttributes: z.record(z.string(), SpilledAttributeSchema),
    })
  ),
});
export type SpillObject = z.infer<typeof SpillObjectSchema>;
