import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from './helpers.js';

/**
 * A receipt handle SQS never issued is ReceiptHandleIsInvalid, a real one that is no
 * longer in flight is MessageNotInflight (ChangeMessageVisibility) or a no-op (DeleteMessage).
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
 */
describe('SQS receipt handles', { timeout: 60_000 }, () => {
  let fx: Fixture;
  let QueueUrl: string;

  beforeAll(async () => {
    fx = await startFixture();
    QueueUrl = (await fx.sqs.send(new CreateQueueCommand({ QueueName: `rh-${randomUUID()}` })))
      .QueueUrl!;
  }, 120_000);
  afterAll(async () => {
    await fx?.sqs.send(new DeleteQueueCommand({ QueueUrl }));
    await fx?.close();
  });

  it.each([
    ['DeleteMessage', () => new DeleteMessageCommand({ QueueUrl, ReceiptHandle: 'bogus' })],
    [
      'ChangeMessageVisibility',
      () =>
        new ChangeMessageVisibilityCommand({
          QueueUrl,
          ReceiptHandle: 'bogus',
          VisibilityTimeout: 5,
        }),
    ],
  ])('%s with a bad handle answers ReceiptHandleIsInvalid', async (_op, command) => {
    await expect(fx.sqs.send(command() as never)).rejects.toMatchObject({
      name: 'ReceiptHandleIsInvalid',
    });
  });

  it('a real handle still works, and a spent one is MessageNotInflight for visibility', async () => {
    // Prepare
    await fx.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' }));
    const { Messages } = await fx.sqs.send(
      new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 2 })
    );
    const ReceiptHandle = Messages![0].ReceiptHandle!;

    // Act
    await fx.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle }));

    // Assess
    await expect(
      fx.sqs.send(
        new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle, VisibilityTimeout: 5 })
      )
    ).rejects.toMatchObject({ name: 'MessageNotInflight' });
  });
});
