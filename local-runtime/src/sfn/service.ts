import { randomUUID } from 'node:crypto';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { type InvokeResult, type LambdaRunner, LambdaServiceError } from '../lambda/runner.js';
import type { Logger } from '../logger.js';
import type { StateMachineSpec } from '../model.js';
import { type HistoryEvent, type PendingEvent, stripData, toHistoryEvents } from './history.js';

/** Serialized by the router as awsJson1_0 `{__type, message}` with HTTP 400. */
export class SfnError extends Error {
  constructor(
    readonly type: string,
    message: string
  ) {
    super(message);
    this.name = type;
  }
}

/** Thrown into the interpreter so Retry/Catch match `Error` exactly like AWS (errorType). */
class TaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

type Status = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

interface Execution {
  arn: string;
  name: string;
  stateMachineArn: string;
  status: Status;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
  history: HistoryEvent[];
  redriveCount: number;
  redriveDate?: Date;
  abort?: () => void;
  done: Promise<void>;
}

const REDRIVABLE = new Set<Status>(['FAILED', 'TIMED_OUT', 'ABORTED']);
const LAMBDA_INVOKE = /^arn:[^:]+:states:::lambda:invoke$/;
const epoch = (d: Date | undefined) => (d ? d.getTime() / 1000 : undefined);
const NAME_RE = /^[A-Za-z0-9_-]{1,80}$/;

interface TaskState {
  Type: string;
  Resource?: string;
  States?: Record<string, TaskState>;
  ItemProcessor?: { States: Record<string, TaskState> };
  Iterator?: { States: Record<string, TaskState> };
  Branches?: Array<{ States: Record<string, TaskState> }>;
}

/** Task states by name, including those nested in Map/Parallel (overrides are keyed by name). */
function taskStates(states: Record<string, TaskState>, out = new Map<string, string>()) {
  for (const [name, s] of Object.entries(states)) {
    if (s.Type === 'Task' && s.Resource) out.set(name, s.Resource);
    const nested = s.ItemProcessor ?? s.Iterator;
    if (nested) taskStates(nested.States, out);
    for (const b of s.Branches ?? []) taskStates(b.States, out);
  }
  return out;
}

export interface StepFunctionsServiceOptions {
  region: string;
  accountId: string;
  logger: Logger;
}

export class StepFunctionsService {
  private readonly machines = new Map<string, StateMachineSpec>();
  private readonly executions = new Map<string, Execution>();
  private readonly created = new Date();

  constructor(
    machines: StateMachineSpec[],
    private readonly lambda: LambdaRunner,
    private readonly opts: StepFunctionsServiceOptions
  ) {
    for (const m of machines) this.machines.set(m.arn, m);
  }

  /** awsJson1_0 dispatch: `op` is the part after `AWSStepFunctions.` */
  async handle(op: string, body: Record<string, unknown>): Promise<unknown> {
    switch (op) {
      case 'StartExecution':
        return this.startExecution(body);
      case 'DescribeExecution':
        return this.describeExecution(String(body.executionArn));
      case 'ListExecutions':
        return this.listExecutions(body);
      case 'GetExecutionHistory':
        return this.getExecutionHistory(body);
      case 'StopExecution':
        return this.stopExecution(body);
      case 'RedriveExecution':
        return this.redriveExecution(body);
      case 'ListStateMachines':
        return {
          stateMachines: [...this.machines.values()].map((m) => ({
            stateMachineArn: m.arn,
            name: m.name,
            type: m.type,
            creationDate: epoch(this.created),
          })),
        };
      case 'DescribeStateMachine': {
        const m = this.machine(String(body.stateMachineArn));
        return {
          stateMachineArn: m.arn,
          name: m.name,
          status: 'ACTIVE',
          definition: JSON.stringify(m.definition),
          roleArn: `arn:aws:iam::${this.opts.accountId}:role/local`,
          type: m.type,
          creationDate: epoch(this.created),
        };
      }
      default:
        throw new SfnError(
          'UnknownOperationException',
          `Operation ${op} is not supported by the local runtime`
        );
    }
  }

  private machine(arn: string): StateMachineSpec {
    const m = this.machines.get(arn);
    if (!m)
      throw new SfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return m;
  }

  private execution(arn: string): Execution {
    const e = this.executions.get(arn);
    if (!e) throw new SfnError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return e;
  }

  startExecution(body: Record<string, unknown>) {
    const machine = this.machine(String(body.stateMachineArn));
    const name = body.name === undefined ? randomUUID() : String(body.name);
    if (!NAME_RE.test(name)) throw new SfnError('InvalidName', `Invalid Name: '${name}'`);
    const inputText = body.input === undefined ? '{}' : String(body.input);
    let input: unknown;
    try {
      input = JSON.parse(inputText);
    } catch {
      throw new SfnError(
        'InvalidExecutionInput',
        `Invalid State Machine Execution Input: '${inputText}'`
      );
    }
    const arn = `${machine.arn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.executions.get(arn);
    if (existing) {
      // AWS: same name + same input while RUNNING is an idempotent retry; anything else collides.
      if (existing.status === 'RUNNING' && existing.input === inputText) {
        return { executionArn: existing.arn, startDate: epoch(existing.startDate) };
      }
      throw new SfnError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    const exec: Execution = {
      arn,
      name,
      stateMachineArn: machine.arn,
      status: 'RUNNING',
      input: inputText,
      startDate: new Date(),
      history: [],
      redriveCount: 0,
      done: Promise.resolve(),
    };
    this.executions.set(arn, exec);
    exec.done = this.run(machine, exec, input);
    return { executionArn: arn, startDate: epoch(exec.startDate) };
  }

  private record(exec: Execution, e: PendingEvent) {
    const id = exec.history.length + 1;
    exec.history.push({ ...e, id, previousEventId: id - 1 } as HistoryEvent);
  }

  private async run(machine: StateMachineSpec, exec: Execution, input: unknown): Promise<void> {
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [stateName, resource] of taskStates(
      machine.definition.States as Record<string, TaskState>
    )) {
      handlers[stateName] = (stateInput) => this.runTask(exec, resource, stateInput);
    }
    const sm = new StateMachine(machine.definition as unknown as StateMachineDefinition, {
      validationOptions: { checkArn: false },
    });
    const run = sm.run(input as never, {
      overrides: { taskResourceLocalHandlers: handlers as never },
      context: {
        Execution: {
          Id: exec.arn,
          Name: exec.name,
          RoleArn: `arn:aws:iam::${this.opts.accountId}:role/local`,
        },
        StateMachine: { Id: machine.arn, Name: machine.name },
      },
    });
    exec.abort = run.abort;
    const logsDone = (async () => {
      for await (const e of run.eventLogs) {
        for (const h of toHistoryEvents(e)) this.record(exec, h);
      }
    })();
    try {
      const output = await run.result;
      exec.status = 'SUCCEEDED';
      exec.output = JSON.stringify(output);
    } catch (err) {
      if (exec.status === 'ABORTED') {
        // StopExecution already set status/error/cause.
      } else if (err instanceof ExecutionTimeoutError) {
        exec.status = 'TIMED_OUT';
        exec.error = 'States.Timeout';
      } else if (err instanceof ExecutionAbortedError) {
        exec.status = 'ABORTED';
      } else if (err instanceof ExecutionError) {
        const cause = err.cause as Error | undefined;
        exec.status = 'FAILED';
        exec.error = cause?.name ?? 'States.Runtime';
        exec.cause = cause?.message ?? '';
      } else {
        exec.status = 'FAILED';
        exec.error = 'States.Runtime';
        exec.cause = (err as Error).message;
      }
    }
    exec.stopDate ??= new Date();
    await Promise.race([logsDone, new Promise((r) => setTimeout(r, 50))]);
    this.opts.logger.info(
      `[states] ${exec.name} ${exec.status}${exec.error ? ` ${exec.error}` : ''}`
    );
  }

  /** One Task: invoke the local Lambda and keep AWS's Task history + error contract. */
  private async runTask(exec: Execution, resource: string, input: unknown): Promise<unknown> {
    // Let the interpreter's StateEntered event reach the history before our task events.
    await new Promise((r) => setImmediate(r));
    const optimized = LAMBDA_INVOKE.test(resource);
    const params = (input ?? {}) as { FunctionName?: string; Payload?: unknown };
    const target = optimized ? String(params.FunctionName) : resource;
    const payload = optimized ? (params.Payload ?? {}) : input;
    const ts = () => Date.now() / 1000;
    const prefix = optimized ? 'Task' : 'LambdaFunction';
    const details = (kind: string) =>
      `${prefix[0].toLowerCase()}${prefix.slice(1)}${kind}EventDetails`;
    const common = optimized ? { resourceType: 'lambda', resource: 'invoke' } : {};
    this.record(exec, {
      timestamp: ts(),
      type: `${prefix}Scheduled`,
      [details('Scheduled')]: optimized
        ? { ...common, region: this.opts.region, parameters: JSON.stringify(input) }
        : { resource, input: JSON.stringify(input) },
    });
    this.record(exec, {
      timestamp: ts(),
      type: `${prefix}Started`,
      ...(optimized ? { taskStartedEventDetails: common } : {}),
    });
    if (optimized && (params as { InvocationType?: string }).InvocationType === 'Event') {
      return this.dispatchEvent(exec, target, payload, ts);
    }
    let result: InvokeResult;
    try {
      result = await this.lambda.invoke(target, payload);
    } catch (err) {
      const name =
        err instanceof LambdaServiceError ? `Lambda.${err.code}` : 'Lambda.ServiceException';
      this.record(exec, {
        timestamp: ts(),
        type: `${prefix}Failed`,
        [details('Failed')]: { ...common, error: name, cause: (err as Error).message },
      });
      throw new TaskError(name, (err as Error).message);
    }
    if (!result.ok) {
      const cause = JSON.stringify(result.error);
      this.record(exec, {
        timestamp: ts(),
        type: `${prefix}Failed`,
        [details('Failed')]: { ...common, error: result.error.errorType, cause },
      });
      throw new TaskError(result.error.errorType, cause);
    }
    const output = optimized
      ? { ExecutedVersion: '$LATEST', Payload: result.payload, StatusCode: 200 }
      : result.payload;
    this.record(exec, {
      timestamp: ts(),
      type: `${prefix}Succeeded`,
      [details('Succeeded')]: { ...common, output: JSON.stringify(output) },
    });
    return output;
  }

  /**
   * `InvocationType: Event` (asynchronous, as a fire-and-forget branch uses it): like AWS, the
   * task succeeds as soon as Lambda has queued the event (`StatusCode: 202`, empty payload) and
   * the function runs on without the execution waiting for it. A function error is logged, as
   * AWS leaves it to the function's own retries and destinations; a service error (throttling,
   * unknown function) fails the task, as Lambda refuses the event then.
   */
  private dispatchEvent(
    exec: Execution,
    target: string,
    payload: unknown,
    ts: () => number
  ): unknown {
    const common = { resourceType: 'lambda', resource: 'invoke' };
    if (!this.lambda.resolveName(target)) {
      const message = `Function not found: ${target}`;
      this.record(exec, {
        timestamp: ts(),
        type: 'TaskFailed',
        taskFailedEventDetails: {
          ...common,
          error: 'Lambda.ResourceNotFoundException',
          cause: message,
        },
      });
      throw new TaskError('Lambda.ResourceNotFoundException', message);
    }
    // Lambda keeps a throttled event and retries it (for up to 6 hours); so does this, with backoff.
    const deliver = async (): Promise<InvokeResult> => {
      for (let delayMs = 500; ; delayMs = Math.min(delayMs * 2, 30_000)) {
        try {
          return await this.lambda.invoke(target, payload);
        } catch (err) {
          if (!(err instanceof LambdaServiceError && err.code === 'TooManyRequestsException'))
            throw err;
          await new Promise((r) => setTimeout(r, delayMs));
        }
      }
    };
    const from = `[lambda] async ${target} (from ${exec.name})`;
    deliver().then(
      (r) => {
        if (!r.ok) this.opts.logger.warn(`${from}: ${r.error.errorType}: ${r.error.errorMessage}`);
      },
      (err) => this.opts.logger.warn(`${from}: ${(err as Error).message}`)
    );
    const output = { Payload: '', StatusCode: 202 };
    this.record(exec, {
      timestamp: ts(),
      type: 'TaskSucceeded',
      taskSucceededEventDetails: { ...common, output: JSON.stringify(output) },
    });
    return output;
  }

  describeExecution(arn: string) {
    const e = this.execution(arn);
    return {
      ...executionListItem(e),
      input: e.input,
      inputDetails: { included: true },
      output: e.output,
      outputDetails: e.output === undefined ? undefined : { included: true },
      error: e.error,
      cause: e.cause,
      redriveCount: e.redriveCount,
      redriveDate: epoch(e.redriveDate),
      redriveStatus: REDRIVABLE.has(e.status) ? 'REDRIVABLE' : 'NOT_REDRIVABLE',
    };
  }

  listExecutions(body: Record<string, unknown>) {
    const arn = String(body.stateMachineArn);
    this.machine(arn);
    const filter = body.statusFilter as Status | undefined;
    const all = [...this.executions.values()]
      .filter((e) => e.stateMachineArn === arn && (!filter || e.status === filter))
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
    const { page, nextToken } = paginate(all, body);
    return {
      executions: page.map(executionListItem),
      nextToken,
    };
  }

  getExecutionHistory(body: Record<string, unknown>) {
    const e = this.execution(String(body.executionArn));
    let events = body.reverseOrder ? [...e.history].reverse() : [...e.history];
    if (body.includeExecutionData === false) events = events.map(stripData);
    const { page, nextToken } = paginate(events, body);
    return { events: page, nextToken };
  }

  stopExecution(body: Record<string, unknown>) {
    const e = this.execution(String(body.executionArn));
    if (e.status === 'RUNNING') {
      e.status = 'ABORTED';
      e.error = body.error === undefined ? undefined : String(body.error);
      e.cause = body.cause === undefined ? undefined : String(body.cause);
      e.stopDate = new Date();
      e.abort?.();
    }
    return { stopDate: epoch(e.stopDate) };
  }

  /**
   * RedriveExecution, approximated: AWS restarts a FAILED, TIMED_OUT or ABORTED
   * execution at the state that did not succeed, keeping what succeeded before
   * it (for a Map, its successful iterations). aws-local-stepfunctions cannot
   * resume mid-definition, so here the execution runs again from its start with
   * its original input, under the same ARN, with `redriveCount` raised and an
   * `ExecutionRedriven` event in its history. Work that already succeeded runs
   * again; this stack's tasks are idempotent (deterministic keys), so the
   * outcome is the same, only slower. `npm run redrive -- video` uses this
   * path only for executions that ended before the aggregator's verdict.
   */
  redriveExecution(body: Record<string, unknown>) {
    const e = this.execution(String(body.executionArn));
    if (!REDRIVABLE.has(e.status)) {
      throw new SfnError(
        'ExecutionNotRedrivable',
        `Execution ${e.arn} is ${e.status}; only FAILED, TIMED_OUT or ABORTED executions can be redriven`
      );
    }
    const machine = this.machine(e.stateMachineArn);
    e.status = 'RUNNING';
    e.redriveCount++;
    e.redriveDate = new Date();
    for (const field of ['output', 'error', 'cause', 'stopDate'] as const) delete e[field];
    this.record(e, {
      timestamp: e.redriveDate.getTime() / 1000,
      type: 'ExecutionRedriven',
      executionRedrivenEventDetails: { redriveCount: e.redriveCount },
    } as PendingEvent);
    e.done = this.run(machine, e, JSON.parse(e.input));
    return { redriveDate: epoch(e.redriveDate) };
  }

  /** Resolves when the execution is no longer RUNNING (tests/demo convenience). */
  async waitForExecution(arn: string) {
    await this.execution(arn).done;
    return this.describeExecution(arn);
  }

  async stop() {
    const running = [...this.executions.values()].filter((e) => e.status === 'RUNNING');
    for (const e of running)
      this.stopExecution({ executionArn: e.arn, error: 'LocalRuntimeStopped' });
    await Promise.all(running.map((e) => e.done));
  }
}

/** The fields ListExecutions returns for an execution; DescribeExecution starts with the same. */
function executionListItem(e: Execution) {
  return {
    executionArn: e.arn,
    stateMachineArn: e.stateMachineArn,
    name: e.name,
    status: e.status,
    startDate: epoch(e.startDate),
    stopDate: epoch(e.stopDate),
  };
}

function paginate<T>(items: T[], body: Record<string, unknown>) {
  const max = Number(body.maxResults) > 0 ? Number(body.maxResults) : 100;
  const start = body.nextToken ? Number(body.nextToken) : 0;
  const page = items.slice(start, start + max);
  const nextToken = start + max < items.length ? String(start + max) : undefined;
  return { page, nextToken };
}
