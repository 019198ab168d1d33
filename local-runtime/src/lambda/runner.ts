import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LocalRuntimeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { type FunctionSpec, functionNameFrom } from '../model.js';

const WORKER = fileURLToPath(new URL('./worker.mjs', import.meta.url));
// Directory whose node_modules provides @aws-sdk/* to bundles that keep it external.
const SDK_FALLBACK_DIR = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const INIT_TIMEOUT_MS = 10_000;

export interface LambdaErrorPayload {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

/** Mirrors Lambda's Invoke response: a function error is a value, not an exception. */
export type InvokeResult =
  | { ok: true; payload: unknown; requestId: string; durationMs: number }
  | { ok: false; error: LambdaErrorPayload; requestId: string; durationMs: number };

/** Errors the Lambda *service* raises (the function never ran), e.g. throttling. */
export class LambdaServiceError extends Error {
  constructor(
    readonly code: 'ResourceNotFoundException' | 'TooManyRequestsException' | 'ServiceException',
    message: string
  ) {
    super(message);
    this.name = code;
  }
}

interface Pending {
  resolve(r: { ok: boolean; payload?: unknown; error?: LambdaErrorPayload }): void;
}

class ExecutionEnvironment {
  readonly child: ChildProcess;
  readonly ready: Promise<LambdaErrorPayload | undefined>;
  private pending?: Pending;
  exited = false;
  private killed = false;

  constructor(
    private readonly fn: FunctionSpec,
    env: Record<string, string>,
    logger: Logger
  ) {
    const heapMb = Math.max(64, Math.floor(fn.memoryMb * 0.9));
    this.child = fork(WORKER, [fn.codeDir!, fn.handler, SDK_FALLBACK_DIR], {
      cwd: fn.codeDir,
      env,
      // Never inherit the parent's loader flags (tsx): the bundle is plain JS, like in Lambda.
      execArgv: [`--max-old-space-size=${heapMb}`],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => logger.info(`[${fn.name}] ${line}`));
    }
    let initDone: (e: LambdaErrorPayload | undefined) => void = () => {};
    this.ready = new Promise((resolve) => {
      initDone = resolve;
    });
    const initTimer = setTimeout(() => {
      initDone({
        errorType: 'Runtime.InitTimeout',
        errorMessage: 'Init phase exceeded 10 seconds',
      });
      this.kill();
    }, INIT_TIMEOUT_MS);
    this.child.on(
      'message',
      (msg: { type: string; error?: LambdaErrorPayload; ok?: boolean; payload?: unknown }) => {
        if (msg.type === 'ready') {
          clearTimeout(initTimer);
          initDone(undefined);
        } else if (msg.type === 'initError') {
          clearTimeout(initTimer);
          initDone(msg.error);
        } else if (msg.type === 'result') {
          const p = this.pending;
          this.pending = undefined;
          p?.resolve({ ok: Boolean(msg.ok), payload: msg.payload, error: msg.error });
        }
      }
    );
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      clearTimeout(initTimer);
      const reason = signal ? `signal: ${signal}` : `exit status ${code}`;
      initDone({
        errorType: 'Runtime.ExitError',
        errorMessage: `Runtime exited with error: ${reason}`,
      });
      const p = this.pending;
      this.pending = undefined;
      p?.resolve({
        ok: false,
        error: {
          errorType: 'Runtime.ExitError',
          errorMessage: `Runtime exited with error: ${reason}`,
        },
      });
    });
    this.child.on('error', () => {});
  }

  run(event: unknown, requestId: string, timeoutMs: number) {
    return new Promise<{
      ok: boolean;
      payload?: unknown;
      error?: LambdaErrorPayload;
      timedOut?: boolean;
    }>((resolve) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        // Like Lambda, a timed-out environment is discarded, not reused.
        this.kill();
        resolve({ ok: false, timedOut: true });
      }, timeoutMs);
      this.pending = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      this.child.send({
        type: 'invoke',
        requestId,
        event,
        deadline: Date.now() + timeoutMs,
        invokedFunctionArn: this.fn.arn,
      });
    });
  }

  kill() {
    // Marked synchronously: the 'exit' event comes later, and the pool must not reuse us meanwhile.
    this.killed = true;
    if (!this.exited) this.child.kill('SIGKILL');
  }

  get usable() {
    return !this.exited && !this.killed;
  }

  waitExit(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => this.child.once('exit', () => resolve()));
  }
}

/**
 * The account's concurrency (AWS default 1000). Reservations are carved out of it;
 * functions without one share the rest, and an invocation beyond either limit is
 * throttled, as on AWS. (AWS also refuses reservations that leave less than 100
 * unreserved; that deploy-time rule is not applied here.)
 */
export class AccountConcurrency {
  private unreservedInUse = 0;
  readonly unreservedPool: number;

  constructor(
    readonly limit: number,
    readonly reserved: number
  ) {
    this.unreservedPool = Math.max(0, limit - reserved);
  }

  /** Counts an invocation of a function without reserved concurrency, or throttles it. */
  admitUnreserved(fn: string) {
    if (this.unreservedInUse >= this.unreservedPool) {
      throw new LambdaServiceError(
        'TooManyRequestsException',
        `Rate Exceeded. ${fn}: the account's unreserved concurrency (${this.unreservedPool} of ${this.limit}) is in use`
      );
    }
    this.unreservedInUse++;
  }

  releaseUnreserved() {
    this.unreservedInUse--;
  }
}

/** The account model for these functions; throws on a limit AWS would not accept. */
export function accountConcurrencyFor(functions: FunctionSpec[], limit = 1000): AccountConcurrency {
  const reserved = functions.reduce((n, f) => n + (f.reservedConcurrency ?? 0), 0);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new LocalRuntimeError(`Account concurrency must be a positive integer, got ${limit}`);
  }
  if (reserved > limit) {
    throw new LocalRuntimeError(
      `The stack reserves ${reserved} concurrent executions, more than the account's ${limit}`
    );
  }
  return new AccountConcurrency(limit, reserved);
}

/**
 * Invocations admitted across the account (running, or waiting on the local
 * per-function guard, as they would be running on AWS), counted at the moment of
 * admission so a throttled attempt never shows in the peak.
 */
class AccountUsage {
  private admitted = 0;
  peak = 0;

  admit() {
    this.admitted++;
    this.peak = Math.max(this.peak, this.admitted);
  }

  release() {
    this.admitted--;
  }
}

class FunctionPool {
  private idle: ExecutionEnvironment[] = [];
  private busy = new Set<ExecutionEnvironment>();
  private queue: Array<() => void> = [];
  private active = 0;
  readonly all = new Set<ExecutionEnvironment>();

  constructor(
    readonly fn: FunctionSpec,
    private readonly env: Record<string, string>,
    private readonly limit: number,
    private readonly logger: Logger,
    private readonly account: AccountConcurrency,
    private readonly usage: AccountUsage
  ) {}

  async acquire(): Promise<ExecutionEnvironment> {
    // Reserved concurrency is an AWS contract: exceed it and Lambda throttles.
    if (this.fn.reservedConcurrency !== undefined && this.active >= this.limit) {
      throw new LambdaServiceError(
        'TooManyRequestsException',
        `Rate Exceeded. Reserved concurrency of ${this.fn.reservedConcurrency} reached for ${this.fn.name}`
      );
    }
    // The account's unreserved pool is one too. It counts invocations waiting on the local
    // guard below as running, since on AWS they would be: the guard must not hide throttling.
    if (this.fn.reservedConcurrency === undefined) this.account.admitUnreserved(this.fn.name);
    this.usage.admit();
    // The unreserved per-function cap is only a local resource guard, so callers wait instead.
    if (this.active >= this.limit) {
      // release() hands its slot straight to us, so `active` stays exact.
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else {
      this.active++;
    }
    let env = this.idle.pop();
    while (env && !env.usable) env = this.idle.pop();
    if (!env) {
      env = new ExecutionEnvironment(this.fn, this.env, this.logger);
      this.all.add(env);
      env.child.once('exit', () => this.all.delete(env!));
    }
    this.busy.add(env);
    return env;
  }

  release(env: ExecutionEnvironment) {
    if (this.fn.reservedConcurrency === undefined) this.account.releaseUnreserved();
    this.usage.release();
    this.busy.delete(env);
    if (env.usable) this.idle.push(env);
    const next = this.queue.shift();
    if (next) next();
    else this.active--;
  }

  get inFlight() {
    return this.active;
  }

  /** Chaos: SIGKILLs one environment that is running an invocation, as a crash would. */
  killBusy(): number | undefined {
    const [env] = this.busy;
    if (!env) return undefined;
    const pid = env.child.pid;
    env.kill();
    return pid;
  }
}

/** What the account saw since start: the load tests print and check these. */
export interface LambdaStats {
  /** Most invocations admitted at once (running, or waiting on the local per-function guard). */
  peakConcurrency: number;
  /** Invocations refused with TooManyRequestsException. */
  throttles: number;
  /** Environments killed by fault injection. */
  killed: number;
}

export interface LambdaRunnerOptions {
  endpoint: string;
  region: string;
  logger: Logger;
  /** Local guard for functions without reserved concurrency (2 cores do not fit 1000 environments). */
  defaultConcurrency?: number;
  /** The account's concurrency limit. Default 1000, as AWS. */
  accountConcurrency?: number;
}

export class LambdaRunner {
  private readonly pools = new Map<string, FunctionPool>();
  private readonly specs = new Map<string, FunctionSpec>();
  private readonly account: AccountConcurrency;
  private stopped = false;
  private readonly usage = new AccountUsage();
  private readonly counters = { throttles: 0, killed: 0 };

  constructor(
    functions: FunctionSpec[],
    private readonly opts: LambdaRunnerOptions
  ) {
    for (const fn of functions) this.specs.set(fn.name, fn);
    this.account = accountConcurrencyFor(functions, opts.accountConcurrency);
  }

  get functionNames(): string[] {
    return [...this.specs.keys()];
  }

  resolveName(nameOrArn: string): FunctionSpec | undefined {
    return this.specs.get(functionNameFrom(nameOrArn));
  }

  private pool(fn: FunctionSpec): FunctionPool {
    let pool = this.pools.get(fn.name);
    if (!pool) {
      const limit = fn.reservedConcurrency ?? this.opts.defaultConcurrency ?? 10;
      pool = new FunctionPool(
        fn,
        this.environmentFor(fn),
        limit,
        this.opts.logger,
        this.account,
        this.usage
      );
      this.pools.set(fn.name, pool);
    }
    return pool;
  }

  private environmentFor(fn: FunctionSpec): Record<string, string> {
    const { endpoint, region } = this.opts;
    return {
      // A clean environment like Lambda's: nothing from the developer's shell leaks in
      // (no AWS_PROFILE, no real credentials), except what a process needs to start.
      PATH: [...fn.layerBinDirs, process.env.PATH ?? '/usr/bin:/bin'].join(path.delimiter),
      HOME: process.env.HOME ?? '/tmp',
      LANG: 'en_US.UTF-8',
      TZ: 'UTC',
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL: endpoint,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `local/[$LATEST]${randomUUID().replace(/-/g, '')}`,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
      LAMBDA_TASK_ROOT: fn.codeDir ?? '',
      _HANDLER: fn.handler,
      // No X-Ray daemon here: tracing SDKs (e.g. Powertools Tracer) must not error on a missing segment.
      AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
      ...fn.environment,
      // ...and no X-Ray at all: with tracing on, Powertools Tracer warns "You cannot annotate
      // the main segment" on every annotation. AWS keeps the construct's setting.
      POWERTOOLS_TRACE_ENABLED: 'false',
    };
  }

  /** Synchronous (RequestResponse) invocation. Throws LambdaServiceError when the function never ran. */
  async invoke(nameOrArn: string, event: unknown): Promise<InvokeResult> {
    if (this.stopped) throw new LambdaServiceError('ServiceException', 'Local runtime is stopping');
    const fn = this.resolveName(nameOrArn);
    if (!fn) {
      throw new LambdaServiceError('ResourceNotFoundException', `Function not found: ${nameOrArn}`);
    }
    const requestId = randomUUID();
    if (fn.notRunnable) {
      return {
        ok: false,
        requestId,
        durationMs: 0,
        error: { errorType: 'Runtime.Unsupported', errorMessage: `${fn.name}: ${fn.notRunnable}` },
      };
    }
    const pool = this.pool(fn);
    let env: ExecutionEnvironment;
    try {
      env = await pool.acquire();
    } catch (err) {
      if (err instanceof LambdaServiceError && err.code === 'TooManyRequestsException') {
        this.counters.throttles++;
      }
      throw err;
    }
    const started = performance.now();
    try {
      const initError = await env.ready;
      if (initError) {
        env.kill();
        return { ok: false, requestId, durationMs: performance.now() - started, error: initError };
      }
      const r = await env.run(event, requestId, fn.timeoutSeconds * 1000);
      const durationMs = performance.now() - started;
      this.opts.logger.debug(
        `[${fn.name}] REPORT RequestId: ${requestId} Duration: ${durationMs.toFixed(2)} ms`
      );
      if (r.timedOut) {
        return {
          ok: false,
          requestId,
          durationMs,
          error: {
            errorType: 'Sandbox.Timedout',
            errorMessage: `RequestId: ${requestId} Error: Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`,
          },
        };
      }
      if (r.ok) return { ok: true, payload: r.payload, requestId, durationMs };
      if (r.error?.errorType === 'Runtime.ExitError') {
        r.error.errorMessage = `RequestId: ${requestId} Error: ${r.error.errorMessage}`;
      }
      return { ok: false, error: r.error!, requestId, durationMs };
    } finally {
      pool.release(env);
    }
  }

  /** The account's concurrency limit in this runtime. */
  get accountLimit(): number {
    return this.account.limit;
  }

  stats(): LambdaStats {
    return { peakConcurrency: this.usage.peak, ...this.counters };
  }

  /**
   * Chaos: SIGKILLs one busy execution environment of `name` (the invocation ends
   * with Runtime.ExitError, as on Lambda). Returns the killed PID, or undefined
   * when the function has nothing in flight.
   */
  killBusy(nameOrArn: string): number | undefined {
    const fn = this.resolveName(nameOrArn);
    if (!fn)
      throw new LambdaServiceError('ResourceNotFoundException', `Function not found: ${nameOrArn}`);
    const pid = this.pools.get(fn.name)?.killBusy();
    if (pid !== undefined) this.counters.killed++;
    return pid;
  }

  inFlight(name: string): number {
    return this.pools.get(name)?.inFlight ?? 0;
  }

  /** PIDs of live execution environments; tests use it to prove stop() leaves nothing behind. */
  pids(): number[] {
    return [...this.pools.values()].flatMap((p) =>
      [...p.all].map((e) => e.child.pid!).filter(Boolean)
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const envs = [...this.pools.values()].flatMap((p) => [...p.all]);
    for (const e of envs) e.kill();
    await Promise.all(envs.map((e) => e.waitExit()));
  }
}
