import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  GetExecutionHistoryCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaInvokeOutput } from '../src/sfn/lambda-output.js';
import { type Fixture, startFixture } from './helpers.js';

// The shape AWS documents for `arn:aws:states:::lambda:invoke` results:
// https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html

describe('lambda:invoke result metadata', () => {
  it('nests the payload in the Invoke metadata, headers both as lists and as single values', () => {
    // Prepare: 'é' is two bytes in UTF-8, so the body {"a":"é"} is 10 bytes.
    const now = new Date('2026-01-02T03:04:05Z');

    // Act
    const out = lambdaInvokeOutput({ kind: 'invoked', payload: { a: 'é' }, requestId: 'r-1' }, now);

    // Assess
    expect(out).toEqual({
      ExecutedVersion: '$LATEST',
      Payload: { a: 'é' },
      SdkHttpMetadata: {
        AllHttpHeaders: {
          Connection: ['keep-alive'],
          'Content-Length': ['10'],
          'Content-Type': ['application/json'],
          Date: ['Fri, 02 Jan 2026 03:04:05 GMT'],
          'X-Amz-Executed-Version': ['$LATEST'],
          'x-amzn-Remapped-Content-Length': ['0'],
          'x-amzn-RequestId': ['r-1'],
        },
        HttpHeaders: {
          Connection: 'keep-alive',
          'Content-Length': '10',
          'Content-Type': 'application/json',
          Date: 'Fri, 02 Jan 2026 03:04:05 GMT',
          'X-Amz-Executed-Version': '$LATEST',
          'x-amzn-Remapped-Content-Length': '0',
          'x-amzn-RequestId': 'r-1',
        },
        HttpStatusCode: 200,
      },
      SdkResponseMetadata: { RequestId: 'r-1' },
      StatusCode: 200,
    });
  });

  it('answers an accepted Event invocation with 202, an empty payload and no executed version', () => {
    const out = lambdaInvokeOutput({ kind: 'queued' });
    expect(out).not.toHaveProperty('ExecutedVersion');
    expect(out).toMatchObject({
      Payload: '',
      StatusCode: 202,
      SdkHttpMetadata: { HttpStatusCode: 202, HttpHeaders: { 'Content-Length': '0' } },
    });
    expect(out.SdkResponseMetadata.RequestId).toBe(
      out.SdkHttpMetadata.HttpHeaders['x-amzn-RequestId']
    );
  });

  it('gives a function that returns nothing a null Payload', () => {
    const out = lambdaInvokeOutput({ kind: 'invoked', payload: undefined, requestId: 'r' });
    expect(out.Payload).toBeNull();
    expect(out.SdkHttpMetadata.HttpHeaders['Content-Length']).toBe('4');
  });
});

describe('lambda:invoke Tasks on the local runtime', { timeout: 60_000 }, () => {
  let fx: Fixture;
  const run = async (name: string, definition: object, input: object = {}) => {
    const { stateMachineArn } = await fx.sfn.send(
      new CreateStateMachineCommand({
        name,
        definition: JSON.stringify(definition),
        roleArn: 'arn:aws:iam::000000000000:role/any',
      })
    );
    try {
      const { executionArn } = await fx.sfn.send(
        new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) })
      );
      const d = await fx.rt.stepFunctions.waitForExecution(executionArn!);
      const { events } = await fx.sfn.send(new GetExecutionHistoryCommand({ executionArn }));
      return { d, events: events ?? [] };
    } finally {
      await fx.sfn.send(new DeleteStateMachineCommand({ stateMachineArn }));
    }
  };
  const invoke = (extra: object = {}) => ({
    StartAt: 'Call',
    States: {
      Call: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: {
          FunctionName: fx.rt.outputs.ProbeFunctionName,
          Payload: { action: 'sleep', ms: 1 },
        },
        End: true,
        ...extra,
      },
    },
  });

  beforeAll(async () => {
    fx = await startFixture();
  }, 120_000);
  afterAll(() => fx?.close());

  it('returns the SDK metadata around the payload, and TaskSucceeded carries the same', async () => {
    // Act
    const { d, events } = await run('invoke-metadata', invoke());

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    const out = JSON.parse(d.output!);
    expect(Object.keys(out).sort()).toEqual([
      'ExecutedVersion',
      'Payload',
      'SdkHttpMetadata',
      'SdkResponseMetadata',
      'StatusCode',
    ]);
    expect(out).toMatchObject({
      ExecutedVersion: '$LATEST',
      Payload: { slept: 1, pid: expect.any(Number) },
      SdkHttpMetadata: { HttpStatusCode: 200 },
      StatusCode: 200,
    });
    expect(out.SdkResponseMetadata.RequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.SdkHttpMetadata.HttpHeaders['x-amzn-RequestId']).toBe(
      out.SdkResponseMetadata.RequestId
    );
    const succeeded = events.find((e) => e.type === 'TaskSucceeded');
    expect(JSON.parse(succeeded!.taskSucceededEventDetails!.output!)).toEqual(out);
  });

  it('keeps machines that select the Payload working (OutputPath and ResultSelector)', async () => {
    // Act
    const byPath = await run('invoke-output-path', invoke({ OutputPath: '$.Payload' }));
    const bySelector = await run(
      'invoke-result-selector',
      invoke({ ResultSelector: { 'slept.$': '$.Payload.slept', 'code.$': '$.StatusCode' } })
    );

    // Assess
    expect(JSON.parse(byPath.d.output!)).toEqual({ slept: 1, pid: expect.any(Number) });
    expect(JSON.parse(bySelector.d.output!)).toEqual({ slept: 1, code: 200 });
  });

  it('answers InvocationType Event with 202 and the metadata, without waiting for the function', async () => {
    // Act
    const { d } = await run(
      'invoke-event',
      invoke({
        Parameters: {
          FunctionName: fx.rt.outputs.ProbeFunctionName,
          InvocationType: 'Event',
          Payload: { action: 'sleep', ms: 1 },
        },
      })
    );

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output!)).toMatchObject({
      Payload: '',
      StatusCode: 202,
      SdkHttpMetadata: { HttpStatusCode: 202 },
      SdkResponseMetadata: { RequestId: expect.any(String) },
    });
  });
});
