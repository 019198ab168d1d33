import { randomUUID } from 'node:crypto';
import type { Faults } from './faults.js';
import type { Logger } from './logger.js';

/** The parts of fauxqs 2.4.1's SNS and SQS stores that delivery touches. */
export interface FauxqsMessage {
  messageId: string;
  sentTimestamp: number;
  [field: string]: unknown;
}
export interface FauxqsQueue {
  arn: string;
  isFifo(): boolean;
  enqueue(msg: FauxqsMessage): void;
}
export interface FauxqsSubscription {
  arn: string;
  attributes: Record<string, string | undefined>;
}
export interface FauxqsSqsStore {
  getQueueByArn(arn: string): FauxqsQueue | undefined;
}
export interface FauxqsSnsStore {
  getSubscription(arn: string): FauxqsSubscription | undefined;
}
/** fauxqs's own Publish / PublishBatch actions (dist/sns/actions/publish.js). */
export type PublishAction = (
  params: Record<string, string>,
  snsStore: FauxqsSnsStore,
  sqsStore: FauxqsSqsStore
) => string;

/** Binds methods so a Proxy forwards calls with the real object as `this`. */
const forward = <T extends object>(target: T, prop: string | symbol) => {
  const value = Reflect.get(target, prop, target);
  return typeof value === 'function' ? value.bind(target) : value;
};

/**
 * SNS→SQS delivery with injected failures and duplicates. fauxqs delivers inside
 * its Publish action (`fanOutToSubscriptions`: one `queue.enqueue` per matching
 * subscription, synchronously); while faults are on, Publish runs fauxqs's own
 * action with store proxies that hand it, per subscription, a queue whose
 * `enqueue` goes through here. Filtering, raw delivery and the envelope stay
 * fauxqs's. Each delivery's fate is drawn from `faults`: delivered now; delivered
 * after the retries SNS's delivery policy would spend on its failed attempts;
 * or, when the policy runs out, moved to the subscription's RedrivePolicy DLQ
 * (discarded without one), as SNS does:
 * https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
 * https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html
 * FIFO queues are left alone (SNS FIFO → SQS FIFO is exactly-once, in order).
 */
export class FaultyDelivery {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly faults: Faults,
    private readonly snsStore: FauxqsSnsStore,
    private readonly sqsStore: FauxqsSqsStore,
    private readonly logger?: Logger
  ) {}

  /** Runs fauxqs's Publish/PublishBatch with deliveries routed through the faults. */
  publish(action: PublishAction, params: Record<string, string>): string {
    let current: FauxqsSubscription | undefined;
    const sns = new Proxy(this.snsStore, {
      get: (target, prop) =>
        prop === 'getSubscription'
          ? (arn: string) => {
              current = target.getSubscription(arn);
              return current;
            }
          : forward(target, prop),
    });
    const sqs = new Proxy(this.sqsStore, {
      get: (target, prop) =>
        prop === 'getQueueByArn'
          ? (arn: string) => {
              const queue = target.getQueueByArn(arn);
              const sub = current;
              if (!queue || !sub || queue.isFifo()) return queue;
              return new Proxy(queue, {
                get: (q, p) =>
                  p === 'enqueue'
                    ? (msg: FauxqsMessage) => this.deliver(q.arn, sub, msg)
                    : forward(q, p),
              });
            }
          : forward(target, prop),
    });
    return action(params, sns, sqs);
  }

  private later(ms: number, fn: () => void) {
    this.faults.counts.snsPendingRetries++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.faults.counts.snsPendingRetries--;
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private deliver(queueArn: string, sub: FauxqsSubscription, msg: FauxqsMessage) {
    const fate = this.faults.snsDelivery();
    if (fate.exhausted) {
      this.later(fate.delayMs, () => this.deadLetter(sub, msg, 'the delivery policy ran out'));
      return;
    }
    const land = () => {
      const queue = this.sqsStore.getQueueByArn(queueArn);
      // The queue is gone: a client-side error, which SNS does not retry.
      if (!queue) return this.deadLetter(sub, msg, `queue ${queueArn} does not exist`);
      if (fate.failures > 0) this.faults.counts.snsDeliveredAfterRetry++;
      queue.enqueue({ ...msg, sentTimestamp: Date.now() });
      if (fate.duplicate) {
        // A second copy of the same SNS message, a new SQS message id, up to 3 s later:
        // late enough to meet a consumer that already handled the first copy.
        this.later(this.faults.random() * 3_000, () =>
          this.sqsStore
            .getQueueByArn(queueArn)
            ?.enqueue({ ...msg, messageId: randomUUID(), sentTimestamp: Date.now() })
        );
      }
    };
    if (fate.failures === 0) land();
    else this.later(fate.delayMs, land);
  }

  private deadLetter(sub: FauxqsSubscription, msg: FauxqsMessage, why: string) {
    let dlqArn: string | undefined;
    try {
      dlqArn = JSON.parse(sub.attributes.RedrivePolicy ?? '{}').deadLetterTargetArn;
    } catch {
      dlqArn = undefined;
    }
    const dlq = dlqArn ? this.sqsStore.getQueueByArn(dlqArn) : undefined;
    if (!dlq) {
      this.faults.counts.snsDiscarded++;
      this.logger?.warn(`[sns] ${sub.arn}: ${why} and it has no usable DLQ; message discarded`);
      return;
    }
    this.faults.counts.snsDeadLettered++;
    dlq.enqueue({ ...msg, messageId: randomUUID(), sentTimestamp: Date.now() });
    this.logger?.debug(`[sns] ${sub.arn}: ${why}; message moved to ${dlqArn}`);
  }

  /** Deliveries still waiting for a retry are dropped with the runtime. */
  stop() {
    for (const t of this.timers) clearTimeout(t);
    this.faults.counts.snsPendingRetries -= this.timers.size;
    this.timers.clear();
  }
}
