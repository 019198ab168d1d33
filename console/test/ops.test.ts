import { DescribeExecutionCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeClients, fakeOutputs, STATE_MACHINE_ARN, VIDEO_ID } from '../../cli/test/helpers.js';
import { queueDepths, type Target } from '../src/data.js';
import { PEEK_BODY_CHARS, peekDeadLetterQueue, stopVideo } from '../src/ops.js';

const DLQ_URL = 'http://127.0.0.1:4566/000000000000/alerts-dlq';
const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/alerts';

const targetWith = (sqs: SQSClient, sfn = new SFNClient({ region: 'eu-west-1' })): Target => ({
  outputs: fakeOutputs(),
  clients: fakeClients({ sfn, sqs }),
  sqs,
  queues: { AlertsQueueUrl: QUEUE_URL, AlertsDeadLetterQueueUrl: DLQ_URL },
});

const sqsMock = mockClient(SQSClient);
const sfnMock = mockClient(SFNClient);
afterEach(() => {
  sqsMock.reset();
  sfnMock.reset();
});

describe('queueDepths', () => {
  it('names a DLQ as `redrive dlq` takes it, and a queue by its output name', async () => {
    // Prepare
    sqsMock.on(GetQueueAttributesCommand).resolves({ Attributes: {} });

    // Act
    const depths = await queueDepths(targetWith(new SQSClient({ region: 'eu-west-1' })));

    // Assess
    expect(depths.map((d) => [d.name, d.deadLetter])).toEqual([
      ['Alerts', false],
      ['AlertsDeadLetterQueue', true],
    ]);
  });
});

describe('peekDeadLetterQueue', () => {
  it('receives with VisibilityTimeout 0 and at most 10 messages, and cuts long bodies', async () => {
    // Prepare
    const long = 'x'.repeat(PEEK_BODY_CHARS + 10);
    sqsMock.on(ReceiveMessageCommand).resolves({
      Messages: [
        {
          MessageId: 'm-1',
          Body: long,
          Attributes: { ApproximateReceiveCount: '3', SentTimestamp: '1700000000000' },
          MessageAttributes: { status: { DataType: 'String', StringValue: 'FAILED' } },
        },
      ],
    });

    // Act
    const res = await peekDeadLetterQueue(
      targetWith(new SQSClient({ region: 'eu-west-1' })),
      'AlertsDeadLetterQueue',
      50
    );

    // Assess
    const sent = sqsMock.commandCalls(ReceiveMessageCommand)[0]?.args[0].input;
    expect(sent).toMatchObject({
      QueueUrl: DLQ_URL,
      VisibilityTimeout: 0,
      MaxNumberOfMessages: 10,
    });
    expect(res.messages).toEqual([
      {
        messageId: 'm-1',
        sentAt: '2023-11-14T22:13:20.000Z',
        receiveCount: 3,
        body: 'x'.repeat(PEEK_BODY_CHARS),
        truncated: true,
        attributes: { status: 'FAILED' },
      },
    ]);
  });

  it.each([
    ['a queue that is not a DLQ', 'Alerts'],
    ['a name the outputs do not list', 'NoSuchDeadLetterQueue'],
  ])('refuses %s without calling SQS', async (_what, name) => {
    // Act
    const peek = peekDeadLetterQueue(targetWith(new SQSClient({ region: 'eu-west-1' })), name);

    // Assess
    await expect(peek).rejects.toThrow(
      `no such dead-letter queue: ${name} (the stack's: AlertsDeadLetterQueue)`
    );
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
  });
});

describe('stopVideo', () => {
  const arn = (name: string) =>
    `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;

  it('stops the running redrive, not the finished original', async () => {
    // Prepare
    sfnMock
      .on(DescribeExecutionCommand, { executionArn: arn(VIDEO_ID) })
      .resolves({ name: VIDEO_ID, status: 'SUCCEEDED' })
      .on(DescribeExecutionCommand, { executionArn: arn(`${VIDEO_ID}-redrive-1`) })
      .resolves({ name: `${VIDEO_ID}-redrive-1`, status: 'RUNNING' })
      .on(DescribeExecutionCommand, { executionArn: arn(`${VIDEO_ID}-redrive-2`) })
      .rejects(Object.assign(new Error('none'), { name: 'ExecutionDoesNotExist' }));
    sfnMock.on(StopExecutionCommand).resolves({});

    // Act
    const res = await stopVideo(
      targetWith(new SQSClient({ region: 'eu-west-1' }), new SFNClient({ region: 'eu-west-1' })),
      VIDEO_ID
    );

    // Assess
    expect(res.stopped).toBe(`${VIDEO_ID}-redrive-1`);
    expect(sfnMock.commandCalls(StopExecutionCommand)[0]?.args[0].input.executionArn).toBe(
      arn(`${VIDEO_ID}-redrive-1`)
    );
  });

  it('refuses a video with nothing running', async () => {
    // Prepare
    sfnMock
      .on(DescribeExecutionCommand, { executionArn: arn(VIDEO_ID) })
      .resolves({ name: VIDEO_ID, status: 'SUCCEEDED' })
      .on(DescribeExecutionCommand, { executionArn: arn(`${VIDEO_ID}-redrive-1`) })
      .rejects(Object.assign(new Error('none'), { name: 'ExecutionDoesNotExist' }));

    // Act
    const stop = stopVideo(targetWith(new SQSClient({ region: 'eu-west-1' })), VIDEO_ID);

    // Assess
    await expect(stop).rejects.toThrow(`video ${VIDEO_ID} has no running execution to stop`);
    expect(sfnMock.commandCalls(StopExecutionCommand)).toHaveLength(0);
  });
});
