import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { STATE_NAMES, STATE_PATHS } from '../../contract/index.js';

/** A Lambda step that runs before the fan-out (validate, probe, plan…). */
export interface PrepareStep {
  /** State name; stable, because it appears in execution history and alarms. */
  readonly name: string;
  readonly handler: lambda.IFunction;
  /** Where the step's result is stored in the state, e.g. `$.probe`. */
  readonly resultPath: string;
}

export interface MapFanOutFanInProps {
  /** Steps run in order before the Map. Any failure skips to the aggregator with `$.failure`. @default - none */
  readonly prepare?: PrepareStep[];
  /** JSONPath of the array of branches to fan out over. @default '$.plan.branches' */
  readonly branchesPath?: string;
  /**
   * Input of each iteration. @default - `{ "branch.$": "$$.Map.Item.Value" }`
   */
  readonly branchSelector?: Record<string, unknown>;
  /** JSONPath, inside an iteration's input, of the branch id (reported on failure). @default '$.branch.id' */
  readonly branchIdPath?: string;
  /** JSONPath, inside an iteration's input, of the branch kind (routes it to its worker). @default '$.branch.kind' */
  readonly branchKindPath?: string;
  /**
   * One worker per branch kind; each returns a small `{ id, status }` reference
   * (details belong in S3). A branch of a kind with no worker becomes a FAILED
   * result (`UnknownBranchKind`) rather than failing the whole Map.
   */
  readonly workers: readonly BranchWorker[];
  /**
   * The fan-in. Receives the whole state and returns `{ status, reason, … }`;
   * `status: "FAILED"` fails the execution with `reason` as its cause.
   */
  readonly aggregator: lambda.IFunction;
  /** @default 10 */
  readonly maxConcurrency?: number;
  /** Error names (error class `name`s) retried with backoff on every step. @default - only Lambda service errors */
  readonly retryableErrors?: string[];
  /** @default 3 */
  readonly maxRetryAttempts?: number;
  /**
   * Task timeout of each Lambda step. Always set explicitly, so an interpreter
   * with its own default (aws-local-stepfunctions uses 60 s) behaves like AWS.
   * @default - the function's timeout + 30 s when known, else 15 minutes
   */
  readonly taskTimeout?: Duration;
  /** @default Duration.hours(2) */
  readonly executionTimeout?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default - CDK-generated name */
  readonly stateMachineName?: string;
}

/** The function that runs the branches of one kind. */
export interface BranchWorker {
  readonly kind: string;
  readonly handler: lambda.IFunction;
  /** Task state name, unique in the definition. @default - `Run<Kind>`, e.g. `RunThumbnail` */
  readonly stateName?: string;
}

const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
];

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
  public readonly map: sfn.Map;
  public readonly logGroup: logs.LogGroup;
  public readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: MapFanOutFanInProps) {
    super(scope, id);
    const maxConcurrency = props.maxConcurrency ?? 10;
    const retry: sfn.RetryProps = {
      errors: [...LAMBDA_TRANSIENT_ERRORS, ...(props.retryableErrors ?? [])],
      interval: Duration.seconds(2),
      maxAttempts: props.maxRetryAttempts ?? 3,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    };
    const invoke = (name: string, fn: lambda.IFunction, resultPath?: string) =>
      new tasks.LambdaInvoke(this, name, {
        stateName: name,
        lambdaFunction: fn,
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        resultPath,
        taskTimeout: sfn.Timeout.duration(props.taskTimeout ?? taskTimeoutFor(fn)),
      }).addRetry(retry);

    const aggregate = invoke(STATE_NAMES.aggregate, props.aggregator);
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

    const catchToAggregate = { resultPath: STATE_PATHS.failure, errors: ['States.ALL'] };

    const branchIdPath = props.branchIdPath ?? STATE_PATHS.branchId;
    const branchFailed = new sfn.Pass(this, 'BranchFailed', {
      stateName: STATE_NAMES.branchFailed,
      // Only the error name: a Cause can hold a stack trace, and N of them
      // would push the Map result past the 256 KiB state limit.
      parameters: { 'id.$': branchIdPath, status: 'FAILED', 'error.$': '$.error.Error' },
    });
    if (props.workers.length === 0) throw new Error('MapFanOutFanIn needs at least one worker');
    const route = new sfn.Choice(this, 'RouteBranch', { stateName: STATE_NAMES.routeBranch });
    for (const w of props.workers) {
      const name = w.stateName ?? STATE_NAMES.runBranch(w.kind);
      route.when(
        sfn.Condition.stringEquals(props.branchKindPath ?? STATE_PATHS.branchKind, w.kind),
        invoke(name, w.handler).addCatch(branchFailed, {
          resultPath: '$.error',
          errors: ['States.ALL'],
        })
      );
    }
    // A kind no worker handles is data, not a crash of the whole fan-out.
    route.otherwise(
      new sfn.Pass(this, 'UnknownBranchKind', {
        stateName: STATE_NAMES.unknownBranchKind,
        parameters: { 'id.$': branchIdPath, status: 'FAILED', error: 'UnknownBranchKind' },
      })
    );
    const work = route;

    this.map = new sfn.Map(this, 'FanOut', {
      stateName: STATE_NAMES.fanOut,
      itemsPath: props.branchesPath ?? STATE_PATHS.branches,
      itemSelector: props.branchSelector ?? { 'branch.$': '$$.Map.Item.Value' },
      maxConcurrency,
      resultPath: STATE_PATHS.results,
    });
    this.map.itemProcessor(work);
    this.map.addCatch(aggregate, catchToAggregate);
    this.map.next(aggregate);

    const prepare = (props.prepare ?? []).map((step) =>
      invoke(step.name, step.handler, step.resultPath).addCatch(aggregate, catchToAggregate)
    );
    let definition: sfn.IChainable = this.map;
    for (const step of prepare.reverse()) {
      step.next(definition);
      definition = step;
    }

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${props.stateMachineName ?? `${id}-${this.node.addr.slice(0, 8)}`}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      timeout: props.executionTimeout ?? Duration.hours(2),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });

    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing and log delivery (CloudWatch Logs vended-log APIs) do not support resource-level permissions.',
    });
    // LambdaInvoke grants invoke on `<fn>` and `<fn>:*` (versions and aliases).
    for (const fn of [
      ...(props.prepare ?? []).map((p) => p.handler),
      ...props.workers.map((w) => w.handler),
      props.aggregator,
    ]) {
      const logicalId = Stack.of(this).getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
      Validations.of(this.stateMachine.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
        reason: "Invoke on the function's own versions and aliases only (CDK LambdaInvoke grant).",
      });
    }

    const alarm = (name: string, metric: cloudwatch.Metric) =>
      metric.createAlarm(this, `${name}Alarm`, {
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `${name} on ${this.node.path}`,
      });
    const period = { period: Duration.minutes(5) };
    this.alarms = [
      alarm('ExecutionsFailed', this.stateMachine.metricFailed(period)),
      alarm('ExecutionsTimedOut', this.stateMachine.metricTimedOut(period)),
      alarm('ExecutionsAborted', this.stateMachine.metricAborted(period)),
      alarm('ExecutionThrottled', this.stateMachine.metricThrottled(period)),
    ];

    this.node.addValidation({
      validate: () =>
        maxConcurrency < 0 || maxConcurrency > 40
          ? [
              `maxConcurrency (${maxConcurrency}) must be 0–40 for an inline Map; use a Distributed Map beyond that`,
            ]
          : [],
    });
  }
}

const taskTimeoutFor = (fn: lambda.IFunction): Duration => {
  const timeout = fn instanceof lambda.Function ? fn.timeout : undefined;
  return timeout ? Duration.seconds(timeout.toSeconds() + 30) : Duration.minutes(15);
};
