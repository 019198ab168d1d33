import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthFixture } from './fixtures/app.js';
import { memoryOf, type RuntimeProcess, startRuntimeProcess } from './helpers.js';

const MiB = 1024 * 1024;
const bytes = async (body: unknown) =>
  Buffer.from(
    await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()
  );

/** Deterministic bytes that differ at every offset, so a wrong range cannot match. */
function patternBytes(offset: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) {
    const n = offset + i;
    b[i] = (n ^ (n >>> 8) ^ (n >>> 16) ^ (n >>> 24)) & 0xff;
  }
  return b;
}

describe('large objects on the local S3', { timeout: 180_000 }, () => {
  let dir: string;
  let rt: RuntimeProcess;
  let s3: S3Client;
  let bucket: string;
  const memory: Record<string, { rssMiB: number; peakMiB: number }> = {};

  beforeAll(async () => {
    // Prepare (shared): the runtime in its own process, so its memory is its own.
    dir = mkdtempSync(path.join(tmpdir(), 'local-runtime-large-'));
    mkdirSync(path.join(dir, 'state'));
    synthFixture(path.join(dir, 'cdk.out'), path.join(dir, 'state'));
    rt = await startRuntimeProcess(path.join(dir, 'cdk.out'));
    s3 = new S3Client({
      endpoint: rt.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    // No notification rule matches .bin in this bucket: this file tests storage only.
    bucket = rt.outputs.DirectBucketName;
    memory.idle = memoryOf(rt.pid);
  }, 120_000);

  afterAll(async () => {
    s3?.destroy();
    await rt?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log(`[large-objects] runtime memory (MiB): ${JSON.stringify(memory)}`);
  });

  it('stores a 120 MiB multipart upload made of 24 MiB parts', async () => {
    // Prepare
    const size = 120 * MiB;
    const body = patternBytes(0, size);

    // Act
    await new Upload({
      client: s3,
      params: { Bucket: bucket, Key: 'big/multipart.bin', Body: body },
      partSize: 24 * MiB,
      queueSize: 2,
    }).done();
    memory.afterMultipart = memoryOf(rt.pid);

    // Assess: S3's multipart ETag is md5-of-md5s with the part count after the dash.
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big/multipart.bin' }));
    expect(head.ContentLength).toBe(size);
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-5"$/);
  });

  it('answers a ranged GetObject deep inside the multipart object with 206 and its bytes', async () => {
    // Prepare: a range that spans the boundary between parts 3 and 4.
    const start = 72 * MiB - 1000;
    const end = 72 * MiB + 999;

    // Act
    const r = await s3.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: 'big/multipart.bin',
        Range: `bytes=${start}-${end}`,
      })
    );
    const got = Buffer.from(
      await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()
    );

    // Assess
    expect(r.$metadata.httpStatusCode).toBe(206);
    expect(r.ContentRange).toBe(`bytes ${start}-${end}/${120 * MiB}`);
    expect(r.ContentLength).toBe(2000);
    expect(got.equals(patternBytes(start, 2000))).toBe(true);
  });

  it('serves a presigned GET with a Range header to a plain HTTP client', async () => {
    // Prepare
    const url = await getSignedUrl(
      s3,
      new GetObjectCommand({ Bucket: bucket, Key: 'big/multipart.bin' }),
      { expiresIn: 300 }
    );
    const start = 100 * MiB;

    // Act: what ffprobe does on an http URL: an open-ended range, read a little, stop.
    const res = await fetch(url, { headers: { Range: `bytes=${start}-` } });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    await reader.cancel();

    // Assess
    expect(new URL(url).host).toBe(new URL(rt.endpoint).host);
    expect(res.status).toBe(206);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]{32}-5"$/);
    expect(res.headers.get('content-range')).toBe(`bytes ${start}-${120 * MiB - 1}/${120 * MiB}`);
    const chunk = Buffer.from(first.value as Uint8Array);
    expect(chunk.length).toBeGreaterThan(0);
    expect(chunk.equals(patternBytes(start, chunk.length))).toBe(true);
  });

  it('accepts a single 40 MiB PutObject (over the old 11 MiB parser limit)', async () => {
    // Prepare
    const size = 40 * MiB;

    // Act
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'big/single.bin', Body: patternBytes(7, size) })
    );
    const tail = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'big/single.bin', Range: 'bytes=-16' })
    );
    memory.afterSinglePut = memoryOf(rt.pid);

    // Assess
    expect(tail.ContentRange).toBe(`bytes ${size - 16}-${size - 1}/${size}`);
    const got = Buffer.from(
      await (tail.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()
    );
    expect(got.equals(patternBytes(7 + size - 16, 16))).toBe(true);
  });

  it('reads ranges of an object whose key has characters unsafe in file names', async () => {
    // Prepare
    const key = 'big/odd: name?*|%20 <1>.bin';
    const body = patternBytes(3, 6 * MiB);
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'video/mp4' })
    );

    // Act
    const r = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=5000000-5000099' })
    );
    const whole = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));

    // Assess
    expect(r.ContentRange).toBe(`bytes 5000000-5000099/${6 * MiB}`);
    expect(r.ContentType).toBe('video/mp4');
    expect((await bytes(r.Body)).equals(patternBytes(3 + 5_000_000, 100))).toBe(true);
    expect(whole.$metadata.httpStatusCode).toBe(200);
    expect((await bytes(whole.Body)).equals(body)).toBe(true);
  });

  it('answers an unsatisfiable range with 416 InvalidRange', async () => {
    // Act
    const err = await s3
      .send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: 'big/multipart.bin',
          Range: `bytes=${120 * MiB}-`,
        })
      )
      .catch((e: { name: string; $metadata: { httpStatusCode: number } }) => e);

    // Assess
    expect(err).toMatchObject({ name: 'InvalidRange', $metadata: { httpStatusCode: 416 } });
  });

  it('rejects a PUT over 5 GiB with EntityTooLarge before reading the body', async () => {
    // Prepare: announce 5 GiB + 1 byte and send none of it.
    const { hostname, port } = new URL(rt.endpoint);

    // Act
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({
        host: hostname,
        port,
        method: 'PUT',
        path: `/${bucket}/big/too-large.bin`,
        headers: { 'content-length': String(5 * 1024 * MiB + 1) },
      });
      req.on('response', (r) => {
        let body = '';
        r.on('data', (c: Buffer) => {
          body += c.toString('utf8');
        });
        r.on('end', () => {
          resolve({ status: r.statusCode ?? 0, body });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.flushHeaders();
    });

    // Assess
    expect(res.status).toBe(400);
    expect(res.body).toContain('<Code>EntityTooLarge</Code>');
  });
});
