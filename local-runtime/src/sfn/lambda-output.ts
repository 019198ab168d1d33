import { randomUUID } from 'node:crypto';

/**
 * The result of an `arn:aws:states:::lambda:invoke` Task as Step Functions returns it: the
 * function's output nested in the Invoke call's metadata (`ExecutedVersion`, `Payload`,
 * `SdkHttpMetadata`, `SdkResponseMetadata`, `StatusCode`).
 * https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
 * A machine that wants the output alone selects `$.Payload` (CDK's LambdaInvoke with
 * `payloadResponseOnly: true` instead uses the function ARN as the resource, which returns
 * the output unwrapped).
 */
export interface LambdaInvokeOutput {
  ExecutedVersion?: string;
  Payload: unknown;
  SdkHttpMetadata: {
    AllHttpHeaders: Record<string, string[]>;
    HttpHeaders: Record<string, string>;
    HttpStatusCode: number;
  };
  SdkResponseMetadata: { RequestId: string };
  StatusCode: number;
}

/**
 * `invoked`: a synchronous invoke that returned `payload` (200, `$LATEST`: the runtime runs
 * unpublished code only). `queued`: an `InvocationType: Event` invoke Lambda accepted (202,
 * empty payload, no executed version). `now` is injectable for tests.
 */
export function lambdaInvokeOutput(
  answer: { kind: 'invoked'; payload: unknown; requestId: string } | { kind: 'queued' },
  now: Date = new Date()
): LambdaInvokeOutput {
  const invoked = answer.kind === 'invoked';
  const requestId = invoked ? answer.requestId : randomUUID();
  const status = invoked ? 200 : 202;
  // Lambda answers the function's JSON; the body of an accepted event is empty.
  const body = invoked ? JSON.stringify(answer.payload ?? null) : '';
  const headers: Record<string, string> = {
    Connection: 'keep-alive',
    'Content-Length': String(Buffer.byteLength(body, 'utf8')),
    'Content-Type': 'application/json',
    Date: now.toUTCString(),
    ...(invoked && { 'X-Amz-Executed-Version': '$LATEST' }),
    'x-amzn-Remapped-Content-Length': '0',
    'x-amzn-RequestId': requestId,
  };
  return {
    ...(invoked && { ExecutedVersion: '$LATEST' }),
    Payload: invoked ? (answer.payload ?? null) : '',
    SdkHttpMetadata: {
      AllHttpHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
      HttpHeaders: headers,
      HttpStatusCode: status,
    },
    SdkResponseMetadata: { RequestId: requestId },
    StatusCode: status,
  };
}
