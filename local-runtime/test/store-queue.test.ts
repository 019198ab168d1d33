import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/emulator.js';
import { toSqsRecord } from '../src/esm-poller.js';
import { Faults } from '../src/faults.js';

/**
 * The pollers' in-process way into fauxqs's queues (src/sqs/store-queue.ts) against a
 * real fauxqs: what a receive hands the poller must be what ReceiveMessage over HTTP
 * would, and the injected SQS faults must reach it as they reach the HTTP door.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
 */
describe('StoreQueue: event source mapping receives without HTTP', { timeout: 60_000 }, () => {
  let emulator: Emulator;
  let sqs: SQSClient;
  const faults = new Faults();
  let n = 0;
  const newQueue = async (attributes: Record<string, string> = {}) => {
    n += 1;
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: `store-queue-${n}`, Attributes: attributes })
    );
    return QueueUrl!;
  };
  const depth = async (QueueUrl: string) => {
    const { Attributes: a = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      })
    );
    return {
      visible: Number(a.ApproximateNumberOfMessages),
      inFlight: Number(a.ApproximateNumberOfMessagesNotVisible),
    };
  };

  beforeAll(async () => {
    emulator = await startEmulator({
      host: '127.0.0.1',
      region: 'us-east-1',
      hostNames: ['127.0.0.1'],
      faults,
    });
    sqs = new SQSClient({
      endpoint: emulator.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    sqs?.destroy();
    await emulator?.stop();
  });

  it('receives with system and binary attributes as Lambda records them, and deletes', async () => {
    // Prepare
    const url = await newQueue();
    const bytes = Buffer.from([0, 1, 2, 250]);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'hello',
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'k' },
          blob: { DataType: 'Binary', BinaryValue: bytes },
        },
      })
    );
    const queue = emulator.pollerQueue(url);

    // Act
    const [m, ...rest] = await queue.receive(10, 1, new AbortController().signal);
    const record = toSqsRecord(m!, 'arn:aws:sqs:us-east-1:000000000000:q', 'us-east-1');
    const inFlight = await depth(url);
    await queue.deleteBatch([m!]);

    // Assess
    expect(rest).toEqual([]);
    expect(record).toMatchObject({
      body: 'hello',
      attributes: { ApproximateReceiveCount: '1', SenderId: expect.any(String) },
      messageAttributes: {
        kind: { stringValue: 'k', dataType: 'String' },
        blob: { binaryValue: bytes.toString('base64'), dataType: 'Binary' },
      },
    });
    expect(inFlight).toEqual({ visible: 0, inFlight: 1 });
    expect(await depth(url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('a long poll wakes on a new message, and an aborted one takes nothing', async () => {
    // Prepare
    const url = await newQueue();
    const queue = emulator.pollerQueue(url);
    const abort = new AbortController();

    // Act: one wait answered by a send, one aborted before its message arrives
    const woken = queue.receive(10, 5, new AbortController().signal);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'first' }));
    const first = await woken;
    const aborted = queue.receive(10, 5, abort.signal);
    abort.abort();
    const none = await aborted;
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'second' }));

    // Assess: the aborted wait left 'second' visible for the next receive
    expect(first.map((m) => m.Body)).toEqual(['first']);
    expect(none).toEqual([]);
    expect((await depth(url)).visible).toBe(1);
  });

  it('retries injected errors like the SDK (3 attempts), then surfaces the error', async () => {
    // Prepare
    const url = await newQueue();
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' }));
    const queue = emulator.pollerQueue(url);
    const before = faults.counts.sqsReceiveErrors;

    // Act
    faults.failNextSqs('ReceiveMessage', 2);
    const got = await queue.receive(10, 0, new AbortController().signal);
    faults.failNextSqs('DeleteMessage', 3);
    const failed = queue.deleteBatch(got);

    // Assess
    expect(got.map((m) => m.Body)).toEqual(['x']);
    expect(faults.counts.sqsReceiveErrors - before).toBe(2);
    await expect(failed).rejects.toMatchObject({
      name: expect.stringMatching(/^(InternalFailure|ThrottlingException)$/),
    });
    expect((await depth(url)).inFlight).toBe(1);
  });

  it('moves a message received more than maxReceiveCount times to the DLQ', async () => {
    // Prepare
    const dlqUrl = await newQueue();
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] })
    );
    const url = await newQueue({
      VisibilityTimeout: '0',
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: Attributes!.QueueArn,
        maxReceiveCount: 2,
      }),
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
    const queue = emulator.pollerQueue(url);
    const signal = new AbortController().signal;

    // Act
    const counts: string[] = [];
    for (let i = 0; i < 3; i++) {
      for (const m of await queue.receive(10, 0, signal)) {
        counts.push(m.Attributes!.ApproximateReceiveCount!);
      }
    }

    // Assess
    expect(counts).toEqual(['1', '2']);
    expect((await depth(dlqUrl)).visible).toBe(1);
  });
});
