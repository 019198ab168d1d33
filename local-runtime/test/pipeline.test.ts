import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { PublishCommand } from '@aws-sdk/client-sns';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRuntime } from '../src/index.js';
import {
  type Fixture,
  receiveExactly,
  silent,
  startFixture,
  waitFor,
  waitForEmptyQueue,
} from './helpers.js';

describe('S3 -> SNS -> SQS -> Lambda -> Step Functions', { timeout: 60_000 }, () => {
  let fx: Fixture;

  beforeAll(async () => {
    // Prepare (shared): one runtime for the file.
    fx = await startFixture();
  }, 120_000);
  afterAll(() => fx?.close());

  it('runs the whole pipeline from an upload, honouring the notification filter', async () => {
    // Prepare
    const bucket = fx.rt.outputs.UploadsBucketName;
    const arn = fx.rt.outputs.StateMachineArn;

    const ingestQueue = fx.rt.model.queues.find((q) => q.logicalId.startsWith('IngestQueue'))!;
    const ingest = fx.rt.model.functions.find((f) => f.logicalId.startsWith('Ingest'))!;

    // Act: two uploads the filter (uploads/*.mp4) rejects, then one it accepts. Their
    // notifications are raised in upload order, so once the last one is through, a
    // wrongly accepted earlier one would have been too.
    await fx.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'uploads/notes.txt', Body: 'no' })
    );
    await fx.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'elsewhere/clip 2.mp4', Body: 'no' })
    );
    await fx.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'uploads/my clip 5.mp4', Body: 'x'.repeat(42) })
    );

    // Assess
    const exec = await waitFor(async () => {
      const l = await fx.sfn.send(
        new ListExecutionsCommand({ stateMachineArn: arn, statusFilter: 'SUCCEEDED' })
      );
      return l.executions?.[0];
    });
    expect(exec.name).toBe('uploads_my_clip_5_mp4');
    const d = await fx.sfn.send(new DescribeExecutionCommand({ executionArn: exec.executionArn }));
    expect(JSON.parse(d.input!)).toMatchObject({ bucket, key: 'uploads/my clip 5.mp4', size: 42 });
    expect(JSON.parse(d.output!)).toMatchObject({
      count: 5,
      succeeded: 5,
      maxOverlap: 2,
      errors: [],
    });
    await waitForEmptyQueue(fx.sqs, ingestQueue.url);
    await waitFor(() => fx.rt.lambda.inFlight(ingest.name) === 0);
    const all = await fx.sfn.send(new ListExecutionsCommand({ stateMachineArn: arn }));
    expect(all.executions).toHaveLength(1); // .txt and other prefixes were filtered out
    expect(
      fx.logs.some(
        (l) => l.includes('started uploads_my_clip_5_mp4') && l.startsWith('[FixtureStack-Ingest')
      )
    ).toBe(true);
  });

  it('delivers S3 event records for Put, Copy and CompleteMultipartUpload (custom-resource notification shape)', async () => {
    // Prepare
    const bucket = fx.rt.outputs.DirectBucketName;

    // Act: Put, an ignored Put (suffix filter), Copy, and a multipart upload.
    await fx.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'a dir/put file.txt', Body: 'hello' })
    );
    await fx.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'ignored.bin', Body: 'x' }));
    await fx.s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: 'copy.txt',
        CopySource: `${bucket}/a dir/put file.txt`,
      })
    );
    const { UploadId } = await fx.s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'multi.txt' })
    );
    const part = await fx.s3.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: 'multi.txt',
        UploadId,
        PartNumber: 1,
        Body: 'part-one',
      })
    );
    await fx.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'multi.txt',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      })
    );

    // Assess
    const msgs = await receiveExactly(fx.sqs, fx.rt.outputs.DirectQueueUrl, 3);
    const records = msgs.map((m) => JSON.parse(m.Body!).Records[0]);
    const byKey = Object.fromEntries(records.map((r) => [r.s3.object.key, r]));
    expect(Object.keys(byKey).sort()).toEqual(['a+dir/put+file.txt', 'copy.txt', 'multi.txt']);
    expect(byKey['a+dir/put+file.txt']).toMatchObject({
      eventSource: 'aws:s3',
      eventName: 'ObjectCreated:Put',
      awsRegion: 'us-east-1',
      s3: { bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { size: 5 } },
    });
    expect(byKey['a+dir/put+file.txt'].s3.object.eTag).toMatch(/^[0-9a-f]{32}$/);
    expect(byKey['copy.txt'].eventName).toBe('ObjectCreated:Copy');
    expect(byKey['multi.txt'].eventName).toBe('ObjectCreated:CompleteMultipartUpload');
    const seq = records.map((r) => BigInt(`0x${r.s3.object.sequencer}`));
    expect(new Set(seq).size).toBe(3);
  });

  it('applies SNS filter policies and raw message delivery', async () => {
    // Prepare
    const topic = fx.rt.outputs.EventsTopicArn;
    const publish = (message: string, kind: string) =>
      fx.sns.send(
        new PublishCommand({
          TopicArn: topic,
          Message: message,
          MessageAttributes: { kind: { DataType: 'String', StringValue: kind } },
        })
      );

    // Act
    await publish('{"n":1}', 'video');
    await publish('{"n":2}', 'audio');

    // Assess
    // fauxqs fans a Publish out before answering it: both queues are complete now.
    const raw = await receiveExactly(fx.sqs, fx.rt.outputs.RawQueueUrl, 1);
    expect(raw.map((m) => m.Body)).toEqual(['{"n":1}']); // filtered + raw body
    const env = await receiveExactly(fx.sqs, fx.rt.outputs.EnvelopeQueueUrl, 2);
    const envelopes = env.map((m) => JSON.parse(m.Body!));
    expect(envelopes.map((e) => e.Message).sort()).toEqual(['{"n":1}', '{"n":2}']);
    expect(envelopes[0]).toMatchObject({ Type: 'Notification', TopicArn: topic });
    expect(envelopes[0].MessageAttributes.kind).toMatchObject({ Type: 'String' });
  });

  it('answers S3 errors raised by the store with their S3 code and status', async () => {
    // Prepare: the runtime runs in this process here (the S3 store class is loaded
    // apart from fauxqs's entry; its errors must still be fauxqs's S3Error).
    const bucket = fx.rt.outputs.DirectBucketName;

    // Act
    const missing = await fx.s3
      .send(new GetObjectCommand({ Bucket: bucket, Key: 'no/such/key.bin' }))
      .catch((e: Error) => e);
    const noBucket = await fx.s3
      .send(new GetObjectCommand({ Bucket: 'no-such-bucket-here', Key: 'k' }))
      .catch((e: Error) => e);

    // Assess
    expect(missing).toMatchObject({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    expect(noBucket).toMatchObject({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
  });

  it('writes outputs like cdk deploy --outputs-file', async () => {
    // Prepare
    const file = path.join(fx.dir, 'out', 'outputs.json');

    // Act: a second runtime on the same assembly, with an outputs file.
    const rt = await startLocalRuntime({
      assemblyDir: path.join(fx.dir, 'cdk.out'),
      port: 0,
      logger: silent,
      outputsFile: file,
    });
    try {
      // Assess
      const written = JSON.parse(readFileSync(file, 'utf8'));
      expect(Object.keys(written)).toEqual(['FixtureStack']);
      expect(written.FixtureStack.WorkQueueUrl).toBe(
        `${rt.endpoint}/000000000000/${fx.rt.model.queues.find((q) => q.logicalId.startsWith('WorkQueue'))!.name}`
      );
      // The second runtime provisioned its own queues, addressed through its own endpoint.
      const sqs = new SQSClient({
        endpoint: rt.endpoint,
        region: rt.region,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      const { QueueUrls } = await sqs.send(new ListQueuesCommand({}));
      sqs.destroy();
      expect(QueueUrls!.length).toBe(7);
      for (const u of QueueUrls!) expect(u.startsWith(`${rt.endpoint}/000000000000/`)).toBe(true);
      const health = await (await fetch(`${rt.endpoint}/_local/health`)).json();
      expect(health).toMatchObject({ status: 'running', stackName: 'FixtureStack' });
    } finally {
      await rt.stop();
    }
  });
});
