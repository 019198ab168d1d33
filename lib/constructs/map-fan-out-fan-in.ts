import { Duration, FeatureFlags, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2 } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import {
  AGGREGATE_FAILED_ERROR,
  type FanOutPolicy,
  policyProblems,
  STATE_NAMES,
  STATE_PATHS,
} from '../../contract/index.js';
import type { BranchRole } from '../../contract/policy.js';
import { MAX_DISTRIBUTED_MAP_CONCURRENCY } from '../nag/rules/sfn-distributed-map-bounds.js';
import { MAX_INLINE_MAP_CONCURRENCY } from '../nag/rules/sfn-inline-map-concurrency.js';
import { type BranchFunction, BranchRoutes, isFireAndForget } from './branch-routes.js';
import { CHECKOV_SKIPS, skipCheckov } from './checkov.js';
import { SECURE_STATE_MACHINE_DEFAULTS } from './defaults.js';
import { LambdaSteps, type ThrottleRetryProps } from './lambda-steps.js';
import { mergeProps } from './merge-props.js';

export type { BranchFunction } from './branch-routes.js';
export { THROTTLE_ERROR, type ThrottleRetryProps } from './lambda-steps.js';
// One definition per invariant: the construct enforces what the FanOut nag rule checks.
export { MAX_DISTRIBUTED_MAP_CONCURRENCY, MAX_INLINE_MAP_CONCURRENCY };

/** A Lambda step that runs before the fan-out (validate, probe, plan…). */
export interface PrepareStep {
  /** State name; stable, because it appears in execution history and alarms. */
  readonly name: string;
  readonly handler: lambda.IFunction;
  /** Where the step's result is stored in the state, e.g. `$.probe`. */
  readonly resultPath: string;
}

/**
 * A Distributed Map run between the prepare steps and the FanOut, over items a
 * prepare step wrote to S3 as a JSON array (e.g. the segments of long
 * renditions). Its results are not fanned in here: the FanOut branches that
 * consume its work (e.g. a segmented rendition's join) gather what they need
 * from S3, so the aggregator still sees one branch each (layered fan-in).
 */
export interface PreFanOutMapProps {
  /** State name; stable, because it appears in execution history and the CLI. */
  readonly stateName: string;
  /** Runs one item; its input is `itemSelector` applied to the item. */
  readonly worker: lambda.IFunction;
  /** Name of the worker's task state in the child workflow. @default - `Run<stateName>Item` */
  readonly itemStateName?: string;
  /**
   * JSONPath of `{ key, count }` in the state: the items file in `bucket`. The
   * stage is skipped when the path is absent (nothing to do for this execution).
   */
  readonly itemsRefPath: string;
  /** Holds the items file and receives the ResultWriter's output under `resultPrefix`. */
  readonly bucket: s3.IBucket;
  /** Key prefix of the ResultWriter's files (Step Functions adds the Map Run id). */
  readonly resultPrefix: string;
  /** @default - `{ "item.$": "$$.Map.Item.Value" }` */
  readonly itemSelector?: Record<string, unknown>;
  /** Child executions at once; a Distributed Map allows far more than an inline Map's 40. @default 100 */
  readonly maxConcurrency?: number;
  /**
   * Failed items tolerated before the Map Run fails. Either way the consumers
   * run next (the Map's Catch goes to the FanOut, or in the Wave ends the map's
   * branch before the Joins map): the consumers of the items detect
   * what is missing and fail their own branch, so the fan-out policy
   * (timeouts, fallbacks) decides. Not set by default, because LocalStack
   * 4.14.0's ASL parser rejects the field (docs/localstack.md), and a Map Run
   * that stops at the first failed item saves the remaining encodes.
   * @default - none: the first failed item fails the Map Run
   */
  readonly toleratedFailurePercentage?: number;
  /**
   * JSONPath, in a FanOut iteration's input, present on the branches that consume
   * this map's items (e.g. `$.branch.segmentation`). With it, in parallel mode, the
   * FanOut and this map run together in one Parallel (the `Wave`): the FanOut
   * reports those branches SKIPPED at once and the inline `Joins` map runs them
   * after the Wave with the same routes (timeout, fallback), so the other
   * branches do not wait for the items. Sequential mode keeps this map before
   * the FanOut (one branch at a time, in plan order).
   * @default - the map runs before the FanOut, which runs every branch
   */
  readonly deferredPath?: string;
  /** The branch kinds that can carry `deferredPath`: the Joins map routes only these. @default - every routed kind */
  readonly deferredKinds?: readonly string[];
}

export interface MapFanOutFanInProps {
  /** Steps run in order before the Map. Any failure skips to the aggregator with `$.failure`. @default - none */
  readonly prepare?: PrepareStep[];
  /** A Distributed Map between the prepare steps and the FanOut. @default - none */
  readonly preFanOut?: PreFanOutMapProps;
  /** JSONPath of the array of branches to fan out over. @default '$.plan.branches' */
  readonly branchesPath?: string;
  /**
   * Input of each iteration. @default - `{ "branch.$": "$$.Map.Item.Value" }`
   */
  readonly branchSelector?: Record<string, unknown>;
  /** JSONPath, inside an iteration's input, of the branch id (reported on failure). @default '$.branch.id' */
  readonly branchIdPath?: string;
  /** JSONPath, inside an iteration's input, of the branch kind (routes it to its branch function). @default '$.branch.kind' */
  readonly branchKindPath?: string;
  /**
   * One branch function per branch kind; each returns a small `{ id, status }` reference
   * (details belong in S3). A branch of a kind with no branch function becomes a FAILED
   * result (`UnknownBranchKind`) rather than failing the whole Map.
   */
  readonly branchFunctions: readonly BranchFunction[];
  /**
   * The fan-in. Receives the whole state and returns `{ status, reason, … }`;
   * `status: "FAILED"` fails the execution with `reason` as its cause.
   */
  readonly aggregator: lambda.IFunction;
  /**
   * Fan out with a Distributed Map instead of the inline Map: for item counts
   * beyond the inline limit (and the 256 KiB state). See DistributedFanOutProps.
   * @default - an inline Map
   */
  readonly distributed?: DistributedFanOutProps;
  /**
   * Concurrent iterations of the inline Map, 1–40 (0, unbounded, is refused):
   * the policy's bound on in-flight branches. Sequential mode needs 1.
   * @default 10 (1 in sequential mode)
   */
  readonly maxConcurrency?: number;
  /**
   * How branches run and which decide the status (docs/policies.md). Validated
   * at synth; written to the state as `$.policy` for the aggregator.
   * @default - parallel, await all, every kind secondary except the first branch function's (primary)
   */
  readonly policy?: FanOutPolicyProps;
  /** Error names (error class `name`s) retried with backoff on every step. @default - only Lambda service errors */
  readonly retryableErrors?: string[];
  /** @default 3 */
  readonly maxRetryAttempts?: number;
  /**
   * The Retry of `Lambda.TooManyRequestsException` on every Lambda step, apart from
   * the transient-error Retry: a throttled step has not run, and under load it must
   * wait for capacity rather than give up after the few attempts a fault gets.
   * @default - 2 s, ×2, at most 60 s apart, 25 attempts, full jitter (about 20 minutes)
   */
  readonly throttleRetry?: ThrottleRetryProps;
  /**
   * Task timeout of each Lambda step. Always set explicitly, so an interpreter
   * with its own default (aws-local-stepfunctions uses 60 s) behaves like AWS.
   * @default - the function's timeout + 30 s when known, else 15 minutes
   */
  readonly taskTimeout?: Duration;
  /**
   * The state machine's TimeoutSeconds: past it an execution ends TIMED_OUT.
   * Whole seconds, 1 to 31,536,000 (a Standard execution's year).
   * @default Duration.hours(2)
   */
  readonly executionTimeout?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default - CDK-generated name */
  readonly stateMachineName?: string;
  /**
   * Any other state machine setting, merged as secure defaults (STANDARD,
   * X-Ray tracing, logs at ALL with execution data to the construct's log
   * group) ← the props above ← these ← required (definitionBody,
   * queryLanguage JSONPath). Replacing a secure default is reported as a synth
   * warning; setting a field a prop above also sets, or a required one, is an error.
   * @default - none
   */
  readonly stateMachineProps?: sfn.StateMachineProps;
}

/**
 * The Distributed Map form. The items are a JSON array in S3 (a prepare step
 * writes the plan there) read with ItemReader; each item or batch runs as a child
 * execution; results go to S3 with ResultWriter and the state keeps only
 * `{ MapRunArn, ResultWriterDetails: { Bucket, Key } }` at `$.results`: the
 * aggregator reads the manifest and the SUCCEEDED/FAILED files it lists.
 *
 * A branch that fails (after its retries and fallback) fails its child execution,
 * so the tolerance below decides: within it the Map Run succeeds and the failure
 * is in FAILED_0.json; beyond it the Map Run fails with
 * States.ExceedToleratedFailureThreshold, caught into `$.failure` for the aggregator.
 */
export interface DistributedFanOutProps {
  /** Bucket of the items file and of the Map Run results. */
  readonly bucket: s3.IBucket;
  /** JSONPath, in the state, of the items file's key (a JSON array of branches). @default '$.plan.itemsKey' */
  readonly itemsKeyPath?: string;
  /** Key prefix of the ResultWriter output (`<prefix>/<mapRunId>/manifest.json`). @default 'map-runs' */
  readonly resultPrefix?: string;
  /** Child executions in flight, 1–10,000. @default 100 */
  readonly maxConcurrency?: number;
  /** Failed items tolerated, as a percentage of all items (0–100). @default - none tolerated */
  readonly toleratedFailurePercentage?: number;
  /** Failed items tolerated, as a count. @default - none tolerated */
  readonly toleratedFailureCount?: number;
  /**
   * Several items per child execution, for tiny items: the child's input is
   * `{ Items: [<selected item>…] }` and goes, unrouted, to the only branch function.
   * @default - one item per child execution
   */
  readonly itemBatcher?: ItemBatcherProps;
  /** @default sfn.StateMachineType.STANDARD */
  readonly childExecutionType?: sfn.StateMachineType;
}

export interface ItemBatcherProps {
  /** @default - no count bound (at least one bound is required) */
  readonly maxItemsPerBatch?: number;
  /** @default - no size bound (256 KiB, the input limit, applies anyway) */
  readonly maxInputBytesPerBatch?: number;
}

/** An iteration's input unless `branchSelector` says otherwise: the branch itself. */
const DEFAULT_BRANCH_SELECTOR = { 'branch.$': '$$.Map.Item.Value' };
/** A failed prepare step or Map goes to the aggregator with the error at `$.failure`. */
const CATCH_TO_AGGREGATE = { resultPath: STATE_PATHS.failure, errors: ['States.ALL'] };

/** The Map's concurrency: the distributed form's, or the inline Map's (1 in sequential mode). */
const mapConcurrencyOf = (props: MapFanOutFanInProps): number =>
  props.distributed
    ? (props.distributed.maxConcurrency ?? DEFAULT_DISTRIBUTED_CONCURRENCY)
    : (props.maxConcurrency ?? (props.policy?.mode === 'sequential' ? 1 : 10));

/** What the Map Run writes: `$.results` in the distributed form. */
export const DEFAULT_ITEMS_KEY_PATH = '$.plan.itemsKey';
export const DEFAULT_RESULT_PREFIX = 'map-runs';
export const DEFAULT_DISTRIBUTED_CONCURRENCY = 100;

/** The policy of one branch kind. */
export interface KindPolicyProps {
  /** @default 'secondary' ('primary' for the first branch function when no kind is marked primary) */
  readonly role?: BranchRole;
  /**
   * The task's TimeoutSeconds: terminal for the branch (States.Timeout), its
   * late result is ignored and its fallback runs.
   * @default - the construct's taskTimeout
   */
  readonly timeout?: Duration;
  /**
   * Makes this kind the fallback of another: it runs only when a branch of that
   * kind fails or times out, under its own branch id (`<origin id>-fallback`).
   * @default - not a fallback
   */
  readonly fallbackFor?: string;
}

export interface FanOutPolicyProps {
  /** `sequential` runs one branch at a time in plan order (MaxConcurrency 1). @default 'parallel' */
  readonly mode?: 'parallel' | 'sequential';
  /** Which outcomes decide the video's status. @default 'all' */
  readonly await?: 'all' | 'primary' | 'none';
  /** Per branch kind. @default - none */
  readonly kinds?: Readonly<Record<string, KindPolicyProps>>;
}

/** Resolves defaults (otel: when no destination is marked primary, the first one is). */
export const resolvePolicy = (
  props: FanOutPolicyProps | undefined,
  functionKinds: readonly string[],
  maxInFlight: number
): FanOutPolicy => {
  const kinds: FanOutPolicy['kinds'] = {};
  for (const [kind, p] of Object.entries(props?.kinds ?? {})) {
    kinds[kind] = {
      ...(p.role && { role: p.role }),
      ...(p.timeout && { timeoutSeconds: p.timeout.toSeconds() }),
      ...(p.fallbackFor !== undefined && { fallbackFor: p.fallbackFor }),
    };
  }
  const first = functionKinds[0];
  if (first !== undefined && !Object.values(kinds).some((p) => p.role === 'primary')) {
    kinds[first] = { ...kinds[first], role: 'primary' };
  }
  return {
    mode: props?.mode ?? 'parallel',
    await: props?.await ?? 'all',
    kinds,
    maxInFlight,
  };
};

/**
 * Standard workflow: prepare steps → inline Map (bounded concurrency; per-branch
 * Retry on transient errors; per-branch Catch that turns a failure into result
 * data) → aggregator Lambda (fan-in) → Fail when the aggregator says FAILED.
 *
 * Every path, including a failed prepare step or a failed Map, reaches the
 * aggregator, so each execution ends with a decided status and reason. JSONPath
 * only: the local interpreter ignores JSONata.
 */
export class MapFanOutFanIn extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  /** An sfn.Map, or an sfn.DistributedMap with the `distributed` prop. */
  public readonly map: sfn.Map | sfn.DistributedMap;
  /** Undefined when `stateMachineProps.logs` sends the logs elsewhere. */
  public readonly logGroup?: logs.LogGroup;
  public readonly alarms: cloudwatch.Alarm[];
  /** The validated policy, defaults applied, as the state (`$.policy`) carries it. */
  public readonly policy: FanOutPolicy;

  constructor(scope: Construct, id: string, props: MapFanOutFanInProps) {
    super(scope, id);
    const maxConcurrency = mapConcurrencyOf(props);
    validateProps(this, props, maxConcurrency);
    this.policy = this.validPolicy(props, maxConcurrency);
    const steps = new LambdaSteps(this, props);
    const aggregate = this.fanIn(props.aggregator, steps);
    const wave = this.isWave(props);
    const work = this.branchWork(props, steps, wave ? { deferredPath: wave } : {});
    this.map = this.fanOutMap(props, maxConcurrency);
    this.map.itemProcessor(work);
    // In the Wave the FanOut is a Parallel branch: the Parallel catches and goes on.
    if (!wave) {
      this.map.addCatch(aggregate, CATCH_TO_AGGREGATE);
      this.map.next(aggregate);
    }
    const definition = this.workflow(props, steps, aggregate, maxConcurrency);
    if (!props.stateMachineProps?.logs) this.logGroup = this.executionLogGroup(id, props);
    this.stateMachine = this.createStateMachine(props, definition);
    this.acknowledgeGrants(props);
    this.alarms = this.executionAlarms();
  }

  /** The policy with its defaults applied, refused at synth when it is inconsistent. */
  private validPolicy(props: MapFanOutFanInProps, maxConcurrency: number): FanOutPolicy {
    const kinds = props.branchFunctions.map((w) => w.kind);
    const policy = resolvePolicy(props.policy, kinds, maxConcurrency);
    const problems = policyProblems(policy, kinds);
    if (props.policy?.mode === 'sequential' && maxConcurrency !== 1) {
      problems.push(
        `sequential mode runs one branch at a time; maxConcurrency is ${maxConcurrency}`
      );
    }
    if (problems.length > 0) {
      throw new Error(`${this.node.path}: invalid fan-out policy: ${problems.join('; ')}`);
    }
    return policy;
  }

  /**
   * The fan-in: the aggregator, then Decide (its FAILED verdict fails the
   * execution with the reason as the cause).
   */
  private fanIn(aggregator: lambda.IFunction, steps: LambdaSteps): sfn.TaskStateBase {
    const aggregate = steps.invoke(STATE_NAMES.aggregate, aggregator);
    const decide = new sfn.Choice(this, 'Decide', { stateName: 'Decide' })
      .when(
        sfn.Condition.stringEquals(STATE_PATHS.status, 'FAILED'),
        new sfn.Fail(this, 'Failed', {
          stateName: 'Failed',
          error: 'WorkFailed',
          causePath: STATE_PATHS.reason,
        })
      )
      .otherwise(new sfn.Succeed(this, 'Done', { stateName: 'Done' }));
    aggregate.next(decide);
    // An aggregator that fails past its retries ends the execution at its own Fail state,
    // with its error kept whole in the cause. The manifest is then written by the verdict
    // keeper, which the execution's FAILED status change reaches like any other ending:
    // one writer per ending, so no Catch path races the keeper (docs/architecture.md).
    aggregate.addCatch(
      new sfn.Pass(this, 'AggregateFailure', {
        stateName: STATE_NAMES.aggregateFailure,
        parameters: { 'cause.$': `States.JsonToString(${STATE_PATHS.aggregateFailure})` },
      }).next(
        new sfn.Fail(this, 'AggregateFailed', {
          stateName: STATE_NAMES.aggregateFailed,
          error: AGGREGATE_FAILED_ERROR,
          causePath: '$.cause',
        })
      ),
      { resultPath: STATE_PATHS.aggregateFailure, errors: ['States.ALL'] }
    );
    return aggregate;
  }

  /** The deferred branches' path when the FanOut and the pre-fan-out map run as one Wave. */
  private isWave(props: MapFanOutFanInProps): string | undefined {
    const deferred = props.preFanOut?.deferredPath;
    if (deferred === undefined || this.policy.mode === 'sequential') return undefined;
    if (props.distributed) {
      throw new Error(
        `${this.node.path}: preFanOut.deferredPath needs the inline FanOut (the Joins map reruns its routes)`
      );
    }
    return deferred;
  }

  /** What one iteration of the FanOut (or, with `joins`, of the Joins map) runs (branch-routes.ts). */
  private branchWork(
    props: MapFanOutFanInProps,
    steps: LambdaSteps,
    defer: { deferredPath?: string; joins?: boolean; deferredKinds?: readonly string[] }
  ): sfn.IChainable {
    return new BranchRoutes(defer.joins ? new Construct(this, 'Joins') : this, {
      ...defer,
      branchFunctions: props.branchFunctions,
      policy: this.policy,
      steps,
      distributed: props.distributed !== undefined,
      batched: props.distributed?.itemBatcher !== undefined,
      branchIdPath: props.branchIdPath ?? STATE_PATHS.branchId,
      branchKindPath: props.branchKindPath ?? STATE_PATHS.branchKind,
      baseSelector: props.branchSelector ?? DEFAULT_BRANCH_SELECTOR,
    }).work();
  }

  /**
   * The FanOut: an inline Map over the plan in the state, or a Distributed Map
   * over the items file in S3 with its results written back to S3.
   */
  private fanOutMap(
    props: MapFanOutFanInProps,
    maxConcurrency: number
  ): sfn.Map | sfn.DistributedMap {
    const baseSelector = props.branchSelector ?? DEFAULT_BRANCH_SELECTOR;
    // Sequential mode: each iteration sees its index, the plan and the policy, and its branch function
    // skips it when an earlier branch failed for good (an inline Map's iterations share no state).
    const selector =
      props.policy?.mode === 'sequential'
        ? {
            ...baseSelector,
            sequence: {
              'index.$': '$$.Map.Item.Index',
              'branches.$': props.branchesPath ?? STATE_PATHS.branches,
              'policy.$': STATE_PATHS.policy,
            },
          }
        : baseSelector;
    const distributed = props.distributed;
    if (!distributed) {
      return new sfn.Map(this, 'FanOut', {
        stateName: STATE_NAMES.fanOut,
        itemsPath: props.branchesPath ?? STATE_PATHS.branches,
        itemSelector: selector,
        maxConcurrency,
        resultPath: STATE_PATHS.results,
        // In the Wave the FanOut is a Parallel branch whose output is its refs alone.
        ...(this.isWave(props) !== undefined && { outputPath: STATE_PATHS.results }),
      });
    }
    // Without the flag CDK silently drops ResultWriterV2, and N results would come back into the state.
    if (!FeatureFlags.of(this).isEnabled(STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2)) {
      throw new Error(
        `${this.node.path}: the distributed fan-out writes its results with ResultWriterV2, which CDK ` +
          `renders only with the feature flag ${STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2} (cdk.json context)`
      );
    }
    const bucket = distributed.bucket;
    return new sfn.DistributedMap(this, 'FanOut', {
      stateName: STATE_NAMES.fanOut,
      itemReader: new sfn.S3JsonItemReader({
        bucket,
        key: sfn.JsonPath.stringAt(distributed.itemsKeyPath ?? DEFAULT_ITEMS_KEY_PATH),
      }),
      itemSelector: selector,
      ...(distributed.itemBatcher && {
        itemBatcher: new sfn.ItemBatcher({
          maxItemsPerBatch: distributed.itemBatcher.maxItemsPerBatch,
          maxInputBytesPerBatch: distributed.itemBatcher.maxInputBytesPerBatch,
        }),
      }),
      maxConcurrency,
      toleratedFailurePercentage: distributed.toleratedFailurePercentage,
      toleratedFailureCount: distributed.toleratedFailureCount,
      resultWriterV2: new sfn.ResultWriterV2({
        bucket,
        prefix: distributed.resultPrefix ?? DEFAULT_RESULT_PREFIX,
      }),
      mapExecutionType: distributed.childExecutionType ?? sfn.StateMachineType.STANDARD,
      resultPath: STATE_PATHS.results,
    });
  }

  /**
   * The whole chain: ApplyPolicy → the prepare steps (each caught into the
   * aggregator) → the pre-fan-out stage, if any → the FanOut (built already).
   */
  private workflow(
    props: MapFanOutFanInProps,
    steps: LambdaSteps,
    aggregate: sfn.TaskStateBase,
    maxConcurrency: number
  ): sfn.IChainable {
    const prepare = (props.prepare ?? []).map((step) =>
      steps.invoke(step.name, step.handler, step.resultPath).addCatch(aggregate, CATCH_TO_AGGREGATE)
    );
    let definition: sfn.IChainable = this.map;
    const deferredPath = this.isWave(props);
    if (props.preFanOut && deferredPath !== undefined) {
      definition = this.waveStage(props, props.preFanOut, steps, aggregate, maxConcurrency);
    } else if (props.preFanOut) {
      definition = this.preFanOutStage(props.preFanOut, this.map, (name, fn) =>
        steps.invoke(name, fn, undefined)
      );
    }
    for (const step of prepare.reverse()) {
      step.next(definition);
      definition = step;
    }
    // The policy travels in the state: the aggregator decides with exactly what was synthesized.
    const applyPolicy = new sfn.Pass(this, 'ApplyPolicy', {
      stateName: STATE_NAMES.applyPolicy,
      result: sfn.Result.fromObject(this.policy),
      resultPath: STATE_PATHS.policy,
    });
    applyPolicy.next(definition);
    return applyPolicy;
  }

  private executionLogGroup(id: string, props: MapFanOutFanInProps): logs.LogGroup {
    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${props.stateMachineName ?? `${id}-${this.node.addr.slice(0, 8)}`}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    skipCheckov(logGroup, [CHECKOV_SKIPS.logGroupKms]);
    return logGroup;
  }

  /** Secure defaults ← the props ← stateMachineProps ← the definition (mergeProps). */
  private createStateMachine(
    props: MapFanOutFanInProps,
    definition: sfn.IChainable
  ): sfn.StateMachine {
    return new sfn.StateMachine(
      this,
      'Resource',
      mergeProps<sfn.StateMachineProps>({
        scope: this,
        label: 'stateMachineProps',
        defaults: {
          ...SECURE_STATE_MACHINE_DEFAULTS,
          ...(this.logGroup && {
            logs: {
              destination: this.logGroup,
              level: sfn.LogLevel.ALL,
              includeExecutionData: true,
            },
          }),
        },
        user: {
          timeout: props.executionTimeout ?? Duration.hours(2),
          stateMachineName: props.stateMachineName,
          ...props.stateMachineProps,
        },
        required: {
          definitionBody: sfn.DefinitionBody.fromChainable(definition),
          queryLanguage: sfn.QueryLanguage.JSON_PATH,
        },
      })
    );
  }

  /** The cdk-nag and checkov findings that the state machine's own grants and invokes explain. */
  private acknowledgeGrants(props: MapFanOutFanInProps): void {
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing and log delivery (CloudWatch Logs vended-log APIs) do not support resource-level permissions.',
    });
    if (props.distributed) this.acknowledgeDistributedGrants(props.distributed.bucket);
    if (props.preFanOut) this.acknowledgeDistributedGrants(props.preFanOut.bucket);
    const asyncWorkers = new Set<lambda.IFunction>(
      props.branchFunctions
        .filter((w) => isFireAndForget(this.policy, w.kind))
        .map((w) => w.handler)
    );
    // LambdaInvoke grants invoke on `<fn>` and `<fn>:*` (versions and aliases).
    for (const fn of [
      ...(props.prepare ?? []).map((p) => p.handler),
      ...(props.preFanOut ? [props.preFanOut.worker] : []),
      ...props.branchFunctions.map((w) => w.handler),
      props.aggregator,
    ]) {
      const logicalId = Stack.of(this).getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
      Validations.of(this.stateMachine.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
        reason: "Invoke on the function's own versions and aliases only (CDK LambdaInvoke grant).",
      });
      if (asyncWorkers.has(fn)) continue;
      Validations.of(fn).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked synchronously by Step Functions (RequestResponse); a function DLQ only catches ' +
          'asynchronous invocations. Failures are retried and caught in the state machine.',
      });
      skipCheckov(fn, [CHECKOV_SKIPS.synchronousInvokeDlq]);
    }
    // A fire-and-forget branch function is invoked asynchronously: a failed event after Lambda's own
    // retries is lost unless the function has a DLQ or an on-failure destination, so cdk-nag
    // (Serverless-LambdaDLQ) and checkov (CKV_AWS_116) keep reporting it to the construct's user.
  }

  /** One alarm per way an execution ends badly or is held back. */
  private executionAlarms(): cloudwatch.Alarm[] {
    const alarm = (name: string, metric: cloudwatch.Metric) =>
      metric.createAlarm(this, `${name}Alarm`, {
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `${name} on ${this.node.path}`,
      });
    const period = { period: Duration.minutes(5) };
    return [
      alarm('ExecutionsFailed', this.stateMachine.metricFailed(period)),
      alarm('ExecutionsTimedOut', this.stateMachine.metricTimedOut(period)),
      alarm('ExecutionsAborted', this.stateMachine.metricAborted(period)),
      alarm('ExecutionThrottled', this.stateMachine.metricThrottled(period)),
    ];
  }

  /**
   * Wave (Parallel: the FanOut ‖ SegmentsNeeded? → the Distributed Map) → Joins
   * (inline Map: the deferred branches, with the FanOut's routes) → the aggregator.
   * The Parallel keeps only the FanOut's refs (`$.wave.fanOut`); the Joins map's
   * go to `$.wave.joins`; the aggregator puts each deferred branch's join ref in
   * place of its SKIPPED FanOut ref. A failed Map Run is caught inside its branch
   * (the joins then fail with their own reason and the policy decides, as before);
   * a failed FanOut or Joins map goes to the aggregator with `$.failure`.
   */
  private waveStage(
    props: MapFanOutFanInProps,
    p: PreFanOutMapProps,
    steps: LambdaSteps,
    aggregate: sfn.TaskStateBase,
    maxConcurrency: number
  ): sfn.IChainable {
    const segmentsDone = new sfn.Pass(this, `${p.stateName}Done`, {
      stateName: `${p.stateName}Done`,
      // The branch's output is dropped by the Wave's ResultSelector; keep it empty.
      outputPath: sfn.JsonPath.DISCARD,
    });
    const segments = this.preFanOutStage(p, segmentsDone, (name, fn) =>
      steps.invoke(name, fn, undefined)
    );
    const wave = new sfn.Parallel(this, 'Wave', {
      stateName: STATE_NAMES.wave,
      // Only the FanOut's refs: the branches' copies of the state would double it.
      resultSelector: { 'fanOut.$': '$[0]' },
      resultPath: STATE_PATHS.wave,
    });
    // The FanOut branch returns its refs alone (OutputPath), not a second copy of the state.
    const fanOut = this.map as sfn.Map;
    wave.branch(fanOut);
    wave.branch(segments);
    wave.addCatch(aggregate, CATCH_TO_AGGREGATE);
    const joins = new sfn.Map(this, 'JoinsMap', {
      stateName: STATE_NAMES.joins,
      itemsPath: props.branchesPath ?? STATE_PATHS.branches,
      itemSelector: props.branchSelector ?? DEFAULT_BRANCH_SELECTOR,
      maxConcurrency,
      resultPath: STATE_PATHS.joins,
    });
    joins.itemProcessor(
      this.branchWork(props, steps, {
        deferredPath: p.deferredPath,
        joins: true,
        ...(p.deferredKinds && { deferredKinds: p.deferredKinds }),
      })
    );
    joins.addCatch(aggregate, CATCH_TO_AGGREGATE);
    joins.next(aggregate);
    wave.next(joins);
    return wave;
  }

  /**
   * Choice (items present?) → Distributed Map over the S3 items → the FanOut.
   * A failure of the Map Run itself (items unreadable, results unwritable, or
   * failures past the tolerated percentage) is kept in `$.preFanOutFailure` and
   * the FanOut still runs: the consuming branches fail with their own reason,
   * and the policy decides, instead of the whole video failing here.
   */
  private preFanOutStage(
    p: PreFanOutMapProps,
    next: sfn.IChainable,
    invoke: (name: string, fn: lambda.IFunction) => sfn.TaskStateBase
  ): sfn.IChainable {
    const maxConcurrency = p.maxConcurrency ?? 100;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
      throw new Error(`${this.node.path}: preFanOut.maxConcurrency must be a positive integer`);
    }
    const dmap = new sfn.DistributedMap(this, p.stateName, {
      stateName: p.stateName,
      itemReader: new sfn.S3JsonItemReader({
        bucket: p.bucket,
        key: sfn.JsonPath.stringAt(`${p.itemsRefPath}.key`),
      }),
      itemSelector: p.itemSelector ?? { 'item.$': '$$.Map.Item.Value' },
      maxConcurrency,
      ...(p.toleratedFailurePercentage !== undefined && {
        toleratedFailurePercentage: p.toleratedFailurePercentage,
      }),
      resultWriterV2: new sfn.ResultWriterV2({ bucket: p.bucket, prefix: p.resultPrefix }),
      // The results are in S3 (ResultWriter) and in the items' own records; the state keeps none.
      resultPath: sfn.JsonPath.DISCARD,
    });
    dmap.itemProcessor(invoke(p.itemStateName ?? `Run${p.stateName}Item`, p.worker));
    dmap.addCatch(next, { resultPath: '$.preFanOutFailure', errors: ['States.ALL'] });
    dmap.next(next);
    return new sfn.Choice(this, `${p.stateName}Needed`, { stateName: `${p.stateName}Needed` })
      .when(sfn.Condition.isPresent(p.itemsRefPath), dmap)
      .otherwise(next);
  }

  /** The wildcards CDK's DistributedMap grants, each scoped as tightly as its ARN allows. */
  private acknowledgeDistributedGrants(bucket: s3.IBucket) {
    const stack = Stack.of(this);
    const machine = stack.getLogicalId(this.stateMachine.node.defaultChild as sfn.CfnStateMachine);
    const executions =
      'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:' +
      `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${machine}"}]}]}`;
    for (const suffix of [':*', '/*:*']) {
      Validations.of(this.stateMachine).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${executions}${suffix}]`,
        reason:
          "Describe, stop and redrive this state machine's own child executions (CDK DistributedMap " +
          'grant); their names are generated per Map Run.',
      });
    }
    if (bucket.node.defaultChild instanceof s3.CfnBucket) {
      const id = stack.getLogicalId(bucket.node.defaultChild);
      Validations.of(this.stateMachine.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<${id}>/*]`,
        reason:
          'ItemReader reads the items object whose key the plan chooses, and ResultWriter writes ' +
          '<prefix>/<mapRunId>/ (CDK S3JsonItemReader/ResultWriterV2 grants on the bucket objects).',
      });
    }
  }
}

/** Values known at construction time are checked here, so a bad prop fails where it is passed. */
const validateProps = (scope: Construct, props: MapFanOutFanInProps, maxConcurrency: number) => {
  const path = scope.node.path;
  if (props.branchFunctions.length === 0)
    throw new Error(`${path}: MapFanOutFanIn needs at least one branch function`);
  const kinds = props.branchFunctions.map((w) => w.kind);
  const repeated = kinds.filter((k, i) => kinds.indexOf(k) !== i);
  if (repeated.length > 0) {
    throw new Error(
      `${path}: more than one branch function for branch kind ${[...new Set(repeated)].join(', ')}`
    );
  }
  if (props.distributed) {
    validateDistributed(path, props, maxConcurrency);
  } else if (
    !Token.isUnresolved(maxConcurrency) &&
    (!Number.isInteger(maxConcurrency) ||
      maxConcurrency < 1 ||
      maxConcurrency > MAX_INLINE_MAP_CONCURRENCY)
  ) {
    throw new Error(
      `${path}: maxConcurrency (${maxConcurrency}) must be an integer from 1 to ${MAX_INLINE_MAP_CONCURRENCY} ` +
        'for an inline Map (0 means unbounded); use a Distributed Map beyond that'
    );
  }
  const both = (
    [
      ['executionTimeout', 'timeout'],
      ['stateMachineName', 'stateMachineName'],
    ] as const
  ).filter(
    ([flat, key]) => props[flat] !== undefined && props.stateMachineProps?.[key] !== undefined
  );
  if (both.length > 0) {
    throw new Error(
      `${path}: ${both.map(([flat, key]) => `${flat} and stateMachineProps.${key}`).join(', ')} both set`
    );
  }
  const timeout = props.executionTimeout?.toSeconds();
  if (
    timeout !== undefined &&
    !Token.isUnresolved(timeout) &&
    (!Number.isInteger(timeout) || timeout < 1 || timeout > MAX_EXECUTION_TIMEOUT_SECONDS)
  ) {
    throw new Error(
      `${path}: executionTimeout (${timeout} s) must be whole seconds from 1 to ${MAX_EXECUTION_TIMEOUT_SECONDS} ` +
        '(a Standard execution runs at most a year)'
    );
  }
  if (props.logRetention !== undefined && props.stateMachineProps?.logs) {
    throw new Error(
      `${path}: logRetention applies to the construct's log group; stateMachineProps.logs replaces it`
    );
  }
};

/** The distributed form's props, checked where they are passed (tokens are left to the nag rule). */
const validateDistributed = (path: string, props: MapFanOutFanInProps, maxConcurrency: number) => {
  const d = props.distributed!;
  const problems: string[] = [];
  if (props.maxConcurrency !== undefined) {
    problems.push(
      'set distributed.maxConcurrency, not maxConcurrency (that bounds the inline Map)'
    );
  }
  if (props.policy?.mode === 'sequential') {
    problems.push('sequential mode needs the inline Map (its iterations see the whole plan)');
  }
  if (props.branchesPath !== undefined) {
    problems.push(
      'branchesPath applies to the inline Map; the distributed form reads itemsKeyPath'
    );
  }
  const bad = (v: number | undefined, ok: (n: number) => boolean) =>
    v !== undefined && !Token.isUnresolved(v) && !ok(v);
  if (
    bad(
      maxConcurrency,
      (n) => Number.isInteger(n) && n >= 1 && n <= MAX_DISTRIBUTED_MAP_CONCURRENCY
    )
  ) {
    problems.push(
      `distributed.maxConcurrency (${maxConcurrency}) must be an integer from 1 to ${MAX_DISTRIBUTED_MAP_CONCURRENCY}`
    );
  }
  if (bad(d.toleratedFailurePercentage, (n) => n >= 0 && n <= 100)) {
    problems.push(
      `toleratedFailurePercentage (${d.toleratedFailurePercentage}) must be from 0 to 100`
    );
  }
  if (bad(d.toleratedFailureCount, (n) => Number.isInteger(n) && n >= 0)) {
    problems.push(`toleratedFailureCount (${d.toleratedFailureCount}) must be a whole number ≥ 0`);
  }
  if (d.itemBatcher) {
    const { maxItemsPerBatch: items, maxInputBytesPerBatch: bytes } = d.itemBatcher;
    if (items === undefined && bytes === undefined) {
      problems.push('itemBatcher needs maxItemsPerBatch or maxInputBytesPerBatch');
    }
    if (bad(items, (n) => Number.isInteger(n) && n >= 1)) {
      problems.push(`itemBatcher.maxItemsPerBatch (${items}) must be a whole number ≥ 1`);
    }
    if (bad(bytes, (n) => Number.isInteger(n) && n >= 1 && n <= 262_144)) {
      problems.push(
        `itemBatcher.maxInputBytesPerBatch (${bytes}) must be from 1 to 262144 (256 KiB)`
      );
    }
    if (props.branchFunctions.length !== 1) {
      problems.push(
        `itemBatcher sends whole batches to one branch function; ${props.branchFunctions.length} are given`
      );
    }
    if (Object.values(props.policy?.kinds ?? {}).some((k) => k.fallbackFor !== undefined)) {
      problems.push('itemBatcher runs no fallbacks (a batch is not routed item by item)');
    }
  }
  if (problems.length > 0) {
    throw new Error(`${path}: invalid distributed fan-out: ${problems.join('; ')}`);
  }
};

/** A Standard execution's longest run: https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html */
export const MAX_EXECUTION_TIMEOUT_SECONDS = 31_536_000;
