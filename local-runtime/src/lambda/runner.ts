import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LocalRuntimeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { type FunctionSpec, functionNameFrom } from '../model.js';
import { environmentsPerFunction, thisMachine } from './environments.js';
import type { InvokeResult, LambdaErrorPayload } from './invoke-result.js';
import { childTraceHeader, reportTraceFields } from './trace.js';

const WORKER = fileURLToPath(new URL('./worker.mjs', import.meta.url));
// Directory whose node_modules provides @aws-sdk/* to bundles that keep it external.
const SDK_FALLBACK_DIR = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));
/**
 * V8's compile cache for what an environment loads (the bundle, and the SDK from node_modules):
 * a cold environment spent ~190 ms of CPU compiling it, on the cores the branches' ffmpeg runs
 * on, ~160 ms with the cache. A fixed directory (node_modules/.cache, the tools' convention):
 * nothing in its path comes from a function, an event or a key. V8 checks each entry against
 * the source it was compiled from, so a changed bundle is compiled afresh.
 * https://nodejs.org/api/module.html#module-compile-cache
 */
export const COMPILE_CACHE_DIR = path.join(
  SDK_FALLBACK_DIR,
  'node_modules',
  '.cache',
  'local-runtime-compile'
);
/**
 * The Init phase of an on-demand function is limited to 10 s; past it Lambda does not fail the
 * invocation but retries Init at the first invocation, under the function's configured timeout.
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-ib
 */
const INIT_PHASE_MS = 10_000;

export type { InvokeResult, LambdaErrorPayload } from './invoke-result.js';

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

/**
 * How an Init attempt ended. `timeout` only for the Init phase proper (the 10 s limit);
 * a re-init inside an invocation is bounded by the invocation's deadline instead.
 */
type InitOutcome =
  | { status: 'ready'; ms: number }
  | { status: 'error'; ms: number; error: LambdaErrorPayload }
  | { status: 'timeout'; ms: number };

/** `ready`, or 'deadline' if it has not settled by `deadline` (epoch ms). */
const readyBy = async (ready: Promise<InitOutcome>, deadline: number) => {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      ready,
      new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), Math.max(0, deadline - Date.now()));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
};

/**
 * One execution environment. Its runtime process can be replaced (a reset, in AWS's words)
 * without the environment leaving its pool, which is what lets a re-init happen inside an
 * invocation. https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
 */
class ExecutionEnvironment {
  child!: ChildProcess;
  ready!: Promise<InitOutcome>;
  private pending?: Pending;
  exited = false;
  private killed = false;

  /** `live` holds the environments with a running process (the pool's, for pids() and stop()). */
  constructor(
    private readonly fn: FunctionSpec,
    private readonly env: Record<string, string>,
    private readonly logger: Logger,
    private readonly live: Set<ExecutionEnvironment>,
    initPhaseMs: number
  ) {
    this.start(initPhaseMs);
  }

  /** Forks the runtime and runs Init; `limitMs` bounds the Init phase (none for a re-init). */
  private start(limitMs?: number) {
    const { fn } = this;
    const heapMb = Math.max(64, Math.floor(fn.memoryMb * 0.9));
    const child = fork(WORKER, [fn.codeDir!, fn.handler, SDK_FALLBACK_DIR, COMPILE_CACHE_DIR], {
      cwd: fn.codeDir,
      env: this.env,
      // Never inherit the parent's loader flags (tsx): the bundle is plain JS, like in Lambda.
      execArgv: [`--max-old-space-size=${heapMb}`],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.child = child;
    this.exited = false;
    this.live.add(this);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) =>
        this.logger.info(`[${fn.name}] ${line}`)
      );
    }
    const began = performance.now();
    let initDone: (o: InitOutcome) => void = () => {};
    this.ready = new Promise((resolve) => {
      initDone = resolve;
    });
    const initTimer =
      limitMs === undefined
        ? undefined
        : setTimeout(() => initDone({ status: 'timeout', ms: performance.now() - began }), limitMs);
    child.on(
      'message',
      (msg: { type: string; error?: LambdaErrorPayload; ok?: boolean; payload?: unknown }) => {
        if (child !== this.child) return;
        if (msg.type === 'ready') {
          clearTimeout(initTimer);
          initDone({ status: 'ready', ms: performance.now() - began });
        } else if (msg.type === 'initError') {
          clearTimeout(initTimer);
          initDone({ status: 'error', ms: performance.now() - began, error: msg.error! });
        } else if (msg.type === 'result') {
          const p = this.pending;
          this.pending = undefined;
          p?.resolve({ ok: Boolean(msg.ok), payload: msg.payload, error: msg.error });
        }
      }
    );
    child.on('exit', (code, signal) => {
      clearTimeout(initTimer);
      const reason = signal ? `signal: ${signal}` : `exit status ${code}`;
      const error = {
        errorType: 'Runtime.ExitError',
        errorMessage: `Runtime exited with error: ${reason}`,
      };
      initDone({ status: 'error', ms: performance.now() - began, error });
      // A process replaced by a reset no longer speaks for this environment.
      if (child !== this.child) return;
      this.exited = true;
      this.live.delete(this);
      const p = this.pending;
      this.pending = undefined;
      p?.resolve({ ok: false, error: { ...error } });
    });
    child.on('error', () => {});
  }

  /**
   * Lambda's reset: shut the runtime down and Init again as part of the current invocation,
   * with no Init-phase limit of its own (the caller bounds it by the invocation's deadline).
   */
  reset(): boolean {
    if (this.killed) return false;
    const old = this.child;
    this.pending = undefined;
    this.start();
    if (old.exitCode === null && old.signalCode === null) old.kill('SIGKILL');
    return true;
  }

  /** Runs one invocation that must end by `deadline` (epoch ms). */
  run(event: unknown, requestId: string, deadline: number, traceHeader?: string) {
    return new Promise<{
      ok: boolean;
      payload?: unknown;
      error?: LambdaErrorPayload;
      timedOut?: boolean;
    }>((resolve) => {
      if (this.exited) {
        // Exited between Init and this call (invoke() resets an environment found dead before).
        resolve({
          ok: false,
          error: { errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited with error' },
        });
        return;
      }
      const timer = setTimeout(
        () => {
          this.pending = undefined;
          // Like Lambda, a timed-out environment is discarded, not reused.
          this.kill();
          resolve({ ok: false, timedOut: true });
        },
        Math.max(0, deadline - Date.now())
      );
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
        deadline,
        invokedFunctionArn: this.fn.arn,
        traceHeader,
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
      env = new ExecutionEnvironment(this.fn, this.env, this.logger, this.all, INIT_PHASE_MS);
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
  /**
   * Environments per function without reserved concurrency (a machine does not fit 1000).
   * Default: the machine's rule, `environmentsPerFunction` in environments.ts.
   */
  maxEnvironmentsPerFunction?: number;
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
      const limit =
        fn.reservedConcurrency ??
        this.opts.maxEnvironmentsPerFunction ??
        environmentsPerFunction(thisMachine(), fn.memoryMb);
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

  /**
   * Synchronous (RequestResponse) invocation. Throws LambdaServiceError when the function never ran.
   * `traceHeader`: the caller's X-Ray header (a traced execution's); the invocation joins its
   * trace, else starts a new one, and `_X_AMZN_TRACE_ID` carries it (lambda/trace.ts).
   */
  async invoke(
    nameOrArn: string,
    event: unknown,
    options: { readonly traceHeader?: string } = {}
  ): Promise<InvokeResult> {
    if (this.stopped) throw new LambdaServiceError('ServiceException', 'Local runtime is stopping');
    const fn = this.resolveName(nameOrArn);
    if (!fn) {
      throw new LambdaServiceError('ResourceNotFoundException', `Function not found: ${nameOrArn}`);
    }
    const requestId = randomUUID();
    const traceHeader = childTraceHeader(options.traceHeader);
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
    const timeoutMs = fn.timeoutSeconds * 1000;
    const timedOut = (durationMs: number): InvokeResult => ({
      ok: false,
      requestId,
      durationMs,
      error: {
        errorType: 'Sandbox.Timedout',
        errorMessage: `RequestId: ${requestId} Error: Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`,
      },
    });
    const exitError = (error: LambdaErrorPayload): LambdaErrorPayload =>
      error.errorType === 'Runtime.ExitError'
        ? { ...error, errorMessage: `RequestId: ${requestId} Error: ${error.errorMessage}` }
        : error;
    try {
      // A warm environment answers at once; a new one runs its Init phase (at most 10 s).
      const init = await env.ready;
      let deadline = Date.now() + timeoutMs;
      // (An environment whose process died while idle is reset the same way: Lambda
      // re-initializes a reset environment as part of the next invocation.)
      if (init.status !== 'ready' || !env.usable) {
        if (init.status !== 'ready') this.initReport(fn, init, 'init');
        // Lambda retries Init at this invocation, after a reset, and the function's timeout now
        // covers that Init and the handler together (the 10 s limit never fails the invocation).
        // The suppressed Init after an Init error is the same retry: it fails the invocation
        // only if it fails again.
        // https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-ib
        deadline = Date.now() + timeoutMs;
        if (!env.reset()) {
          return {
            ok: false,
            requestId,
            durationMs: performance.now() - started,
            error: exitError(
              init.status === 'error'
                ? init.error
                : {
                    errorType: 'Runtime.ExitError',
                    errorMessage: 'Runtime exited with error: signal: SIGKILL',
                  }
            ),
          };
        }
        const retry = await readyBy(env.ready, deadline);
        if (retry === 'deadline') {
          env.kill();
          this.initReport(fn, { status: 'timeout', ms: timeoutMs }, 'invoke');
          return timedOut(performance.now() - started);
        }
        this.initReport(fn, retry, 'invoke');
        // The re-init has no limit of its own, so it ends ready or with an error.
        if (retry.status === 'error') {
          env.kill();
          return {
            ok: false,
            requestId,
            durationMs: performance.now() - started,
            error: exitError(retry.error),
          };
        }
      }
      const r = await env.run(event, requestId, deadline, traceHeader);
      const durationMs = performance.now() - started;
      // Lambda's REPORT line, with its X-Ray fields for a traced invocation
      // (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html).
      this.opts.logger.debug(
        `[${fn.name}] REPORT RequestId: ${requestId}\tDuration: ${durationMs.toFixed(2)} ms\t${reportTraceFields(traceHeader)}`
      );
      if (r.timedOut) return timedOut(durationMs);
      if (r.ok) return { ok: true, payload: r.payload, requestId, durationMs };
      return { ok: false, error: exitError(r.error!), requestId, durationMs };
    } finally {
      pool.release(env);
    }
  }

  /** Lambda's INIT_REPORT line, written when an Init did not simply succeed within its phase. */
  private initReport(fn: FunctionSpec, init: InitOutcome, phase: 'init' | 'invoke') {
    const errorType = init.status === 'error' ? ` Error Type: ${init.error.errorType}` : '';
    const status = init.status === 'ready' ? 'success' : init.status;
    this.opts.logger.info(
      `[${fn.name}] INIT_REPORT Init Duration: ${init.ms.toFixed(2)} ms Phase: ${phase} Status: ${status}${errorType}`
    );
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
