import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { compareSequencers, currentPointerKey } from '../../contract/index.js';
import { s3 } from '../../lambdas/shared/s3.js';
import { backoffSeconds } from '../../lambdas/start-workflow/backpressure.js';
import { handler } from '../../lambdas/start-workflow/handler.js';
import { sfn } from '../../lambdas/start-workflow/logic.js';
import {
  jsonBody,
  lambdaContextFactory,
  s3ErrorFactory,
  snsRawS3Message,
  sqsEventFactory,
  sqsRecordFactory,
} from '../helpers/factories.js';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:video';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/starter';
const sfnMock = mockClient(sfn);
const sqsMock = mockClient(SQSClient);
const s3Mock = mockClient(s3);

const invoke = (event: ReturnType<typeof sqsEventFactory>) =>
  handler(event, lambdaContextFactory(), () => undefined) as Promise<{
    batchItemFailures: { itemIdentifier: string }[];
  }>;

const running = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    executionArn: `arn:exec:${i}`,
    stateMachineArn: STATE_MACHINE_ARN,
    name: `e${i}`,
    status: 'RUNNING' as const,
    startDate: new Date(),
  }));

/** The factories' default event ETag: S3 holds the object the event names unless a test says otherwise. */
const ETAG = 'd41d8cd98f00b204e9800998ecf8427e';

const upload = (key: string, messageId: string, extra: Record<string, string> = {}) =>
  sqsRecordFactory(snsRawS3Message([{ key, ...extra }]), { messageId });

describe('published layout of the per-key pointer', () => {
  it('is outputs/by-key/<sha256 of bucket/key>/current.json', () => {
    // printf '%s' 'upload-bucket/uploads/clip.mp4' | sha256sum
    expect(currentPointerKey('upload-bucket', 'uploads/clip.mp4')).toBe(
      'outputs/by-key/2f83ccc6ef6540b9e26632fe8dbb7535f4f8eea949dea5f9517e73ff172940fc/current.json'
    );
  });

  it('compares sequencers as hex padded to equal length, not as plain strings', () => {
    // Prepare: as plain strings 'FF' > '0100'; padded, 0x0100 is the newer one.
    // Act + Assess
    expect(compareSequencers('0100', 'FF')).toBe(1);
    expect(compareSequencers('FF', '0100')).toBe(-1);
    expect(compareSequencers('00ff', 'FF')).toBe(0);
  });
});

describe('backoff of an upload held back by the bound', () => {
  it('doubles with the receive count up to the cap, never below the base', () => {
    const max = () => 0.999999;
    expect(backoffSeconds(1, 5, 120, max)).toBe(5);
    expect(backoffSeconds(3, 5, 120, max)).toBe(20);
    expect(backoffSeconds(10, 5, 120, max)).toBe(120);
    expect(backoffSeconds(10, 5, 120, () => 0)).toBe(5);
  });
});

describe('start-workflow backpressure', () => {
  beforeEach(() => {
    vi.stubEnv('STATE_MACHINE_ARN', STATE_MACHINE_ARN);
    vi.stubEnv('MAX_RUNNING_WORKFLOWS', '3');
    vi.stubEnv('STARTER_QUEUE_URL', QUEUE_URL);
    vi.stubEnv('UPLOAD_BUCKET', 'upload-bucket');
    sfnMock.reset();
    sqsMock.reset();
    s3Mock.reset();
    s3Mock.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"` });
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec', startDate: new Date() });
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('at the bound starts nothing, fails the item and hides it for a backoff', async () => {
    // Prepare
    sfnMock.on(ListExecutionsCommand).resolves({ executions: running(3) });
    const record = upload('uploads/a.mp4', 'm-1', {});
    record.attributes.ApproximateReceiveCount = '3';
    // Act
    const act = invoke(sqsEventFactory([record]));
    // Assess: a batch that fails entirely throws, and the ESM returns it to the queue.
    await expect(act).rejects.toThrow('All records failed processing');
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(sfnMock).toHaveReceivedCommandWith(ListExecutionsCommand, {
      stateMachineArn: STATE_MACHINE_ARN,
      statusFilter: 'RUNNING',
      maxResults: 3,
    });
    const visibility = sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0].args[0].input;
    expect(visibility.QueueUrl).toBe(QUEUE_URL);
    expect(visibility.ReceiptHandle).toBe(record.receiptHandle);
    // Third receive: between the 5 s base and 5 × 2² = 20 s.
    expect(visibility.VisibilityTimeout).toBeGreaterThanOrEqual(5);
    expect(visibility.VisibilityTimeout).toBeLessThanOrEqual(20);
  });

  it('below the bound starts only as many as there is room for, counting once per batch', async () => {
    // Prepare: 2 of 3 running, 3 uploads in the batch.
    sfnMock.on(ListExecutionsCommand).resolves({ executions: running(2) });
    const event = sqsEventFactory([
      upload('uploads/a.mp4', 'm-1'),
      upload('uploads/b.mp4', 'm-2'),
      upload('uploads/c.mp4', 'm-3'),
    ]);
    // Act
    const res = await invoke(event);
    // Assess
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfnMock).toHaveReceivedCommandTimes(ListExecutionsCommand, 1);
    expect(res.batchItemFailures).toHaveLength(2);
    expect(sqsMock).toHaveReceivedCommandTimes(ChangeMessageVisibilityCommand, 2);
  });

  it('without MAX_RUNNING_WORKFLOWS starts everything and counts nothing', async () => {
    // Prepare
    vi.stubEnv('MAX_RUNNING_WORKFLOWS', '');
    // Act
    const res = await invoke(sqsEventFactory([upload('uploads/a.mp4', 'm-1')]));
    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(sfnMock).not.toHaveReceivedCommand(ListExecutionsCommand);
  });

  it('refuses a bound that is not a positive integer', async () => {
    vi.stubEnv('MAX_RUNNING_WORKFLOWS', 'ten');
    await expect(invoke(sqsEventFactory([upload('uploads/a.mp4', 'm-1')]))).rejects.toThrow(
      'MAX_RUNNING_WORKFLOWS must be a positive integer, got ten'
    );
  });
});

describe("the latest upload wins: the pointer names the key's current object", () => {
  const POINTER = currentPointerKey('upload-bucket', 'uploads/clip.mp4');
  const existing = (sequencer: string, videoId = 'newer-video') => ({
    bucket: 'upload-bucket',
    key: 'uploads/clip.mp4',
    videoId,
    sequencer,
    eventTime: '2026-11-22T10:00:05.000Z',
    updatedAt: '2026-11-22T10:00:06.000Z',
  });

  beforeEach(() => {
    vi.stubEnv('STATE_MACHINE_ARN', STATE_MACHINE_ARN);
    vi.stubEnv('OUTPUT_BUCKET', 'output-bucket');
    vi.stubEnv('UPLOAD_BUCKET', 'upload-bucket');
    sfnMock.reset();
    s3Mock.reset();
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec', startDate: new Date() });
  });
  afterEach(() => vi.unstubAllEnvs());

  it('a superseded version is started but never takes the pointer, even with a forged FFFF sequencer', async () => {
    // Prepare: version v1 exists (so it is processed), but the key's current version is v2.
    s3Mock.on(HeadObjectCommand).resolves({ ETag: '"other"', VersionId: 'v2' });
    s3Mock
      .on(HeadObjectCommand, { VersionId: 'v1' })
      .resolves({ ETag: `"${ETAG}"`, VersionId: 'v1' });
    s3Mock
      .on(GetObjectCommand)
      .resolves({ Body: jsonBody(existing('0055AED6DCD90281E5')), ETag: '"e1"' });
    const replayed = upload('uploads/clip.mp4', 'm-1', {
      versionId: 'v1',
      sequencer: 'FFFFFFFFFFFFFFFFFF',
    });
    // Act
    const res = await invoke(sqsEventFactory([replayed]));
    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(s3Mock).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('the current object replaces a pointer whose stored sequencer is a forged FFFF…', async () => {
    // Prepare: a forged event once wrote FFFF…; the real, current upload has a lower sequencer.
    s3Mock.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"` });
    s3Mock.on(GetObjectCommand).resolves({
      Body: jsonBody(existing('FFFFFFFFFFFFFFFFFF', 'forged-video')),
      ETag: '"e1"',
    });
    s3Mock.on(PutObjectCommand).resolves({});
    const real = upload('uploads/clip.mp4', 'm-1', { sequencer: '0055AED6DCD90281F0' });
    // Act
    await invoke(sqsEventFactory([real]));
    // Assess
    const put = s3Mock.commandCalls(PutObjectCommand)[0].args[0].input;
    expect(put).toMatchObject({ Bucket: 'output-bucket', Key: POINTER, IfMatch: '"e1"' });
    const written = JSON.parse(String(put.Body));
    expect(written.sequencer).toBe('0055AED6DCD90281F0');
    expect(written.key).toBe('uploads/clip.mp4');
    expect(written.videoId).not.toBe('forged-video');
  });

  it('a redelivered event leaves the pointer as it is', async () => {
    // Prepare: the pointer already names this upload (its videoId is derived from the same object).
    s3Mock.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"` });
    s3Mock.on(PutObjectCommand).resolves({});
    const event = upload('uploads/clip.mp4', 'm-1');
    s3Mock.on(GetObjectCommand).rejects(s3ErrorFactory('NoSuchKey', 404));
    await invoke(sqsEventFactory([event]));
    const first = JSON.parse(String(s3Mock.commandCalls(PutObjectCommand)[0].args[0].input.Body));
    s3Mock.on(GetObjectCommand).resolves({ Body: jsonBody(first), ETag: '"e1"' });
    // Act
    await invoke(sqsEventFactory([upload('uploads/clip.mp4', 'm-2')]));
    // Assess
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  });

  it('creates the pointer with If-None-Match when there is none', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"` });
    s3Mock.on(GetObjectCommand).rejects(s3ErrorFactory('NoSuchKey', 404));
    s3Mock.on(PutObjectCommand).resolves({});
    await invoke(sqsEventFactory([upload('uploads/clip.mp4', 'm-1')]));
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, { Key: POINTER, IfNoneMatch: '*' });
  });

  it('re-reads after losing a race (412) and yields once the key holds a newer object', async () => {
    // Prepare: absent at first and current; a newer upload lands and wins the write meanwhile.
    s3Mock
      .on(HeadObjectCommand)
      .resolvesOnce({ ETag: `"${ETAG}"` }) // the event's verification
      .resolvesOnce({ ETag: `"${ETAG}"` }) // current before the first write
      .resolves({ ETag: '"newer"' }); // current after the re-read
    s3Mock
      .on(GetObjectCommand)
      .rejectsOnce(s3ErrorFactory('NoSuchKey', 404))
      .resolves({ Body: jsonBody(existing('0055AED6DCD90281F0')), ETag: '"e2"' });
    s3Mock.on(PutObjectCommand).rejects(s3ErrorFactory('PreconditionFailed', 412));
    // Act
    const res = await invoke(
      sqsEventFactory([upload('uploads/clip.mp4', 'm-1', { sequencer: '0055AED6DCD90281E5' })])
    );
    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, 2);
  });
});
