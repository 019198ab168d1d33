import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OVERFLOW_ATTRIBUTES,
  SPILL_PREFIX,
  SpillObjectSchema,
  spillObjectKey,
} from '../../contract/index.js';
import { type LocalRuntime, startLocalRuntime } from '../../local-runtime/src/index.js';
import { captureLogger } from '../../local-runtime/test/helpers.js';
import { poll } from '../../test/helpers/poll.js';
import { redriveDestination, redrivenAttributes, runRedriveSpill } from '../src/redrive-spill.js';
import { SPILL_INPUT, SPILL_MAX_AGE_SECONDS, synthSpillApp } from './fixtures/spill-app.js';

const silentOut = { write: () => true };

describe('spill keys and redrive targets', () => {
  it('keys a spilled batch by input and time only, and refuses other segments', () => {
    // Act
    const key = spillObjectKey('UploadAudit', new Date('2026-12-07T09:30:00.000Z'), 'abc-123');
    // Assess
    expect(key).toBe('overflow-spill/UploadAudit/2026-12-07T09:30:00.000Z-abc-123.json');
    expect(() => spillObjectKey('../etc', new Date(), 'x')).toThrow(/not a key segment/);
    expect(() => spillObjectKey('In', new Date(), 'a/b')).toThrow(/not a key segment/);
  });

  it('sends back only to a queue of the stack (by name), unless told where', () => {
    // Prepare
    const queueUrls = { WorkQueueUrl: 'http://127.0.0.1:4566/000000000000/work' };
    // Act / Assess
    expect(
      redriveDestination({ queueUrl: 'https://sqs.us-east-1.amazonaws.com/1/work' }, queueUrls)
    ).toBe(queueUrls.WorkQueueUrl);
    expect(() =>
      redriveDestination({ queueUrl: 'http://x/000000000000/other' }, queueUrls)
    ).toThrow(/not one of the stack's queues/);
    expect(redriveDestination({ queueUrl: 'http://x/1/other' }, queueUrls, 'http://y/1/z')).toBe(
      'http://y/1/z'
    );
  });

  it('keeps string and binary attributes and marks the message as redriven', () => {
    // Act
    const attrs = redrivenAttributes(
      {
        messageId: 'm',
        body: 'b',
        sentTimestamp: '1',
        reason: 'r',
        messageAttributes: {
          kind: { dataType: 'String', stringValue: 'k' },
          blob: { dataType: 'Binary', binaryValue: Buffer.from([1, 2]).toString('base64') },
        },
      },
      'Work'
    );
    // Assess
    expect(attrs).toEqual({
      kind: { DataType: 'String', StringValue: 'k' },
      blob: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2]) },
      [OVERFLOW_ATTRIBUTES.spilledFrom]: { DataType: 'String', StringValue: 'Work' },
    });
  });
});

/**
 * OverflowPolicy.spillToBucket end to end on the local runtime: a QueueWorker whose
 * consumer is the product's queue consumer spills a message that waited longer than
 * its 1 s; `redrive spill` (the CLI's code) sends it back, and it is processed then.
 */
describe('spill to a bucket, redriven by the CLI, on the local runtime', {
  timeout: 180_000,
}, () => {
  let dir: string;
  let rt: LocalRuntime;
  let s3: S3Client;
  let sqs: SQSClient;
  const logs: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'redrive-spill-'));
    const assemblyDir = synthSpillApp(path.join(dir, 'cdk.out'));
    rt = await startLocalRuntime({ assemblyDir, port: 0, logger: captureLogger(logs) });
    const cfg = {
      endpoint: rt.endpoint,
      region: rt.region,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    };
    s3 = new S3Client({ ...cfg, forcePathStyle: true });
    sqs = new SQSClient(cfg);
  }, 180_000);
  afterAll(async () => {
    s3?.destroy();
    sqs?.destroy();
    await rt?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const spilledKeys = async (bucket: string) =>
    (
      await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: SPILL_PREFIX }))
    ).Contents?.map((o) => o.Key!) ?? [];

  it('spills a message that waited too long, then processes it once redriven', async () => {
    // Prepare: the mapping off, so the message ages in the queue past the policy's 1 s
    const { QueueUrl: queueUrl, SpillBucketName: bucket, ConsumerName: consumer } = rt.outputs;
    await rt.setEventSourceMappingEnabled(consumer!, false);
    const body = JSON.stringify({ marker: `spill-${randomUUID()}` });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: body,
        MessageAttributes: { origin: { DataType: 'String', StringValue: 'test' } },
      })
    );
    const sentAt = Date.now();
    await poll(
      'the message older than the spill age',
      async () => Date.now() - sentAt > SPILL_MAX_AGE_SECONDS * 2000,
      10_000,
      { intervalMs: 100 }
    );
    const processedLine = `processed ${JSON.stringify(body)}`;

    // Act: the consumer meets it and spills it; the CLI sends it back
    await rt.setEventSourceMappingEnabled(consumer!, true);
    const [key] = await poll(
      'a spilled batch in the bucket',
      async () => {
        const keys = await spilledKeys(bucket!);
        return keys.length > 0 ? keys : undefined;
      },
      60_000,
      { intervalMs: 200 }
    );
    const spilled = SpillObjectSchema.parse(
      JSON.parse(
        await (
          await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
        ).Body!.transformToString()
      )
    );
    const processedBeforeRedrive = logs.some((l) => l.includes(processedLine));
    const result = await runRedriveSpill({ s3, sqs }, silentOut, {
      bucket: bucket!,
      input: SPILL_INPUT,
      queueUrls: { QueueUrl: queueUrl! },
    });
    await poll(
      'the redriven message processed',
      () => logs.some((l) => l.includes(processedLine)),
      60_000,
      { intervalMs: 200 }
    );

    // Assess
    expect(key).toMatch(
      new RegExp(
        `^${SPILL_PREFIX}${SPILL_INPUT}/\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z-[0-9a-f-]{36}\\.json$`
      )
    );
    expect(spilled).toMatchObject({
      input: SPILL_INPUT,
      records: [
        {
          body,
          reason: expect.stringMatching(/more than the 1 s SpillFixture allows/),
          messageAttributes: { origin: { dataType: 'String', stringValue: 'test' } },
        },
      ],
    });
    expect(processedBeforeRedrive).toBe(false);
    expect(result).toEqual({ objects: 1, messages: 1 });
    expect(await spilledKeys(bucket!)).toEqual([]);
    expect(logs.filter((l) => l.includes(processedLine))).toHaveLength(1);
  });
});
