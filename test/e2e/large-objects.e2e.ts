import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { describeE2E } from './guard.js';
import { clientsFor, readOutputs } from './target.js';

const target = inject('e2eTarget');
const MiB = 1024 * 1024;
// Over 100 MB, in parts larger than the 16 MiB the Lambdas upload with.
const SIZE = 110 * MiB;
const PART = 24 * MiB;
const PARTS = Math.ceil(SIZE / PART);

/** Deterministic bytes that differ at every offset, so a wrong range cannot match. */
function patternBytes(offset: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) {
    const n = offset + i;
    b[i] = (n ^ (n >>> 8) ^ (n >>> 16) ^ (n >>> 24)) & 0xff;
  }
  return b;
}

const bytesOf = async (body: unknown) =>
  Buffer.from(
    await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()
  );

describeE2E(target)(`large objects on ${target.name}`, () => {
  let aws: ReturnType<typeof clientsFor>;
  let bucket: string;
  // The output bucket has no notification rules: this exercises storage, not the pipeline.
  const key = `e2e-large/${Date.now().toString(36)}/object.bin`;

  beforeAll(async () => {
    aws = clientsFor(target);
    bucket = readOutputs(target.outputsFile).OutputBucketName;
    await aws.s3.send(new HeadBucketCommand({ Bucket: bucket }));
    // Prepare (shared): one multipart upload the cases read back.
    await new Upload({
      client: aws.s3,
      params: { Bucket: bucket, Key: key, Body: patternBytes(0, SIZE) },
      partSize: PART,
      queueSize: 2,
    }).done();
  }, 180_000);

  afterAll(async () => {
    await aws?.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    for (const c of Object.values(aws ?? {})) c.destroy();
  });

  it('stores a multipart upload of more than 100 MB with the size and multipart ETag S3 reports', async () => {
    // Act
    const head = await aws.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));

    // Assess
    expect(head.ContentLength).toBe(SIZE);
    expect(head.ETag).toMatch(new RegExp(`^"[0-9a-f]{32}-${PARTS}"$`));
  });

  it('answers a ranged GetObject across a part boundary with 206, Content-Range and the bytes', async () => {
    // Prepare
    const start = 2 * PART - 4096;
    const end = 2 * PART + 4095;

    // Act
    const r = await aws.s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end}` })
    );

    // Assess
    expect(r.$metadata.httpStatusCode).toBe(206);
    expect(r.ContentRange).toBe(`bytes ${start}-${end}/${SIZE}`);
    expect((await bytesOf(r.Body)).equals(patternBytes(start, 8192))).toBe(true);
  });

  it('serves a presigned GET with a Range header (how ffprobe reads an http source)', async () => {
    // Prepare
    const url = await getSignedUrl(aws.s3, new GetObjectCommand({ Bucket: bucket, Key: key }), {
      expiresIn: 300,
    });
    const start = SIZE - 1000;

    // Act
    const res = await fetch(url, { headers: { Range: `bytes=${start}-` } });
    const body = Buffer.from(await res.arrayBuffer());

    // Assess
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes ${start}-${SIZE - 1}/${SIZE}`);
    expect(body.equals(patternBytes(start, 1000))).toBe(true);
  });
});
