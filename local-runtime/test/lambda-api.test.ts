import { GetFunctionCommand, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from './helpers.js';

/**
 * Lambda's read API, so tools that discover functions (the AWS CLI, SDK scripts) work
 * against the runtime. https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html
 */
describe('Lambda ListFunctions and GetFunction', { timeout: 60_000 }, () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture();
  }, 120_000);
  afterAll(() => fx?.close());

  it('lists every function of the stack, page by page', async () => {
    // Act
    const all = await fx.lambda.send(new ListFunctionsCommand({}));
    const first = await fx.lambda.send(new ListFunctionsCommand({ MaxItems: 1 }));
    const second = await fx.lambda.send(
      new ListFunctionsCommand({ MaxItems: 1, Marker: first.NextMarker })
    );

    // Assess: the template's functions, with the configuration it gives them.
    const names = all.Functions?.map((f) => f.FunctionName) ?? [];
    expect(names.sort()).toEqual([...fx.rt.lambda.functionNames].sort());
    expect(first.Functions).toHaveLength(1);
    expect(second.Functions?.[0]?.FunctionName).not.toBe(first.Functions?.[0]?.FunctionName);
    for (const f of all.Functions ?? []) {
      expect(f).toMatchObject({ Version: '$LATEST', PackageType: 'Zip' });
      expect(f.FunctionArn).toMatch(/^arn:aws:lambda:us-east-1:000000000000:function:/);
      expect(f.Timeout).toBeGreaterThan(0);
    }
  });

  it('gets one function by name or ARN and says ResourceNotFoundException otherwise', async () => {
    const name = fx.rt.lambda.functionNames[0];
    const byName = await fx.lambda.send(new GetFunctionCommand({ FunctionName: name }));
    const byArn = await fx.lambda.send(
      new GetFunctionCommand({ FunctionName: byName.Configuration?.FunctionArn })
    );
    expect(byArn.Configuration).toEqual(byName.Configuration);
    await expect(
      fx.lambda.send(new GetFunctionCommand({ FunctionName: 'no-such-function' }))
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
