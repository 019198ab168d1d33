import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { ListExecutionsCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand } from '@aws-sdk/client-sns';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ADMISSION_LEDGER_KEY,
  type Ledger,
  LedgerSchema,
  ManifestSchema,
  manifestKey,
  videoIdFor,
  type WorkflowInput,
} from '../../contract/index.js';
import { metrics } from '../../lambdas/shared/powertools.js';
import { s3 } from '../../lambdas/shared/s3.js';
import { sns } from '../../lambdas/shared/sns.js';
import { sqs } from '../../lambdas/shared/sqs.js';
import { handler } from '../../lambdas/start-workflow/handler.js';
import { sfn } from '../../lambdas/start-workflow/logic.js';
import { type RejectIo, rejectOverLimit } from '../../lambdas/start-workflow/reject.js';
import {
  lambdaContextFactory,
  snsRawS3Message,
  sqsEventFactory,
  sqsRecordFactory,
} from '../helpers/factories.js';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:video';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:processed';
const ETAG = 'd41d8cd98f00b204e9800998ecf8427e';
const s3Mock = mockClient(s3);
const sfnMock = mockClient(sfn);
const snsMock = mockClient(sns);
const sqsMock = mockClient(sqs);

const invoke = (event: ReturnType<typeof sqsEventFactory>) =>
  handler(event, lambdaContextFactory(), () => undefined) as Promise<{
    batchItemFailures: { itemIdentifier: string }[];
  }>;

/** What the starter reads of a GetObject body (transformToString only). */
const body = (text: string) => ({ transformToString: async () => text });
const notFound = () =>
  new S3ServiceException({
    name: 'NoSuchKey',
    $fault: 'client',
    $metadata: { httpStatusCode: 404 },
    message: 'no such key',
  });

const videoOf = (key: string) =>
  videoIdFor({ bucket: 'upload-bucket', key, etag: ETAG, versionId: undefined });

/** The ledger S3 holds for these tests (one object, its ETag bumped per write), and the manifests written. */
const fakeS3 = (initial: Ledger) => {
  let ledger = JSON.stringify(initial);
  let version = 1;
  const manifests = new Map<string, unknown>();
  s3Mock.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"` });
  s3Mock.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    if (input.Key === ADMISSION_LEDGER_KEY) {
      return { Body: body(ledger), ETag: `"${version}"` } as never;
    }
    const manifest = manifests.get(input.Key);
    if (manifest) return { Body: body(JSON.stringify(manifest)) } as never;
    throw notFound();
  });
  s3Mock
    .on(PutObjectCommand)
    .callsFake((input: { Key: string; Body: string; IfMatch?: string }) => {
      if (input.Key === ADMISSION_LEDGER_KEY) {
        if (input.IfMatch !== `"${version}"`) {
          throw new S3ServiceException({
            name: 'PreconditionFailed',
            $fault: 'client',
            $metadata: { httpStatusCode: 412 },
            message: 'precondition failed',
          });
        }
        ledger = input.Body;
        version++;
      } else if (input.Key.endsWith('/manifest.json')) {
        manifests.set(input.Key, JSON.parse(input.Body));
      }
      return { ETag: '"x"' };
    });
  return { manifests, ledger: () => LedgerSchema.parse(JSON.parse(ledger)) };
};

const fullLedger = (videoIds: string[]): Ledger => ({
  version: 1,
  leases: Object.fromEntries(
    videoIds.map((v) => [
      v,
      { tenant: 'acme', grantedAt: Date.now(), expiresAt: Date.now() + 3_600_000 },
    ])
  ),
  buckets: {},
});

describe('starter overflow policy over the lease ledger', () => {
  const emitted: Array<{ dims: Record<string, string>; name: string; value: number }> = [];

  beforeEach(() => {
    vi.stubEnv('STATE_MACHINE_ARN', STATE_MACHINE_ARN);
    vi.stubEnv('UPLOAD_BUCKET', 'upload-bucket');
    vi.stubEnv('OUTPUT_BUCKET', 'output-bucket');
    vi.stubEnv('ADMISSION_LEDGER_BUCKET', 'output-bucket');
    vi.stubEnv('MAX_RUNNING_WORKFLOWS', '2');
    vi.stubEnv('STARTER_QUEUE_URL', 'https://sqs.us-east-1.amazonaws.com/1/starter');
    for (const m of [s3Mock, sfnMock, snsMock, sqsMock]) m.reset();
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec', startDate: new Date() });
    snsMock.on(PublishCommand).resolves({ MessageId: 'm' });
    emitted.length = 0;
    vi.spyOn(metrics, 'singleMetric').mockImplementation(() => {
      let dims: Record<string, string> = {};
      return {
        setDefaultDimensions: (d: Record<string, string>) => {
          dims = d;
        },
        addMetric: (name: string, _unit: unknown, value: number) => {
          emitted.push({ dims, name, value });
        },
      } as unknown as ReturnType<typeof metrics.singleMetric>;
    });
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('reject: uploads over the bound get a FAILED manifest and event, one Rejected count per tenant per batch', async () => {
    // Prepare: the bound (2) is held by two RUNNING executions.
    vi.stubEnv('UPLOAD_OVERFLOW_POLICY', 'reject');
    vi.stubEnv('PROCESSED_TOPIC_ARN', TOPIC);
    const s3State = fakeS3(fullLedger(['acme--held-1', 'acme--held-2']));
    sfnMock.on(ListExecutionsCommand).resolves({
      executions: ['acme--held-1', 'acme--held-2'].map((name) => ({
        name,
        executionArn: `arn:${name}`,
        stateMachineArn: STATE_MACHINE_ARN,
        status: 'RUNNING',
        startDate: new Date(),
      })),
    });
    const keys = ['uploads/acme/one.mp4', 'uploads/acme/two.mp4'];
    const event = sqsEventFactory(keys.map((key) => sqsRecordFactory(snsRawS3Message([{ key }]))));

    // Act
    const res = await invoke(event);

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
    for (const key of keys) {
      const manifest = ManifestSchema.parse(s3State.manifests.get(manifestKey(videoOf(key))));
      expect(manifest).toMatchObject({
        status: 'FAILED',
        reason: 'rejected: over running bound 2',
        tenant: 'acme',
        ending: null,
        execution: null,
      });
    }
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 2);
    const published = snsMock.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(JSON.parse(published.Message!)).toMatchObject({
      status: 'FAILED',
      reason: 'rejected: over running bound 2',
    });
    expect(published.MessageAttributes?.status?.StringValue).toBe('FAILED');
    expect(emitted.filter((m) => m.name === 'Rejected')).toEqual([
      { dims: { input: 'uploads', tenant: 'other' }, name: 'Rejected', value: 2 },
    ]);
    // The held leases are untouched: nothing was admitted.
    expect(Object.keys(s3State.ledger().leases).sort()).toEqual(['acme--held-1', 'acme--held-2']);
  });

  it('block (the default): an upload over its rate waits in the queue at least until its next token', async () => {
    // Prepare: acme may start 1 a minute and just did.
    vi.stubEnv('TENANT_RATE_LIMITS', JSON.stringify({ default: 60, tenants: { acme: 1 } }));
    vi.stubEnv('MAX_RUNNING_WORKFLOWS', '10');
    vi.stubEnv('BACKPRESSURE_MAX_SECONDS', '5');
    const s3State = fakeS3({
      version: 1,
      leases: {},
      buckets: { acme: { tokens: 0, at: Date.now() } },
    });
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
    const record = sqsRecordFactory(snsRawS3Message([{ key: 'uploads/acme/late.mp4' }]));

    // Act
    const res = invoke(sqsEventFactory([record]));

    // Assess: a batch that fails entirely throws, so SQS keeps the message.
    await expect(res).rejects.toThrow(/All records failed/);
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(s3State.manifests.size).toBe(0);
    const visibility = sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0]!.args[0].input;
    // One token a minute, none left: the next is due in about 60 s, past the 5 s backoff cap.
    expect(visibility.VisibilityTimeout).toBeGreaterThanOrEqual(55);
    expect(visibility.VisibilityTimeout).toBeLessThanOrEqual(60);
  });

  it('admits under the bound with a lease, and refuses a second upload of a tenant over its rate', async () => {
    // Prepare
    vi.stubEnv('UPLOAD_OVERFLOW_POLICY', 'reject');
    vi.stubEnv('PROCESSED_TOPIC_ARN', TOPIC);
    vi.stubEnv('TENANT_RATE_LIMITS', JSON.stringify({ default: 1 }));
    const s3State = fakeS3({ version: 1, leases: {}, buckets: {} });
    const keys = ['uploads/acme/first.mp4', 'uploads/acme/second.mp4'];
    const event = sqsEventFactory(keys.map((key) => sqsRecordFactory(snsRawS3Message([{ key }]))));

    // Act
    const res = await invoke(event);

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfnMock).toHaveReceivedCommandWith(StartExecutionCommand, { name: videoOf(keys[0]!) });
    expect(Object.keys(s3State.ledger().leases)).toEqual([videoOf(keys[0]!)]);
    expect(s3State.manifests.get(manifestKey(videoOf(keys[1]!)))).toMatchObject({
      status: 'FAILED',
      reason: 'rejected: over rate limit 1/min (acme)',
    });
  });
});

describe('a redelivered rejection', () => {
  beforeEach(() => {
    vi.stubEnv('STATE_MACHINE_ARN', STATE_MACHINE_ARN);
    vi.stubEnv('UPLOAD_BUCKET', 'upload-bucket');
    vi.stubEnv('OUTPUT_BUCKET', 'output-bucket');
    vi.stubEnv('ADMISSION_LEDGER_BUCKET', 'output-bucket');
    vi.stubEnv('MAX_RUNNING_WORKFLOWS', '2');
    vi.stubEnv('UPLOAD_OVERFLOW_POLICY', 'reject');
    vi.stubEnv('PROCESSED_TOPIC_ARN', TOPIC);
    for (const m of [s3Mock, sfnMock, snsMock, sqsMock]) m.reset();
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec', startDate: new Date() });
    snsMock.on(PublishCommand).resolves({ MessageId: 'm' });
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('stays rejected when it comes back with room free: no execution over its FAILED verdict', async () => {
    // Prepare: rejected on the first receive (bound full); the bound is free now.
    const key = 'uploads/acme/late.mp4';
    const s3State = fakeS3(fullLedger(['acme--held-1', 'acme--held-2']));
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    const first = sqsRecordFactory(snsRawS3Message([{ key }]));
    await invoke(sqsEventFactory([first]));
    const reason = (s3State.manifests.get(manifestKey(videoOf(key))) as { reason: string }).reason;
    const freed = fakeS3({ version: 1, leases: {}, buckets: {} });
    freed.manifests.set(
      manifestKey(videoOf(key)),
      s3State.manifests.get(manifestKey(videoOf(key)))
    );
    snsMock.resetHistory();
    const again = sqsRecordFactory(snsRawS3Message([{ key }]), {
      attributes: { ...first.attributes, ApproximateReceiveCount: '2' },
    });

    // Act
    const res = await invoke(sqsEventFactory([again]));

    // Assess: the held leases were not running (a listing of none), yet nothing started.
    expect(reason).toBe('rejected: over running bound 2');
    expect(res.batchItemFailures).toEqual([]);
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(Object.keys(freed.ledger().leases)).toEqual([]);
    // The event is published again (the first attempt may have failed before it).
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(JSON.parse(snsMock.commandCalls(PublishCommand)[0]!.args[0].input.Message!).reason).toBe(
      reason
    );
  });
});

describe('rejectOverLimit', () => {
  const input: WorkflowInput = {
    videoId: 'acme--clip-0123456789abcdef',
    tenant: 'acme',
    source: { bucket: 'upload-bucket', key: 'uploads/acme/clip.mp4', etag: ETAG },
  };
  const fakeIo = (existing?: unknown) => {
    const io = {
      putIfAbsent: vi.fn(
        async (): Promise<'written' | 'exists'> => (existing === undefined ? 'written' : 'exists')
      ),
      getJson: vi.fn(async () => existing),
      publish: vi.fn(async () => undefined),
    } satisfies RejectIo;
    return io;
  };
  const target = { outputBucket: 'output-bucket', topicArn: TOPIC };

  it('publishes again when its own rejection is already there (a publish that failed before)', async () => {
    // Prepare
    const io = fakeIo({ status: 'FAILED', reason: 'rejected: over tenant quota 3 (acme)' });

    // Act
    const outcome = await rejectOverLimit(input, 'rejected: over running bound 10', target, io);

    // Assess
    expect(outcome).toBe('republished');
    expect(io.publish).toHaveBeenCalledWith(
      TOPIC,
      expect.objectContaining({ reason: 'rejected: over tenant quota 3 (acme)' }),
      expect.objectContaining({ status: 'FAILED' }),
      'acme'
    );
  });

  it("never announces over another manifest: the aggregator's verdict stands", async () => {
    // Prepare
    const io = fakeIo({ status: 'COMPLETE', reason: null });

    // Act
    const outcome = await rejectOverLimit(input, 'rejected: over running bound 10', target, io);

    // Assess
    expect(outcome).toBe('kept');
    expect(io.publish).not.toHaveBeenCalled();
  });
});
