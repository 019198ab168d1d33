import { randomBytes } from 'node:crypto';
import { SfnError } from './errors.js';

/**
 * Task tokens of `.waitForTaskToken` Tasks: minted when the state's Parameters read
 * `$$.Task.Token`, answered through SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat.
 * https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token
 */

/** A callback Task's failure (SendTaskFailure, heartbeat or timeout), named for Retry/Catch. */
export class TokenTaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

type Outcome = 'pending' | 'done' | 'timedOut';

interface Waiter {
  outcome: Outcome;
  resolve(output: unknown): void;
  reject(err: Error): void;
  heartbeatMs?: number;
  heartbeatTimer?: NodeJS.Timeout;
  timeoutTimer?: NodeJS.Timeout;
  /** Records TaskSucceeded/TaskFailed/TaskTimedOut in the execution's history. */
  onEnd?: (kind: 'succeeded' | 'failed' | 'timedOut', detail: Record<string, unknown>) => void;
}

const TOKEN_RE = /^AQ[A-Za-z0-9_-]{64}$/;
/** SendTaskSuccess output, SendTaskFailure error and cause: AWS's documented limits. */
const MAX_OUTPUT_BYTES = 256 * 1024;

export class TaskTokens {
  private readonly waiters = new Map<string, Waiter>();

  /** A fresh token, known to the registry from now on (so a quick callback finds it). */
  mint(): string {
    const token = `AQ${randomBytes(48).toString('base64url')}`;
    this.waiters.set(token, {
      outcome: 'pending',
      resolve: () => undefined,
      reject: () => undefined,
    });
    return token;
  }

  /**
   * Waits for the callback of `token`. `HeartbeatSeconds` fails the Task with
   * `States.HeartbeatTimeout` when no heartbeat (or result) arrives in time;
   * `TimeoutSeconds` with `States.Timeout`.
   * https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html
   */
  wait(
    token: string,
    opts: {
      heartbeatSeconds?: number;
      timeoutSeconds?: number;
      onEnd?: Waiter['onEnd'];
    }
  ): Promise<unknown> {
    const w = this.waiters.get(token);
    if (w?.outcome !== 'pending') throw new Error(`Task token ${token} is not pending`);
    return new Promise((resolve, reject) => {
      w.resolve = resolve;
      w.reject = reject;
      w.onEnd = opts.onEnd;
      if (opts.heartbeatSeconds !== undefined) {
        w.heartbeatMs = opts.heartbeatSeconds * 1000;
        this.armHeartbeat(token, w);
      }
      if (opts.timeoutSeconds !== undefined) {
        w.timeoutTimer = setTimeout(
          () => this.timeOut(token, w, 'States.Timeout'),
          opts.timeoutSeconds * 1000
        );
      }
    });
  }

  /** Stops waiting (the execution ended another way): the token answers TaskDoesNotExist. */
  abandon(token: string) {
    const w = this.waiters.get(token);
    if (w?.outcome === 'pending') this.settle(token, w, 'done');
  }

  /** https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html */
  succeed(body: Record<string, unknown>) {
    const { token, w } = this.pending(body);
    const text = String(body.output ?? '');
    let output: unknown;
    try {
      if (Buffer.byteLength(text) > MAX_OUTPUT_BYTES) throw new Error('too large');
      output = JSON.parse(text);
    } catch {
      throw new SfnError('InvalidOutput', `Invalid Output: '${text.slice(0, 200)}'`);
    }
    this.settle(token, w, 'done');
    w.onEnd?.('succeeded', { output: text });
    w.resolve(output);
    return {};
  }

  /** https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskFailure.html */
  fail(body: Record<string, unknown>) {
    const { token, w } = this.pending(body);
    const error = body.error === undefined ? '' : String(body.error);
    const cause = body.cause === undefined ? '' : String(body.cause);
    this.settle(token, w, 'done');
    w.onEnd?.('failed', { error, cause });
    w.reject(new TokenTaskError(error, cause));
    return {};
  }

  /** https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskHeartbeat.html */
  heartbeat(body: Record<string, unknown>) {
    const { token, w } = this.pending(body);
    if (w.heartbeatMs !== undefined) this.armHeartbeat(token, w);
    return {};
  }

  private pending(body: Record<string, unknown>) {
    const token = String(body.taskToken ?? '');
    if (!TOKEN_RE.test(token)) {
      throw new SfnError('InvalidToken', 'Invalid Token: the provided task token is not valid');
    }
    const w = this.waiters.get(token);
    if (w?.outcome === 'timedOut') {
      throw new SfnError('TaskTimedOut', 'Task Timed Out: the task of this token timed out');
    }
    if (w?.outcome !== 'pending') {
      throw new SfnError('TaskDoesNotExist', 'Task Does Not Exist: no task waits for this token');
    }
    return { token, w };
  }

  private armHeartbeat(token: string, w: Waiter) {
    clearTimeout(w.heartbeatTimer);
    w.heartbeatTimer = setTimeout(
      () => this.timeOut(token, w, 'States.HeartbeatTimeout'),
      w.heartbeatMs
    );
  }

  private timeOut(token: string, w: Waiter, error: string) {
    if (w.outcome !== 'pending') return;
    this.settle(token, w, 'timedOut');
    w.onEnd?.('timedOut', { error });
    w.reject(new TokenTaskError(error, ''));
  }

  private settle(token: string, w: Waiter, outcome: Outcome) {
    w.outcome = outcome;
    // A spent token is forgotten (an unknown token is TaskDoesNotExist too); a timed-out one is
    // kept so its late callback answers TaskTimedOut.
    if (outcome === 'done') this.waiters.delete(token);
    clearTimeout(w.heartbeatTimer);
    clearTimeout(w.timeoutTimer);
  }
}

/**
 * The context object `$$.Task` of one execution: reading `Token` mints the token of the
 * state being entered, which its Task handler takes (`take()`) in the same tick, as the
 * interpreter calls the handler synchronously after evaluating the state's Parameters.
 */
export function taskContext(tokens: TaskTokens) {
  let last: string | undefined;
  const minted = new Set<string>();
  const mint = () => {
    const token = tokens.mint();
    minted.add(token);
    return token;
  };
  const Task = {};
  Object.defineProperty(Task, 'Token', {
    enumerable: true,
    get() {
      last ??= mint();
      return last;
    },
  });
  return {
    Task,
    /** The token minted for the Task being called (one is minted if Parameters did not read it). */
    take(): string {
      const token = last ?? mint();
      last = undefined;
      return token;
    },
    /** The execution ended: its tokens no longer have a task (TaskDoesNotExist). */
    abandonAll() {
      for (const t of minted) tokens.abandon(t);
    },
  };
}

interface StateLike {
  Type?: string;
  HeartbeatSeconds?: number;
  TimeoutSeconds?: number;
  States?: Record<string, StateLike>;
  ItemProcessor?: { States: Record<string, StateLike> };
  Iterator?: { States: Record<string, StateLike> };
  Branches?: Array<{ States: Record<string, StateLike> }>;
}

/**
 * HeartbeatSeconds and TimeoutSeconds of each Task by name (nested ones included).
 * Without TimeoutSeconds the interpreter ends a Task after 60 s (States.Timeout), so the
 * token times out with it.
 */
export function taskTimers(
  states: Record<string, StateLike>,
  out = new Map<string, { heartbeatSeconds?: number; timeoutSeconds: number }>()
) {
  for (const [name, s] of Object.entries(states)) {
    if (s.Type === 'Task') {
      out.set(name, {
        heartbeatSeconds: s.HeartbeatSeconds,
        timeoutSeconds: s.TimeoutSeconds ?? INTERPRETER_TASK_TIMEOUT_SECONDS,
      });
    }
    const nested = s.ItemProcessor ?? s.Iterator;
    if (nested) taskTimers(nested.States, out);
    for (const b of s.Branches ?? []) taskTimers(b.States, out);
  }
  return out;
}

/** aws-local-stepfunctions' default Task timeout (AWS's is 99999999 s). */
const INTERPRETER_TASK_TIMEOUT_SECONDS = 60;
