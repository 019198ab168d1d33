import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mapLimit } from '../shared/concurrency.js';
import { type EventFanOutScenario, synthEventFanOutApp } from './fixtures/event-fanout-app.js';
import { treeCpuMs } from './process-tree.js';
import { startBenchRuntime } from './runtime.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

export interface EventFanOutRow {
  batchSize: number;
  windowSeconds: number;
  maxConcurrency: number;
  messages: number;
  /** Publishing alone (PublishBatch of 10, 8 in flight). */
  publishMs: number;
  publishPerSecond: number;
  /** First publish → the queue holds nothing (every message consumed and deleted). */
  endToEndMs: number;
  messagesPerSecond: number;
  invocations: number;
  meanBatch: number;
  /**
   * CPU time the runtime's own process spent from the first publish until the queue was
   * empty, per 1,000 messages (ms), and the same for its Lambda environments together.
   * On a shared machine these vary far less than the rates, which count waiting for a core.
   */
  runtimeCpuMsPer1000: number;
  workersCpuMsPer1000: number;
}

export const DEFAULT_SCENARIOS: readonly EventFanOutScenario[] = [
  { id: 'Batch1', batchSize: 1, windowSeconds: 1, maxConcurrency: 10 },
  { id: 'Batch10', batchSize: 10, windowSeconds: 1, maxConcurrency: 10 },
  { id: 'Batch100', batchSize: 100, windowSeconds: 1, maxConcurrency: 10 },
];

/**
 * (f) Event fan-out throughput on the local runtime: `messages` published to a
 * TopicFanOut, consumed by a QueueWorker with a trivial consumer, once per
 * scenario (batch size 1, 10, 100 with a batching window), one after another on
 * the same runtime. End to end stops when the queue is empty: the poller
 * deletes a message only after the consumer succeeded.
 */
export const benchEventFanOut = async (
  messages: number,
  scenarios: readonly EventFanOutScenario[] = DEFAULT_SCENARIOS
): Promise<EventFanOutRow[]> => {
  const outdir = mkdtempSync(join(tmpdir(), 'bench-events-'));
  const logDir = mkdtempSync(join(tmpdir(), 'bench-events-log-'));
  const assembly = synthEventFanOutApp(outdir, scenarios, logDir);
  const runtime = await startBenchRuntime(assembly, {
    maxEnvironmentsPerFunction: Math.max(...scenarios.map((s) => s.maxConcurrency)),
  });
  const client = { endpoint: runtime.endpoint, region: runtime.region, credentials };
  const sns = new SNSClient(client);
  const sqs = new SQSClient(client);
  const rows: EventFanOutRow[] = [];
  try {
    for (const s of scenarios) {
      const topicArn = runtime.outputs[`${s.id}TopicArn`]!;
      const queueUrl = runtime.outputs[`${s.id}QueueUrl`]!;
      const batches = Array.from({ length: Math.ceil(messages / 10) }, (_, b) =>
        Array.from({ length: Math.min(10, messages - b * 10) }, (_, i) => ({
          Id: String(i),
          Message: JSON.stringify({ n: b * 10 + i }),
        }))
      );
      const cpuBefore = treeCpuMs(runtime.pid);
      const started = performance.now();
      await mapLimit(batches, 8, async (entries) => {
        const res = await sns.send(
          new PublishBatchCommand({ TopicArn: topicArn, PublishBatchRequestEntries: entries })
        );
        if (res.Failed?.length) throw new Error(`publish failed: ${JSON.stringify(res.Failed)}`);
      });
      const publishMs = performance.now() - started;
      for (;;) {
        const { Attributes: a = {} } = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
            ],
          })
        );
        if (
          Number(a.ApproximateNumberOfMessages) +
            Number(a.ApproximateNumberOfMessagesNotVisible) ===
          0
        )
          break;
        await sleep(20);
      }
      const endToEndMs = performance.now() - started;
      const cpuAfter = treeCpuMs(runtime.pid);
      const log = join(logDir, `${s.id}.log`);
      const sizes = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map(Number) : [];
      const consumed = sizes.reduce((a, b) => a + b, 0);
      if (consumed < messages) {
        throw new Error(
          `${s.id}: the queue drained but the consumer saw ${consumed} of ${messages}`
        );
      }
      rows.push({
        batchSize: s.batchSize,
        windowSeconds: s.windowSeconds,
        maxConcurrency: s.maxConcurrency,
        messages,
        publishMs: Math.round(publishMs),
        publishPerSecond: Math.round(messages / (publishMs / 1000)),
        endToEndMs: Math.round(endToEndMs),
        messagesPerSecond: Math.round(messages / (endToEndMs / 1000)),
        invocations: sizes.length,
        meanBatch: Number((consumed / sizes.length).toFixed(1)),
        runtimeCpuMsPer1000: Math.round(((cpuAfter.own - cpuBefore.own) / messages) * 1000),
        workersCpuMsPer1000: Math.round(
          ((cpuAfter.descendants - cpuBefore.descendants) / messages) * 1000
        ),
      });
    }
  } finally {
    await runtime.stop();
    rmSync(outdir, { recursive: true, force: true });
    rmSync(logDir, { recursive: true, force: true });
  }
  return rows;
};
