import { randomUUID } from 'node:crypto';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture, waitFor } from './helpers.js';

/**
 * The callback pattern: `.waitForTaskToken` Tasks wait for SendTaskSuccess/Failure,
 * kept alive by SendTaskHeartbeat.
 * https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token
 */
describe('task tokens', { timeout: 60_000 }, () => {
  let fx: Fixture;
  let queueUrl: string;
  const roleArn = 'arn:aws:iam::000000000000:role/any';

  beforeAll(async () => {
    fx = await startFixture();
    queueUrl = (await fx.sqs.send(new CreateQueueCommand({ QueueName: `tokens-${randomUUID()}` })))
      .QueueUrl!;
  }, 120_000);
  afterAll(() => fx?.close());

  /** A machine whose one Task sends `{token, input}` to the queue and waits for the callback. */
  async function start(task: Record<string, unknown> = {}, input: unknown = { n: 1 }) {
    const { stateMachineArn } = await fx.sfn.send(
      new CreateStateMachineCommand({
        name: `cb-${randomUUID().slice(0, 8)}`,
        roleArn,
        definition: JSON.stringify({
          StartAt: 'Wait',
          States: {
            Wait: {
              Type: 'Task',
              Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
              Parameters: {
                QueueUrl: queueUrl,
                MessageBody: { 'token.$': '$$.Task.Token', 'input.$': '$' },
              },
              ...task,
            },
            ...(task.Catch ? { Caught: { Type: 'Pass', End: true } } : {}),
          },
        }),
      })
    );
    const { executionArn } = await fx.sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) })
    );
    const message = await waitFor(
      async () =>
        (await fx.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 })))
          .Messages?.[0],
      { what: 'the callback message' }
    );
    const body = JSON.parse(message.Body!) as { token: string; input: unknown };
    return { executionArn: executionArn!, ...body };
  }

  const status = async (executionArn: string) =>
    (await fx.sfn.send(new DescribeExecutionCommand({ executionArn }))).status;

  it('waits for SendTaskSuccess and ends with its output', async () => {
    // Prepare
    const { executionArn, token, input } = await start({ End: true });
    const before = await status(executionArn);

    // Act
    await fx.sfn.send(
      new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ ok: true }) })
    );
    const d = await fx.rt.stepFunctions.waitForExecution(executionArn);

    // Assess
    expect(input).toEqual({ n: 1 });
    expect(before).toBe('RUNNING');
    expect([d.status, d.output]).toEqual(['SUCCEEDED', '{"ok":true}']);
    const history = await fx.sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    const types = history.events!.map((e) => e.type);
    expect(types.filter((t) => t?.startsWith('Task'))).toEqual([
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
    ]);
    // The token is spent: AWS answers TaskDoesNotExist for a second callback.
    await expect(
      fx.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))
    ).rejects.toMatchObject({ name: 'TaskDoesNotExist' });
  });

  it('in a machine with variables (run on the engine), $$.Task.Token and a variable reach the message; Assign reads the callback output', async () => {
    // Prepare
    const who = `ada-${randomUUID().slice(0, 8)}`;
    const { stateMachineArn } = await fx.sfn.send(
      new CreateStateMachineCommand({
        name: `cb-vars-${randomUUID().slice(0, 8)}`,
        roleArn,
        definition: JSON.stringify({
          StartAt: 'Remember',
          States: {
            Remember: { Type: 'Pass', Assign: { 'who.$': '$.who' }, Next: 'Wait' },
            Wait: {
              Type: 'Task',
              Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
              Parameters: {
                QueueUrl: queueUrl,
                MessageBody: { 'token.$': '$$.Task.Token', 'who.$': '$who' },
              },
              Assign: { 'answer.$': '$.answer' },
              ResultPath: null,
              Next: 'Read',
            },
            Read: {
              Type: 'Pass',
              Parameters: { 'answer.$': '$answer', 'who.$': '$.who' },
              End: true,
            },
          },
        }),
      })
    );
    const { executionArn } = await fx.sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ who }) })
    );
    const message = await waitFor(
      async () =>
        (
          await fx.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }))
        ).Messages?.find((m) => (JSON.parse(m.Body!) as { who?: string }).who === who),
      { what: 'the callback message' }
    );
    const { token } = JSON.parse(message.Body!) as { token: string };

    // Act
    await fx.sfn.send(
      new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ answer: 42 }) })
    );
    const d = await fx.rt.stepFunctions.waitForExecution(executionArn!);

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output!)).toEqual({ answer: 42, who });
  });

  it('SendTaskFailure fails the Task with its error, which Catch matches', async () => {
    const { executionArn, token } = await start({
      Catch: [{ ErrorEquals: ['Worker.Refused'], Next: 'Caught' }],
      End: true,
    });
    await fx.sfn.send(
      new SendTaskFailureCommand({ taskToken: token, error: 'Worker.Refused', cause: 'no' })
    );
    const d = await fx.rt.stepFunctions.waitForExecution(executionArn);
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output!)).toEqual({ Error: 'Worker.Refused', Cause: 'no' });
  });

  it('fails with States.HeartbeatTimeout without heartbeats, and answers TaskTimedOut after', async () => {
    // Prepare: heartbeats keep it alive past one HeartbeatSeconds, then they stop.
    const { executionArn, token } = await start({ HeartbeatSeconds: 1, End: true });
    const startedAt = Date.now();
    for (let beat = 1; Date.now() - startedAt < 1500; beat++) {
      await fx.sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
      // The next heartbeat 300 ms later: well inside HeartbeatSeconds.
      await waitFor(() => Date.now() - startedAt >= beat * 300, { intervalMs: 20 });
    }
    const aliveAfterHeartbeats = await status(executionArn);

    // Act
    const d = await fx.rt.stepFunctions.waitForExecution(executionArn);

    // Assess
    expect(aliveAfterHeartbeats).toBe('RUNNING');
    expect([d.status, d.error]).toEqual(['FAILED', 'States.HeartbeatTimeout']);
    await expect(
      fx.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))
    ).rejects.toMatchObject({ name: 'TaskTimedOut' });
  });

  it('fails with States.Timeout after TimeoutSeconds', async () => {
    const { executionArn } = await start({ TimeoutSeconds: 1, End: true });
    const d = await fx.rt.stepFunctions.waitForExecution(executionArn);
    expect([d.status, d.error]).toEqual(['FAILED', 'States.Timeout']);
  });

  it('answers InvalidToken for a malformed token and InvalidOutput for output not JSON', async () => {
    await expect(
      fx.sfn.send(new SendTaskSuccessCommand({ taskToken: 'not-a-token', output: '{}' }))
    ).rejects.toMatchObject({ name: 'InvalidToken' });
    const { executionArn, token } = await start({ End: true });
    await expect(
      fx.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{' }))
    ).rejects.toMatchObject({ name: 'InvalidOutput' });
    await fx.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '1' }));
    expect((await fx.rt.stepFunctions.waitForExecution(executionArn)).output).toBe('1');
  });

  it('lambda:invoke.waitForTaskToken invokes the function, then waits for the token', async () => {
    // Prepare
    const FunctionName = fx.rt.model.functions.find((f) => f.logicalId.startsWith('Segment'))!.name;
    const { stateMachineArn } = await fx.sfn.send(
      new CreateStateMachineCommand({
        name: `lambda-cb-${randomUUID().slice(0, 8)}`,
        roleArn,
        definition: JSON.stringify({
          StartAt: 'T',
          States: {
            T: {
              Type: 'Task',
              Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
              Parameters: {
                FunctionName,
                Payload: { index: 0, 'item.$': '$', runId: 'cb', 'token.$': '$$.Task.Token' },
              },
              End: true,
            },
          },
        }),
      })
    );

    // Act
    const ok = await fx.sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ sleepMs: 1 }) })
    );
    // AWS shows the token in the TaskScheduled parameters, as the function received it.
    const token = await waitFor(
      async () => {
        const h = await fx.sfn.send(
          new GetExecutionHistoryCommand({ executionArn: ok.executionArn })
        );
        if (!h.events!.some((e) => e.type === 'TaskSubmitted')) return undefined;
        const scheduled = h.events!.find((e) => e.type === 'TaskScheduled');
        return JSON.parse(scheduled!.taskScheduledEventDetails!.parameters!).Payload
          .token as string;
      },
      { what: 'TaskSubmitted' }
    );
    await fx.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '"done"' }));
    const failing = await fx.sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify({ fail: true }) })
    );

    // Assess
    expect((await fx.rt.stepFunctions.waitForExecution(ok.executionArn!)).output).toBe('"done"');
    const failed = await fx.rt.stepFunctions.waitForExecution(failing.executionArn!);
    expect([failed.status, failed.error]).toEqual(['FAILED', 'FrameNotFoundError']);
  });

  it('sns:publish.waitForTaskToken is accepted', async () => {
    const created = await fx.sfn.send(
      new CreateStateMachineCommand({
        name: `sns-cb-${randomUUID().slice(0, 8)}`,
        roleArn,
        definition: JSON.stringify({
          StartAt: 'T',
          States: {
            T: {
              Type: 'Task',
              Resource: 'arn:aws:states:::sns:publish.waitForTaskToken',
              Parameters: {
                TopicArn: 'arn:aws:sns:us-east-1:000000000000:t',
                'Message.$': '$$.Task.Token',
              },
              End: true,
            },
          },
        }),
      })
    );
    expect(created.stateMachineArn).toMatch(/:stateMachine:sns-cb-/);
  });
});
