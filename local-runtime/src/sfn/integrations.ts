import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { InvokeResult } from '../lambda/invoke-result.js';
import { lambdaInvokeOutput } from './lambda-output.js';
import { type TaskTokens, TokenTaskError } from './task-tokens.js';

/**
 * The Step Functions service integrations the local runtime runs, on its own S3, SNS, SQS
 * and Step Functions. https://docs.aws.amazon.com/step-functions/latest/dg/integrate-services.html
 * Lambda (`lambda:invoke` and function ARNs) stays in service.ts, with its own history vocabulary.
 */

/** Where the integrations send their calls. */
export interface IntegrationTargets {
  s3: S3Client;
  sns: SNSClient;
  sqs: SQSClient;
  /** The runtime's Step Functions, for `states:startExecution` (and its `.sync` patterns). */
  states: NestedExecutions;
  /** The local Lambda, for `lambda:invoke.waitForTaskToken`. */
  lambda: { invoke(name: string, payload: unknown): Promise<InvokeResult> };
}

/** What `states:startExecution` needs of the Step Functions service. */
export interface NestedExecutions {
  startExecution(body: Record<string, unknown>): { executionArn: string; startDate?: number };
  waitForExecution(arn: string): Promise<{
    executionArn: string;
    stateMachineArn: string;
    name: string;
    status: string;
    startDate?: number;
    stopDate?: number;
    input: string;
    output?: string;
    error?: string;
    cause?: string;
  }>;
}

/** A Task failure with the Error name Retry/Catch match (errorType). */
export class IntegrationError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

export interface Integration {
  /** `resourceType` / `resource` of the Task history events (e.g. `sns` / `publish`). */
  resourceType: string;
  resource: string;
  /** `.waitForTaskToken`: the Task ends with SendTaskSuccess/Failure, not with the call. */
  waitForTaskToken?: boolean;
  call(params: Record<string, unknown>, targets: IntegrationTargets): Promise<unknown>;
}

const RESOURCE = /^arn:[^:]+:states:::(.+)$/;

/** The integration a Task `Resource` names, or undefined when the runtime has none for it. */
export function integrationFor(resource: string): Integration | undefined {
  const m = RESOURCE.exec(resource);
  if (!m) return undefined;
  const callback = m[1].endsWith(WAIT_FOR_TASK_TOKEN);
  const base = callback ? m[1].slice(0, -WAIT_FOR_TASK_TOKEN.length) : m[1];
  const found = callback ? CALLBACK_INTEGRATIONS[base] : INTEGRATIONS[base];
  return (
    found && {
      ...found,
      resource: m[1].slice(found.resourceType.length + 1),
      ...(callback && { waitForTaskToken: true }),
    }
  );
}

const WAIT_FOR_TASK_TOKEN = '.waitForTaskToken';

/** The Task resources (after `arn:aws:states:::`) this module runs. */
export const SUPPORTED_INTEGRATIONS = (): string[] => [
  ...Object.keys(INTEGRATIONS),
  ...Object.keys(CALLBACK_INTEGRATIONS).map((k) => `${k}${WAIT_FOR_TASK_TOKEN}`),
];

/** Step Functions passes a JSON object where the API wants a string as its JSON text. */
const text = (v: unknown): string | undefined =>
  v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v);

/**
 * AWS SDK integrations name errors `ServiceName.ErrorName`, both in PascalCase, with an
 * `Exception` suffix even where the service's own name has none (S3's `NoSuchKey` is
 * `S3.NoSuchKeyException`).
 * https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
 */
export function sdkErrorName(service: string, err: unknown): string {
  const raw = String((err as { name?: string }).name ?? 'Unknown');
  // A HEAD has no body, so the SDK only knows the status: S3 answers 404 for a missing key.
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const name = raw === 'NotFound' && status === 404 ? 'NoSuchKey' : raw;
  return `${service}.${name.endsWith('Exception') ? name : `${name}Exception`}`;
}

/**
 * Optimized integrations name a service's error `Service.ErrorCode` as the service
 * answers it (e.g. `SNS.NotFoundException`), the suffix being the SDK exception's name.
 * https://docs.aws.amazon.com/step-functions/latest/dg/connect-sns.html
 */
function optimizedErrorName(service: string, err: unknown): string {
  const raw = String((err as { name?: string }).name ?? 'Unknown');
  return `${service}.${raw.endsWith('Exception') ? raw : `${raw}Exception`}`;
}

/** The SDK's answer as Step Functions returns it: no `$metadata`, dates as ISO text. */
function plain(out: object): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(out)) {
    if (k === '$metadata' || v === undefined) continue;
    result[k] = v instanceof Date ? v.toISOString() : Array.isArray(v) ? v.map(plainItem) : v;
  }
  return result;
}
const plainItem = (v: unknown) =>
  v && typeof v === 'object' && !(v instanceof Date) ? plain(v) : v;

async function wrap<T>(name: (err: unknown) => string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof IntegrationError) throw err;
    throw new IntegrationError(name(err), (err as Error).message || name(err));
  }
}

/** Fields copied as given (PascalCase in ASL and in the SDK v3 alike). */
function pick(params: Record<string, unknown>, fields: readonly string[]) {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (params[f] !== undefined) out[f] = params[f];
  return out;
}

const S3_GET_FIELDS = [
  'Bucket',
  'Key',
  'VersionId',
  'Range',
  'IfMatch',
  'IfNoneMatch',
  'PartNumber',
  'ExpectedBucketOwner',
];

type Spec = Omit<Integration, 'resource'>;

const startExecution = (params: Record<string, unknown>, targets: IntegrationTargets) =>
  wrap(
    (err) => optimizedErrorName('StepFunctions', err),
    async () =>
      targets.states.startExecution({
        stateMachineArn: params.StateMachineArn,
        name: params.Name,
        input: text(params.Input),
      })
  );

/**
 * `.sync` and `.sync:2`: wait for the child, then answer DescribeExecution in PascalCase,
 * dates as epoch milliseconds; `.sync:2` parses Input and Output as JSON, `.sync` leaves
 * them text. A child that does not succeed fails the Task with `States.TaskFailed` and its
 * description as the Cause.
 * https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html
 */
async function startExecutionSync(
  params: Record<string, unknown>,
  targets: IntegrationTargets,
  parsed: boolean
): Promise<unknown> {
  const { executionArn } = await startExecution(params, targets);
  const d = await targets.states.waitForExecution(executionArn);
  const ms = (s: number | undefined) => (s === undefined ? undefined : Math.round(s * 1000));
  const data = (s: string | undefined) => (parsed && s !== undefined ? JSON.parse(s) : s);
  const described = {
    ExecutionArn: d.executionArn,
    Input: data(d.input),
    InputDetails: { Included: true },
    Name: d.name,
    ...(d.output !== undefined && { Output: data(d.output), OutputDetails: { Included: true } }),
    StartDate: ms(d.startDate),
    StateMachineArn: d.stateMachineArn,
    Status: d.status,
    StopDate: ms(d.stopDate),
    ...(d.error !== undefined && { Error: d.error }),
    ...(d.cause !== undefined && { Cause: d.cause }),
  };
  if (d.status !== 'SUCCEEDED') {
    throw new IntegrationError('States.TaskFailed', JSON.stringify(described));
  }
  return described;
}

/**
 * One call of an SDK client, as a row: which client, the command, the fields copied from
 * the parameters, the fields Step Functions hands over as JSON that the API takes as
 * text, how its errors are named, and (by default `plain`) how its answer is returned.
 */
interface SdkCall {
  client: 's3' | 'sns' | 'sqs';
  command: new (input: never) => object;
  fields: readonly string[];
  /** Parameters the call rewrites (a message as its JSON text, a Body). */
  rewrite?: (params: Record<string, unknown>) => Record<string, unknown>;
  /** `Service` of the error names, and whether they follow the optimized or the SDK form. */
  errors: { service: string; form: 'optimized' | 'sdk' };
  answer?: (out: Record<string, unknown>) => Promise<unknown>;
}

const sdkIntegration = (resourceType: string, row: SdkCall): Spec => ({
  resourceType,
  call: (params, targets) =>
    wrap(
      (err) =>
        row.errors.form === 'sdk'
          ? sdkErrorName(row.errors.service, err)
          : optimizedErrorName(row.errors.service, err),
      async () => {
        const client = targets[row.client] as { send(command: object): Promise<object> };
        const out = await client.send(
          new row.command({ ...pick(params, row.fields), ...row.rewrite?.(params) } as never)
        );
        return row.answer ? row.answer(out as Record<string, unknown>) : plain(out);
      }
    ),
});

const S3_ERRORS = { service: 'S3', form: 'sdk' } as const;

const INTEGRATIONS: Record<string, Spec> = {
  /** https://docs.aws.amazon.com/step-functions/latest/dg/connect-sns.html */
  'sns:publish': sdkIntegration('sns', {
    client: 'sns',
    command: PublishCommand,
    fields: [
      'TopicArn',
      'TargetArn',
      'PhoneNumber',
      'Subject',
      'MessageStructure',
      'MessageAttributes',
      'MessageGroupId',
      'MessageDeduplicationId',
    ],
    rewrite: (params) => ({ Message: text(params.Message) }),
    errors: { service: 'SNS', form: 'optimized' },
  }),
  /** https://docs.aws.amazon.com/step-functions/latest/dg/connect-sqs.html */
  'sqs:sendMessage': sdkIntegration('sqs', {
    client: 'sqs',
    command: SendMessageCommand,
    fields: [
      'QueueUrl',
      'DelaySeconds',
      'MessageAttributes',
      'MessageGroupId',
      'MessageDeduplicationId',
    ],
    rewrite: (params) => ({ MessageBody: text(params.MessageBody) }),
    errors: { service: 'SQS', form: 'optimized' },
  }),
  /** https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html — Body as text, as Step Functions returns it. */
  'aws-sdk:s3:getObject': sdkIntegration('aws-sdk:s3', {
    client: 's3',
    command: GetObjectCommand,
    fields: S3_GET_FIELDS,
    errors: S3_ERRORS,
    answer: async (out) => {
      const stream = out.Body as { transformToString(): Promise<string> } | undefined;
      const body = stream ? await stream.transformToString() : '';
      return { ...plain({ ...out, Body: undefined }), Body: body };
    },
  }),
  'aws-sdk:s3:headObject': sdkIntegration('aws-sdk:s3', {
    client: 's3',
    command: HeadObjectCommand,
    fields: S3_GET_FIELDS,
    errors: S3_ERRORS,
  }),
  'aws-sdk:s3:putObject': sdkIntegration('aws-sdk:s3', {
    client: 's3',
    command: PutObjectCommand,
    fields: [
      'Bucket',
      'Key',
      'ContentType',
      'ContentEncoding',
      'ContentDisposition',
      'CacheControl',
      'Metadata',
      'Tagging',
      'IfMatch',
      'IfNoneMatch',
      'ExpectedBucketOwner',
    ],
    // The Body is written as its JSON text, a string too (with its quotes), as
    // LocalStack 4.14.0 (whose Step Functions is snapshot-tested against AWS) does.
    rewrite: (params) => ({
      Body: params.Body === undefined ? '' : JSON.stringify(params.Body),
    }),
    errors: S3_ERRORS,
  }),
  'aws-sdk:s3:listObjectsV2': sdkIntegration('aws-sdk:s3', {
    client: 's3',
    command: ListObjectsV2Command,
    fields: [
      'Bucket',
      'Prefix',
      'Delimiter',
      'MaxKeys',
      'ContinuationToken',
      'StartAfter',
      'FetchOwner',
      'EncodingType',
      'ExpectedBucketOwner',
    ],
    errors: S3_ERRORS,
  }),
  /** https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html */
  'states:startExecution': {
    resourceType: 'states',
    call: async (params, targets) => {
      const { executionArn, startDate } = await startExecution(params, targets);
      return {
        ExecutionArn: executionArn,
        StartDate: startDate === undefined ? undefined : Math.round(startDate * 1000),
      };
    },
  },
  'states:startExecution.sync': {
    resourceType: 'states',
    call: (params, targets) => startExecutionSync(params, targets, false),
  },
  'states:startExecution.sync:2': {
    resourceType: 'states',
    call: (params, targets) => startExecutionSync(params, targets, true),
  },
};

/**
 * The integrations with the callback pattern the runtime runs. `lambda:invoke` in
 * request-response stays in service.ts; with `.waitForTaskToken` the function's answer is
 * only the submission, its failure fails the Task.
 * https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
 */
const CALLBACK_INTEGRATIONS: Record<string, Spec> = {
  'sns:publish': INTEGRATIONS['sns:publish'],
  'sqs:sendMessage': INTEGRATIONS['sqs:sendMessage'],
  'lambda:invoke': {
    resourceType: 'lambda',
    call: async (params, { lambda }) => {
      const name = String(params.FunctionName);
      let result: InvokeResult;
      try {
        result = await lambda.invoke(name, params.Payload ?? {});
      } catch (err) {
        throw new IntegrationError(optimizedErrorName('Lambda', err), (err as Error).message);
      }
      if (!result.ok) {
        throw new IntegrationError(result.error.errorType, JSON.stringify(result.error));
      }
      return lambdaInvokeOutput({
        kind: 'invoked',
        payload: result.payload,
        requestId: result.requestId,
      });
    },
  },
};

type Record_ = (event: { timestamp: number; type: string; [details: string]: unknown }) => void;

/**
 * One integration Task with AWS's history: TaskScheduled (parameters), TaskStarted, then
 * TaskSucceeded (output) or TaskFailed (error, cause), each naming resourceType/resource.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
 */
export async function runIntegration(
  integration: Integration,
  params: unknown,
  targets: IntegrationTargets,
  record: Record_,
  region: string,
  callback?: {
    tokens: TaskTokens;
    token: string;
    heartbeatSeconds?: number;
    timeoutSeconds?: number;
  }
): Promise<unknown> {
  const ts = () => Date.now() / 1000;
  const common = { resourceType: integration.resourceType, resource: integration.resource };
  record({
    timestamp: ts(),
    type: 'TaskScheduled',
    taskScheduledEventDetails: { ...common, region, parameters: JSON.stringify(params ?? {}) },
  });
  record({ timestamp: ts(), type: 'TaskStarted', taskStartedEventDetails: common });
  let output: unknown;
  try {
    output = await integration.call((params ?? {}) as Record<string, unknown>, targets);
  } catch (err) {
    const e =
      err instanceof IntegrationError || err instanceof TokenTaskError
        ? err
        : new IntegrationError('States.TaskFailed', (err as Error).message);
    record({
      timestamp: ts(),
      type: 'TaskFailed',
      taskFailedEventDetails: { ...common, error: e.name, cause: e.message },
    });
    callback?.tokens.abandon(callback.token);
    throw e;
  }
  if (callback) {
    // The call only submitted the work; the Task ends with the token's callback.
    record({
      timestamp: ts(),
      type: 'TaskSubmitted',
      taskSubmittedEventDetails: { ...common, output: JSON.stringify(output) },
    });
    return callback.tokens.wait(callback.token, {
      heartbeatSeconds: callback.heartbeatSeconds,
      timeoutSeconds: callback.timeoutSeconds,
      onEnd: (kind, detail) =>
        record({
          timestamp: ts(),
          type:
            kind === 'succeeded'
              ? 'TaskSucceeded'
              : kind === 'failed'
                ? 'TaskFailed'
                : 'TaskTimedOut',
          [`task${kind === 'succeeded' ? 'Succeeded' : kind === 'failed' ? 'Failed' : 'TimedOut'}EventDetails`]:
            { ...common, ...detail },
        }),
    });
  }
  record({
    timestamp: ts(),
    type: 'TaskSucceeded',
    taskSucceededEventDetails: { ...common, output: JSON.stringify(output) },
  });
  return output;
}
