import { randomUUID } from 'node:crypto';
import { S3ServiceException } from '@aws-sdk/client-s3';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import type {
  Branch,
  BranchInput,
  BranchResult,
  ProbeResult,
  S3EventRecord,
  SourceObject,
} from '../../contract/index.js';

/** A full SQS record around `body`, with a fresh messageId like a real delivery. */
export const sqsRecordFactory = (body: string, overrides: Partial<SQSRecord> = {}): SQSRecord => ({
  messageId: randomUUID(),
  receiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a',
  body,
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: '1545082649183',
    SenderId: 'AIDAIENQZJOLO23YVJ4VO',
    ApproximateFirstReceiveTimestamp: '1545082649185',
  },
  messageAttributes: {},
  md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:uploads-queue',
  awsRegion: 'us-east-1',
  ...overrides,
});

export const sqsEventFactory = (records: SQSRecord[]): SQSEvent => ({ Records: records });

export interface S3RecordOptions {
  bucket?: string;
  /** Already URL-encoded, as S3 sends it. */
  key?: string;
  size?: number;
  eTag?: string;
  versionId?: string;
  eventName?: string;
  eventTime?: string;
  /** S3's per-key ordering token (hex). */
  sequencer?: string;
}

/** One S3 notification record, shaped like the S3 documentation's example. */
export const s3EventRecordFactory = ({
  bucket = 'upload-bucket',
  key = 'uploads/clip.mp4',
  size = 1024,
  eTag = 'd41d8cd98f00b204e9800998ecf8427e',
  versionId,
  eventName = 'ObjectCreated:Put',
  eventTime = '2026-11-22T10:00:00.000Z',
  sequencer = '0055AED6DCD90281E5',
}: S3RecordOptions = {}): S3EventRecord & Record<string, unknown> => ({
  eventVersion: '2.1',
  eventSource: 'aws:s3',
  awsRegion: 'us-east-1',
  eventTime,
  eventName,
  userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
  requestParameters: { sourceIPAddress: '127.0.0.1' },
  responseElements: {
    'x-amz-request-id': 'C3D13FE58DE4C810',
    'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD',
  },
  s3: {
    s3SchemaVersion: '1.0',
    configurationId: 'uploads',
    bucket: {
      name: bucket,
      ownerIdentity: { principalId: 'A3NL1KOZZKExample' },
      arn: `arn:aws:s3:::${bucket}`,
    },
    object: {
      key,
      size,
      eTag,
      ...(versionId ? { versionId } : {}),
      sequencer,
    },
  } as S3EventRecord['s3'],
});

export const s3EventFactory = (records: S3RecordOptions[] = [{}]) => ({
  Records: records.map(s3EventRecordFactory),
});

/** An SQS body as raw SNS delivery hands it over: the S3 notification itself. */
export const snsRawS3Message = (records: S3RecordOptions[] = [{}]): string =>
  JSON.stringify(s3EventFactory(records));

/** The same notification inside an SNS envelope (raw delivery off). */
export const snsEnvelopedS3Message = (records: S3RecordOptions[] = [{}]): string =>
  JSON.stringify({
    Type: 'Notification',
    MessageId: randomUUID(),
    TopicArn: 'arn:aws:sns:us-east-1:123456789012:uploads',
    Message: snsRawS3Message(records),
    Timestamp: '2026-11-22T10:00:01.000Z',
  });

export const s3TestEventMessage = (): string =>
  JSON.stringify({
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: '2026-11-22T10:00:00.000Z',
    Bucket: 'upload-bucket',
    RequestId: '5582815E1AEA5ADF',
    HostId: '8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE',
  });

export const lambdaContextFactory = (remainingMs = 60_000): Context => {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'test-fn',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:test-fn',
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/test-fn',
    logStreamName: '2026/11/22/[$LATEST]abc',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

export const sourceFactory = (overrides: Partial<SourceObject> = {}): SourceObject => ({
  bucket: 'upload-bucket',
  key: 'uploads/clip.mp4',
  versionId: 'v1',
  etag: 'd41d8cd98f00b204e9800998ecf8427e',
  size: 1024,
  ...overrides,
});

export const probeFactory = (overrides: Partial<ProbeResult> = {}): ProbeResult => ({
  durationSec: 3,
  width: 640,
  height: 360,
  videoCodec: 'h264',
  audioCodec: 'aac',
  frameRate: 25,
  formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
  sizeBytes: 53_323,
  bitRate: 142_000,
  ...overrides,
});

export const branchResultFactory = (
  branch: Branch,
  overrides: Partial<BranchResult> = {}
): BranchResult => ({
  id: branch.id,
  kind: branch.kind,
  status: 'SUCCEEDED',
  artifacts: [
    { key: `outputs/v/${branch.id}`, contentType: 'application/octet-stream', bytes: 10 },
  ],
  error: null,
  durationMs: 120,
  finishedAt: '2026-11-22T10:00:05.000Z',
  ...overrides,
});

/** One Map iteration's input, as the state machine's ItemSelector builds it. */
export const branchInputFactory = (
  branch: Branch,
  overrides: Partial<BranchInput> = {}
): BranchInput => ({
  videoId: 'clip-0123456789abcdef',
  tenant: 'default',
  source: sourceFactory(),
  probe: probeFactory(),
  branch,
  ...overrides,
});

/** An S3 service error as the SDK raises it (name + HTTP status). */
export const s3ErrorFactory = (name: string, httpStatusCode: number): S3ServiceException =>
  new S3ServiceException({
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode },
    message: name,
  });

/** A GetObject Body with the SDK's transformToString (what getJson reads). */
export const jsonBody = (value: unknown) =>
  ({ transformToString: async () => JSON.stringify(value) }) as never;
