import { type InvokeResult, type LambdaRunner, LambdaServiceError } from '../lambda/runner.js';
import type { Logger } from '../logger.js';
import { type Execution, TaskError } from './execution.js';
import type { PendingEvent } from './history.js';
import type { IntegrationTargets } from './integrations.js';
import { type integrationFor, runIntegration } from './integrations.js';
import { lambdaInvokeOutput } from './lambda-output.js';
import type { TaskTokens } from './task-tokens.js';

/**
 * Task states on the runtime's own services: a Lambda function (its ARN, or
 * `arn:aws:states:::lambda:invoke`, also with `InvocationType: Event`) and the service
 * integrations (./integrations.ts), each with the history events AWS records for it and
 * its error contract (a function error's `errorType` is the state's `Error`).
 * https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
 */

const LAMBDA_INVOKE = /^arn:[^:]+:states:::lambda:invoke$/;

export interface TaskRunnerOptions {
  region: string;
  logger: Logger;
  /** S3, SNS and SQS for the integrations. @default - integration Tasks fail with States.Runtime */
  integrations?: Omit<IntegrationTargets, 'states' | 'lambda'>;
}

export class TaskRunner {
  constructor(
    private readonly lambda: LambdaRunner,
    private readonly tokens: TaskTokens,
    /** Step Functions itself, for `states:startExecution`. */
    private readonly states: IntegrationTargets['states'],
    /** Appends an event to an execution's history. */
    private readonly record: (exec: Execution, e: PendingEvent) => void,
    private readonly opts: TaskRunnerOptions
  ) {}

  /** One service-integration Task (sfn/integrations.ts) on the runtime's own services. */
  async runIntegration(
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
      { ...services, states: this.states, lambda: this.lambda },
      (e) => this.record(exec, e),
      this.opts.region,
      callback && { tokens: this.tokens, ...callback }
    );
  }

  /** One Task: invoke the local Lambda and keep AWS's Task history + error contract. */
  async runLambda(exec: Execution, resource: string, input: unknown): Promise<unknown> {
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
}
