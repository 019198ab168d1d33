import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { type FanOutPolicy, fallbackOf, pascalCase, STATE_NAMES } from '../../contract/index.js';
import type { LambdaSteps } from './lambda-steps.js';

/** The function that runs the branches of one kind. */
export interface BranchFunction {
  readonly kind: string;
  readonly handler: lambda.IFunction;
  /** Task state name, unique in the definition. @default - `Run<Kind>`, e.g. `RunThumbnail` */
  readonly stateName?: string;
  /**
   * Retry rules of this function's own, after the construct's (throttling, transient
   * errors): e.g. a checkpointed branch's named "resume me" error, with enough attempts.
   * Each retrier counts its own attempts (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-retrying-after-an-error).
   * @default - none
   */
  readonly retries?: readonly sfn.RetryProps[];
}

export interface BranchRoutesProps {
  readonly branchFunctions: readonly BranchFunction[];
  /** The resolved policy: roles, timeouts and fallbacks per kind. */
  readonly policy: FanOutPolicy;
  readonly steps: LambdaSteps;
  /**
   * The Distributed Map form: a failed branch fails its child execution (the
   * Map Run's tolerance decides) instead of becoming a FAILED ref.
   */
  readonly distributed: boolean;
  /** Batches go whole to the only branch function, unrouted. */
  readonly batched: boolean;
  /** JSONPath, in an iteration's input, of the branch id. */
  readonly branchIdPath: string;
  /** JSONPath, in an iteration's input, of the branch kind. */
  readonly branchKindPath: string;
  /** The Map's ItemSelector before the sequence fields: a fallback's input keeps its other fields. */
  readonly baseSelector: Record<string, unknown>;
  /**
   * JSONPath, in an iteration's input, present on the branches a later Map runs
   * (the joins of segmented renditions, after the Segments map). The FanOut
   * reports them `SKIPPED` at once (the `Deferred` Pass); the Joins routes run only them.
   * @default - nothing deferred
   */
  readonly deferredPath?: string;
  /**
   * These are the Joins map's routes: only deferred branches run, the others pass
   * (`NoJoin`), and every state name gets STATE_NAMES.joinPrefix.
   * @default false
   */
  readonly joins?: boolean;
  /** The kinds the Joins routes run (others are never deferred). @default - every routed kind */
  readonly deferredKinds?: readonly string[];
}

/** A kind whose branches the Map dispatches and does not wait for. */
export const isFireAndForget = (policy: FanOutPolicy, kind: string): boolean =>
  policy.await === 'none' || policy.kinds[kind]?.role === 'fire-and-forget';

/**
 * What one iteration of the FanOut runs: a Choice on the branch's kind to its
 * branch function's task, with the policy's timeout, Catch and fallback, or a dispatch
 * for a fire-and-forget kind; every failure ends as a FAILED ref (inline Map)
 * or a failed child execution (Distributed Map), never as a failed Map.
 */
export class BranchRoutes {
  private readonly functionOf: Map<string, BranchFunction>;
  /** The iteration input's field that holds the branch (`branch` for `$.branch.id`). */
  private readonly branchField: string;
  private readonly branchFailed: sfn.IChainable;

  constructor(
    private readonly scope: Construct,
    private readonly props: BranchRoutesProps
  ) {
    this.functionOf = new Map(props.branchFunctions.map((w) => [w.kind, w]));
    this.branchField = props.branchIdPath.split('.')[1] ?? 'branch';
    this.prefix = props.joins ? STATE_NAMES.joinPrefix : '';
    this.branchFailed = this.failedPass('BranchFailed', STATE_NAMES.branchFailed);
  }

  /** The Joins routes' states repeat the FanOut's under a prefix (state names and construct ids are unique). */
  private readonly prefix: string;

  /** The Map's item processor. */
  work(): sfn.IChainable {
    const first = this.props.branchFunctions[0]!;
    // A batch goes whole to the only branch function (validated): items of a batch are not routed one by one.
    if (!this.props.batched) return this.route();
    const task = this.props.steps.invoke(
      this.stateNameOf(first),
      first.handler,
      undefined,
      this.timeoutOf(first.kind)
    );
    for (const retry of first.retries ?? []) task.addRetry(retry);
    return task;
  }

  private route(): sfn.IChainable {
    const { policy, deferredPath, joins } = this.props;
    const route = new sfn.Choice(this.scope, this.named('RouteBranch'), {
      stateName: this.named(STATE_NAMES.routeBranch),
    });
    const pass = (id: string, stateName: string) =>
      new sfn.Pass(this.scope, id, {
        stateName,
        parameters: { 'id.$': this.props.branchIdPath, status: 'SKIPPED' },
      });
    // First match wins: a deferred branch is left to the Joins map before its kind is looked at.
    if (deferredPath !== undefined && !joins) {
      route.when(sfn.Condition.isPresent(deferredPath), pass('Deferred', STATE_NAMES.deferred));
    }
    const routed = (kind: string) => {
      const isKind = sfn.Condition.stringEquals(this.props.branchKindPath, kind);
      return joins && deferredPath !== undefined
        ? sfn.Condition.and(sfn.Condition.isPresent(deferredPath), isKind)
        : isKind;
    };
    for (const w of this.props.branchFunctions) {
      // A fallback kind only runs in place of its origin, never as a planned branch.
      if (policy.kinds[w.kind]?.fallbackFor !== undefined) continue;
      if (joins && this.props.deferredKinds && !this.props.deferredKinds.includes(w.kind)) continue;
      route.when(
        routed(w.kind),
        isFireAndForget(policy, w.kind)
          ? this.dispatch(w.kind)
          : this.attempt(w.kind, this.branchFailed)
      );
    }
    // The FanOut ran it (or reported its kind unknown): nothing to join.
    if (joins) return route.otherwise(pass('NoJoin', STATE_NAMES.noJoin));
    // A kind no branch function handles is data, not a crash of the whole fan-out.
    route.otherwise(
      this.props.distributed
        ? new sfn.Fail(this.scope, 'UnknownBranchKind', {
            stateName: STATE_NAMES.unknownBranchKind,
            error: 'UnknownBranchKind',
            // The Cause is part of the deployed definition: kept as worded when the branch Lambda was a "worker".
            cause: 'No worker handles this branch kind',
          })
        : new sfn.Pass(this.scope, 'UnknownBranchKind', {
            stateName: STATE_NAMES.unknownBranchKind,
            parameters: {
              'id.$': this.props.branchIdPath,
              status: 'FAILED',
              error: 'UnknownBranchKind',
            },
          })
    );
    return route;
  }

  /**
   * One attempt of a branch of `kind`: its task, with the policy's timeout.
   * A failure or timeout (States.ALL includes States.Timeout) goes to the
   * kind's fallback when it has one, else becomes a FAILED ref. The fallback
   * runs inside a one-branch Parallel so it gets its own input (a branch with
   * its own id and `origin`) while this attempt's input and error stay in
   * the state; its ref is attached as `fallback`, so the aggregator sees the
   * whole chain and knows the origin timed out, whatever the origin's late
   * run writes afterwards.
   */
  private attempt(kind: string, onFailure: sfn.IChainable): sfn.IChainable {
    const { branchIdPath, baseSelector, policy, steps } = this.props;
    const w = this.functionOf.get(kind)!;
    const task = steps.invoke(
      this.named(this.stateNameOf(w)),
      w.handler,
      undefined,
      this.timeoutOf(kind)
    );
    for (const retry of w.retries ?? []) task.addRetry(retry);
    const fallbackKind = fallbackOf(policy, kind);
    if (fallbackKind === undefined) {
      return task.addCatch(onFailure, { resultPath: '$.error', errors: ['States.ALL'] });
    }
    const fallbackFailed = this.failedPass(
      `FallbackFailed${pascalCase(fallbackKind)}`,
      STATE_NAMES.fallbackFailed(fallbackKind)
    );
    const parameters: Record<string, unknown> = {};
    for (const key of Object.keys(baseSelector)) {
      const name = key.replace(/\.\$$/, '');
      if (name !== this.branchField) parameters[`${name}.$`] = `$.${name}`;
    }
    parameters[this.branchField] = {
      'id.$': `States.Format('{}-fallback', ${branchIdPath})`,
      kind: fallbackKind,
      'origin.$': `$.${this.branchField}`,
    };
    const fallback = new sfn.Parallel(
      this.scope,
      this.named(`FallBackTo${pascalCase(fallbackKind)}`),
      {
        stateName: this.named(STATE_NAMES.fallback(fallbackKind)),
        parameters,
        resultSelector: { 'ref.$': '$[0]' },
        resultPath: '$.fallback',
      }
    );
    fallback.branch(this.attempt(fallbackKind, fallbackFailed));
    fallback.addCatch(onFailure, { resultPath: '$.error', errors: ['States.ALL'] });
    fallback.next(
      new sfn.Pass(this.scope, this.named(`FellBack${pascalCase(kind)}`), {
        stateName: this.named(STATE_NAMES.fellBack(kind)),
        parameters: {
          'id.$': branchIdPath,
          status: 'FAILED',
          'error.$': '$.error.Error',
          'fallback.$': '$.fallback.ref',
        },
      })
    );
    return task.addCatch(fallback, { resultPath: '$.error', errors: ['States.ALL'] });
  }

  /**
   * A fire-and-forget branch: its branch function is invoked asynchronously (InvocationType Event), so
   * the Map does not wait for it, and the branch is reported SENT. Its outcome is written
   * later by the branch function itself (its own branch result and metrics), after the manifest, and
   * under its own keys, so it never overwrites anything. Only Lambda's refusal of the event
   * (throttling past the Retry, an unknown function) makes it FAILED here.
   */
  private dispatch(kind: string): sfn.IChainable {
    const w = this.functionOf.get(kind)!;
    const task = this.props.steps
      .dispatch(this.named(this.stateNameOf(w)), w.handler)
      .addCatch(this.branchFailed, { resultPath: '$.error', errors: ['States.ALL'] });
    return task.next(
      new sfn.Pass(this.scope, this.named(`Sent${pascalCase(kind)}`), {
        stateName: this.named(STATE_NAMES.sent(kind)),
        parameters: { 'id.$': this.props.branchIdPath, status: 'SENT' },
      })
    );
  }

  /** Where a failed branch ends: a FAILED ref (inline), or a failed child execution (distributed). */
  private failedPass(bareId: string, bareName: string): sfn.IChainable {
    const id = this.named(bareId);
    const stateName = this.named(bareName);
    return this.props.distributed
      ? // Distributed: the child execution fails, so the Map Run's tolerance decides
        // and FAILED_0.json reports the error and cause with the branch as input.
        new sfn.Fail(this.scope, id, {
          stateName,
          errorPath: '$.error.Error',
          causePath: '$.error.Cause',
        })
      : new sfn.Pass(this.scope, id, {
          stateName,
          // Only the error name: a Cause can hold a stack trace, and N of them
          // would push the Map result past the 256 KiB state limit.
          parameters: {
            'id.$': this.props.branchIdPath,
            status: 'FAILED',
            'error.$': '$.error.Error',
          },
        });
  }

  private named(name: string): string {
    return `${this.prefix}${name}`;
  }

  private stateNameOf(w: BranchFunction): string {
    return w.stateName ?? STATE_NAMES.runBranch(w.kind);
  }

  private timeoutOf(kind: string): Duration | undefined {
    const seconds = this.props.policy.kinds[kind]?.timeoutSeconds;
    return seconds === undefined ? undefined : Duration.seconds(seconds);
  }
}
