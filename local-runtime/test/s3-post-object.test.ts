import { randomUUID } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postObjectKey } from '../src/http/post-object.js';
import { type Fixture, startFixture, waitFor } from './helpers.js';

/**
 * Browser uploads with a presigned POST raise `ObjectCreated:Post`, which a bucket
 * listening to `s3:ObjectCreated:*` receives.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
 */
function form(boundary: string, fields: Record<string, string>, file: string, filename: string) {
  const parts = Object.entries(fields).map(
    ([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`
  );
  return Buffer.from(
    `${parts.join('')}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
      `Content-Type: text/plain\r\n\r\n${file}\r\n--${boundary}--\r\n`
  );
}

describe('presigned POST uploads', { timeout: 60_000 }, () => {
  let fx: Fixture;

  beforeAll(async () => {
    fx = await startFixture();
  }, 120_000);
  afterAll(() => fx?.close());

  it('reads the key field, with the filename variable replaced, and ignores fields after the file', () => {
    const body = form('XyZ', { key: `in/$${'{filename}'}`, acl: 'private' }, 'hello', 'a b.txt');
    const withTrailing = Buffer.concat([
      body.subarray(0, body.length - '--XyZ--\r\n'.length),
      Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="key"\r\n\r\nlate\r\n--XyZ--\r\n'),
    ]);
    expect(postObjectKey(body, 'multipart/form-data; boundary=XyZ')).toBe('in/a b.txt');
    expect(postObjectKey(withTrailing, 'multipart/form-data; boundary=XyZ')).toBe('in/a b.txt');
    expect(postObjectKey(body, 'multipart/form-data')).toBeUndefined();
  });

  it('a POST upload stores the object and raises ObjectCreated:Post', async () => {
    // Prepare
    const bucket = fx.rt.outputs.DirectBucketName;
    const key = `post/${randomUUID()}.txt`;
    const boundary = `----b${randomUUID()}`;

    // Act
    const res = await fetch(`${fx.rt.endpoint}/${bucket}`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: form(boundary, { key, success_action_status: '201' }, 'posted bytes', 'f.txt'),
    });
    const event = await waitFor(
      async () => {
        const r = await fx.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: fx.rt.outputs.DirectQueueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
          })
        );
        for (const m of r.Messages ?? []) {
          const rec = (
            JSON.parse(m.Body!) as {
              Records?: Array<{
                eventName: string;
                s3: { object: { key: string; size: number; eTag: string } };
              }>;
            }
          ).Records?.[0];
          if (rec?.s3.object.key === key) return rec;
        }
        return undefined;
      },
      { what: 'the ObjectCreated:Post event' }
    );

    // Assess
    expect(res.status).toBe(201);
    const stored = await fx.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(await stored.Body!.transformToString()).toBe('posted bytes');
    expect(event.eventName).toBe('ObjectCreated:Post');
    expect(event.s3.object.size).toBe('posted bytes'.length);
    expect(`"${event.s3.object.eTag}"`).toBe(stored.ETag);
  });
});
