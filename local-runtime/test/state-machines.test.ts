import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeStateMachineCommand,
  ListStateMachinesCommand,
  StartExecutionCommand,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from './helpers.js';

/**
 * CreateStateMachine and friends, so users run their own workflows on the runtime.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html
 */
describe('state machine API', { timeout: 60_000 }, () => {
  let fx: Fixture;
  const roleArn = 'arn:aws:iam::000000000000:role/any';
  const definition = (result: string) =>
    JSON.stringify({ StartAt: 'S', States: { S: { Type: 'Pass', Result: result, End: true } } });

  beforeAll(async () => {
    fx = await startFixture();
  }, 120_000);
  afterAll(() => fx?.close());

  it('creates, runs, updates, lists and deletes a machine', async () => {
    // Act
    const { stateMachineArn } = await fx.sfn.send(
      new CreateStateMachineCommand({ name: 'users-own', definition: definition('v1'), roleArn })
    );
    const first = await fx.sfn.send(new StartExecutionCommand({ stateMachineArn }));
    const d1 = await fx.rt.stepFunctions.waitForExecution(first.executionArn!);
    await fx.sfn.send(
      new UpdateStateMachineCommand({ stateMachineArn, definition: definition('v2') })
    );
    const second = await fx.sfn.send(new StartExecutionCommand({ stateMachineArn }));
    const d2 = await fx.rt.stepFunctions.waitForExecution(second.executionArn!);
    const listed = await fx.sfn.send(new ListStateMachinesCommand({}));
    const described = await fx.sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
    await fx.sfn.send(new DeleteStateMachineCommand({ stateMachineArn }));

    // Assess
    expect(stateMachineArn).toBe('arn:aws:states:us-east-1:000000000000:stateMachine:users-own');
    expect([d1.output, d2.output]).toEqual(['"v1"', '"v2"']);
    expect(listed.stateMachines?.map((m) => m.name)).toContain('users-own');
    expect(JSON.parse(described.definition!).States.S.Result).toBe('v2');
    await expect(fx.sfn.send(new StartExecutionCommand({ stateMachineArn }))).rejects.toMatchObject(
      { name: 'StateMachineDoesNotExist' }
    );
  });

  it('describes a machine with its definition exactly as given, after it has run', async () => {
    // Prepare: a definition as a person writes it (indented), which the check would fill
    // in (QueryLanguage on every state) if it checked the stored copy.
    const given = JSON.stringify(
      { StartAt: 'S', States: { S: { Type: 'Pass', Result: 'as-given', End: true } } },
      null,
      2
    );
    const { stateMachineArn } = await fx.sfn.send(
      new CreateStateMachineCommand({ name: 'described-as-given', definition: given, roleArn })
    );
    // Act
    const run = await fx.sfn.send(new StartExecutionCommand({ stateMachineArn }));
    await fx.rt.stepFunctions.waitForExecution(run.executionArn!);
    const described = await fx.sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
    // Assess
    expect(described.definition).toBe(given);
    await fx.sfn.send(new DeleteStateMachineCommand({ stateMachineArn }));
  });

  it('is idempotent for the same definition and refuses another under the same name', async () => {
    const create = (d: string) =>
      fx.sfn.send(new CreateStateMachineCommand({ name: 'twice', definition: d, roleArn }));
    const a = await create(definition('same'));
    const b = await create(definition('same'));
    expect(b.stateMachineArn).toBe(a.stateMachineArn);
    await expect(create(definition('other'))).rejects.toMatchObject({
      name: 'StateMachineAlreadyExists',
    });
  });

  it.each([
    ['not JSON', '{', /Invalid State Machine Definition/],
    [
      'a feature the runtime does not run (named)',
      JSON.stringify({
        StartAt: 'S',
        States: {
          S: { Type: 'Task', Resource: 'arn:aws:states:::dynamodb:putItem', Next: 'P' },
          P: { Type: 'Pass', End: true },
        },
      }),
      /not supported by the local runtime: S: Task resource arn:aws:states:::dynamodb:putItem/,
    ],
    [
      'a JSONPath field in a JSONata state (the field named, as AWS does)',
      JSON.stringify({
        QueryLanguage: 'JSONata',
        StartAt: 'S',
        States: { S: { Type: 'Pass', ResultPath: '$.x', End: true } },
      }),
      /The field 'ResultPath' is not supported for JSONata states at \/States\/S\/ResultPath/,
    ],
    [
      'an invalid definition',
      JSON.stringify({ StartAt: 'Missing', States: { S: { Type: 'Pass', End: true } } }),
      /Invalid State Machine Definition/,
    ],
  ])('refuses %s with InvalidDefinition', async (_what, d, message) => {
    const err = await fx.sfn
      .send(new CreateStateMachineCommand({ name: 'bad', definition: d, roleArn }))
      .catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'InvalidDefinition' });
    expect((err as Error).message).toMatch(message);
  });

  it('refuses a name AWS refuses', async () => {
    await expect(
      fx.sfn.send(
        new CreateStateMachineCommand({ name: 'has space', definition: definition('x'), roleArn })
      )
    ).rejects.toMatchObject({ name: 'InvalidName' });
  });
});
