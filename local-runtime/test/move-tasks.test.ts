import {
  CancelMessageMoveTaskCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, receiveExactly, startFixture, waitFor } from './helpers.js';

/** SQS message move tasks, which the runtime's front door adds to fauxqs (local-runtime/src/sqs/move-tasks.ts). */
describe('SQS message move tasks', { timeout: 60_000 }, () => {
  let fx: Fixture;
  const arnOf = async (url: string) =>
    (
      await fx.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })
      )
    ).Attributes?.QueueArn ?? '';
  const queueUrl = async (namePart: string) => {
    const urls = (await fx.sqs.send(new ListQueuesCommand({}))).QueueUrls ?? [];
    const url = urls.find((u) => u.includes(namePart));
    if (!url) throw new Error(`no queue named like ${namePart} in ${urls.join(', ')}`);
    return url;
  };

  beforeAll(async () => {
    // Prepare (shared): one runtime; WorkQueue's RedrivePolicy names WorkDlq, RawQueue has no consumer.
    fx = await startFixture();
  }, 120_000);
  afterAll(() => fx?.close());

  it('moves every message of a DLQ, body and attributes unchanged, and reports the task', async () => {
    // Prepare
    const dlq = await queueUrl('WorkDlq');
    const raw = fx.rt.outputs.RawQueueUrl;
    const bodies = ['one', 'two', 'three'].map((n) => JSON.stringify({ n }));
    for (const body of bodies) {
      await fx.sqs.send(
        new SendMessageCommand({
          QueueUrl: dlq,
          MessageBody: body,
          MessageAttributes: { 'error-name': { DataType: 'String', StringValue: 'Poison' } },
        })
      );
    }

    // Act
    const { TaskHandle } = await fx.sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: await arnOf(dlq),
        DestinationArn: await arnOf(raw),
      })
    );
    const task = await waitFor(async () => {
      const res = await fx.sqs.send(
        new ListMessageMoveTasksCommand({ SourceArn: await arnOf(dlq), MaxResults: 10 })
      );
      const t = res.Results?.[0];
      return t?.Status === 'RUNNING' ? undefined : t;
    });

    // Assess
    expect(TaskHandle).toBeTruthy();
    expect(task).toMatchObject({
      Status: 'COMPLETED',
      ApproximateNumberOfMessagesMoved: 3,
      ApproximateNumberOfMessagesToMove: 3,
    });
    const moved = await receiveExactly(fx.sqs, raw, 3);
    expect(moved.map((m) => m.Body).sort()).toEqual([...bodies].sort());
    for (const m of moved) {
      expect(m.MessageAttributes?.['error-name']?.StringValue).toBe('Poison');
    }
  });

  it('refuses a source that is no queue’s dead-letter queue', async () => {
    // Act
    const act = async () =>
      fx.sqs.send(
        new StartMessageMoveTaskCommand({ SourceArn: await arnOf(fx.rt.outputs.RawQueueUrl) })
      );
    // Assess
    await expect(act()).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('Source queue must be configured as a Dead Letter Queue'),
    });
  });

  it('refuses to cancel a task that is not running', async () => {
    // Act
    const act = () => fx.sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: 'no-such-task' }));
    // Assess
    await expect(act()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
