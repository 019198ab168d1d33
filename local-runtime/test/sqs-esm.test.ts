import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, queueCounts, startFixture, waitFor, waitForEmptyQueue } from './helpers.js';

interface Delivery {
  id: string;
  messageId: string;
  receiveCount: number;
  at: number;
  batchSize: number;
  eventSource: string;
  eventSourceARN: string;
  messageAttributes: Record<string, { stringValue?: string; dataType?: string }>;
}

describe('SQS event source mapping', { timeout: 60_000 }, () => {
  let fx: Fixture;
  const deliveries = (id: string): Delivery[] => {
    let text = '';
    try {
      text = readFileSync(path.join(fx.stateDir, 'worker.log'), 'utf8');
    } catch {
      return [];
    }
    return text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Delivery)
      .filter((d) => d.id === id);
  };
  const worker = () => fx.rt.model.functions.find((f) => f.logicalId.startsWith('Worker'))!.name;
  const send = (body: object, attrs?: Record<string, string>) =>
    fx.sqs.send(
      new SendMessageCommand({
        QueueUrl: fx.rt.outputs.WorkQueueUrl,
        MessageBody: JSON.stringify(body),
        MessageAttributes: attrs
          ? Object.fromEntries(
              Object.entries(attrs).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])
            )
          : undefined,
      })
    );

  beforeAll(async () => {
    // Prepare (shared): one runtime for the file; the Worker function logs each delivery.
    fx = await startFixture();
  }, 120_000);
  afterAll(() => fx?.close());

  it('delivers Lambda-shaped SQS records and deletes them on success', async () => {
    // Act
    await send({ id: 'shape' }, { color: 'blue' });

    // Assess
    const [d] = await waitFor(() => (deliveries('shape').length ? deliveries('shape') : undefined));
    expect(d.receiveCount).toBe(1);
    expect(d.eventSource).toBe('aws:sqs');
    expect(d.eventSourceARN).toMatch(/^arn:aws:sqs:us-east-1:000000000000:FixtureStack-WorkQueue/);
    expect(d.messageAttributes.color).toMatchObject({ stringValue: 'blue', dataType: 'String' });
    // Deleted, not merely in flight: nothing left that could come back.
    await waitForEmptyQueue(fx.sqs, fx.rt.outputs.WorkQueueUrl);
    expect(deliveries('shape')).toHaveLength(1);
  });

  it('redelivers a failed message after the visibility timeout', async () => {
    // Act
    await send({ id: 'retry-once', failTimes: 1 });

    // Assess: after the failed invocation returned, the message stays invisible (it
    // waits out the visibility timeout instead of coming straight back), then returns.
    await waitFor(
      () => deliveries('retry-once').length === 1 && fx.rt.lambda.inFlight(worker()) === 0
    );
    const held = await queueCounts(fx.sqs, fx.rt.outputs.WorkQueueUrl);
    expect(deliveries('retry-once')).toHaveLength(1);
    expect(held).toMatchObject({ visible: 0, inFlight: 1 });
    const ds = await waitFor(() =>
      deliveries('retry-once').length >= 2 ? deliveries('retry-once') : undefined
    );
    expect(ds.map((d) => d.receiveCount)).toEqual([1, 2]);
    await waitForEmptyQueue(fx.sqs, fx.rt.outputs.WorkQueueUrl);
    expect(deliveries('retry-once')).toHaveLength(2);
  });

  it('retries only the failed ids of a partial batch failure', async () => {
    // Act
    await fx.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: fx.rt.outputs.WorkQueueUrl,
        Entries: [
          { Id: 'a', MessageBody: JSON.stringify({ id: 'batch-a' }) },
          { Id: 'b', MessageBody: JSON.stringify({ id: 'batch-b', failTimes: 1 }) },
          { Id: 'c', MessageBody: JSON.stringify({ id: 'batch-c' }) },
        ],
      })
    );

    // Assess
    await waitFor(() => deliveries('batch-b').length >= 2);
    await waitForEmptyQueue(fx.sqs, fx.rt.outputs.WorkQueueUrl);
    expect(deliveries('batch-a')).toHaveLength(1);
    expect(deliveries('batch-c')).toHaveLength(1);
    expect(deliveries('batch-b').map((d) => d.receiveCount)).toEqual([1, 2]);
    // The batching window gathered the three messages into one invocation.
    expect(deliveries('batch-a')[0].batchSize).toBe(3);
  });

  it('treats an empty itemIdentifier as a whole-batch failure', async () => {
    // Act
    await send({ id: 'bad-response', badResponse: true });

    // Assess: badResponse fails every time: it ends up in the DLQ after maxReceiveCount (3).
    await waitFor(() => deliveries('bad-response').length >= 3, { timeoutMs: 20_000 });
    expect(deliveries('bad-response').map((d) => d.receiveCount)).toEqual([1, 2, 3]);
    // It reaches the DLQ; receiving it there also drains it so it cannot share a batch
    // with the next test's messages.
    await waitFor(async () => {
      const r = await fx.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: fx.rt.outputs.WorkDlqUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
        })
      );
      return r.Messages?.some((m) => m.Body?.includes('bad-response')) || undefined;
    });
  });

  it('moves a poison message to the DLQ after maxReceiveCount without losing others', async () => {
    // Act
    await send({ id: 'poison', poison: true });
    for (let i = 0; i < 5; i++) await send({ id: `good-${i}` });

    // Assess
    const dlqBodies: string[] = [];
    await waitFor(
      async () => {
        const r = await fx.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: fx.rt.outputs.WorkDlqUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
          })
        );
        dlqBodies.push(...(r.Messages ?? []).map((m) => m.Body!));
        return dlqBodies.some((b) => b.includes('"poison"')) || undefined;
      },
      { timeoutMs: 20_000 }
    );
    expect(deliveries('poison').map((d) => d.receiveCount)).toEqual([1, 2, 3]);
    for (let i = 0; i < 5; i++) expect(deliveries(`good-${i}`)).toHaveLength(1);
    expect(JSON.parse(dlqBodies.find((b) => b.includes('"poison"'))!)).toEqual({
      id: 'poison',
      poison: true,
    });
  });
});
