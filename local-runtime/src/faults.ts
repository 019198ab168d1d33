import { LocalRuntimeError } from './errors.js';

/**
 * SNS's delivery policy for AWS-managed endpoints (SQS, Lambda), which cannot be
 * changed: after the first attempt, 3 immediate retries, 2 retries 1 s apart, 10
 * retries backing off exponentially from 1 s to 20 s, then 100,000 retries 20 s
 * apart (the page totals this as "100,015 times, over 23 days").
 * https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
 */
export const SNS_SQS_DELIVERY_POLICY = {
  immediateRetries: 3,
  preBackoffRetries: 2,
  preBackoffDelayMs: 1_000,
  backoffRetries: 10,
  minDelayMs: 1_000,
  maxDelayMs: 20_000,
  postBackoffRetries: 100_000,
} as const;

/** How many retries the policy allows after the first attempt. */
export const SNS_SQS_MAX_RETRIES =
  SNS_SQS_DELIVERY_POLICY.immediateRetries +
  SNS_SQS_DELIVERY_POLICY.preBackoffRetries +
  SNS_SQS_DELIVERY_POLICY.backoffRetries +
  SNS_SQS_DELIVERY_POLICY.postBackoffRetries;

/** The policy's delay before retry `n` (1-based), before jitter. */
export function snsRetryDelayMs(n: number): number {
  const p = SNS_SQS_DELIVERY_POLICY;
  if (n <= p.immediateRetries) return 0;
  if (n <= p.immediateRetries + p.preBackoffRetries) return p.preBackoffDelayMs;
  const i = n - p.immediateRetries - p.preBackoffRetries - 1;
  if (i < p.backoffRetries) {
    // Exponential from min to max over the phase's retries.
    return Math.round(p.minDelayMs * (p.maxDelayMs / p.minDelayMs) ** (i / (p.backoffRetries - 1)));
  }
  return p.maxDelayMs;
}

/**
 * One SNS→SQS delivery under `rate` (each attempt fails with that probability,
 * independently): how many attempts failed, and whether the policy ran out
 * (then the message goes to the subscription's DLQ, or is discarded without one).
 * The number of failures is drawn once (geometric), so a rate of 1 costs one
 * draw rather than 100,015 timers.
 */
export function drawDeliveryFailures(
  rate: number,
  random: () => number
): { failures: number; exhausted: boolean } {
  if (rate <= 0) return { failures: 0, exhausted: false };
  if (rate >= 1) return { failures: SNS_SQS_MAX_RETRIES + 1, exhausted: true };
  // P(failures >= k) = rate^k.
  const u = 1 - random(); // (0, 1]
  const failures = Math.floor(Math.log(u) / Math.log(rate));
  return failures > SNS_SQS_MAX_RETRIES
    ? { failures: SNS_SQS_MAX_RETRIES + 1, exhausted: true }
    : { failures, exhausted: false };
}

/**
 * The time SNS spends retrying after `failures` failed attempts, jittered: SNS
 * applies jitter but does not document how much; ±20 % per retry here.
 */
export function retryDelayTotalMs(failures: number, random: () => number): number {
  let total = 0;
  const retries = Math.min(failures, SNS_SQS_MAX_RETRIES);
  for (let n = 1; n <= retries; n++) total += snsRetryDelayMs(n) * (0.8 + 0.4 * random());
  return total;
}

type Env = Record<string, string | undefined>;

const RATE_FIELDS = {
  s3SlowDownRate: 'LOCAL_FAULT_S3_SLOWDOWN_RATE',
  snsDeliveryErrorRate: 'LOCAL_FAULT_SNS_DELIVERY_ERROR_RATE',
  snsDuplicateRate: 'LOCAL_FAULT_SNS_DUPLICATE_RATE',
  sqsReceiveErrorRate: 'LOCAL_FAULT_SQS_RECEIVE_ERROR_RATE',
  sqsDeleteErrorRate: 'LOCAL_FAULT_SQS_DELETE_ERROR_RATE',
} as const;
export type FaultRate = keyof typeof RATE_FIELDS;
export const FAULT_RATES = Object.keys(RATE_FIELDS) as FaultRate[];

const LABELS: Record<FaultRate, string> = {
  s3SlowDownRate: 'S3 SlowDown',
  snsDeliveryErrorRate: 'SNS delivery error',
  snsDuplicateRate: 'SNS duplicate',
  sqsReceiveErrorRate: 'SQS ReceiveMessage error',
  sqsDeleteErrorRate: 'SQS DeleteMessage error',
};

export interface FaultCounts {
  s3SlowDowns: number;
  /** SNS→SQS delivery attempts that failed (each is retried per the policy, or ends the message). */
  snsDeliveryFailures: number;
  /** Messages delivered after one or more failed attempts. */
  snsDeliveredAfterRetry: number;
  /** Messages the policy gave up on, moved to the subscription's RedrivePolicy DLQ. */
  snsDeadLettered: number;
  /** Messages the policy gave up on with no DLQ on the subscription: discarded, as SNS does. */
  snsDiscarded: number;
  /** Extra copies delivered (SNS is at-least-once). */
  snsDuplicates: number;
  /** Deliveries still waiting for a retry. */
  snsPendingRetries: number;
  sqsReceiveErrors: number;
  sqsDeleteErrors: number;
}

/**
 * Fault injection for chaos tests, off unless asked for. Each rate is 0–1, set at
 * start from its LOCAL_FAULT_* variable, or at run time on `runtime.faults` or
 * through `POST /_local/faults {"<rate>": 0.1, ...}`.
 *
 * - s3SlowDownRate: that fraction of S3 requests through the endpoint is answered
 *   503 SlowDown before reaching storage, as S3 does under request-rate pressure.
 * - snsDeliveryErrorRate: each SNS→SQS delivery attempt fails with this probability
 *   (a server-side error: the queue unavailable) and is retried per SNS's policy
 *   for SQS endpoints; when the policy runs out the message goes to the
 *   subscription's DLQ. `snsRetryTimeScale` (default 1) compresses the policy's
 *   delays so that 23 days of retries can end inside a test.
 * - snsDuplicateRate: that fraction of deliveries arrives twice.
 * - sqsReceiveErrorRate / sqsDeleteErrorRate: ReceiveMessage / DeleteMessage(Batch)
 *   calls answered 500 InternalFailure or 400 ThrottlingException (half each).
 */
export class Faults {
  private readonly rates: Record<FaultRate, number> = {
    s3SlowDownRate: 0,
    snsDeliveryErrorRate: 0,
    snsDuplicateRate: 0,
    sqsReceiveErrorRate: 0,
    sqsDeleteErrorRate: 0,
  };
  private timeScale = 1;
  /** Calls failed on request before the rates apply (deterministic cases). */
  private readonly forced = { receive: 0, delete: 0 };
  readonly counts: FaultCounts = {
    s3SlowDowns: 0,
    snsDeliveryFailures: 0,
    snsDeliveredAfterRetry: 0,
    snsDeadLettered: 0,
    snsDiscarded: 0,
    snsDuplicates: 0,
    snsPendingRetries: 0,
    sqsReceiveErrors: 0,
    sqsDeleteErrors: 0,
  };

  constructor(
    s3SlowDownRate: number | string | undefined = process.env.LOCAL_FAULT_S3_SLOWDOWN_RATE,
    readonly random: () => number = Math.random,
    env: Env = process.env
  ) {
    for (const field of FAULT_RATES) {
      const raw = field === 's3SlowDownRate' ? s3SlowDownRate : env[RATE_FIELDS[field]];
      if (raw !== undefined && raw !== '') this.setRate(field, Number(raw));
    }
    const scale = env.LOCAL_FAULT_SNS_RETRY_TIME_SCALE;
    if (scale !== undefined && scale !== '') this.snsRetryTimeScale = Number(scale);
  }

  rate(field: FaultRate): number {
    return this.rates[field];
  }

  setRate(field: FaultRate, rate: number) {
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new LocalRuntimeError(`The ${LABELS[field]} rate must be between 0 and 1, got ${rate}`);
    }
    this.rates[field] = rate;
  }

  get s3SlowDownRate() {
    return this.rates.s3SlowDownRate;
  }
  set s3SlowDownRate(rate: number) {
    this.setRate('s3SlowDownRate', rate);
  }
  get snsDeliveryErrorRate() {
    return this.rates.snsDeliveryErrorRate;
  }
  set snsDeliveryErrorRate(rate: number) {
    this.setRate('snsDeliveryErrorRate', rate);
  }
  get snsDuplicateRate() {
    return this.rates.snsDuplicateRate;
  }
  set snsDuplicateRate(rate: number) {
    this.setRate('snsDuplicateRate', rate);
  }
  get sqsReceiveErrorRate() {
    return this.rates.sqsReceiveErrorRate;
  }
  set sqsReceiveErrorRate(rate: number) {
    this.setRate('sqsReceiveErrorRate', rate);
  }
  get sqsDeleteErrorRate() {
    return this.rates.sqsDeleteErrorRate;
  }
  set sqsDeleteErrorRate(rate: number) {
    this.setRate('sqsDeleteErrorRate', rate);
  }

  /** Multiplies SNS's retry delays (1 = AWS's; 1e-6 turns 23 days into about 2 s). */
  get snsRetryTimeScale() {
    return this.timeScale;
  }
  set snsRetryTimeScale(scale: number) {
    if (!Number.isFinite(scale) || scale < 0 || scale > 1) {
      throw new LocalRuntimeError(`The SNS retry time scale must be between 0 and 1, got ${scale}`);
    }
    this.timeScale = scale;
  }

  /** Kept for callers of the first version. */
  get s3SlowDowns() {
    return this.counts.s3SlowDowns;
  }

  /** Whether SNS deliveries need the fault path at all. */
  get snsActive(): boolean {
    return this.rates.snsDeliveryErrorRate > 0 || this.rates.snsDuplicateRate > 0;
  }

  private hit(field: FaultRate): boolean {
    const rate = this.rates[field];
    return rate > 0 && this.random() < rate;
  }

  /** Decides (and counts) whether this S3 request fails with 503 SlowDown. */
  slowDownS3(): boolean {
    if (!this.hit('s3SlowDownRate')) return false;
    this.counts.s3SlowDowns++;
    return true;
  }

  /**
   * Fails the next `count` ReceiveMessage or DeleteMessage(Batch) calls, whatever the
   * rates: a case that must see the path taken does not depend on a draw. Two in a
   * row stay inside the SDK's 3 attempts, so the call still succeeds in the end.
   */
  failNextSqs(operation: 'ReceiveMessage' | 'DeleteMessage', count: number) {
    if (!Number.isInteger(count) || count < 0)
      throw new LocalRuntimeError(`failNextSqs needs a count >= 0, got ${count}`);
    this.forced[operation === 'ReceiveMessage' ? 'receive' : 'delete'] = count;
  }

  /** The SQS error to answer this call with, if one is injected (and counts it). */
  sqsError(operation: string): SqsFault | undefined {
    const field =
      operation === 'ReceiveMessage'
        ? 'sqsReceiveErrorRate'
        : operation === 'DeleteMessage' || operation === 'DeleteMessageBatch'
          ? 'sqsDeleteErrorRate'
          : undefined;
    if (!field) return undefined;
    const forced = field === 'sqsReceiveErrorRate' ? 'receive' : 'delete';
    if (this.forced[forced] > 0) this.forced[forced]--;
    else if (!this.hit(field)) return undefined;
    if (field === 'sqsReceiveErrorRate') this.counts.sqsReceiveErrors++;
    else this.counts.sqsDeleteErrors++;
    // SQS's common errors: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html
    return this.random() < 0.5
      ? {
          status: 500,
          type: 'com.amazon.coral.service#InternalFailure',
          queryError: 'InternalFailure;Receiver',
          message: 'We encountered an internal error. Please try again.',
        }
      : {
          status: 400,
          type: 'com.amazon.coral.availability#ThrottlingException',
          queryError: 'ThrottlingException;Sender',
          message: 'Rate exceeded',
        };
  }

  /** Draws the fate of one SNS→SQS delivery and counts it. */
  snsDelivery(): { failures: number; exhausted: boolean; delayMs: number; duplicate: boolean } {
    const { failures, exhausted } = drawDeliveryFailures(
      this.rates.snsDeliveryErrorRate,
      this.random
    );
    const delayMs = failures > 0 ? retryDelayTotalMs(failures, this.random) * this.timeScale : 0;
    const duplicate = !exhausted && this.hit('snsDuplicateRate');
    this.counts.snsDeliveryFailures += failures;
    if (duplicate) this.counts.snsDuplicates++;
    return { failures, exhausted, delayMs, duplicate };
  }
}

export interface SqsFault {
  status: number;
  type: string;
  queryError: string;
  message: string;
}
