import type { Message } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { EsmPoller } from '../src/esm-poller.js';
import type { LambdaRunner } from '../src/lambda/runner.js';
import { silentLogger } from '../src/logger.js';
import type { EventSourceMappingSpec } from '../src/model.js';
import type { PollerQueue } from '../src/sqs/store-queue.js';
import { waitFor } from './helpers.js';

/**
 * The poller's batching against a scripted queue: each ReceiveMessage takes the
 * next scripted answer (capped at MaxNumberOfMessages, like SQS), then the queue
 * is empty (answered after a short pause, as a long poll would).
 */
const scriptedQueue = (script: number[]) => {
  let next = 0;
  const receives: number[] = [];
  const deleted: string[] = [];
  const client: PollerQueue = {
    receive: async (max) => {
      receives.push(max);
      const count = Math.min(script.shift() ?? 0, max);
      if (count === 0) await new Promise((r) => setTimeout(r, 20));
      return Array.from({ length: count }, (): Message => {
        next += 1;
        return { MessageId: `m-${next}`, ReceiptHandle: `h-${next}`, Body: `{"n":${next}}` };
      });
    },
    deleteBatch: async (messages) => {
      deleted.push(...messages.map((m) => m.ReceiptHandle!));
    },
  };
  return { client, receives, deleted };
};

const recordingLambda = () => {
  const batches: string[][] = [];
  const runner = {
    resolveName: () => ({ reservedConcurrency: undefined }),
    invoke: async (_name: string, event: { Records: Array<{ messageId: string }> }) => {
      batches.push(event.Records.map((r) => r.messageId));
      return { ok: true, payload: null, requestId: 'r', durationMs: 1 };
    },
  } as unknown as LambdaRunner;
  return { runner, batches };
};

const specFactory = (overrides: Partial<EventSourceMappingSpec>): EventSourceMappingSpec => ({
  logicalId: 'Mapping',
  queueArn: 'arn:aws:sqs:us-east-1:000000000000:work',
  functionName: 'worker',
  batchSize: 10,
  maxBatchingWindowSeconds: 0,
  maxConcurrency: 2,
  reportBatchItemFailures: true,
  enabled: true,
  ...overrides,
});

const ids = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `m-${from + i}`);

describe('EsmPoller batching: "BatchSize records or MaximumBatchingWindowInSeconds"', () => {
  let poller: EsmPoller | undefined;
  afterEach(async () => {
    await poller?.stop();
    poller = undefined;
  });

  const start = (spec: EventSourceMappingSpec, script: number[]) => {
    const queue = scriptedQueue(script);
    const lambda = recordingLambda();
    poller = new EsmPoller(spec, queue.client, lambda.runner, silentLogger, {
      region: 'us-east-1',
      waitTimeSeconds: 0,
    });
    poller.start();
    return { queue, lambda };
  };

  it('fills a batch of 25 from receives of at most 10, invoking once it is full', async () => {
    // Prepare / Act: 30 messages available, a 60 s window that must not be waited out
    const { queue, lambda } = start(
      specFactory({ batchSize: 25, maxBatchingWindowSeconds: 60 }),
      [10, 10, 10]
    );

    // Assess
    await waitFor(() => lambda.batches.length >= 1 || undefined);
    expect(lambda.batches[0]).toEqual(ids(1, 25));
    // SQS caps a receive at 10; the last one asks only for what the batch still lacks.
    expect(queue.receives.slice(0, 3)).toEqual([10, 10, 5]);
    await waitFor(() => queue.deleted.length >= 25 || undefined);
    expect(queue.deleted.slice(0, 25)).toEqual(ids(1, 25).map((id) => id.replace('m-', 'h-')));
  });

  it('invokes with what it has when the window elapses before the batch is full', async () => {
    // Prepare / Act: 3 messages, then an empty queue; BatchSize 100, a 1 s window
    const { lambda } = start(specFactory({ batchSize: 100, maxBatchingWindowSeconds: 1 }), [2, 1]);

    // Assess: one invocation with all three, not one per receive, not waiting for 100
    await waitFor(() => lambda.batches.length >= 1 || undefined);
    expect(lambda.batches).toEqual([ids(1, 3)]);
  });

  it('without a window, invokes with whatever the first receive returned', async () => {
    // Prepare / Act: 2 messages arrive, then 1 more
    const { lambda } = start(specFactory({ batchSize: 10, maxBatchingWindowSeconds: 0 }), [2, 1]);

    // Assess
    await waitFor(() => lambda.batches.length >= 2 || undefined);
    expect(lambda.batches).toEqual([ids(1, 2), ids(3, 3)]);
  });
});
