import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { mergeProps } from './merge-props.js';

/** How long a throttled Lambda step keeps trying. */
export interface ThrottleRetryProps {
  /** @default Duration.seconds(2) */
  readonly interval?: Duration;
  /** @default 25 */
  readonly maxAttempts?: number;
  /** @default 2 */
  readonly backoffRate?: number;
  /** @default Duration.seconds(60) */
  readonly maxDelay?: Duration;
}

export const THROTTLE_ERROR = 'Lambda.TooManyRequestsException';

/**
 * The Lambda errors AWS's Step Functions best practices name as transient and worth a
 * Retry ("Handle transient Lambda service exceptions",
 * https://docs.aws.amazon.com/step-functions/latest/dg/sfn-best-practices.html#bp-lambda-serviceexception),
 * plus throttling (which gets its own, longer Retry) and the client-side timeout of the
 * invoke itself. A slow init is not among them: Lambda retries init inside the invoke
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html), so
 * there is no init-timeout error to retry.
 */
const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
];

/** The MapFanOutFanIn props that shape every Lambda step (documented there). */
export interface LambdaStepsProps {
  readonly retryableErrors?: string[];
  readonly maxRetryAttempts?: number;
  readonly throttleRetry?: ThrottleRetryProps;
  readonly taskTimeout?: Duration;
}

/**
 * Every Lambda task state of the workflow, built one way: payload only, an
 * explicit task timeout, the throttle Retry first (first match wins) and then
 * the transient-error Retry.
 */
export class LambdaSteps {
  private readonly throttleRetry: sfn.RetryProps;
  private readonly retry: sfn.RetryProps;

  constructor(
    private readonly scope: Construct,
    private readonly props: LambdaStepsProps
  ) {
    // A shorter throttle Retry is allowed but reported: it is how loads end PARTIAL.
    const throttle = mergeProps<Required<ThrottleRetryProps>>({
      scope,
      label: 'throttleRetry',
      defaults: {
        interval: Duration.seconds(2),
        maxAttempts: 25,
        backoffRate: 2,
        maxDelay: Duration.seconds(60),
      },
      user: props.throttleRetry,
    });
    this.throttleRetry = {
      errors: [THROTTLE_ERROR],
      ...throttle,
      jitterStrategy: sfn.JitterType.FULL,
    };
    this.retry = {
      errors: [
        ...LAMBDA_TRANSIENT_ERRORS.filter((e) => e !== THROTTLE_ERROR),
        ...(props.retryableErrors ?? []),
      ],
      interval: Duration.seconds(2),
      maxAttempts: props.maxRetryAttempts ?? 3,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    };
  }

  /** A synchronous invoke whose payload is the step's result (at `resultPath`). */
  invoke(
    name: string,
    fn: lambda.IFunction,
    resultPath?: string,
    timeout?: Duration
  ): sfn.TaskStateBase {
    return (
      new tasks.LambdaInvoke(this.scope, name, {
        stateName: name,
        lambdaFunction: fn,
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        resultPath,
        taskTimeout: sfn.Timeout.duration(timeout ?? this.props.taskTimeout ?? taskTimeoutFor(fn)),
      })
        // First match wins: throttling gets its own, longer, Retry.
        .addRetry(this.throttleRetry)
        .addRetry(this.retry)
    );
  }

  /** An asynchronous invoke (InvocationType Event): the state waits only for Lambda to accept it. */
  dispatch(name: string, fn: lambda.IFunction): sfn.TaskStateBase {
    return new tasks.LambdaInvoke(this.scope, name, {
      stateName: name,
      lambdaFunction: fn,
      invocationType: tasks.LambdaInvocationType.EVENT,
      retryOnServiceExceptions: false,
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(this.props.taskTimeout ?? taskTimeoutFor(fn)),
    })
      .addRetry(this.throttleRetry)
      .addRetry(this.retry);
  }
}

const taskTimeoutFor = (fn: lambda.IFunction): Duration => {
  const timeout = fn instanceof lambda.Function ? fn.timeout : undefined;
  return timeout ? Duration.seconds(timeout.toSeconds() + 30) : Duration.minutes(15);
};
