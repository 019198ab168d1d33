import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
} from 'aws-local-stepfunctions';
import type { BusEvent } from '../events/bus.js';
import type { LambdaRunner } from '../lambda/runner.js';
import { childTraceHeader } from '../lambda/trace.js';
import type { Logger } from '../logger.js';
import type { StateMachineSpec } from '../model.js';
import { type RewrittenMap, rewriteDistributedMaps } from './distributed-map.js';
import { SfnError } from './errors.js';
import {
  type Execution,
  type ExecutionStatus,
  epoch,
  executionContext,
  executionListItem,
  type MachineRef,
  paginate,
} from './execution.js';
import { type HistoryEvent, type PendingEvent, stripData, toHistoryEvents } from './history.js';
import { type IntegrationTargets, integrationFor } from './integrations.js';
import { interpreterFor, RUNTIME_VALIDATION } from './jsonata/engine.js';
import { type MapRun, MapRunEngine } from './map-run.js';
import { type ResumePoint, ResumeTracker, redriveStatusOf, resumedDefinition } from './redrive.js';
import { StateMachineRegistry } from './state-machines.js';
import { statusChangeEvent } from './status-events.js';
import { TaskRunner } from './task-runner.js';
import { TaskTokens, taskContext, taskTimers } from './task-tokens.js';

/**
 * The Step Functions API of the local runtime and the executor of its executions: the
 * awsJson1_0 operations, each execution run on the interpreter (or the engine,
 * ./jsonata/engine.ts) with its history, status-change events and redrives. Task states
 * run on ./task-runner.ts, Distributed Maps on ./map-run.ts.
 */

export { SfnError } from './errors.js';

const NAME_RE = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * Builds once, when a machine is created or updated, the interpreters its executions and Map
 * Runs will build (the definition with its Distributed Maps rewritten, and each Map's
 * processor), so their definition check (validationOnce) is paid then, as AWS checks a
 * definition at CreateStateMachine, and not inside the first StartExecution (~300 ms of the
 * runtime's one thread for the pipeline's machine, on the cold path of the first upload).
 */
export const prepareForRuns = (definition: Record<string, unknown>): void => {
  const { definition: rewritten, maps } = rewriteDistributedMaps(definition);
  try {
    interpreterFor(rewritten);
    for (const map of maps.values()) interpreterFor(map.processor);
  } catch {
    // Refused here, refused again at StartExecution or the Map Run, with the error there.
  }
};

interface TaskState {
  Type: string;
  Resource?: string;
  States?: Record<string, TaskState>;
  ItemProcessor?: { States: Record<string, TaskState> };
  Iterator?: { States: Record<string, TaskState> };
  Branches?: Array<{ States: Record<string, TaskState> }>;
}

/** A workflow definition: the top level, or a Distributed Map's child workflow. */
interface Workflow {
  StartAt: string;
  States: Record<string, TaskState>;
}

/** A Task state's work; the engine also passes the variables its state sees. */
type TaskHandler = (
  input: unknown,
  scope?: { variables: Record<string, unknown> }
) => Promise<unknown>;

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
  /** S3 for Distributed Map ItemReader and ResultWriter. @default - Distributed Maps fail with States.Runtime */
  s3?: S3Client;
  /**
   * S3, SNS and SQS for the Task service integrations (sfn/integrations.ts).
   * @default - integration Tasks fail with States.Runtime
   */
  integrations?: Omit<IntegrationTargets, 'states' | 'lambda'>;
  /** The default event bus, for the Execution Status Change events. @default - none emitted */
  events?: { put(event: BusEvent): unknown };
}

export { EXECUTION_STATUS_CHANGE } from './status-events.js';

export class StepFunctionsService {
  private readonly machines: StateMachineRegistry;
  private readonly executions = new Map<string, Execution>();
  /** Tokens of `.waitForTaskToken` Tasks (SendTaskSuccess/Failure/Heartbeat). */
  private readonly tokens = new TaskTokens();
  /** One-state machines that evaluate payload templates with the interpreter's own semantics. */
  private readonly templates = new WeakMap<object, StateMachine>();
  private readonly tasks: TaskRunner;
  private readonly mapRuns: MapRunEngine;

  constructor(
    machines: StateMachineSpec[],
    lambda: LambdaRunner,
    private readonly opts: StepFunctionsServiceOptions
  ) {
    this.machines = new StateMachineRegistry(machines, opts.region, opts.accountId);
    for (const machine of machines) prepareForRuns(this.machines.get(machine.arn).definition);
    const record = (exec: Execution, e: PendingEvent) => this.record(exec, e);
    this.tasks = new TaskRunner(lambda, this.tokens, this, record, opts);
    this.mapRuns = new MapRunEngine(
      {
        record,
        addExecution: (exec) => this.executions.set(exec.arn, exec),
        runExecution: (sm, workflow, maps, exec, input, machine, resume) =>
          this.runWith(sm, workflow as unknown as Workflow, maps, exec, input, machine, resume),
        markRedriven: (exec) => this.markRedriven(exec),
        collectRedrivenMapRuns: (exec) => this.collectRedrivenMapRuns(exec),
        stopExecution: (body) => this.stopExecution(body),
        evaluate: (template, input, context) => this.evaluate(template, input, context),
      },
      opts
    );
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
      case 'SendTaskSuccess':
        return this.tokens.succeed(body);
      case 'SendTaskFailure':
        return this.tokens.fail(body);
      case 'SendTaskHeartbeat':
        return this.tokens.heartbeat(body);
      case 'DescribeMapRun':
        return this.describeMapRun(String(body.mapRunArn));
      case 'ListMapRuns':
        return this.listMapRuns(body);
      case 'CreateStateMachine': {
        const created = this.machines.create(body);
        prepareForRuns(this.machine(created.stateMachineArn).definition);
        return created;
      }
      case 'UpdateStateMachine': {
        const updated = this.machines.update(body);
        prepareForRuns(this.machine(String(body.stateMachineArn)).definition);
        return updated;
      }
      case 'DeleteStateMachine':
        return this.machines.delete(body);
      case 'ListStateMachines':
        return this.machines.list();
      case 'DescribeStateMachine':
        return this.machines.describe(String(body.stateMachineArn));
      default:
        throw new SfnError(
          'UnknownOperationException',
          `Operation ${op} is not supported by the local runtime`
        );
    }
  }

  private machine(arn: string): StateMachineSpec {
    return this.machines.get(arn);
  }

  private execution(arn: string): Execution {
    const e = this.executions.get(arn);
    if (!e) throw new SfnError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return e;
  }

  startExecution(body: Record<string, unknown>) {
    const machine = this.machine(String(body.stateMachineArn));
    refuseUnsupported(machine);
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
      // The caller's header as given (DescribeExecution returns it), else a new trace.
      traceHeader: typeof body.traceHeader === 'string' ? body.traceHeader : childTraceHeader(),
    };
    this.executions.set(arn, exec);
    exec.done = this.run(machine, exec, input);
    this.emitStatusChange(exec);
    return { executionArn: arn, startDate: epoch(exec.startDate) };
  }

  private record(exec: Execution, e: PendingEvent) {
    const id = exec.history.length + 1;
    exec.history.push({ ...e, id, previousEventId: id - 1 } as HistoryEvent);
  }

  /** Runs an execution from StartAt or, when redriven, from `resume`. */
  private async run(
    machine: StateMachineSpec,
    exec: Execution,
    input: unknown,
    resume?: ResumePoint
  ): Promise<void> {
    const { definition, maps } = rewriteDistributedMaps(machine.definition);
    const sm = interpreterFor(definition);
    return this.runWith(
      sm,
      definition as unknown as Workflow,
      maps,
      exec,
      input,
      { Id: machine.arn, Name: machine.name },
      resume
    );
  }

  /**
   * The handler of each Task state of an execution, by state name: the local Lambda, a
   * service integration, or (for the Tasks that stand for Distributed Maps) a Map Run.
   */
  private taskHandlers(
    exec: Execution,
    states: Workflow['States'],
    maps: Map<string, RewrittenMap>,
    stateMachine: MachineRef,
    task: ReturnType<typeof taskContext>
  ) {
    const handlers: Record<string, TaskHandler> = {};
    const mapStateNames = new Set<string>();
    const timers = taskTimers(states);
    for (const [stateName, resource] of taskStates(states)) {
      const map = maps.get(resource);
      if (map) mapStateNames.add(stateName);
      const integration = integrationFor(resource);
      handlers[stateName] = map
        ? (stateInput, scope) => {
            const work = this.mapRuns.run(
              exec,
              map,
              maps,
              stateInput,
              stateMachine,
              scope?.variables ?? {}
            );
            exec.mapRunWork ??= [];
            exec.mapRunWork.push(work.catch(() => undefined));
            return work;
          }
        : integration
          ? (stateInput) =>
              this.tasks.runIntegration(
                exec,
                integration,
                stateInput,
                // Taken now: the token $$.Task.Token minted for this very state.
                integration.waitForTaskToken
                  ? { token: task.take(), ...timers.get(stateName) }
                  : undefined
              )
          : (stateInput) => this.tasks.runLambda(exec, resource, stateInput);
    }
    return { handlers, mapStateNames };
  }

  /**
   * Runs one (parent or child) execution on the interpreter. Task states call the
   * local Lambda; the Tasks that stand for Distributed Maps start a Map Run.
   */
  private async runWith(
    sm: StateMachine,
    definition: Workflow,
    maps: Map<string, RewrittenMap>,
    exec: Execution,
    input: unknown,
    stateMachine: MachineRef,
    resume?: ResumePoint
  ): Promise<void> {
    const states = definition.States;
    const task = taskContext(this.tokens);
    const { handlers, mapStateNames } = this.taskHandlers(exec, states, maps, stateMachine, task);
    // A redrive runs the same states from the unsuccessful one, with the input it had
    // entered with; `$$.Execution.Input` stays the execution's input.
    const redriving = exec.redriveCount > 0;
    const runner = resume
      ? interpreterFor(resumedDefinition(definition, resume) as never, {
          validationOptions: { noValidate: true },
        })
      : sm;
    const tracker = new ResumeTracker(states as never, resume);
    const run = runner.run((resume ? resume.input : input) as never, {
      overrides: { taskResourceLocalHandlers: handlers as never },
      // Patched interpreter: an inline Map or Parallel reuses these iteration/branch results,
      // and so do the ones nested in a Parallel branch that runs again.
      ...(resume && {
        _redriveSucceeded: { ...resume.nested, [resume.state]: resume.succeeded },
      }),
      // A JSONata machine resumes with the variables the state had when it was entered.
      ...(resume?.variables && { _variables: resume.variables }),
      context: {
        Execution: executionContext(exec, this.opts.accountId),
        StateMachine: stateMachine,
        Task: task.Task,
      } as never,
    });
    exec.abort = run.abort;
    const logsDone = (async () => {
      for await (const e of run.eventLogs) {
        tracker.observe(e as never);
        // A redriven execution goes on after its ExecutionRedriven event; it does not start again.
        if (redriving && e.type === 'ExecutionStarted') continue;
        for (const h of toHistoryEvents(e)) {
          // A Distributed Map runs as a Task here; its history says Map, as on AWS.
          const name = (h.stateEnteredEventDetails ?? h.stateExitedEventDetails) as
            | { name: string }
            | undefined;
          if (name && mapStateNames.has(name.name)) h.type = String(h.type).replace(/^Task/, 'Map');
          this.record(exec, h);
        }
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
    task.abandonAll();
    await Promise.race([logsDone, new Promise((r) => setTimeout(r, 50))]);
    exec.resume = exec.status === 'SUCCEEDED' ? undefined : tracker.point();
    this.opts.logger.info(
      `[states] ${exec.name} ${exec.status}${exec.error ? ` ${exec.error}` : ''}`
    );
    this.emitStatusChange(exec);
  }

  /** Announces the execution's status on the default bus, once per status (./status-events.ts). */
  private emitStatusChange(exec: Execution) {
    if (!this.opts.events || exec.mapRunArn || exec.announced === exec.status) return;
    exec.announced = exec.status;
    this.opts.events.put(
      statusChangeEvent(exec, redriveStatusOf(exec, this.machineType(exec)).redriveStatus)
    );
  }

  /**
   * Evaluates a payload template (`"key.$": path`, intrinsics) with the interpreter
   * itself, as a one-state Pass machine: the same semantics as any other state.
   */
  private async evaluate(template: object, input: unknown, context: object): Promise<unknown> {
    let sm = this.templates.get(template);
    if (!sm) {
      sm = new StateMachine(
        { StartAt: 'T', States: { T: { Type: 'Pass', Parameters: template, End: true } } } as never,
        RUNTIME_VALIDATION
      );
      this.templates.set(template, sm);
    }
    return sm.run(input as never, { context: context as never }).result;
  }

  /** DescribeMapRun. */
  describeMapRun(arn: string) {
    return this.mapRuns.describe(arn);
  }

  /** ListMapRuns of an execution. */
  listMapRuns(body: Record<string, unknown>) {
    const arn = String(body.executionArn);
    this.execution(arn);
    return this.mapRuns.list(arn, body);
  }

  /** The Map Run (local view, with its children), for tests and the bench. */
  mapRun(arn: string): MapRun | undefined {
    return this.mapRuns.get(arn);
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
      ...redriveStatusOf(e, this.machineType(e)),
      mapRunArn: e.mapRunArn,
      traceHeader: e.traceHeader,
    };
  }

  listExecutions(body: Record<string, unknown>) {
    const filter = body.statusFilter as ExecutionStatus | undefined;
    // ListExecutions takes a state machine, or a Map Run to list its child executions.
    const mapRun =
      body.mapRunArn === undefined ? undefined : this.mapRuns.get(String(body.mapRunArn));
    if (body.mapRunArn !== undefined && !mapRun) {
      throw new SfnError('ResourceNotFound', `Map Run Does Not Exist: '${body.mapRunArn}'`);
    }
    const arn = String(body.stateMachineArn);
    if (!mapRun) this.machine(arn);
    const all = (mapRun ? mapRun.children : [...this.executions.values()])
      .filter(
        (e) =>
          (mapRun || (e.stateMachineArn === arn && !e.mapRunArn)) &&
          (!filter || e.status === filter)
      )
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
      // Announced now, as AWS does: the interpreter only settles once the task in flight returns.
      this.emitStatusChange(e);
      e.abort?.();
      // The Map Runs of a stopped execution stop their children too.
      for (const run of this.mapRuns.ofExecution(e.arn)) {
        for (const c of run.children) {
          if (c.status === 'RUNNING')
            this.stopExecution({ executionArn: c.arn, error: body.error });
        }
      }
    }
    return { stopDate: epoch(e.stopDate) };
  }

  /**
   * RedriveExecution: a FAILED, TIMED_OUT or ABORTED Standard execution of the last 14
   * days goes on from the top-level state that did not complete, with the input that
   * state had, under the same ARN and in the same history; the states that succeeded keep
   * their results and do not run again; an inline Map or Parallel reruns only its failed
   * or aborted iterations or branches; a Distributed Map redrives its Map Run's
   * unsuccessful children (see ./redrive.ts and runMapRun).
   * https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html
   */
  redriveExecution(body: Record<string, unknown>) {
    const e = this.execution(String(body.executionArn));
    const { redriveStatus, redriveStatusReason } = redriveStatusOf(e, this.machineType(e));
    if (redriveStatus !== 'REDRIVABLE') {
      throw new SfnError(
        'ExecutionNotRedrivable',
        redriveStatusReason ??
          `Execution ${e.arn} is a Map Run's child execution: redrive its parent execution`
      );
    }
    const machine = this.machine(e.stateMachineArn);
    // The attempt that ended records where it stopped as it settles, and a stopped
    // execution's Map Runs may still be winding down: let them finish first.
    const settled = Promise.all([e.done, ...(e.mapRunWork ?? [])]);
    this.markRedriven(e);
    e.done = settled.then(() => {
      // Stopped again before the redriven attempt began: nothing to run.
      if (e.status !== 'RUNNING') return;
      this.collectRedrivenMapRuns(e);
      return this.run(machine, e, JSON.parse(e.input), e.resume);
    });
    return { redriveDate: epoch(e.redriveDate) };
  }

  /** Reopens a closed execution for its redrive: ExecutionRedriven, counts, its Map Runs. */
  private markRedriven(e: Execution) {
    e.status = 'RUNNING';
    e.redriveCount++;
    e.redriveDate = new Date();
    for (const field of ['output', 'error', 'cause', 'stopDate'] as const) delete e[field];
    this.record(e, {
      timestamp: e.redriveDate.getTime() / 1000,
      type: 'ExecutionRedriven',
      executionRedrivenEventDetails: { redriveCount: e.redriveCount },
    });
    this.emitStatusChange(e);
  }

  /**
   * The unsuccessful Map Runs a redrive of `e` redrives instead of starting new ones: the
   * latest per Map state and input (a Distributed Map inside an inline Map runs once per
   * iteration). Called once the execution's Map Runs have settled.
   */
  private collectRedrivenMapRuns(e: Execution) {
    e.mapRunWork = [];
    e.redrivenMapRuns = new Map();
    for (const run of this.mapRuns.ofExecution(e.arn)) {
      if (run.status !== 'SUCCEEDED') e.redrivenMapRuns.set(run.key, run);
    }
  }

  private machineType(e: Execution): string {
    if (e.mapRunArn) return 'STANDARD';
    try {
      return this.machine(e.stateMachineArn).type;
    } catch {
      return 'STANDARD';
    }
  }

  /** Resolves when the execution is no longer RUNNING (tests/demo convenience). */
  async waitForExecution(arn: string) {
    await this.execution(arn).done;
    return this.describeExecution(arn);
  }

  async stop() {
    const running = [...this.executions.values()].filter(
      (e) => e.status === 'RUNNING' && !e.mapRunArn
    );
    for (const e of running)
      this.stopExecution({ executionArn: e.arn, error: 'LocalRuntimeStopped' });
    await Promise.all(running.map((e) => e.done));
  }
}

/**
 * A machine the stack started with although the runtime cannot run it (`allowPartial`):
 * its executions are refused with the features named, never run with other semantics.
 */
function refuseUnsupported(machine: StateMachineSpec) {
  if (!machine.unsupported) return;
  throw new SfnError(
    'ValidationException',
    `State machine ${machine.name} cannot run on the local runtime (started with --allow-partial): ` +
      machine.unsupported.join('; ')
  );
}
