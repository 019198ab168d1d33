import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
  type StateMachineDefinition,
  type StateMachineOptions,
} from 'aws-local-stepfunctions';
import { runsOnEngine } from './definition-check.js';
import { evaluateField, QueryEvaluationError, type StatesBinding } from './expressions.js';
import {
  evaluateTemplate,
  failureFields,
  placeResult,
  rewriteState,
  ruleHolds,
  valueAt,
  withVariables,
} from './jsonpath-fields.js';

/**
 * Runs state machines with a JSONata state or with workflow variables
 * (aws-local-stepfunctions 3.0.0 has neither JSONata nor `Assign`; patching them into it
 * would rewrite its state handlers). JSONata states are evaluated here; JSONPath states of
 * the same machine (AWS lets a JSONPath machine set `QueryLanguage: JSONata` per state)
 * have their fields evaluated by the interpreter itself (./jsonpath-fields.ts). It offers the slice of the interpreter's API the service uses, `run()` with
 * `result`, `abort` and `eventLogs`, and logs the interpreter's event vocabulary, so the
 * service records history, drives Task handlers (the same Lambda and integration
 * invokers as for JSONPath) and tracks redrives the same way for both languages.
 *
 * Semantics, per AWS:
 * - fields per state and `$states`: https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
 * - variables, `Assign`, scopes: https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html
 *   (Assign and Output of a state both see the variables as they were when the state was
 *   entered; new values are visible from the next state on; Map iterations and Parallel
 *   branches read the outer variables, and what they assign stays in their own scope)
 * - Retry/Catch: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
 * - the state types: https://states-language.net/spec.html
 * - query language per state: https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html
 *   (a state's `QueryLanguage`, else the machine's; nested states fall back to the machine's)
 * Definitions reach it already checked (./definition-check.ts). A Distributed Map reaches
 * it as a Task whose handler runs the Map Run (../distributed-map.ts).
 */

type Json = unknown;
/** A Task's work; the engine also passes the variables the state sees (a Distributed Map reads them). */
type Handler = (input: Json, scope?: { variables: Record<string, Json> }) => Promise<Json>;

export interface JsonataRunOptions {
  overrides?: { taskResourceLocalHandlers?: Record<string, Handler> };
  /** The context object (`$states.context`) without `State`, which each state adds. */
  context?: Record<string, unknown>;
  /** A redrive: the iteration or branch outputs of the resumed Map/Parallel that succeeded. */
  _redriveSucceeded?: Record<string, Record<number, Json>>;
  /** A redrive: the variables as they were when the resumed state was first entered. */
  _variables?: Record<string, Json>;
}

/** One event of the log, in aws-local-stepfunctions' vocabulary (see ../history.ts). */
export interface EngineEvent {
  type: string;
  timestamp: number;
  [field: string]: unknown;
}

interface State {
  Type: string;
  QueryLanguage?: string;
  Next?: string;
  End?: boolean;
  Output?: Json;
  Assign?: Record<string, Json>;
  Arguments?: Json;
  Resource?: string;
  TimeoutSeconds?: Json;
  Retry?: Retrier[];
  Catch?: Catcher[];
  Choices?: ChoiceRule[];
  Default?: string;
  Seconds?: Json;
  Timestamp?: Json;
  Error?: Json;
  Cause?: Json;
  Branches?: Workflow[];
  Items?: Json;
  ItemSelector?: Json;
  MaxConcurrency?: Json;
  ItemProcessor?: Workflow;
  Iterator?: Workflow;
}

interface Workflow {
  QueryLanguage?: string;
  StartAt: string;
  States: Record<string, State>;
  TimeoutSeconds?: number;
}

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

/** A JSONPath state's own fields (./jsonpath-fields.ts evaluates them). */
interface JsonPathState extends State {
  InputPath?: string | null;
  OutputPath?: string | null;
  ResultPath?: string | null;
  Parameters?: Json;
  ResultSelector?: Json;
  Result?: Json;
  ItemsPath?: string;
  MaxConcurrencyPath?: string;
  SecondsPath?: string;
  TimestampPath?: string;
  TimeoutSecondsPath?: string;
}

interface JsonPathCatcher extends Catcher {
  ResultPath?: string | null;
}

/**
 * Evaluates a JSONPath state's Assign (its `$` is `on`) and then its output, both with the
 * variables as they were at entry, and only then makes the new values visible.
 */
type Settle = (template: Json | undefined, on: Json, output: () => Promise<Json>) => Promise<Json>;

/** The fields of `o` among `keys` that it has (a present `null` differs from an absent field). */
function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (k in o) out[k] = o[k];
  return out;
}

interface Catcher {
  ErrorEquals: string[];
  Next: string;
  Output?: Json;
  Assign?: Record<string, Json>;
}

interface ChoiceRule {
  Condition: Json;
  Next: string;
  Output?: Json;
  Assign?: Record<string, Json>;
}

/** A state's failure: `Error` and `Cause` as AWS reports them. */
class StateFailure extends Error {
  constructor(
    readonly error: string,
    readonly cause: string,
    /** Raised by the Task's work itself (matched by States.TaskFailed). */
    readonly fromTask = false
  ) {
    super(cause);
    this.name = error;
  }
}

/** The run was stopped (StopExecution, the execution's timeout, a failed sibling). */
class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'Cancelled';
  }
}

const failureOf = (err: unknown, fromTask: boolean): StateFailure => {
  if (err instanceof StateFailure) return err;
  if (err instanceof QueryEvaluationError) return new StateFailure(err.name, err.message);
  const e = err as Error;
  return new StateFailure(e?.name ?? 'Error', e?.message ?? String(err), fromTask);
};

/** Variables of one scope; reads fall through to the enclosing scope, writes stay here. */
class Scope {
  private readonly own: Record<string, Json>;
  constructor(
    private readonly parent?: Scope,
    initial: Record<string, Json> = {}
  ) {
    this.own = { ...initial };
  }
  all(): Record<string, Json> {
    return { ...this.parent?.all(), ...this.own };
  }
  assign(values: Record<string, Json>) {
    Object.assign(this.own, values);
  }
}

/** What a state's Assign (or its Choice rule's or catcher's) set, for its StateExited event. */
interface Assignment {
  values?: Record<string, Json>;
}

/** Where a state runs: its scope, and for nested states the iteration or branch index. */
interface Place {
  scope: Scope;
  index?: number;
  signal: AbortSignal;
}

/** An async queue the service reads as `eventLogs`. */
class EventLog {
  private readonly events: EngineEvent[] = [];
  private wake?: () => void;
  private closed = false;
  push(e: Omit<EngineEvent, 'timestamp'>) {
    if (this.closed) return;
    this.events.push({ timestamp: Date.now(), ...e } as EngineEvent);
    this.wake?.();
  }
  close() {
    this.closed = true;
    this.wake?.();
  }
  async *read(): AsyncGenerator<EngineEvent> {
    for (;;) {
      while (this.events.length > 0) yield this.events.shift() as EngineEvent;
      if (this.closed) return;
      await new Promise<void>((r) => {
        this.wake = r;
      });
      this.wake = undefined;
    }
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(new Cancelled());
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Cancelled());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

/** Races work against the signal, so a stopped run does not wait for a Task in flight. */
const untilCancelled = <T>(work: Promise<T>, signal: AbortSignal) =>
  new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(new Cancelled());
    const onAbort = () => reject(new Cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });

/** The state types with Retry and Catch. */
const RETRYABLE_TYPES = new Set(['Task', 'Parallel', 'Map']);

/**
 * The interpreter for a definition: this engine for machines with a JSONata state or with
 * workflow variables (./definition-check.ts, `runsOnEngine`), aws-local-stepfunctions for
 * the other (JSONPath-only) ones. Typed as the latter, whose `run()` the
 * engine mirrors.
 */
export function interpreterFor(
  definition: Record<string, unknown>,
  options: StateMachineOptions = RUNTIME_VALIDATION
): StateMachine {
  if (runsOnEngine(definition)) {
    return new JsonataStateMachine(definition as unknown as Workflow) as unknown as StateMachine;
  }
  return checkedInterpreter(definition, options);
}

/**
 * The validation options of every interpreter the runtime builds: one value, because the
 * definition check's memory (validationOnce) is keyed on them. ARNs are not checked
 * against the schema's patterns: the runtime resolves each resource when the task runs.
 */
export const RUNTIME_VALIDATION: StateMachineOptions = { validationOptions: { checkArn: false } };

/**
 * aws-local-stepfunctions' interpreter for a JSONPath-only definition, checked once
 * (validationOnce). It is built from a copy: the check writes defaults into what it checks
 * (`QueryLanguage` on every state), and the caller's definition stays as given, so a
 * machine is described as it was created (DescribeStateMachine) and a remembered
 * definition is found under the one key it was checked with.
 */
export function checkedInterpreter(
  definition: Record<string, unknown>,
  options: StateMachineOptions = RUNTIME_VALIDATION
): StateMachine {
  const validation = validationOnce(definition, options);
  const sm = new StateMachine(
    structuredClone(definition) as unknown as StateMachineDefinition,
    validation.options
  );
  validation.passed();
  return sm;
}

/** How many validated definitions are remembered (machines, Map processors; oldest forgotten first). */
const VALIDATED_MAX = 256;
const validated = new Set<string>();

/**
 * The interpreter validates a definition in its constructor (asl-validator's JSON schema), and
 * the service builds one per execution and per Map Run: 135–330 ms of the runtime's one thread
 * for the video pipeline's 12 KB definition, before StartExecution could answer. Validity is a
 * pure function of the definition and the validation options, so a definition that passed
 * once skips it (`noValidate`) next time; one that failed is never remembered and fails again.
 */
export function validationOnce(
  definition: Record<string, unknown>,
  options: StateMachineOptions
): { options: StateMachineOptions; passed: () => void } {
  if (options.validationOptions?.noValidate) return { options, passed: () => undefined };
  const key = JSON.stringify([options.validationOptions ?? null, definition]);
  if (validated.has(key)) {
    return {
      options: {
        ...options,
        validationOptions: { ...options.validationOptions, noValidate: true },
      },
      passed: () => undefined,
    };
  }
  return {
    options,
    passed: () => {
      validated.add(key);
      while (validated.size > VALIDATED_MAX) validated.delete(validated.values().next().value!);
    },
  };
}

export class JsonataStateMachine {
  constructor(private readonly definition: Workflow) {}

  run(input: Json, options: JsonataRunOptions = {}) {
    return new JsonataRun(this.definition, options).start(input);
  }
}

class JsonataRun {
  private readonly log = new EventLog();
  private readonly controller = new AbortController();
  private readonly handlers: Record<string, Handler>;
  private readonly context: Record<string, unknown>;
  private readonly redriveSucceeded: Record<string, Record<number, Json>>;
  private stopReason?: 'aborted' | 'timedOut';
  /** The machine's query language: a state's own `QueryLanguage`, else this one. */
  private readonly language: string;

  constructor(
    private readonly definition: Workflow,
    private readonly options: JsonataRunOptions
  ) {
    this.handlers = options.overrides?.taskResourceLocalHandlers ?? {};
    this.context = options.context ?? {};
    this.language = definition.QueryLanguage ?? 'JSONPath';
    this.redriveSucceeded = { ...options._redriveSucceeded };
  }

  start(input: Json) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = this.definition.TimeoutSeconds;
    if (timeout !== undefined) {
      timer = setTimeout(() => this.stop('timedOut'), timeout * 1000);
    }
    this.log.push({ type: 'ExecutionStarted', input });
    const scope = new Scope(undefined, this.options._variables);
    const result = this.runWorkflow(this.definition, input, {
      scope,
      signal: this.controller.signal,
    }).then(
      (output) => {
        this.log.push({ type: 'ExecutionSucceeded', output });
        return output;
      },
      (err: unknown) => {
        if (this.stopReason === 'timedOut') {
          this.log.push({ type: 'ExecutionTimeout' });
          throw new ExecutionTimeoutError();
        }
        if (this.stopReason === 'aborted' || err instanceof Cancelled) {
          this.log.push({ type: 'ExecutionAborted' });
          throw new ExecutionAbortedError();
        }
        const f = failureOf(err, false);
        this.log.push({ type: 'ExecutionFailed', Error: f.error, Cause: f.cause });
        // The service reads the failure's name and message (Error and Cause) off `cause`.
        throw new ExecutionError(f as never);
      }
    );
    const settled = result.finally(() => {
      clearTimeout(timer);
      this.log.close();
    });
    // The service awaits `result`; a rejection is its to handle, not an unhandled one here.
    settled.catch(() => undefined);
    return {
      result: settled,
      abort: () => this.stop('aborted'),
      eventLogs: this.log.read(),
    };
  }

  private stop(reason: 'aborted' | 'timedOut') {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.controller.abort();
  }

  private async runWorkflow(workflow: Workflow, input: Json, place: Place): Promise<Json> {
    let name: string | undefined = workflow.StartAt;
    let data = input;
    while (name !== undefined) {
      if (place.signal.aborted) throw new Cancelled();
      const state: State = workflow.States[name];
      const step = await this.runState(name, state, data, place);
      data = step.output;
      name = step.next;
    }
    return data;
  }

  private async runState(
    name: string,
    state: State,
    input: Json,
    place: Place
  ): Promise<{ output: Json; next?: string }> {
    const nested = place.index !== undefined;
    this.log.push({
      type: 'StateEntered',
      state: { name, type: state.Type, input },
      ...(nested ? { index: place.index } : { variables: place.scope.all() }),
    });
    const context = {
      ...this.context,
      State: { Name: name, EnteredTime: new Date().toISOString(), RetryCount: 0 },
    };
    const variables = place.scope.all();
    const states: StatesBinding = { input, context };
    const ev = (value: Json, field: string, s: StatesBinding = states) =>
      evaluateField(value, field, s, variables);
    const assignment: Assignment = {};
    try {
      const step = await this.execute(name, state, input, place, context, ev, assignment);
      this.log.push({
        type: 'StateExited',
        state: { name, type: state.Type, input, output: step.output },
        ...(assignment.values && { assignedVariables: assignment.values }),
        ...(nested ? { index: place.index } : { variables: place.scope.all() }),
      });
      return step;
    } catch (err) {
      // Task, Parallel and Map log each failed attempt themselves (withRetryAndCatch).
      if (!(err instanceof Cancelled) && !RETRYABLE_TYPES.has(state.Type)) {
        this.logFailure(name, state, input, place);
      }
      throw err;
    }
  }

  /** StateFailed, as the interpreter logs it: on every failed attempt, caught or not. */
  private logFailure(name: string, state: State, input: Json, place: Place) {
    this.log.push({
      type: 'StateFailed',
      state: { name, type: state.Type, input },
      ...(place.index !== undefined && { index: place.index }),
    });
  }

  /** The state's own work and transition; Retry/Catch for the types that have them. */
  private async execute(
    name: string,
    state: State,
    input: Json,
    place: Place,
    context: Record<string, unknown>,
    ev: (value: Json, field: string, s?: StatesBinding) => Promise<Json>,
    assignment: Assignment
  ): Promise<{ output: Json; next?: string }> {
    if ((state.QueryLanguage ?? this.language) !== 'JSONata') {
      return this.executeJsonPath(name, state, input, place, context, assignment);
    }
    const next = state.End ? undefined : state.Next;
    /** Output and Assign with the same variables (those at entry); Assign applies afterwards. */
    const finish = async (
      s: StatesBinding,
      fallback: Json,
      outputField = state.Output,
      assignField = state.Assign
    ) => {
      const assigned =
        assignField === undefined ? undefined : ((await ev(assignField, 'Assign', s)) as object);
      const output = outputField === undefined ? fallback : await ev(outputField, 'Output', s);
      if (assigned) {
        place.scope.assign(assigned as Record<string, Json>);
        assignment.values = assigned as Record<string, Json>;
      }
      return output;
    };
    switch (state.Type) {
      case 'Pass':
        return { output: await finish({ input, context }, input), next };
      case 'Succeed':
        return { output: await finish({ input, context }, input) };
      case 'Fail': {
        const error = state.Error === undefined ? undefined : await ev(state.Error, 'Error');
        const cause = state.Cause === undefined ? undefined : await ev(state.Cause, 'Cause');
        throw new StateFailure(String(error ?? ''), String(cause ?? ''));
      }
      case 'Wait': {
        const ms =
          state.Seconds !== undefined
            ? Number(await ev(state.Seconds, 'Seconds')) * 1000
            : Date.parse(String(await ev(state.Timestamp, 'Timestamp'))) - Date.now();
        if (Number.isNaN(ms)) {
          throw new QueryEvaluationError(
            `${name}: Wait Seconds or Timestamp is not a number or date`
          );
        }
        await sleep(Math.max(0, ms), place.signal);
        return { output: await finish({ input, context }, input), next };
      }
      case 'Choice':
        return this.choose(name, state, input, context, ev, finish);
      case 'Task':
      case 'Parallel':
      case 'Map':
        // $states.result for Output and Assign; a catcher's default Output is $states.errorOutput.
        return this.withRetryAndCatch(
          name,
          state,
          input,
          place,
          context,
          {
            work: () => this.work(name, state, input, place, context, ev),
            succeeded: (result) => finish({ input, result, context }, result),
            caught: (catcher, errorOutput) =>
              finish({ input, errorOutput, context }, errorOutput, catcher.Output, catcher.Assign),
          },
          next
        );
      default:
        throw new StateFailure('States.Runtime', `${name}: unknown state type ${state.Type}`);
    }
  }

  /** Choice: the first rule whose Condition is true; its Output/Assign, else the state's. */
  private async choose(
    name: string,
    state: State,
    input: Json,
    context: Record<string, unknown>,
    ev: (value: Json, field: string) => Promise<Json>,
    finish: (s: StatesBinding, fallback: Json, o?: Json, a?: Record<string, Json>) => Promise<Json>
  ): Promise<{ output: Json; next?: string }> {
    for (const rule of state.Choices ?? []) {
      const holds = await ev(rule.Condition, 'Condition');
      if (typeof holds !== 'boolean') {
        throw new QueryEvaluationError(
          `${name}: a Condition must evaluate to a boolean, got ${JSON.stringify(holds)}`
        );
      }
      if (holds) {
        const output = await finish(
          { input, context },
          input,
          rule.Output ?? state.Output,
          rule.Assign ?? state.Assign
        );
        return { output, next: rule.Next };
      }
    }
    if (state.Default === undefined) {
      throw new StateFailure(
        'States.NoChoiceMatched',
        `No Choice Rule matched and no Default in state '${name}'`
      );
    }
    return { output: await finish({ input, context }, input), next: state.Default };
  }

  /**
   * Task, Parallel and Map: the work retried per `Retry`; then the state's output (and
   * Assign) from its result; an error no retrier handles goes to the first matching `Catch`.
   * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
   */
  private async withRetryAndCatch(
    name: string,
    state: State,
    input: Json,
    place: Place,
    context: Record<string, unknown>,
    steps: {
      work: () => Promise<Json>;
      succeeded: (result: Json) => Promise<Json>;
      caught: (catcher: Catcher, errorOutput: { Error: string; Cause: string }) => Promise<Json>;
    },
    next: string | undefined
  ): Promise<{ output: Json; next?: string }> {
    const attempts = new Map<Retrier, number>();
    for (;;) {
      try {
        const result = await steps.work();
        return { output: await steps.succeeded(result), next };
      } catch (err) {
        if (err instanceof Cancelled) throw err;
        this.logFailure(name, state, input, place);
        const failure = failureOf(err, state.Type === 'Task');
        const retrier = (state.Retry ?? []).find((r) => matches(r.ErrorEquals, failure));
        const done = retrier ? (attempts.get(retrier) ?? 0) : 0;
        if (retrier && done < (retrier.MaxAttempts ?? 3)) {
          attempts.set(retrier, done + 1);
          (context.State as { RetryCount: number }).RetryCount++;
          await sleep(retryDelayMs(retrier, done), place.signal);
          continue;
        }
        const catcher = (state.Catch ?? []).find((c) => matches(c.ErrorEquals, failure));
        if (!catcher) throw failure;
        const output = await steps.caught(catcher, { Error: failure.error, Cause: failure.cause });
        return { output, next: catcher.Next };
      }
    }
  }

  /** What a JSONata Task, Parallel or Map state produces: `$states.result`. */
  private async work(
    name: string,
    state: State,
    input: Json,
    place: Place,
    context: Record<string, unknown>,
    ev: (value: Json, field: string, s?: StatesBinding) => Promise<Json>
  ): Promise<Json> {
    if (state.Type === 'Task') {
      const timeout =
        state.TimeoutSeconds === undefined
          ? undefined
          : Number(await ev(state.TimeoutSeconds, 'TimeoutSeconds'));
      const args = state.Arguments === undefined ? input : await ev(state.Arguments, 'Arguments');
      return this.callTask(name, args, timeout, place);
    }
    if (state.Type === 'Parallel') {
      const branchInput =
        state.Arguments === undefined ? input : await ev(state.Arguments, 'Arguments');
      return this.runBranches(name, state, branchInput, place);
    }
    // Map (inline): Items (default: the input), each through ItemSelector, then the processor.
    const items = state.Items === undefined ? input : await ev(state.Items, 'Items');
    if (!Array.isArray(items)) {
      throw new QueryEvaluationError(`${name}: Items must be a JSON array`);
    }
    const limit =
      state.MaxConcurrency === undefined
        ? 0
        : Number(await ev(state.MaxConcurrency, 'MaxConcurrency'));
    return this.runIterations(name, state, items, limit, place, (item, i) =>
      state.ItemSelector === undefined
        ? item
        : ev(state.ItemSelector, 'ItemSelector', {
            input,
            context: { ...context, Map: { Item: { Index: i, Value: item } } },
          })
    );
  }

  /** A Task's handler on its effective input, within its timeout (seconds). */
  private callTask(name: string, args: Json, timeout: number | undefined, place: Place) {
    const handler = this.handlers[name];
    if (!handler) throw new StateFailure('States.Runtime', `${name}: no handler for the Task`);
    // Called in this tick after Arguments, so a `$states.context.Task.Token` read there
    // is the token this Task's handler takes (see ../task-tokens.ts). A Distributed Map's
    // handler also gets the variables its JSONata fields read.
    const call = handler(args, { variables: place.scope.all() });
    if (timeout === undefined) return untilCancelled(call, place.signal);
    const timedOut = sleep(timeout * 1000, place.signal).then(() => {
      throw new StateFailure('States.Timeout', '');
    });
    call.catch(() => undefined);
    timedOut.catch(() => undefined);
    return untilCancelled(Promise.race([call, timedOut]), place.signal);
  }

  /** A Parallel state's branches, each on the same input; the result is their outputs. */
  private runBranches(name: string, state: State, branchInput: Json, place: Place) {
    const reused = this.redriveSucceeded[name] ?? {};
    delete this.redriveSucceeded[name];
    return this.fanOut(state.Branches ?? [], place, reused, (branch, i, p) =>
      this.runWorkflow(branch, branchInput, p).then((output) => {
        this.log.push({
          type: 'ParallelBranchSucceeded',
          parentState: { name },
          index: i,
          output,
        });
        return output;
      })
    );
  }

  /** An inline Map's iterations: each item, selected, through the processor. */
  private runIterations(
    name: string,
    state: State,
    items: Json[],
    limit: number,
    place: Place,
    select: (item: Json, index: number) => Json | Promise<Json>
  ) {
    const reused = this.redriveSucceeded[name] ?? {};
    delete this.redriveSucceeded[name];
    const processor = (state.ItemProcessor ?? state.Iterator) as Workflow;
    return this.fanOut(
      items,
      place,
      reused,
      async (item, i, p) => {
        const value = await select(item, i);
        this.log.push({ type: 'MapIterationStarted', parentState: { name }, index: i });
        try {
          const output = await this.runWorkflow(processor, value, p);
          this.log.push({ type: 'MapIterationSucceeded', parentState: { name }, index: i, output });
          return output;
        } catch (err) {
          if (!(err instanceof Cancelled)) {
            this.log.push({ type: 'MapIterationFailed', parentState: { name }, index: i });
          }
          throw err;
        }
      },
      limit
    );
  }

  /**
   * A JSONPath state on the engine (in a machine that mixes query languages or uses
   * variables). Its fields are evaluated by the interpreter (./jsonpath-fields.ts):
   * InputPath, Parameters, the work, ResultSelector, ResultPath, OutputPath
   * (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html).
   * Assign (https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html):
   * its `$` is the state's result after ResultSelector (Task, Parallel, Map), the Pass
   * state's result, the effective input (Choice, Wait), or the error output (Catch); it
   * reads the variables as they were when the state was entered, like the output does, and
   * the new values are visible from the next state on.
   */
  private async executeJsonPath(
    name: string,
    raw: State,
    input: Json,
    place: Place,
    context: Record<string, unknown>,
    assignment: Assignment
  ): Promise<{ output: Json; next?: string }> {
    const state = rewriteState(raw as unknown as Record<string, Json>) as unknown as JsonPathState;
    // The variables join the context object only for a state that reads them, so `$$`
    // elsewhere is the context object as AWS has it.
    const readsVariables = JSON.stringify(state) !== JSON.stringify(raw);
    const ctx = readsVariables ? withVariables(context, place.scope.all()) : context;
    const next = state.End ? undefined : state.Next;
    const settle: Settle = async (template, on, output) => {
      const values =
        template === undefined
          ? undefined
          : ((await evaluateTemplate(template, on, ctx)) as Record<string, Json>);
      const out = await output();
      if (values) {
        place.scope.assign(values);
        assignment.values = values;
      }
      return out;
    };
    switch (state.Type) {
      case 'Pass': {
        const effective = await valueAt(state.InputPath, input, ctx);
        const result =
          'Result' in state
            ? state.Result
            : state.Parameters === undefined
              ? effective
              : await evaluateTemplate(state.Parameters, effective, ctx);
        const output = await settle(state.Assign, result, () =>
          placeResult(input, result, pick(state, 'ResultPath', 'OutputPath'), ctx)
        );
        return { output, next };
      }
      case 'Succeed': {
        const effective = await valueAt(state.InputPath, input, ctx);
        return { output: await valueAt(state.OutputPath, effective, ctx) };
      }
      case 'Fail': {
        const f = await failureFields(state as unknown as Record<string, Json>, input, ctx);
        throw new StateFailure(f.error ?? '', f.cause ?? '');
      }
      case 'Wait':
        return { output: await this.jsonPathWait(name, state, input, place, ctx, settle), next };
      case 'Choice':
        return this.jsonPathChoice(name, state, input, ctx, settle);
      case 'Task':
      case 'Parallel':
      case 'Map':
        return this.withRetryAndCatch(
          name,
          state,
          input,
          place,
          context,
          this.jsonPathSteps(name, state, input, place, ctx, settle),
          next
        );
      default:
        throw new StateFailure('States.Runtime', `${name}: unknown state type ${state.Type}`);
    }
  }

  /** A JSONPath Wait: Seconds, Timestamp, SecondsPath or TimestampPath on the effective input. */
  private async jsonPathWait(
    name: string,
    state: JsonPathState,
    input: Json,
    place: Place,
    ctx: Record<string, unknown>,
    settle: Settle
  ): Promise<Json> {
    const effective = await valueAt(state.InputPath, input, ctx);
    const seconds =
      state.SecondsPath === undefined
        ? state.Seconds
        : await valueAt(state.SecondsPath, effective, ctx);
    const timestamp =
      state.TimestampPath === undefined
        ? state.Timestamp
        : await valueAt(state.TimestampPath, effective, ctx);
    const ms =
      seconds !== undefined ? Number(seconds) * 1000 : Date.parse(String(timestamp)) - Date.now();
    if (Number.isNaN(ms)) {
      throw new StateFailure('States.Runtime', `${name}: Wait time is not a number or date`);
    }
    await sleep(Math.max(0, ms), place.signal);
    return settle(state.Assign, effective, () => valueAt(state.OutputPath, effective, ctx));
  }

  /** A JSONPath Choice: the first rule that holds (its Assign, else the state's), else Default. */
  private async jsonPathChoice(
    name: string,
    state: JsonPathState,
    input: Json,
    ctx: Record<string, unknown>,
    settle: Settle
  ): Promise<{ output: Json; next?: string }> {
    const effective = await valueAt(state.InputPath, input, ctx);
    const output = () => valueAt(state.OutputPath, effective, ctx);
    for (const rule of (state.Choices ?? []) as unknown as Array<Record<string, Json>>) {
      if (await ruleHolds(rule, effective, ctx)) {
        return {
          output: await settle(rule.Assign ?? state.Assign, effective, output),
          next: rule.Next as string,
        };
      }
    }
    if (state.Default === undefined) {
      throw new StateFailure(
        'States.NoChoiceMatched',
        `No Choice Rule matched and no Default in state '${name}'`
      );
    }
    return { output: await settle(state.Assign, effective, output), next: state.Default };
  }

  /**
   * A JSONPath Task, Parallel or Map: InputPath and Parameters (a Map: ItemsPath and
   * ItemSelector) before the work; ResultSelector, Assign, ResultPath and OutputPath after
   * it; a catcher's Assign and ResultPath on the error output.
   */
  private jsonPathSteps(
    name: string,
    state: JsonPathState,
    input: Json,
    place: Place,
    ctx: Record<string, unknown>,
    settle: Settle
  ) {
    return {
      work: async () => {
        const effective = await valueAt(state.InputPath, input, ctx);
        if (state.Type === 'Map') {
          return this.jsonPathIterations(name, state, effective, place, ctx);
        }
        const args =
          state.Parameters === undefined
            ? effective
            : await evaluateTemplate(state.Parameters, effective, ctx);
        if (state.Type === 'Parallel') return this.runBranches(name, state, args, place);
        const timeout =
          state.TimeoutSecondsPath === undefined
            ? (state.TimeoutSeconds as number | undefined)
            : Number(await valueAt(state.TimeoutSecondsPath, effective, ctx));
        return this.callTask(name, args, timeout, place);
      },
      succeeded: async (result: Json) => {
        const selected =
          state.ResultSelector === undefined
            ? result
            : await evaluateTemplate(state.ResultSelector, result, ctx);
        return settle(state.Assign, selected, () =>
          placeResult(input, selected, pick(state, 'ResultPath', 'OutputPath'), ctx)
        );
      },
      // A catcher's ResultPath puts the error output into the raw input (default `$`).
      caught: (catcher: Catcher, errorOutput: { Error: string; Cause: string }) =>
        settle(catcher.Assign, errorOutput, () =>
          placeResult(input, errorOutput, pick(catcher as JsonPathCatcher, 'ResultPath'), ctx)
        ),
    };
  }

  /** A JSONPath inline Map: ItemsPath, ItemSelector (or Parameters), MaxConcurrency(Path). */
  private async jsonPathIterations(
    name: string,
    state: JsonPathState,
    effective: Json,
    place: Place,
    ctx: Record<string, unknown>
  ) {
    const items = await valueAt(state.ItemsPath ?? '$', effective, ctx);
    if (!Array.isArray(items)) {
      throw new StateFailure('States.Runtime', `${name}: ItemsPath does not point to an array`);
    }
    const limit =
      state.MaxConcurrencyPath === undefined
        ? Number(state.MaxConcurrency ?? 0)
        : Number(await valueAt(state.MaxConcurrencyPath, effective, ctx));
    const selector = state.ItemSelector ?? state.Parameters;
    return this.runIterations(name, state, items, limit, place, (item, i) =>
      selector === undefined
        ? item
        : evaluateTemplate(selector, effective, {
            ...ctx,
            Map: { Item: { Index: i, Value: item } },
          })
    );
  }

  /**
   * Runs one unit per element (branch or item) in its own scope under the caller's, at most
   * `limit` at once (0: all). The first failure stops the others (they end at their next
   * state) and is the state's failure. Outputs kept from a redriven attempt are reused.
   */
  private async fanOut<T>(
    elements: T[],
    place: Place,
    reused: Record<number, Json>,
    unit: (element: T, index: number, place: Place) => Promise<Json>,
    limit = 0
  ): Promise<Json[]> {
    const siblings = new AbortController();
    const stopSiblings = () => siblings.abort();
    place.signal.addEventListener('abort', stopSiblings, { once: true });
    const results: Json[] = new Array(elements.length);
    let nextIndex = 0;
    let failure: unknown;
    const worker = async () => {
      while (nextIndex < elements.length && failure === undefined) {
        const i = nextIndex++;
        if (i in reused) {
          results[i] = reused[i];
          continue;
        }
        try {
          results[i] = await unit(elements[i], i, {
            scope: new Scope(place.scope),
            index: i,
            signal: siblings.signal,
          });
        } catch (err) {
          if (failure === undefined && !(err instanceof Cancelled)) {
            failure = err;
            siblings.abort();
          }
        }
      }
    };
    const width = limit > 0 ? Math.min(limit, elements.length) : elements.length;
    await Promise.all(Array.from({ length: width }, worker));
    place.signal.removeEventListener('abort', stopSiblings);
    if (place.signal.aborted) throw new Cancelled();
    if (failure !== undefined) throw failure;
    return results;
  }
}

/**
 * Whether a Retry or Catch rule's ErrorEquals names this failure. `States.ALL` matches
 * every error but `States.Runtime`; `States.TaskFailed` every error a Task's work raised
 * but `States.Timeout` (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
 */
function matches(errorEquals: string[], f: StateFailure): boolean {
  return errorEquals.some(
    (e) =>
      e === f.error ||
      (e === 'States.ALL' && f.error !== 'States.Runtime') ||
      (e === 'States.TaskFailed' && f.fromTask && f.error !== 'States.Timeout')
  );
}

/** IntervalSeconds (1) × BackoffRate (2) ^ attempt, capped by MaxDelaySeconds, FULL jitter. */
function retryDelayMs(r: Retrier, attempt: number): number {
  let seconds = (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** attempt;
  if (r.MaxDelaySeconds !== undefined) seconds = Math.min(seconds, r.MaxDelaySeconds);
  if (r.JitterStrategy === 'FULL') seconds *= Math.random();
  return seconds * 1000;
}
