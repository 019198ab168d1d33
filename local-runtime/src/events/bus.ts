import { randomUUID } from 'node:crypto';
import { type InvokeResult, type LambdaRunner, LambdaServiceError } from '../lambda/runner.js';
import type { Logger } from '../logger.js';
import type { EventRuleSpec, EventTargetSpec, FunctionSpec } from '../model/types.js';
import { matchesPattern } from './pattern.js';
import { SCHEDULED_EVENT } from './schedule.js';

/** An event as a service puts it on the default bus; the bus fills in the envelope's ids. */
export interface BusEvent {
  source: string;
  'detail-type': string;
  resources: string[];
  detail: unknown;
  /** @default - now */
  time?: Date;
}

/** The envelope every target receives: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html */
export interface EventEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface EventBusOptions {
  region: string;
  accountId: string;
  logger: Logger;
  /** Sends one message to a queue of the stack by its ARN (dead-letter queues). */
  sendToQueue(queueArn: string, body: string, attributes: Record<string, string>): Promise<void>;
  /**
   * Delays of Lambda's own retries of an event whose function failed. AWS waits about
   * 1 minute, then 2 (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html);
   * locally 1 s, then 2 s, so a test sees the dead-letter queue in seconds.
   * @default [1000, 2000]
   */
  functionRetryDelaysMs?: readonly number[];
  /** First delay of a throttled event's retries (doubling, at most 30 s). @default 500 */
  throttleRetryMs?: number;
}

/** EventBridge's defaults when a target has no RetryPolicy. */
const DEFAULT_MAX_EVENT_AGE_SECONDS = 86_400;
/** Lambda keeps a throttled asynchronous event for up to 6 hours. */
const LAMBDA_MAX_EVENT_AGE_MS = 6 * 3600 * 1000;

/**
 * The account's default event bus, for the rules of the stack (AWS::Events::Rule
 * with Lambda targets). Services put events with `put`; every enabled rule whose
 * pattern matches gets them, each target on its own, asynchronously.
 *
 * A Lambda target is invoked as EventBridge does it, asynchronously
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html), in two
 * stages with their own failure handling:
 * - EventBridge → Lambda: a refused delivery (no such function, or a function that cannot
 *   run here) goes to the target's DeadLetterConfig queue with EventBridge's attributes
 *   (RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE), or is dropped with a warning
 *   (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html);
 * - Lambda's event queue → the function: a throttled event waits and retries (doubling delays,
 *   up to the target's MaximumEventAgeInSeconds and Lambda's 6 hours); a function error is retried
 *   twice, then the event goes to the function's DeadLetterConfig queue with Lambda's attributes
 *   (RequestID, ErrorCode, ErrorMessage), or is dropped with a warning.
 */
export class EventBus {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(
    private readonly rules: readonly EventRuleSpec[],
    private readonly lambda: LambdaRunner,
    private readonly opts: EventBusOptions
  ) {}

  /** Puts one event on the bus; returns the envelope the targets receive. */
  put(event: BusEvent): EventEnvelope {
    const envelope: EventEnvelope = {
      version: '0',
      id: randomUUID(),
      'detail-type': event['detail-type'],
      source: event.source,
      account: this.opts.accountId,
      // EventBridge's `time` has whole seconds.
      time: `${(event.time ?? new Date()).toISOString().slice(0, 19)}Z`,
      region: this.opts.region,
      resources: event.resources,
      detail: event.detail,
    };
    if (this.stopped) return envelope;
    for (const rule of this.rules) {
      if (!rule.enabled || !rule.eventPattern || !matchesPattern(rule.eventPattern, envelope)) {
        continue;
      }
      this.deliverToTargets(rule, envelope);
    }
    return envelope;
  }

  /**
   * Starts the scheduled rules' timers: a rate expression starts when the rule is
   * created (here: when the runtime starts) and then runs every interval; each run
   * sends its targets a `Scheduled Event` naming the rule in `resources`.
   * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html
   * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
   */
  startSchedules(): void {
    for (const rule of this.rules) {
      if (!rule.enabled || rule.scheduleEveryMs === undefined) continue;
      const timer = setInterval(() => this.runSchedule(rule), rule.scheduleEveryMs);
      timer.unref();
      this.timers.push(timer);
    }
  }

  /** One run of a scheduled rule (the timer's tick; tests call it directly). */
  runSchedule(rule: EventRuleSpec, time: Date = new Date()): EventEnvelope {
    const envelope: EventEnvelope = {
      version: '0',
      id: randomUUID(),
      'detail-type': SCHEDULED_EVENT.detailType,
      source: SCHEDULED_EVENT.source,
      account: this.opts.accountId,
      time: `${time.toISOString().slice(0, 19)}Z`,
      region: this.opts.region,
      resources: [rule.arn],
      detail: {},
    };
    if (!this.stopped) this.deliverToTargets(rule, envelope);
    return envelope;
  }

  private deliverToTargets(rule: EventRuleSpec, envelope: EventEnvelope): void {
    for (const target of rule.targets) {
      const delivery = this.deliver(rule, target, envelope).catch((err) =>
        this.opts.logger.warn(
          `[events] ${rule.name} → ${target.id}: ${(err as Error).message} (event dropped)`
        )
      );
      this.inFlight.add(delivery);
      void delivery.finally(() => this.inFlight.delete(delivery));
    }
  }

  /** Resolves once every delivery started so far has ended (tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** New events are dropped; deliveries in flight end at their next wait. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }

  private payloadFor(target: EventTargetSpec, envelope: EventEnvelope): unknown {
    if (target.input !== undefined) return JSON.parse(target.input);
    if (target.inputPath !== undefined) return jsonPathGet(envelope, target.inputPath);
    return envelope;
  }

  private async deliver(rule: EventRuleSpec, target: EventTargetSpec, envelope: EventEnvelope) {
    const payload = this.payloadFor(target, envelope);
    const fn = this.lambda.resolveName(target.arn);
    if (!fn) {
      const message = `Function not found: ${target.arn}`;
      return this.deadLetterTarget(rule, target, envelope, 'ResourceNotFoundException', message);
    }
    if (fn.notRunnable) {
      return this.deadLetterTarget(rule, target, envelope, 'ServiceException', fn.notRunnable);
    }
    const maxAgeMs =
      Math.min(target.maxEventAgeSeconds ?? DEFAULT_MAX_EVENT_AGE_SECONDS, 6 * 3600) * 1000;
    const started = Date.now();
    const retryDelays = this.opts.functionRetryDelaysMs ?? [1000, 2000];
    let last: InvokeResult | undefined;
    for (let attempt = 0; attempt <= retryDelays.length; attempt++) {
      if (attempt > 0) await this.wait(retryDelays[attempt - 1]!);
      if (this.stopped) return;
      const result = await this.invokeThrottled(fn, payload, started, maxAgeMs);
      if (result === 'expired') {
        return this.deadLetterFunction(fn, payload, 'TooManyRequestsException', 'event expired');
      }
      if (result === 'stopped') return;
      last = result;
      if (result.ok) return;
      this.opts.logger.warn(
        `[events] ${rule.name} → ${fn.name} attempt ${attempt + 1}: ${result.error.errorType}: ${result.error.errorMessage}`
      );
    }
    if (last && !last.ok) {
      await this.deadLetterFunction(
        fn,
        payload,
        last.error.errorType,
        last.error.errorMessage,
        last.requestId
      );
    }
  }

  /** One attempt, throttles waited out like Lambda's event queue does. */
  private async invokeThrottled(
    fn: FunctionSpec,
    payload: unknown,
    started: number,
    maxAgeMs: number
  ): Promise<InvokeResult | 'expired' | 'stopped'> {
    for (let delay = this.opts.throttleRetryMs ?? 500; ; delay = Math.min(delay * 2, 30_000)) {
      try {
        return await this.lambda.invoke(fn.name, payload);
      } catch (err) {
        if (!(err instanceof LambdaServiceError && err.code === 'TooManyRequestsException')) {
          throw err;
        }
        if (Date.now() - started + delay > Math.min(maxAgeMs, LAMBDA_MAX_EVENT_AGE_MS)) {
          return 'expired';
        }
        await this.wait(delay);
        if (this.stopped) return 'stopped';
      }
    }
  }

  private wait(ms: number) {
    return new Promise((r) => setTimeout(r, ms));
  }

  private async deadLetterTarget(
    rule: EventRuleSpec,
    target: EventTargetSpec,
    envelope: EventEnvelope,
    code: string,
    message: string
  ) {
    if (!target.deadLetterArn) {
      this.opts.logger.warn(`[events] ${rule.name} → ${target.id}: ${code}: ${message} (dropped)`);
      return;
    }
    await this.opts.sendToQueue(target.deadLetterArn, JSON.stringify(envelope), {
      RULE_ARN: rule.arn,
      TARGET_ARN: target.arn,
      ERROR_CODE: code,
      ERROR_MESSAGE: message,
    });
    this.opts.logger.warn(`[events] ${rule.name} → ${target.id}: ${code}: dead-lettered`);
  }

  private async deadLetterFunction(
    fn: FunctionSpec,
    payload: unknown,
    code: string,
    message: string,
    requestId: string = randomUUID()
  ) {
    if (!fn.deadLetterTargetArn) {
      this.opts.logger.warn(`[events] ${fn.name}: ${code}: ${message} (event dropped: no DLQ)`);
      return;
    }
    await this.opts.sendToQueue(fn.deadLetterTargetArn, JSON.stringify(payload), {
      RequestID: requestId,
      ErrorCode: code,
      ErrorMessage: message.slice(0, 1000),
    });
    this.opts.logger.warn(`[events] ${fn.name}: ${code} after Lambda's retries: dead-lettered`);
  }
}

/** A target's InputPath: the simple `$.a.b` paths EventBridge accepts. */
function jsonPathGet(value: unknown, path: string): unknown {
  if (path === '$') return value;
  let cur: unknown = value;
  for (const part of path.replace(/^\$\.?/, '').split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
