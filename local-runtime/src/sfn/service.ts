import { randomUUID } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
} from 'aws-local-stepfunctions';
import type { BusEvent } from '../events/bus.js';
import { type InvokeResult, type LambdaRunner, LambdaServiceError } from '../lambda/runner.js';
import { childTraceHeader } from '../lambda/trace.js';
import type { Logger } from '../logger.js';
import type { StateMachineSpec } from '../model.js';
import {
  type Batch,
  batchItems,
  type ChildRecord,
  DEFAULT_MAX_CONCURRENCY,
  exceedsTolerance,
  type RewrittenMap,
  resultFiles,
  rewriteDistributedMaps,
  type Tolerance,
  type Transformation,
  transformOutputs,
} from './distributed-map.js';
import { SfnError } from './errors.js';
import { type HistoryEvent, type PendingEvent, stripData, toHistoryEvents } from './history.js';
import { type IntegrationTargets, integrationFor, runIntegration } from './integrations.js';
import { describeSource, readItems } from './item-reader.js';
import { interpreterFor } from './jsonata/engine.js';
import { lambdaInvokeOutput } from './lambda-output.js';
import { mapFieldsFor } from './map-fields.js';
import { type ResumePoint, ResumeTracker, redriveStatusOf, resumedDefinition } from './redrive.js';
import { StateMachineRegistry } from './state-machines.js';
import { TaskTokens, taskContext, taskTimers } from './task-tokens.js';

export { SfnError } from './errors.js';

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
  /** Set on the child executions of a Distributed Map. */
  mapRunArn?: string;
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
  /**
   * The X-Ray header its tasks continue (StartExecution's `traceHeader`, else a new trace):
   * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-xray-tracing.html
   */
  traceHeader?: string;
  /** The status of the last status-change event, so one status is announced once. */
  announced?: Status;
  /** Where a redrive resumes (the unsuccessful top-level state); undefined = StartAt. */
  resume?: ResumePoint;
  /** While a redrive runs: the unsuccessful Map Runs it redrives, by mapRunKey. */
  redrivenMapRuns?: Map<string, MapRun>;
  /** Map Runs of this execution, settled when each has written its results. */
  mapRunWork?: Promise<unknown>[];
  abort?: () => void;
  done: Promise<void>;
}

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

/** A workflow definition: the top level, or a Distributed Map's child workflow. */
interface Workflow {
  StartAt: string;
  States: Record<string, TaskState>;
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

/** https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html */
export const EXECUTION_STATUS_CHANGE = 'Step Functions Execution Status Change';
/** Input and output are left out (null, `included: false`) of an event past this size. */
const EVENT_DATA_LIMIT = 248 * 1024;

type MapRunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

/** A Map Run: what DescribeMapRun reports, plus the peak of children in flight. */
export interface MapRun {
  mapRunArn: string;
  executionArn: string;
  status: MapRunStatus;
  startDate: Date;
  stopDate?: Date;
  maxConcurrency: number;
  toleratedFailurePercentage: number;
  toleratedFailureCount: number;
  items: { total: number; succeeded: number; failed: number; aborted: number; pending: number };
  executions: { total: number; succeeded: number; failed: number; aborted: number };
  /** Most child executions running at once (local observation; AWS has no such counter). */
  peakRunning: number;
  children: Execution[];
  redriveCount: number;
  redriveDate?: Date;
  /** The Map state that ran it and that state's input (mapRunKey). */
  key: string;
  /** Its items, batched as its children got them: a redrive reuses them. */
  batches: Batch[];
  /** The child execution of each batch, by batch index (undefined: never started). */
  slots: Array<Execution | undefined>;
}

/** The AWS Error of a Map Run that failed more items than tolerated. */
export const EXCEED_TOLERATED_FAILURE = 'States.ExceedToleratedFailureThreshold';

export class StepFunctionsService {
  private readonly machines: StateMachineRegistry;
  private readonly executions = new Map<string, Execution>();
  private readonly mapRuns = new Map<string, MapRun>();
  /** Tokens of `.waitForTaskToken` Tasks (SendTaskSuccess/Failure/Heartbeat). */
  private readonly tokens = new TaskTokens();
  /** One-state machines that evaluate payload templates with the interpreter's own semantics. */
  private readonly templates = new WeakMap<object, StateMachine>();

  constructor(
    machines: StateMachineSpec[],
    private readonly lambda: LambdaRunner,
    private readonly opts: StepFunctionsServiceOptions
  ) {
    this.machines = new StateMachineRegistry(machines, opts.region, opts.accountId);
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
      case 'CreateStateMachine':
        return this.machines.create(body);
      case 'UpdateStateMachine':
        return this.machines.update(body);
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
    const sm = interpreterFor(definition, { validationOptions: { checkArn: false } });
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
   * Runs one (parent or child) execution on the interpreter. Task states call the
   * local Lambda; the Tasks that stand for Distributed Maps start a Map Run.
   */
  private async runWith(
    sm: StateMachine,
    definition: Workflow,
    maps: Map<string, RewrittenMap>,
    exec: Execution,
    input: unknown,
    stateMachine: { Id: string; Name: string },
    resume?: ResumePoint
  ): Promise<void> {
    const states = definition.States;
    const handlers: Record<
      string,
      (input: unknown, scope?: { variables: Record<string, unknown> }) => Promise<unknown>
    > = {};
    const mapStateNames = new Set<string>();
    const task = taskContext(this.tokens);
    const timers = taskTimers(states);
    for (const [stateName, resource] of taskStates(states)) {
      const map = maps.get(resource);
      if (map) mapStateNames.add(stateName);
      const integration = integrationFor(resource);
      handlers[stateName] = map
        ? (stateInput, scope?: { variables: Record<string, unknown> }) => {
            const work = this.runMapRun(
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
              this.runIntegrationTask(
                exec,
                integration,
                stateInput,
                // Taken now: the token $$.Task.Token minted for this very state.
                integration.waitForTaskToken
                  ? { token: task.take(), ...timers.get(stateName) }
                  : undefined
              )
          : (stateInput) => this.runTask(exec, resource, stateInput);
    }
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
      // Patched interpreter: an inline Map or Parallel reuses these iteration/branch results.
      ...(resume && { _redriveSucceeded: { [resume.state]: resume.succeeded } }),
      // A JSONata machine resumes with the variables the state had when it was entered.
      ...(resume?.variables && { _variables: resume.variables }),
      context: {
        Execution: {
          Id: exec.arn,
          Name: exec.name,
          Input: JSON.parse(exec.input),
          StartTime: exec.startDate.toISOString(),
          RoleArn: `arn:aws:iam::${this.opts.accountId}:role/local`,
        },
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

  /**
   * "Step Functions Execution Status Change" on the default bus, with AWS's detail
   * (dates in epoch milliseconds, input/output as JSON text). Parent executions only:
   * a Distributed Map's child executions belong to the Map Run, and AWS addresses them
   * under a child state machine ARN no rule on the parent's ARN matches.
   * https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html
   */
  private emitStatusChange(exec: Execution) {
    if (!this.opts.events || exec.mapRunArn || exec.announced === exec.status) return;
    exec.announced = exec.status;
    const ms = (d: Date | undefined) => (d ? d.getTime() : null);
    const data = exec.input.length + (exec.output?.length ?? 0);
    const included = data <= EVENT_DATA_LIMIT;
    const ended = exec.status !== 'RUNNING';
    this.opts.events.put({
      source: 'aws.states',
      'detail-type': EXECUTION_STATUS_CHANGE,
      resources: [exec.arn],
      time: ended ? exec.stopDate : (exec.redriveDate ?? exec.startDate),
      detail: {
        executionArn: exec.arn,
        stateMachineArn: exec.stateMachineArn,
        name: exec.name,
        status: exec.status,
        startDate: ms(exec.startDate),
        stopDate: ended ? ms(exec.stopDate) : null,
        input: included ? exec.input : null,
        output: included ? (exec.output ?? null) : null,
        inputDetails: { included },
        outputDetails: exec.output === undefined ? null : { included },
        error: exec.error ?? null,
        cause: exec.cause ?? null,
        redriveCount: exec.redriveCount,
        redriveDate: ms(exec.redriveDate),
        redriveStatus: redriveStatusOf(exec, this.machineType(exec)).redriveStatus,
      },
    });
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
        { validationOptions: { checkArn: false } }
      );
      this.templates.set(template, sm);
    }
    return sm.run(input as never, { context: context as never }).result;
  }

  /**
   * One Map Run of a Distributed Map: read the items (ItemReader from S3, or
   * ItemsPath), select and batch them, run one child execution per item or batch
   * with at most MaxConcurrency in flight, fail the run as soon as the failed
   * items exceed the tolerance, and write the results (ResultWriter) — also when
   * it fails, like AWS. Its output is what the Map state's ResultSelector and
   * ResultPath then apply to.
   */
  private async runMapRun(
    exec: Execution,
    map: RewrittenMap,
    maps: Map<string, RewrittenMap>,
    input: unknown,
    stateMachine: { Id: string; Name: string },
    variables: Record<string, unknown>
  ): Promise<unknown> {
    const st = map.state;
    const context = {
      Execution: {
        Id: exec.arn,
        Name: exec.name,
        Input: JSON.parse(exec.input),
        StartTime: exec.startDate.toISOString(),
        RoleArn: `arn:aws:iam::${this.opts.accountId}:role/local`,
      },
      StateMachine: stateMachine,
      State: { Name: map.stateName, EnteredTime: new Date().toISOString() },
    };
    const fields = mapFieldsFor(st, map.language, input, context, variables, (t, i, c) =>
      this.evaluate(t, i, c)
    );
    const label = st.Label ?? map.stateName;
    const arnBase = `arn:aws:states:${this.opts.region}:${this.opts.accountId}`;
    // A redrive of the parent redrives this state's unsuccessful Map Run, not a new one
    // (https://docs.aws.amazon.com/step-functions/latest/dg/redrive-map-run.html).
    const runKey = mapRunKey(map.stateName, input);
    const redriven = exec.redrivenMapRuns?.get(runKey);
    exec.redrivenMapRuns?.delete(runKey);
    // This attempt of the parent: a Map Run still winding down when the parent is
    // redriven must not take the redrive's RUNNING for its own.
    const attempt = exec.redriveCount;
    const live = () => exec.status === 'RUNNING' && exec.redriveCount === attempt;
    const mapRunArn =
      redriven?.mapRunArn ?? `${arnBase}:mapRun:${stateMachine.Name}/${label}:${randomUUID()}`;
    const childMachineArn = `${arnBase}:stateMachine:${stateMachine.Name}/${label}`;
    const fail = (error: string, cause: string): never => {
      throw new TaskError(error, cause);
    };

    // Items: ItemReader (S3 object) or the state input at ItemsPath.
    const readBatches = async (): Promise<{ itemCount: number; batches: Batch[] }> => {
      let items: unknown[];
      if (st.ItemReader) {
        const params = (await fields.template(
          st.ItemReader[fields.argumentsField] ?? {},
          `ItemReader.${fields.argumentsField}`
        )) as Record<string, unknown>;
        const where = describeSource(st.ItemReader.Resource, params);
        try {
          if (!this.opts.s3) throw new Error('the local runtime was started without S3');
          items = await readItems(this.opts.s3, st.ItemReader, params);
        } catch (err) {
          return fail('States.ItemReaderFailed', `ItemReader ${where}: ${(err as Error).message}`);
        }
        const reader = st.ItemReader.ReaderConfig;
        const maxItems = await fields.value(
          reader?.MaxItems,
          reader?.MaxItemsPath,
          'ReaderConfig.MaxItems'
        );
        if (maxItems !== undefined && maxItems > 0) items = items.slice(0, maxItems);
      } else {
        const value = await fields.items();
        if (!Array.isArray(value)) {
          return fail(
            'States.Runtime',
            map.language === 'JSONata'
              ? `${map.stateName}: Items is not an array`
              : `${map.stateName}: ItemsPath ${st.ItemsPath ?? '$'} is not an array`
          );
        }
        items = value;
      }

      const selected = st.ItemSelector
        ? await Promise.all(
            items.map((Value, Index) =>
              fields.template(st.ItemSelector, 'ItemSelector', { Map: { Item: { Index, Value } } })
            )
          )
        : items;
      let batches: Batch[];
      try {
        const b = st.ItemBatcher;
        batches = batchItems(
          selected,
          b && {
            maxItems: await fields.value(
              b.MaxItemsPerBatch,
              b.MaxItemsPerBatchPath,
              'ItemBatcher.MaxItemsPerBatch'
            ),
            maxBytes: await fields.value(
              b.MaxInputBytesPerBatch,
              b.MaxInputBytesPerBatchPath,
              'ItemBatcher.MaxInputBytesPerBatch'
            ),
            batchInput:
              b.BatchInput && (await fields.template(b.BatchInput, 'ItemBatcher.BatchInput')),
          }
        );
      } catch (err) {
        return fail('States.Runtime', `${map.stateName}: ItemBatcher: ${(err as Error).message}`);
      }
      return { itemCount: items.length, batches };
    };
    // A redriven Map Run keeps the items its first attempt read.
    const { itemCount, batches } = redriven
      ? { itemCount: redriven.items.total, batches: redriven.batches }
      : await readBatches();
    const tolerance: Tolerance = {
      count: await fields.value(
        st.ToleratedFailureCount,
        st.ToleratedFailureCountPath,
        'ToleratedFailureCount'
      ),
      percentage: await fields.value(
        st.ToleratedFailurePercentage,
        st.ToleratedFailurePercentagePath,
        'ToleratedFailurePercentage'
      ),
    };
    const concurrency =
      (await fields.value(st.MaxConcurrency, st.MaxConcurrencyPath, 'MaxConcurrency')) ||
      DEFAULT_MAX_CONCURRENCY;

    let run: MapRun;
    if (redriven) {
      run = redriven;
      run.status = 'RUNNING';
      run.stopDate = undefined;
      run.redriveCount++;
      run.redriveDate = new Date();
      recountForRedrive(run);
      this.record(exec, {
        timestamp: run.redriveDate.getTime() / 1000,
        type: 'MapRunRedriven',
        mapRunRedrivenEventDetails: { mapRunArn, redriveCount: run.redriveCount },
      });
    } else {
      run = {
        mapRunArn,
        executionArn: exec.arn,
        status: 'RUNNING',
        startDate: new Date(),
        maxConcurrency: concurrency,
        toleratedFailurePercentage: tolerance.percentage ?? 0,
        toleratedFailureCount: tolerance.count ?? 0,
        items: { total: itemCount, succeeded: 0, failed: 0, aborted: 0, pending: itemCount },
        executions: { total: batches.length, succeeded: 0, failed: 0, aborted: 0 },
        peakRunning: 0,
        children: [],
        redriveCount: 0,
        key: runKey,
        batches,
        slots: new Array(batches.length),
      };
      this.mapRuns.set(mapRunArn, run);
      this.record(exec, {
        timestamp: Date.now() / 1000,
        type: 'MapRunStarted',
        mapRunStartedEventDetails: { mapRunArn },
      });
    }

    // Children: one StateMachine for the processor, validated once for the whole run.
    const childSm = interpreterFor(map.processor, { validationOptions: { checkArn: false } });
    const childWorkflow = map.processor as unknown as Workflow;
    const childMachine = { Id: childMachineArn, Name: `${stateMachine.Name}/${label}` };
    // Only the children that did not succeed run (again): failed and aborted ones are
    // redriven under their own ARN, those that never started are started.
    const todo = batches.map((_, i) => i).filter((i) => run.slots[i]?.status !== 'SUCCEEDED');
    let next = 0;
    let running = 0;
    let exceeded = false;
    const launch = async (): Promise<void> => {
      while (next < todo.length && !exceeded && live()) {
        const index = todo[next++];
        const batch = batches[index];
        const prior = run.slots[index];
        if (prior) {
          this.markRedriven(prior);
          this.collectRedrivenMapRuns(prior);
          running++;
          run.peakRunning = Math.max(run.peakRunning, running);
          run.items.pending -= batch.indexes.length;
          prior.done = this.runWith(
            childSm,
            childWorkflow,
            maps,
            prior,
            batch.input,
            childMachine,
            prior.resume
          );
        }
        const name = randomUUID();
        const child: Execution = prior ?? {
          arn: `${arnBase}:execution:${stateMachine.Name}/${label}:${name}`,
          mapRunArn,
          name,
          stateMachineArn: childMachineArn,
          status: 'RUNNING',
          input: JSON.stringify(batch.input),
          startDate: new Date(),
          history: [],
          redriveCount: 0,
          done: Promise.resolve(),
          traceHeader: exec.traceHeader,
        };
        if (!prior) {
          this.executions.set(child.arn, child);
          run.children.push(child);
          run.slots[index] = child;
          running++;
          run.peakRunning = Math.max(run.peakRunning, running);
          run.items.pending -= batch.indexes.length;
          child.done = this.runWith(childSm, childWorkflow, maps, child, batch.input, childMachine);
        }
        await child.done;
        running--;
        const n = batch.indexes.length;
        if (child.status === 'SUCCEEDED') {
          run.items.succeeded += n;
          run.executions.succeeded++;
        } else if (child.status === 'ABORTED') {
          run.items.aborted += n;
          run.executions.aborted++;
        } else {
          run.items.failed += n;
          run.executions.failed++;
          if (!exceeded && exceedsTolerance(run.items.failed, itemCount, tolerance)) {
            exceeded = true;
            // AWS stops the children still in flight once the Map Run has failed.
            for (const c of run.children) {
              if (c.status === 'RUNNING') {
                this.stopExecution({ executionArn: c.arn, error: EXCEED_TOLERATED_FAILURE });
              }
            }
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, launch));

    const records = run.slots.map((c) =>
      c && c.status !== 'RUNNING' ? childRecord(c) : undefined
    );
    const done = records.filter((r): r is ChildRecord => r !== undefined);
    const succeeded = done.filter((r) => r.Status === 'SUCCEEDED');
    const failedRecords = done.filter((r) => r.Status !== 'SUCCEEDED');
    const pending = batches.filter((_, i) => records[i] === undefined).map((b) => b.input);
    run.status = exceeded ? 'FAILED' : live() ? 'SUCCEEDED' : 'ABORTED';
    run.stopDate = new Date();

    const writer = st.ResultWriter;
    const transformation: Transformation =
      writer?.WriterConfig?.Transformation ?? (writer?.Resource ? 'NONE' : 'COMPACT');
    let output: unknown;
    if (writer?.Resource) {
      const params = (await fields.template(
        writer[fields.argumentsField] ?? {},
        `ResultWriter.${fields.argumentsField}`
      )) as {
        Bucket: string;
        Prefix?: string;
      };
      const { files, manifestKey } = resultFiles({
        bucket: params.Bucket,
        prefix: params.Prefix ?? '',
        mapRunArn,
        succeeded,
        failed: failedRecords,
        pending,
        outputType: writer.WriterConfig?.OutputType ?? 'JSON',
        transformation,
      });
      try {
        if (!this.opts.s3) throw new Error('the local runtime was started without S3');
        // The manifest comes last, so whoever sees it finds every file it lists.
        for (const f of files) {
          await this.opts.s3.send(
            new PutObjectCommand({
              Bucket: params.Bucket,
              Key: f.key,
              Body: f.body,
              ContentType: 'application/json',
            })
          );
        }
      } catch (err) {
        this.recordMapRunEnd(exec, run, 'States.ResultWriterFailed', (err as Error).message);
        return fail('States.ResultWriterFailed', (err as Error).message);
      }
      output = {
        MapRunArn: mapRunArn,
        ResultWriterDetails: { Bucket: params.Bucket, Key: manifestKey },
      };
    } else {
      // No ResultWriter: the results travel in the state, in item order.
      output = records.map((r) =>
        r === undefined
          ? null
          : r.Status === 'SUCCEEDED'
            ? transformOutputs([r], transformation === 'NONE' ? 'NONE' : 'COMPACT')[0]
            : { Error: r.Error, Cause: r.Cause }
      );
      if (transformation === 'FLATTEN') {
        output = (output as unknown[]).flatMap((o) => (Array.isArray(o) ? o : [o]));
      }
    }
    if (exceeded) {
      const cause =
        `The specified tolerated failure threshold was exceeded: ${run.items.failed} of ` +
        `${itemCount} items failed (tolerated: ${describeTolerance(tolerance)})`;
      this.recordMapRunEnd(exec, run, EXCEED_TOLERATED_FAILURE, cause);
      return fail(EXCEED_TOLERATED_FAILURE, cause);
    }
    this.recordMapRunEnd(exec, run);
    this.opts.logger.info(
      `[states] ${exec.name} map run ${label}: ${run.items.succeeded}/${itemCount} items succeeded` +
        (run.items.failed ? `, ${run.items.failed} failed (tolerated)` : '')
    );
    return output;
  }

  private recordMapRunEnd(exec: Execution, run: MapRun, error?: string, cause?: string) {
    if (error !== undefined) run.status = 'FAILED';
    this.record(
      exec,
      error === undefined
        ? { timestamp: Date.now() / 1000, type: 'MapRunSucceeded' }
        : {
            timestamp: Date.now() / 1000,
            type: 'MapRunFailed',
            mapRunFailedEventDetails: { error, cause },
          }
    );
  }

  describeMapRun(arn: string) {
    const r = this.mapRuns.get(arn);
    if (!r) throw new SfnError('ResourceNotFound', `Map Run Does Not Exist: '${arn}'`);
    const counts = (
      c: { total: number; succeeded: number; failed: number; aborted: number },
      pending: number
    ) => ({
      pending,
      running: r.children.filter((e) => e.status === 'RUNNING').length,
      succeeded: c.succeeded,
      failed: c.failed,
      timedOut: 0,
      aborted: c.aborted,
      total: c.total,
      resultsWritten: c.succeeded + c.failed + c.aborted,
      failuresNotRedrivable: 0,
      pendingRedrive: 0,
    });
    return {
      mapRunArn: r.mapRunArn,
      executionArn: r.executionArn,
      status: r.status,
      startDate: epoch(r.startDate),
      stopDate: epoch(r.stopDate),
      maxConcurrency: r.maxConcurrency,
      toleratedFailurePercentage: r.toleratedFailurePercentage,
      toleratedFailureCount: r.toleratedFailureCount,
      itemCounts: counts(r.items, r.items.pending),
      executionCounts: counts(r.executions, r.executions.total - r.children.length),
      redriveCount: r.redriveCount,
      redriveDate: epoch(r.redriveDate),
    };
  }

  listMapRuns(body: Record<string, unknown>) {
    const arn = String(body.executionArn);
    this.execution(arn);
    const runs = [...this.mapRuns.values()].filter((r) => r.executionArn === arn);
    const { page, nextToken } = paginate(runs, body);
    return {
      mapRuns: page.map((r) => ({
        executionArn: r.executionArn,
        mapRunArn: r.mapRunArn,
        stateMachineArn: r.children[0]?.stateMachineArn,
        startDate: epoch(r.startDate),
        stopDate: epoch(r.stopDate),
      })),
      nextToken,
    };
  }

  /** The Map Run (local view, with its children), for tests and the bench. */
  mapRun(arn: string): MapRun | undefined {
    return this.mapRuns.get(arn);
  }

  /** One service-integration Task (sfn/integrations.ts) on the runtime's own services. */
  private async runIntegrationTask(
    exec: Execution,
    integration: NonNullable<ReturnType<typeof integrationFor>>,
    input: unknown,
    callback?: { token: string; heartbeatSeconds?: number; timeoutSeconds?: number }
  ): Promise<unknown> {
    // Let the interpreter's StateEntered event reach the history before our task events.
    await new Promise((r) => setImmediate(r));
    const services = this.opts.integrations;
    if (!services) {
      throw new TaskError('States.Runtime', 'Service integrations are not configured');
    }
    return runIntegration(
      integration,
      input,
      { ...services, states: this, lambda: this.lambda },
      (e) => this.record(exec, e),
      this.opts.region,
      callback && { tokens: this.tokens, ...callback }
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
      result = await this.lambda.invoke(target, payload, { traceHeader: exec.traceHeader });
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
      ? lambdaInvokeOutput({
          kind: 'invoked',
          payload: result.payload,
          requestId: result.requestId,
        })
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
          return await this.lambda.invoke(target, payload, { traceHeader: exec.traceHeader });
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
    const output = lambdaInvokeOutput({ kind: 'queued' });
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
      ...redriveStatusOf(e, this.machineType(e)),
      mapRunArn: e.mapRunArn,
      traceHeader: e.traceHeader,
    };
  }

  listExecutions(body: Record<string, unknown>) {
    const filter = body.statusFilter as Status | undefined;
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
      for (const run of this.mapRuns.values()) {
        if (run.executionArn !== e.arn) continue;
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
    for (const run of this.mapRuns.values()) {
      if (run.executionArn === e.arn && run.status !== 'SUCCEEDED') {
        e.redrivenMapRuns.set(run.key, run);
      }
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

/** The fields ListExecutions returns for an execution; DescribeExecution starts with the same. */
function executionListItem(e: Execution) {
  return {
    executionArn: e.arn,
    stateMachineArn: e.stateMachineArn,
    name: e.name,
    status: e.status,
    startDate: epoch(e.startDate),
    stopDate: epoch(e.stopDate),
    redriveCount: e.redriveCount,
    redriveDate: epoch(e.redriveDate),
  };
}

/** Identifies a Map Run for a redrive: its Map state and the input that state had. */
const mapRunKey = (stateName: string, input: unknown) =>
  `${stateName}\u0000${JSON.stringify(input)}`;

/** A redriven Map Run counts again: what succeeded stays, the rest is pending. */
function recountForRedrive(run: MapRun) {
  let items = 0;
  let executions = 0;
  run.slots.forEach((c, i) => {
    if (c?.status !== 'SUCCEEDED') return;
    items += run.batches[i].indexes.length;
    executions++;
  });
  run.items = {
    ...run.items,
    succeeded: items,
    failed: 0,
    aborted: 0,
    pending: run.items.total - items,
  };
  run.executions = { ...run.executions, succeeded: executions, failed: 0, aborted: 0 };
}

/** A finished child execution as ResultWriter reports it (Transformation NONE). */
function childRecord(e: Execution): ChildRecord {
  const ok = e.status === 'SUCCEEDED';
  return {
    ExecutionArn: e.arn,
    Input: e.input,
    InputDetails: { Included: true },
    Name: e.name,
    ...(ok
      ? { Output: e.output ?? 'null', OutputDetails: { Included: true } }
      : { Error: e.error ?? 'States.Runtime', Cause: e.cause ?? '' }),
    RedriveCount: e.redriveCount,
    RedriveStatus: ok ? 'NOT_REDRIVABLE' : 'REDRIVABLE',
    ...(ok && { RedriveStatusReason: 'Execution is SUCCEEDED and cannot be redriven' }),
    StartDate: e.startDate.toISOString(),
    StateMachineArn: e.stateMachineArn,
    Status: e.status as ChildRecord['Status'],
    StopDate: (e.stopDate ?? new Date()).toISOString(),
  };
}

const describeTolerance = (t: Tolerance) =>
  [t.count !== undefined && `${t.count} items`, t.percentage !== undefined && `${t.percentage}%`]
    .filter(Boolean)
    .join(' or ') || 'none';

function paginate<T>(items: T[], body: Record<string, unknown>) {
  const max = Number(body.maxResults) > 0 ? Number(body.maxResults) : 100;
  const start = body.nextToken ? Number(body.nextToken) : 0;
  const page = items.slice(start, start + max);
  const nextToken = start + max < items.length ? String(start + max) : undefined;
  return { page, nextToken };
}
