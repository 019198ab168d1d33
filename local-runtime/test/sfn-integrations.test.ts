import { randomUUID } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import {
  CreateStateMachineCommand,
  GetExecutionHistoryCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture, waitFor } from './helpers.js';

/**
 * Task service integrations on the runtime's own S3, SNS, SQS and Step Functions.
 * https://docs.aws.amazon.com/step-functions/latest/dg/integrate-services.html
 */
describe('service integrations', { timeout: 60_000 }, () => {
  let fx: Fixture;
  const roleArn = 'arn:aws:iam::000000000000:role/any';

  beforeAll(async () => {
    fx = await startFixture();
  }, 120_000);
  afterAll(() => fx?.close());

  /** Creates a machine from its states, runs it once and answers the finished description. */
  async function run(states: Record<string, unknown>, input: unknown = {}) {
    const { stateMachineArn } = await fx.sfn.send(
      new CreateStateMachineCommand({
        name: `m-${randomUUID().slice(0, 8)}`,
        roleArn,
        definition: JSON.stringify({ StartAt: Object.keys(states)[0], States: states }),
      })
    );
    const { executionArn } = await fx.sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) })
    );
    const described = await fx.rt.stepFunctions.waitForExecution(executionArn!);
    return { ...described, executionArn: executionArn! };
  }

  async function receiveOne(queueUrl: string) {
    return waitFor(
      async () => {
        const r = await fx.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 })
        );
        return r.Messages?.[0];
      },
      { what: `a message on ${queueUrl}` }
    );
  }

  it('sqs:sendMessage sends the body (an object as its JSON text) and answers MessageId', async () => {
    // Prepare
    const { QueueUrl } = await fx.sqs.send(
      new CreateQueueCommand({ QueueName: `q-${randomUUID()}` })
    );

    // Act
    const d = await run(
      {
        Send: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sqs:sendMessage',
          Parameters: { QueueUrl, 'MessageBody.$': '$' },
          End: true,
        },
      },
      { video: 'a.mp4' }
    );
    const message = await receiveOne(QueueUrl!);

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(message.Body!)).toEqual({ video: 'a.mp4' });
    const out = JSON.parse(d.output!);
    expect(out.MessageId).toBe(message.MessageId);
    expect(out.MD5OfMessageBody).toBe(message.MD5OfBody);
    const history = await fx.sfn.send(
      new GetExecutionHistoryCommand({ executionArn: d.executionArn })
    );
    const types = history.events!.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['TaskScheduled', 'TaskStarted', 'TaskSucceeded'])
    );
    const scheduled = history.events!.find((e) => e.type === 'TaskScheduled');
    expect(scheduled?.taskScheduledEventDetails).toMatchObject({
      resourceType: 'sqs',
      resource: 'sendMessage',
    });
  });

  it('sqs:sendMessage to a missing queue fails with the SQS error, which Catch matches', async () => {
    const d = await run({
      Send: {
        Type: 'Task',
        Resource: 'arn:aws:states:::sqs:sendMessage',
        Parameters: {
          QueueUrl: `${fx.rt.endpoint}/000000000000/no-such-queue-${randomUUID()}`,
          MessageBody: 'x',
        },
        End: true,
      },
    });
    expect(d.status).toBe('FAILED');
    expect(d.error).toMatch(/^SQS\.\w+Exception$/);
  });

  it('sns:publish reaches the subscribed queue; a missing topic is SNS.NotFoundException', async () => {
    // Prepare
    const { QueueUrl } = await fx.sqs.send(
      new CreateQueueCommand({ QueueName: `q-${randomUUID()}` })
    );
    const attrs = await fx.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] })
    );
    const { TopicArn } = await fx.sns.send(new CreateTopicCommand({ Name: `t-${randomUUID()}` }));
    await fx.sns.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: 'sqs',
        Endpoint: attrs.Attributes!.QueueArn,
        Attributes: { RawMessageDelivery: 'true' },
      })
    );

    // Act
    const ok = await run(
      {
        Publish: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sns:publish',
          Parameters: { TopicArn, 'Message.$': '$' },
          End: true,
        },
      },
      { n: 1 }
    );
    const message = await receiveOne(QueueUrl!);
    const missing = await run({
      Publish: {
        Type: 'Task',
        Resource: 'arn:aws:states:::sns:publish',
        Parameters: { TopicArn: `${TopicArn}-missing`, Message: 'x' },
        Catch: [{ ErrorEquals: ['SNS.NotFoundException'], Next: 'Caught' }],
        End: true,
      },
      Caught: { Type: 'Pass', End: true },
    });

    // Assess
    expect(ok.status).toBe('SUCCEEDED');
    expect(JSON.parse(message.Body!)).toEqual({ n: 1 });
    expect(JSON.parse(ok.output!).MessageId).toEqual(expect.any(String));
    expect(missing.status).toBe('SUCCEEDED');
    expect(JSON.parse(missing.output!).Error).toBe('SNS.NotFoundException');
  });

  it('aws-sdk:s3 putObject, headObject, getObject, listObjectsV2 answer in PascalCase', async () => {
    // Prepare
    const Bucket = `b-${randomUUID()}`;
    await fx.s3.send(new CreateBucketCommand({ Bucket }));

    // Act
    const d = await run({
      Put: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:s3:putObject',
        Parameters: { Bucket, Key: 'dir/a.json', Body: { hello: 'world' } },
        ResultPath: '$.put',
        Next: 'Head',
      },
      Head: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:s3:headObject',
        Parameters: { Bucket, Key: 'dir/a.json' },
        ResultPath: '$.head',
        Next: 'Get',
      },
      Get: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:s3:getObject',
        Parameters: { Bucket, Key: 'dir/a.json' },
        ResultPath: '$.get',
        Next: 'List',
      },
      List: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:s3:listObjectsV2',
        Parameters: { Bucket, Prefix: 'dir/' },
        ResultPath: '$.list',
        End: true,
      },
    });

    // Assess
    expect(d.status).toBe('SUCCEEDED');
    const out = JSON.parse(d.output!);
    const body = JSON.stringify({ hello: 'world' });
    expect(out.put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(out.head).toMatchObject({ ContentLength: body.length, ETag: out.put.ETag });
    expect(out.get).toMatchObject({ Body: body, ETag: out.put.ETag });
    expect(out.list).toMatchObject({
      Name: Bucket,
      Prefix: 'dir/',
      KeyCount: 1,
      IsTruncated: false,
    });
    expect(out.list.Contents).toEqual([
      expect.objectContaining({ Key: 'dir/a.json', Size: body.length, ETag: out.put.ETag }),
    ]);
    expect(Number.isNaN(Date.parse(out.list.Contents[0].LastModified))).toBe(false);
  });

  it('aws-sdk:s3 getObject and headObject of a missing key fail with S3.NoSuchKeyException', async () => {
    const Bucket = `b-${randomUUID()}`;
    await fx.s3.send(new CreateBucketCommand({ Bucket }));
    for (const action of ['getObject', 'headObject']) {
      const d = await run({
        Get: {
          Type: 'Task',
          Resource: `arn:aws:states:::aws-sdk:s3:${action}`,
          Parameters: { Bucket, Key: 'missing' },
          End: true,
        },
      });
      expect([action, d.status, d.error]).toEqual([action, 'FAILED', 'S3.NoSuchKeyException']);
    }
  });

  describe('states:startExecution', () => {
    async function child(states: Record<string, unknown>) {
      const { stateMachineArn } = await fx.sfn.send(
        new CreateStateMachineCommand({
          name: `child-${randomUUID().slice(0, 8)}`,
          roleArn,
          definition: JSON.stringify({ StartAt: Object.keys(states)[0], States: states }),
        })
      );
      return stateMachineArn!;
    }
    const parent = (resource: string, StateMachineArn: string) => ({
      Start: {
        Type: 'Task',
        Resource: `arn:aws:states:::states:${resource}`,
        Parameters: { StateMachineArn, Input: { 'x.$': '$.x' } },
        End: true,
      },
    });
    const doubler = {
      Double: { Type: 'Pass', Parameters: { 'y.$': 'States.MathAdd($.x, $.x)' }, End: true },
    };

    it('.sync:2 waits and answers the child output as JSON', async () => {
      const arn = await child(doubler);
      const d = await run(parent('startExecution.sync:2', arn), { x: 21 });
      expect(d.status).toBe('SUCCEEDED');
      const out = JSON.parse(d.output!);
      expect(out).toMatchObject({
        Status: 'SUCCEEDED',
        StateMachineArn: arn,
        Input: { x: 21 },
        Output: { y: 42 },
      });
      expect(out.StopDate).toBeGreaterThanOrEqual(out.StartDate);
    });

    it('.sync answers the child output as text', async () => {
      const arn = await child(doubler);
      const d = await run(parent('startExecution.sync', arn), { x: 2 });
      const out = JSON.parse(d.output!);
      expect([out.Input, out.Output]).toEqual(['{"x":2}', '{"y":4}']);
    });

    it('request-response answers the execution ARN without waiting', async () => {
      const arn = await child(doubler);
      const d = await run(parent('startExecution', arn), { x: 1 });
      const out = JSON.parse(d.output!);
      expect(out.ExecutionArn).toMatch(/:execution:child-/);
      const nested = await fx.rt.stepFunctions.waitForExecution(out.ExecutionArn);
      expect(nested.output).toBe('{"y":2}');
    });

    it('a failed child fails the .sync:2 Task with States.TaskFailed and its description', async () => {
      const arn = await child({ Boom: { Type: 'Fail', Error: 'Child.Broke', Cause: 'why' } });
      const d = await run(parent('startExecution.sync:2', arn), { x: 1 });
      expect([d.status, d.error]).toEqual(['FAILED', 'States.TaskFailed']);
      expect(JSON.parse(d.cause!)).toMatchObject({
        Status: 'FAILED',
        Error: 'Child.Broke',
        Cause: 'why',
      });
    });
  });

  it('still refuses a Task resource it does not run, by name', async () => {
    await expect(
      fx.sfn.send(
        new CreateStateMachineCommand({
          name: 'unsupported-integration',
          roleArn,
          definition: JSON.stringify({
            StartAt: 'D',
            States: {
              D: {
                Type: 'Task',
                Resource: 'arn:aws:states:::dynamodb:putItem',
                Parameters: { TableName: 't', Item: {} },
                End: true,
              },
            },
          }),
        })
      )
    ).rejects.toThrow(/D: Task resource arn:aws:states:::dynamodb:putItem/);
  });
});
