import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import { HeadObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import {
  ExecutionAlreadyExists,
  SFNServiceException,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { videoIdFor } from '../../contract/index.js';
import { logger, metrics } from '../../lambdas/shared/powertools.js';
import { s3 } from '../../lambdas/shared/s3.js';
import { sqs } from '../../lambdas/shared/sqs.js';
import { handler } from '../../lambdas/start-workflow/handler.js';
import { sfn } from '../../lambdas/start-workflow/logic.js';
import {
  lambdaContextFactory,
  s3TestEventMessage,
  snsEnvelopedS3Message,
  snsRawS3Message,
  sqsEventFactory,
  sqsRecordFactory,
} from '../helpers/factories.js';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:video';
const sfnMock = mockClient(sfn);
const sqsMock = mockClient(sqs);
const s3Mock = mockClient(s3);
/** The factories' default event ETag. */
const ETAG = 'd41d8cd98f00b204e9800998ecf8427e';

const invoke = (event: ReturnType<typeof sqsEventFactory>) =>
  handler(event, lambdaContextFactory(), () => undefined) as Promise<{
    batchItemFailures: { itemIdentifier: string }[];
  }>;

const throttled = () =>
  new SFNServiceException({
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'Rate exceeded',
  });

describe('start-workflow handler', () => {
  beforeEach(() => {
    vi.stubEnv('STATE_MACHINE_ARN', STATE_MACHINE_ARN);
    vi.stubEnv('UPLOAD_BUCKET', 'upload-bucket');
    sfnMock.reset();
    sqsMock.reset();
    s3Mock.reset();
    // S3 holds the object each event names, unless a test says otherwise.
    s3Mock.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"` });
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec', startDate: new Date() });
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('starts one execution named after the videoId with the parsed source as input', async () => {
    // Prepare
    const body = snsRawS3Message([{ key: 'uploads/clip.mp4', versionId: 'v1', size: 53323 }]);
    const source = {
      bucket: 'upload-bucket',
      key: 'uploads/clip.mp4',
      versionId: 'v1',
      etag: 'd41d8cd98f00b204e9800998ecf8427e',
      size: 53323,
    };
    // printf '%s' 'upload-bucket/uploads/clip.mp4#v1' | sha256sum | cut -c1-16
    const videoId = 'clip-0e157236a73531b6';

    // Act
    const res = await invoke(sqsEventFactory([sqsRecordFactory(body)]));

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    const call = sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input;
    expect(call.stateMachineArn).toBe(STATE_MACHINE_ARN);
    expect(call.name).toBe(videoId);
    // uploadedAt: the S3 event time of the notification (the factory's eventTime).
    expect(JSON.parse(call.input ?? '')).toEqual({
      videoId,
      tenant: 'default',
      source,
      uploadedAt: '2026-11-22T10:00:00.000Z',
    });
  });

  it("carries the key's tenant in the workflow input", async () => {
    // Prepare
    const body = snsRawS3Message([{ key: 'uploads/acme/2026/clip.mp4' }]);

    // Act
    const res = await invoke(sqsEventFactory([sqsRecordFactory(body)]));

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    const call = sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input;
    expect(JSON.parse(call.input ?? '')).toMatchObject({
      tenant: 'acme',
      source: { key: 'uploads/acme/2026/clip.mp4' },
    });
  });

  it('starts a folder name that is not a tenant name under its folded tenant, instead of refusing it', async () => {
    // Prepare
    const upload = sqsRecordFactory(snsRawS3Message([{ key: 'uploads/Acme%20Corp/clip.mp4' }]));

    // Act
    const res = await invoke(sqsEventFactory([upload]));

    // Assess: started once, as tenant acme-corp, with the key as uploaded
    expect(res.batchItemFailures).toEqual([]);
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    const call = sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input;
    expect(call.name).toMatch(/^acme-corp--clip-[0-9a-f]{16}$/);
    expect(JSON.parse(call.input ?? '')).toMatchObject({
      tenant: 'acme-corp',
      source: { key: 'uploads/Acme Corp/clip.mp4' },
    });
  });

  it.each([
    {
      description: "'+' as space",
      encoded: 'uploads/my+holiday+clip.mp4',
      decoded: 'uploads/my holiday clip.mp4',
    },
    {
      description: '%20 as space',
      encoded: 'uploads/my%20clip.mp4',
      decoded: 'uploads/my clip.mp4',
    },
    {
      description: 'UTF-8 escapes',
      encoded: 'uploads/caf%C3%A9%2B1.mov',
      decoded: 'uploads/café+1.mov',
    },
  ])('decodes URL-encoded keys: $description', async ({ encoded, decoded }) => {
    // Prepare
    const body = snsRawS3Message([{ key: encoded }]);

    // Act
    await invoke(sqsEventFactory([sqsRecordFactory(body)]));

    // Assess
    const input = JSON.parse(
      sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input.input ?? ''
    );
    expect(input.source.key).toBe(decoded);
  });

  it('treats ExecutionAlreadyExists as a handled duplicate and counts it', async () => {
    // Prepare
    sfnMock
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    const res = await invoke(sqsEventFactory([sqsRecordFactory(snsRawS3Message())]));

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(addMetric).toHaveBeenCalledWith('DuplicateUploadIgnored', 'Count', 1);
    expect(addMetric).not.toHaveBeenCalledWith('WorkflowsStarted', 'Count', 1);
  });

  it('starts the same execution name for a redelivered event (same object version)', async () => {
    // Prepare
    const body = snsRawS3Message([{ key: 'uploads/a.mp4', versionId: 'v7' }]);

    // Act
    await invoke(sqsEventFactory([sqsRecordFactory(body), sqsRecordFactory(body)]));

    // Assess
    const names = sfnMock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
    expect(names).toHaveLength(2);
    expect(names[0]).toBe(names[1]);
  });

  it('reports only the throttled record as a batch item failure', async () => {
    // Prepare
    sfnMock
      .on(StartExecutionCommand, {
        name: videoIdFor({ bucket: 'upload-bucket', key: 'uploads/slow.mp4', versionId: 'v1' }),
      })
      .rejects(throttled());
    const ok = sqsRecordFactory(snsRawS3Message([{ key: 'uploads/fast.mp4', versionId: 'v1' }]));
    const slow = sqsRecordFactory(snsRawS3Message([{ key: 'uploads/slow.mp4', versionId: 'v1' }]));

    // Act
    const res = await invoke(sqsEventFactory([ok, slow]));

    // Assess
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: slow.messageId }]);
  });

  it.each([
    { description: 'not JSON', body: '{"Records": [' },
    { description: 'JSON but not an S3 event', body: '{"foo":"bar"}' },
    {
      description: 'a record without a bucket',
      body: '{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"object":{"key":"uploads/a.mp4"}}}]}',
    },
    {
      description: 'a key with broken URL encoding',
      body: snsRawS3Message([{ key: 'uploads/%E0%A4%A.mp4' }]),
    },
  ])('fails only the malformed record: $description', async ({ body }) => {
    // Prepare
    const good = sqsRecordFactory(snsRawS3Message());
    const bad = sqsRecordFactory(body);

    // Act
    const res = await invoke(sqsEventFactory([good, bad]));

    // Assess
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: bad.messageId }]);
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('moves a poison record straight to the DLQ with its reason when one is configured', async () => {
    // Prepare
    vi.stubEnv('DEAD_LETTER_QUEUE_URL', 'http://127.0.0.1:4566/000000000000/starter-dlq');
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });
    sfnMock.on(StartExecutionCommand).rejectsOnce(throttled());
    const poison = sqsRecordFactory('{"Records": [');
    const busy = sqsRecordFactory(snsRawS3Message([{ key: 'uploads/busy.mp4' }]));

    // Act
    const res = await invoke(sqsEventFactory([poison, busy]));

    // Assess: the poison is acknowledged (it is in the DLQ); the throttled upload is retried.
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: busy.messageId }]);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    const sent = sqsMock.commandCalls(SendMessageCommand)[0].args[0].input;
    expect(sent.QueueUrl).toBe('http://127.0.0.1:4566/000000000000/starter-dlq');
    expect(sent.MessageBody).toBe('{"Records": [');
    expect(sent.MessageAttributes?.['error-name']?.StringValue).toBe('InvalidEventError');
    expect(sent.MessageAttributes?.['error-message']?.StringValue).toBe(
      'SQS body is not JSON: {"Records": ['
    );
    expect(sent.MessageAttributes?.['source-message-id']?.StringValue).toBe(poison.messageId);
  });

  it('still retries a poison record when no DLQ is configured (nothing is lost)', async () => {
    // Prepare
    const poison = sqsRecordFactory('{"Records": [');
    const good = sqsRecordFactory(snsRawS3Message());

    // Act
    const res = await invoke(sqsEventFactory([poison, good]));

    // Assess
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: poison.messageId }]);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 0);
  });

  it('ignores s3:TestEvent bodies without starting anything', async () => {
    // Prepare
    const record = sqsRecordFactory(s3TestEventMessage());

    // Act
    const res = await invoke(sqsEventFactory([record, sqsRecordFactory(snsRawS3Message())]));

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('starts uploads with any extension but skips keys outside uploads/ and folder markers', async () => {
    // Prepare
    const body = snsRawS3Message([
      { key: 'uploads/notes.txt' },
      { key: 'outputs/x/manifest.json' },
      { key: 'uploads/folder/' },
      { key: 'uploads/a.mp4', eventName: 'ObjectRemoved:Delete' },
    ]);

    // Act
    const res = await invoke(sqsEventFactory([sqsRecordFactory(body)]));

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    const names = sfnMock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
    expect(names).toEqual([expect.stringMatching(/^notes-[0-9a-f]{16}$/)]);
  });

  it('unwraps an SNS envelope when raw delivery is off', async () => {
    // Prepare
    const record = sqsRecordFactory(snsEnvelopedS3Message([{ key: 'uploads/wrapped.mp4' }]));

    // Act
    const res = await invoke(sqsEventFactory([record]));

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(sfnMock).toHaveReceivedCommandWith(StartExecutionCommand, {
      name: expect.stringMatching(/^wrapped-/),
    });
  });

  it('handles a mixed batch: started, duplicate, test event, malformed, throttled', async () => {
    // Prepare
    const dupId = videoIdFor({ bucket: 'upload-bucket', key: 'uploads/dup.mp4', versionId: 'v1' });
    const slowId = videoIdFor({
      bucket: 'upload-bucket',
      key: 'uploads/slow.mp4',
      versionId: 'v1',
    });
    sfnMock
      .on(StartExecutionCommand, { name: dupId })
      .rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }))
      .on(StartExecutionCommand, { name: slowId })
      .rejects(throttled());
    const records = [
      sqsRecordFactory(snsRawS3Message([{ key: 'uploads/new.mp4', versionId: 'v1' }])),
      sqsRecordFactory(snsRawS3Message([{ key: 'uploads/dup.mp4', versionId: 'v1' }])),
      sqsRecordFactory(s3TestEventMessage()),
      sqsRecordFactory('not json'),
      sqsRecordFactory(snsRawS3Message([{ key: 'uploads/slow.mp4', versionId: 'v1' }])),
    ];

    // Act
    const res = await invoke(sqsEventFactory(records));

    // Assess
    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      [records[3].messageId, records[4].messageId].sort()
    );
  });

  it('throws when every record fails, so the whole batch is retried', async () => {
    // Prepare
    const event = sqsEventFactory([sqsRecordFactory('x'), sqsRecordFactory('y')]);

    // Act
    const result = invoke(event);

    // Assess
    await expect(result).rejects.toThrow(/All records failed/);
  });
});

describe('start-workflow verifies each event against S3 before it acts', () => {
  const rejected = () =>
    vi.mocked(metrics.addMetric).mock.calls.filter(([name]) => name === 'UploadEventsRejected')
      .length;

  beforeEach(() => {
    vi.stubEnv('STATE_MACHINE_ARN', STATE_MACHINE_ARN);
    vi.stubEnv('UPLOAD_BUCKET', 'upload-bucket');
    sfnMock.reset();
    sqsMock.reset();
    s3Mock.reset();
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec', startDate: new Date() });
    vi.spyOn(metrics, 'addMetric');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('pins the HEAD to the event ETag with If-Match when the event has no versionId', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"` });
    // Act
    await invoke(sqsEventFactory([sqsRecordFactory(snsRawS3Message([{ key: 'uploads/a.mp4' }]))]));
    // Assess
    expect(s3Mock).toHaveReceivedCommandWith(HeadObjectCommand, {
      Bucket: 'upload-bucket',
      Key: 'uploads/a.mp4',
      IfMatch: `"${ETAG}"`,
    });
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('pins the HEAD to the event versionId when it has one', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"`, VersionId: 'v7' });
    await invoke(
      sqsEventFactory([
        sqsRecordFactory(snsRawS3Message([{ key: 'uploads/a.mp4', versionId: 'v7' }])),
      ])
    );
    expect(s3Mock).toHaveReceivedCommandWith(HeadObjectCommand, {
      Key: 'uploads/a.mp4',
      VersionId: 'v7',
    });
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it.each([
    [
      'a fake ETag S3 refuses with 412',
      new S3ServiceException({
        name: 'PreconditionFailed',
        $fault: 'client',
        $metadata: { httpStatusCode: 412 },
        message: 'x',
      }),
      'other-bytes',
    ],
    [
      'a missing object (404)',
      new S3ServiceException({
        name: 'NotFound',
        $fault: 'client',
        $metadata: { httpStatusCode: 404 },
        message: 'x',
      }),
      'not-in-s3',
    ],
    [
      'a version that never existed',
      new S3ServiceException({
        name: 'NoSuchVersion',
        $fault: 'client',
        $metadata: { httpStatusCode: 404 },
        message: 'x',
      }),
      'not-in-s3',
    ],
  ])(
    'drops an event naming %s: nothing started, no DLQ, one metric',
    async (_label, error, reason) => {
      // Prepare
      s3Mock.on(HeadObjectCommand).rejects(error);
      vi.stubEnv('DEAD_LETTER_QUEUE_URL', 'https://sqs/dlq');
      const warn = vi.spyOn(logger, 'warn');
      const body = snsRawS3Message([
        {
          key: 'uploads/a.mp4',
          eTag: 'ffffffffffffffffffffffffffffffff',
          sequencer: 'FFFFFFFFFFFFFFFFFF',
        },
      ]);
      // Act
      const res = await invoke(sqsEventFactory([sqsRecordFactory(body)]));
      // Assess: acknowledged (deleted), not retried, not dead-lettered, not started.
      expect(res.batchItemFailures).toEqual([]);
      expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
      expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
      expect(rejected()).toBe(1);
      expect(warn).toHaveBeenCalledWith(
        'Upload event rejected: it does not match S3',
        expect.objectContaining({ reason, key: 'uploads/a.mp4' })
      );
    }
  );

  it('drops an event whose ETag differs from what S3 answers, even if S3 ignored If-Match', async () => {
    // Prepare: an S3 that does not evaluate If-Match on HEAD (fauxqs 2.4.1) answers the current ETag.
    s3Mock.on(HeadObjectCommand).resolves({ ETag: '"0123456789abcdef0123456789abcdef"' });
    // Act
    const res = await invoke(sqsEventFactory([sqsRecordFactory(snsRawS3Message([{}]))]));
    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(rejected()).toBe(1);
  });

  it('drops an event of another bucket without asking S3 or starting anything', async () => {
    const body = snsRawS3Message([{ bucket: 'output-bucket', key: 'uploads/a.mp4' }]);
    const res = await invoke(sqsEventFactory([sqsRecordFactory(body)]));
    expect(res.batchItemFailures).toEqual([]);
    expect(s3Mock).not.toHaveReceivedCommand(HeadObjectCommand);
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(rejected()).toBe(1);
  });

  it('counts a key outside uploads/ as rejected too', async () => {
    const body = snsRawS3Message([{ key: 'outputs/x/manifest.json' }]);
    const res = await invoke(sqsEventFactory([sqsRecordFactory(body)]));
    expect(res.batchItemFailures).toEqual([]);
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(rejected()).toBe(1);
  });

  it('drops an event that names neither a versionId nor an ETag', async () => {
    const body = snsRawS3Message([{ key: 'uploads/a.mp4', eTag: '' }]);
    const res = await invoke(sqsEventFactory([sqsRecordFactory(body)]));
    expect(res.batchItemFailures).toEqual([]);
    expect(s3Mock).not.toHaveReceivedCommand(HeadObjectCommand);
    expect(rejected()).toBe(1);
  });

  it('keeps an event retryable when S3 is throttling (TransientServiceError), without starting it', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"` });
    s3Mock.on(HeadObjectCommand, { Key: 'uploads/slow.mp4' }).rejects(
      new S3ServiceException({
        name: 'SlowDown',
        $fault: 'server',
        $metadata: { httpStatusCode: 503 },
        message: 'slow',
      })
    );
    const record = sqsRecordFactory(snsRawS3Message([{ key: 'uploads/slow.mp4' }]), {
      messageId: 'm-slow',
    });
    const other = sqsRecordFactory(snsRawS3Message([{}]), { messageId: 'm-ok' });
    // Act
    const res = await invoke(sqsEventFactory([record, other]));
    // Assess: only the healthy upload started.
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'm-slow' }]);
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(rejected()).toBe(0);
  });
});
