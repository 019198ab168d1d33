import type { Message } from '@aws-sdk/client-sqs';
import { type LambdaRunner, LambdaServiceError } from './lambda/runner.js';
import type { Logger } from './logger.js';
import type { EventSourceMappingSpec } from './model.js';
import type { PollerQueue } from './sqs/store-queue.js';

export interface EsmPollerOptions {
  region: string;
  /** Long-poll wait per ReceiveMessage; short so stop() is quick. */
  waitTimeSeconds?: number;
  /** Concurrency when neither MaximumConcurrency nor reserved concurrency bounds it. */
  defaultConcurrency?: number;
}

/** The SDK decodes binary attributes to bytes; fauxqs's store keeps them as base64 text. */
const base64 = (b: Uint8Array | string) =>
  typeof b === 'string' ? b : Buffer.from(b).toString('base64');

export function toSqsRecord(m: Message, eventSourceARN: string, awsRegion: string) {
  const messageAttributes = Object.fromEntries(
    Object.entries(m.MessageAttributes ?? {}).map(([name, v]) => [
      name,
      {
        stringValue: v.StringValue,
        binaryValue: v.BinaryValue ? base64(v.BinaryValue) : undefined,
        stringListValues: v.StringListValues ?? [],
        binaryListValues: (v.BinaryListValues ?? []).map(base64),
        dataType: v.DataType,
      },
    ])
  );
  return {
    messageId: m.MessageId,
    receiptHandle: m.ReceiptHandle,
    body: m.Body,
    attributes: m.Attributes ?? {},
    messageAttributes,
    md5OfBody: m.MD5OfBody,
    ...(m.MD5OfMessageAttributes ? { md5OfMessageAttributes: m.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion,
  };
}

/**
 * Which messages to delete after a successful invocation. `undefined` means the
 * response must be treated as a whole-batch failure (Lambda's rules for
 * ReportBatchItemFailures: bad/empty/unknown itemIdentifier fails everything).
 */
export function succeededMessages(
  batch: Message[],
  response: unknown,
  reportBatchItemFailures: boolean
) {
  if (!reportBatchItemFailures) return batch;
  if (response === null || response === undefined || response === '') return batch;
  if (typeof response !== 'object') return undefined;
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === null || failures === undefined) return batch;
  if (!Array.isArray(failures)) return undefined;
  const ids = new Set(batch.map((m) => m.MessageId));
  const failed = new Set<string>();
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown })?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !ids.has(id)) return undefined;
    failed.add(id);
  }
  return batch.filter((m) => !failed.has(m.MessageId!));
}

export class EsmPoller {
  private running = false;
  private readonly abort = new AbortController();
  private inFlight = new Set<Promise<void>>();
  private loop?: Promise<void>;
  private slotFreed?: () => void;

  constructor(
    private readonly spec: EventSourceMappingSpec,
    private readonly queue: PollerQueue,
    private readonly lambda: LambdaRunner,
    private readonly logger: Logger,
    private readonly opts: EsmPollerOptions
  ) {}

  private get concurrency(): number {
    const reserved = this.lambda.resolveName(this.spec.functionName)?.reservedConcurrency;
    const limits = [this.spec.maxConcurrency, reserved].filter((n): n is number => n !== undefined);
    return limits.length ? Math.min(...limits) : (this.opts.defaultConcurrency ?? 5);
  }

  private enabled?: boolean;

  start() {
    this.enabled ??= this.spec.enabled;
    if (!this.enabled || this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  get isEnabled(): boolean {
    return this.enabled ?? this.spec.enabled;
  }

  get functionName(): string {
    return this.spec.functionName;
  }

  get logicalId(): string {
    return this.spec.logicalId;
  }

  /**
   * UpdateEventSourceMapping(Enabled): disabling stops polling (batches in flight
   * finish; the queue keeps everything else), enabling resumes it.
   */
  async setEnabled(enabled: boolean): Promise<void> {
    this.enabled = enabled;
    if (enabled) return this.start();
    this.running = false;
    this.slotFreed?.();
    await this.loop?.catch(() => {});
    this.loop = undefined;
  }

  private async run() {
    while (this.running) {
      if (this.inFlight.size >= this.concurrency) {
        await new Promise<void>((resolve) => {
          this.slotFreed = resolve;
        });
        continue;
      }
      let batch: Message[];
      try {
        batch = await this.collectBatch();
      } catch (err) {
        if (!this.running) break;
        this.logger.warn(`[esm ${this.spec.logicalId}] receive failed: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (batch.length === 0) continue;
      const p: Promise<void> = this.process(batch).finally(() => {
        this.inFlight.delete(p);
        this.slotFreed?.();
      });
      this.inFlight.add(p);
    }
  }

  private receive(max: number, waitSeconds: number): Promise<Message[]> {
    return this.queue.receive(Math.min(10, max), waitSeconds, this.abort.signal);
  }

  /** Fills up to BatchSize, waiting at most MaximumBatchingWindowInSeconds after the first message. */
  private async collectBatch(): Promise<Message[]> {
    const { batchSize, maxBatchingWindowSeconds } = this.spec;
    const batch = await this.receive(batchSize, this.opts.waitTimeSeconds ?? 1);
    if (batch.length === 0) return batch;
    const deadline = Date.now() + maxBatchingWindowSeconds * 1000;
    while (this.running && batch.length < batchSize && Date.now() < deadline) {
      const remainingMs = deadline - Date.now();
      const more = await this.receive(
        batchSize - batch.length,
        Math.min(20, Math.floor(remainingMs / 1000))
      );
      for (const m of more) {
        // A window longer than the visibility timeout can surface the same message again;
        // only its newest receipt handle is valid, and the function must see it once.
        const i = batch.findIndex((b) => b.MessageId === m.MessageId);
        if (i >= 0) batch[i] = m;
        else batch.push(m);
      }
      if (more.length === 0 && remainingMs < 1000) {
        await new Promise((r) => setTimeout(r, Math.min(remainingMs, 100)));
      }
    }
    return batch;
  }

  private async process(batch: Message[]) {
    const { spec } = this;
    const event = { Records: batch.map((m) => toSqsRecord(m, spec.queueArn, this.opts.region)) };
    let toDelete: Message[] | undefined;
    try {
      const result = await this.invokeThroughThrottling(event);
      if (!result.ok) {
        this.logger.warn(
          `[esm ${spec.logicalId}] ${spec.functionName} failed (${result.error.errorType}: ${result.error.errorMessage}); ${batch.length} message(s) return after the visibility timeout`
        );
        return;
      }
      toDelete = succeededMessages(batch, result.payload, spec.reportBatchItemFailures);
      if (!toDelete) {
        this.logger.warn(
          `[esm ${spec.logicalId}] invalid batchItemFailures response; whole batch will be retried`
        );
        return;
      }
    } catch (err) {
      // Throttled or stopping: the messages simply become visible again, as with Lambda.
      if (err instanceof LambdaServiceError) {
        this.logger.debug(`[esm ${spec.logicalId}] ${err.message}`);
        return;
      }
      throw err;
    }
    try {
      for (let i = 0; i < toDelete.length; i += 10) {
        await this.queue.deleteBatch(toDelete.slice(i, i + 10));
      }
    } catch (err) {
      if (this.running)
        this.logger.warn(`[esm ${spec.logicalId}] delete failed: ${(err as Error).message}`);
    }
  }

  /**
   * Like Lambda's poller, a throttled batch stays with the poller and is retried
   * with backoff (up to a minute, well inside the 6× visibility timeout) instead
   * of being dropped back to the queue for a whole visibility timeout.
   */
  private async invokeThroughThrottling(event: unknown) {
    const deadline = Date.now() + 60_000;
    for (let delay = 200; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        return await this.lambda.invoke(this.spec.functionName, event);
      } catch (err) {
        const throttled =
          err instanceof LambdaServiceError && err.code === 'TooManyRequestsException';
        if (!throttled || !this.running || Date.now() + delay > deadline) throw err;
        await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random() / 2)));
      }
    }
  }

  async stop() {
    this.running = false;
    this.abort.abort();
    this.slotFreed?.();
    await this.loop?.catch(() => {});
    await Promise.allSettled([...this.inFlight]);
  }
}
