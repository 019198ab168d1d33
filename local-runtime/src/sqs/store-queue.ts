import type { Message } from '@aws-sdk/client-sqs';
import type { Faults, SqsFault } from '../faults.js';

/** What an event source mapping's poller needs from its queue. */
export interface PollerQueue {
  /**
   * ReceiveMessage of at most `max` (≤ 10) with every system and message attribute,
   * long-polling up to `waitSeconds`; an aborted wait returns nothing and takes nothing.
   */
  receive(max: number, waitSeconds: number, signal: AbortSignal): Promise<Message[]>;
  /** DeleteMessageBatch of at most 10 received messages, by receipt handle. */
  deleteBatch(messages: readonly Message[]): Promise<void>;
}

/** The part of a fauxqs 2.4.1 queue this module touches: its long-poll wait. */
interface FauxqsWaitableQueue {
  waitForMessages(waitTimeSeconds: number): Promise<void>;
}

/** The fauxqs 2.4.1 SQS store and actions (dist/sqs/...); the package exports none of them. */
export interface FauxqsSqsAccess {
  store: { getQueue(url: string): FauxqsWaitableQueue | undefined };
  receiveMessage(
    body: Record<string, unknown>,
    store: unknown
  ): Promise<{
    Messages?: Array<Omit<Message, 'MessageAttributes'> & { MessageAttributes?: object }>;
  }>;
  deleteMessageBatch(
    body: Record<string, unknown>,
    store: unknown
  ): { Successful: unknown[]; Failed: Array<{ Id: string; Code?: string; Message?: string }> };
}

/** An SQS error the fault injector answered with, as the SDK would surface it. */
export class InjectedSqsError extends Error {
  override readonly name: string;
  readonly retryable = true;
  constructor(fault: SqsFault) {
    super(fault.message);
    this.name = fault.type.split('#').pop() ?? 'InternalFailure';
  }
}

/**
 * The SDK's standard retry mode, which the HTTP path had: 3 attempts, exponential
 * backoff with full jitter from 100 ms (500 ms for throttling errors).
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
 */
const MAX_ATTEMPTS = 3;
const backoffMs = (err: InjectedSqsError, attempt: number, random: () => number) =>
  random() * Math.min(20_000, (err.name === 'ThrottlingException' ? 500 : 100) * 2 ** attempt);

/**
 * A poller's queue served by fauxqs's own ReceiveMessage and DeleteMessageBatch
 * actions called in-process, rather than through fauxqs's HTTP port with a signed
 * SDK request per call. Lambda's pollers are part of the service and reach SQS
 * however it wants; what the function sees must be the same. It is: the actions are
 * the ones fauxqs's HTTP handler runs, so visibility timeout, ApproximateReceiveCount,
 * the redrive to the DLQ after maxReceiveCount (done inside fauxqs's dequeue) stay
 * fauxqs's, and the injected SQS faults (chaos tests) are drawn here as at its door.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
 */
export class StoreQueue implements PollerQueue {
  constructor(
    private readonly sqs: FauxqsSqsAccess,
    private readonly queueUrl: string,
    private readonly faults?: Faults,
    private readonly random: () => number = Math.random
  ) {}

  async receive(max: number, waitSeconds: number, signal: AbortSignal): Promise<Message[]> {
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      if (signal.aborted) return [];
      const { Messages = [] } = await this.withRetries('ReceiveMessage', () =>
        this.sqs.receiveMessage(
          {
            QueueUrl: this.queueUrl,
            MaxNumberOfMessages: Math.min(10, max),
            WaitTimeSeconds: 0,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          },
          this.sqs.store
        )
      );
      const remainingMs = deadline - Date.now();
      if (Messages.length > 0 || remainingMs <= 0 || signal.aborted) return Messages as Message[];
      // The long poll, without fauxqs's dequeue at its end: a wait aborted by stop() or
      // a disabled mapping must not leave messages invisible for a visibility timeout.
      const queue = this.sqs.store.getQueue(this.queueUrl);
      if (!queue) return [];
      let onAbort: (() => void) | undefined;
      await Promise.race([
        queue.waitForMessages(Math.min(1, remainingMs / 1000)),
        new Promise<void>((resolve) => {
          onAbort = () => resolve();
          signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  async deleteBatch(messages: readonly Message[]): Promise<void> {
    if (messages.length === 0) return;
    const { Failed } = await this.withRetries('DeleteMessageBatch', async () =>
      this.sqs.deleteMessageBatch(
        {
          QueueUrl: this.queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        },
        this.sqs.store
      )
    );
    if (Failed.length > 0) {
      throw new Error(
        `DeleteMessageBatch failed for ${Failed.length} entr${Failed.length === 1 ? 'y' : 'ies'}: ${Failed[0]!.Code ?? ''} ${Failed[0]!.Message ?? ''}`
      );
    }
  }

  private async withRetries<T>(operation: string, call: () => Promise<T> | T): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const fault = this.faults?.sqsError(operation);
      if (!fault) return call();
      const err = new InjectedSqsError(fault);
      if (attempt + 1 >= MAX_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, backoffMs(err, attempt, this.random)));
    }
  }
}
