import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../../test/helpers/poll.js';
import { filesBelow, rawRequest } from '../../test/helpers/raw-http.js';
import { type Fixture, startFixture } from './helpers.js';

/**
 * "Keys are keys": the local S3 stores, lists, reads, copies and deletes any S3
 * key literally and derives no file path from it; it refuses what S3 refuses
 * (keys over 1,024 bytes, user metadata over 2 KB), stores zero-byte objects
 * from every client, and answers conditional reads as S3 does.
 */

const text = async (body: unknown) =>
  Buffer.from(
    await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()
  );

/** SigV4-looking headers the CLI sends (fauxqs does not verify the signature; the scope routes). */
const cliAuth = {
  authorization:
    'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0',
  'x-amz-date': '20260101T000000Z',
};
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const EMPTY_MD5_ETAG = '"d41d8cd98f00b204e9800998ecf8427e"';

/** The path a client sends for a key: each byte percent-encoded except unreserved and '/'. */
const keyPath = (bucket: string, key: string) =>
  `/${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;

const statusOf = (err: unknown) =>
  (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

describe('local S3 keys', () => {
  let f: Fixture;
  let bucket: string;
  let storage: string;
  /** A directory beside the storage dir that an escaping key would reach. */
  let outside: string;

  beforeAll(async () => {
    f = await startFixture();
    bucket = f.rt.outputs.DirectBucketName;
    storage = f.rt.emulator.storageDir;
    outside = mkdtempSync(path.join(tmpdir(), 'local-runtime-outside-'));
  });

  afterAll(async () => {
    await f?.close();
    if (outside) rmSync(outside, { recursive: true, force: true });
  });

  describe('traversal keys', () => {
    it('stores a key that climbs out of the storage dir as an object, and writes nothing outside', async () => {
      // Prepare: enough '..' to reach / from the storage dir, then down into `outside`.
      const key = `other/${'../'.repeat(12)}${outside.slice(1)}/pwned`;
      const parent = path.dirname(storage);
      const parentBefore = readdirSync(parent).sort();
      const outsideBefore = filesBelow(outside);

      // Act
      await f.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'attack' }));

      // Assess: nothing new beside the storage dir or in the target dir; the object reads back.
      expect(filesBelow(outside)).toEqual(outsideBefore);
      expect(
        readdirSync(parent)
          .sort()
          .filter((n) => !parentBefore.includes(n))
      ).toEqual([]);
      const got = await f.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect((await text(got.Body)).toString()).toBe('attack');
      // Every stored file is named by a hash, none by any part of a key.
      for (const file of filesBelow(storage)) {
        expect(path.basename(file)).toMatch(/^[0-9a-f]{64}(\.data|\.meta\.json|\.json)$/);
      }
    });

    it('deletes only the traversal key object, not a file of that name outside, nor a sibling', async () => {
      // Prepare: a victim file where fauxqs's own persistence would have pointed, and a sibling key.
      const key = `x/${'../'.repeat(12)}${outside.slice(1)}/victim`;
      writeFileSync(path.join(outside, 'victim.data'), 'keep me');
      writeFileSync(path.join(outside, 'victim.meta.json'), '{}');
      await f.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'a' }));
      await f.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'x/victim', Body: 'b' }));

      // Act
      await f.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));

      // Assess
      expect(statSync(path.join(outside, 'victim.data')).size).toBe('keep me'.length);
      expect(statSync(path.join(outside, 'victim.meta.json')).size).toBe(2);
      const err = await f.s3
        .send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
        .catch((e: unknown) => e);
      expect(statusOf(err)).toBe(404);
      const sibling = await f.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'x/victim' }));
      expect((await text(sibling.Body)).toString()).toBe('b');
    });

    it('DeleteObjects (XML body) of traversal keys deletes those objects and no file outside', async () => {
      // Prepare
      const keys = ['d1', 'd2'].map((n) => `y/${'../'.repeat(12)}${outside.slice(1)}/${n}`);
      for (const n of ['d1', 'd2']) writeFileSync(path.join(outside, `${n}.data`), 'keep me');
      for (const Key of keys)
        await f.s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'z' }));
      const outsideBefore = filesBelow(outside);

      // Act
      const res = await f.s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })) },
        })
      );

      // Assess
      expect(res.Deleted?.map((d) => d.Key).sort()).toEqual([...keys].sort());
      expect(filesBelow(outside)).toEqual(outsideBefore);
      const listed = await f.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'y/' }));
      expect(listed.KeyCount).toBe(0);
    });

    it('keeps `uploads/a/../b.txt` literal through the raw path: stored, listed and notified as sent', async () => {
      // Prepare: the raw request keeps the dot segments (an HTTP client must not resolve them).
      const key = 'n/a/../b.txt';
      const res = await rawRequest(
        f.rt.endpoint,
        'PUT',
        `/${bucket}/n/a/../b.txt`,
        { 'content-type': 'text/plain', 'content-length': 2 },
        Buffer.from('hi')
      );
      expect(res.status).toBe(200);

      // Act
      const listed = await f.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'n/' }));
      const events = await receiveEvents(f, 1);

      // Assess: the literal key, not `n/b.txt`.
      expect(listed.Contents?.map((c) => c.Key)).toEqual([key]);
      expect(events).toEqual([key]);
      await f.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    });
  });

  describe('odd keys round-trip byte-exactly', () => {
    const copyOf = (key: string) => `odc/${key.slice('odd/'.length)}`;
    const keys = [
      'odd/a/../b',
      'odd/a//b',
      'odd//',
      'odd/./x',
      'odd/100%',
      'odd/%41%2F',
      'odd/a+b c',
      'odd/ünïcödé/😀',
      'odd/semi;colon?q=1#frag',
      'odd/&<>"\'',
      `odd/${'é'.repeat(508)}`, // 4 + 1,016 = 1,020 bytes
      `odd/${'k'.repeat(1020)}`, // exactly 1,024 bytes
      `odd/${'s'.repeat(300)}/segment-longer-than-any-file-name`,
    ];

    it('Put, Head, Get, List (prefix and delimiter), Copy and Delete keep each key literal', async () => {
      for (const key of keys) {
        // Prepare
        const body = `body of ${key}`;

        // Act
        await f.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        const got = await f.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const head = await f.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        // Same length under another prefix: a 1,024-byte key's copy is 1,024 bytes too.
        const copy = copyOf(key);
        await f.s3.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: copy,
            CopySource: `${bucket}/${encodeURIComponent(key)}`,
          })
        );
        const copied = await f.s3.send(new GetObjectCommand({ Bucket: bucket, Key: copy }));

        // Assess
        expect((await text(got.Body)).toString(), key).toBe(body);
        expect(head.ContentLength, key).toBe(Buffer.byteLength(body));
        expect((await text(copied.Body)).toString(), key).toBe(body);
      }
      const listed: string[] = [];
      let token: string | undefined;
      do {
        const page = await f.s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: 'od',
            MaxKeys: 3,
            ContinuationToken: token,
          })
        );
        listed.push(...(page.Contents ?? []).map((c) => c.Key as string));
        token = page.NextContinuationToken;
      } while (token);
      const expected = keys.flatMap((k) => [k, copyOf(k)]);
      expect([...listed].sort()).toEqual([...expected].sort());
      // S3 lists in UTF-8 binary order.
      expect(listed).toEqual(
        [...expected].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      );

      const delimited = await f.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: 'odd/a', Delimiter: '/' })
      );
      expect(delimited.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['odd/a/']);
      expect(delimited.Contents?.map((c) => c.Key)).toEqual(['odd/a+b c']);
      const underA = await f.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: 'odd/a/', Delimiter: '/' })
      );
      expect(underA.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['odd/a/../', 'odd/a//']); // '.' (0x2E) sorts before '/' (0x2F)

      for (const key of expected) {
        await f.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      }
      const after = await f.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'od' }));
      expect(after.KeyCount).toBe(0);
    });

    it('a multipart upload completes under the literal key', async () => {
      // Prepare
      const key = 'mp/../ü +%/part.bin';
      const { UploadId } = await f.s3.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: key })
      );
      const part = await f.s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          PartNumber: 1,
          Body: 'only part',
        })
      );

      // Act
      await f.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        })
      );

      // Assess
      const got = await f.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect((await text(got.Body)).toString()).toBe('only part');
      expect(got.ETag).toMatch(/-1"$/);
      const listed = await f.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'mp/' }));
      expect(listed.Contents?.map((c) => c.Key)).toEqual([key]);
      await f.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    });

    it('lists mixed-case keys page by page without losing one (UTF-8 order, not locale order)', async () => {
      // Prepare: locale order (a, B, c) and byte order (B, a, c) disagree.
      const names = ['ord/a', 'ord/B', 'ord/c', 'ord/~', 'ord/é', 'ord/Z'];
      for (const k of names) await f.s3.send(new PutObjectCommand({ Bucket: bucket, Key: k }));

      // Act: one key per page, as a paginator with a small page does.
      const listed: string[] = [];
      let token: string | undefined;
      do {
        const page = await f.s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: 'ord/',
            MaxKeys: 1,
            ContinuationToken: token,
          })
        );
        listed.push(...(page.Contents ?? []).map((c) => c.Key as string));
        token = page.NextContinuationToken;
      } while (token);

      // Assess
      expect(listed).toEqual(['ord/B', 'ord/Z', 'ord/a', 'ord/c', 'ord/~', 'ord/é']);
      for (const k of names) await f.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: k }));
    });
  });

  describe('key length', () => {
    it('refuses a 1,025-byte key with KeyTooLongError (400) on Put and CreateMultipartUpload, storing nothing', async () => {
      // Prepare: 1,025 bytes of UTF-8 in fewer characters.
      const key = `${'é'.repeat(512)}x`;
      expect(Buffer.byteLength(key)).toBe(1025);
      const before = filesBelow(storage);

      // Act
      const put = await f.s3
        .send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }))
        .catch((e: unknown) => e);
      const mpu = await f.s3
        .send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))
        .catch((e: unknown) => e);

      // Assess
      for (const err of [put, mpu]) {
        expect((err as Error).name).toBe('KeyTooLongError');
        expect(statusOf(err)).toBe(400);
      }
      expect(filesBelow(storage)).toEqual(before);
    });
  });

  describe('zero-byte objects', () => {
    it('stores a body-less PUT shaped like `aws s3api put-object --key k` (no Content-Type)', async () => {
      // Act
      const res = await rawRequest(f.rt.endpoint, 'PUT', keyPath(bucket, 'zero/cli'), {
        ...cliAuth,
        'x-amz-content-sha256': EMPTY_SHA256,
        'x-amz-checksum-crc32': 'AAAAAA==',
        'x-amz-sdk-checksum-algorithm': 'CRC32',
        'content-length': 0,
      });

      // Assess: S3 stores such an object as binary/octet-stream.
      expect(res.status).toBe(200);
      expect(res.headers.etag).toBe(EMPTY_MD5_ETAG);
      const head = await f.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'zero/cli' }));
      expect(head.ContentLength).toBe(0);
      expect(head.ContentType).toBe('binary/octet-stream');
    });

    it('stores empty bodies from the SDK (string, Buffer), lib-storage Upload and an empty UploadPart', async () => {
      // Act
      await f.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'zero/sdk-string', Body: '' }));
      await f.s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: 'zero/sdk-buffer', Body: Buffer.alloc(0) })
      );
      await new Upload({
        client: f.s3,
        params: { Bucket: bucket, Key: 'zero/lib-storage', Body: Buffer.alloc(0) },
      }).done();
      const { UploadId } = await f.s3.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'zero/multipart' })
      );
      const part = await f.s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: 'zero/multipart',
          UploadId,
          PartNumber: 1,
          Body: Buffer.alloc(0),
        })
      );
      await f.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: 'zero/multipart',
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        })
      );

      // Assess: each reads back as zero bytes.
      for (const key of [
        'zero/sdk-string',
        'zero/sdk-buffer',
        'zero/lib-storage',
        'zero/multipart',
      ]) {
        const got = await f.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        expect((await text(got.Body)).length, key).toBe(0);
        expect(got.ContentLength, key).toBe(0);
      }
    });

    it('the real AWS CLI stores zero-byte objects with `s3api put-object` and `s3 cp` of an empty file', async (ctx) => {
      // Prepare (the CLI runs asynchronously: the runtime answers from this same process)
      const run = promisify(execFile);
      try {
        await run('aws', ['--version']);
      } catch {
        console.log('[s3-keys] skipped: the AWS CLI (`aws`) is not installed here');
        ctx.skip();
      }
      const dir = mkdtempSync(path.join(tmpdir(), 'local-runtime-cli-'));
      const empty = path.join(dir, 'empty');
      writeFileSync(empty, '');
      const env = {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_MAX_ATTEMPTS: '1',
      };
      const aws = (...args: string[]) =>
        run('aws', ['--endpoint-url', f.rt.endpoint, ...args], { env });
      try {
        // Act
        await aws('s3api', 'put-object', '--bucket', bucket, '--key', 'zero/aws-s3api');
        await aws('s3', 'cp', empty, `s3://${bucket}/zero/aws-cp`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }

      // Assess
      for (const key of ['zero/aws-s3api', 'zero/aws-cp']) {
        const head = await f.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        expect(head.ContentLength, key).toBe(0);
        expect(head.ETag, key).toBe(EMPTY_MD5_ETAG);
      }
    });
  });

  describe('user metadata size (2 KB, keys and values in UTF-8)', () => {
    const meta = (bytes: number) => ({ k: 'v'.repeat(bytes - 1) });

    it('accepts exactly 2,048 bytes and refuses 2,049 with MetadataTooLarge (400) on Put, Copy REPLACE and CreateMultipartUpload', async () => {
      // Prepare
      await f.s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: 'meta/src', Body: 'x', Metadata: meta(2048) })
      );
      const before = filesBelow(storage);

      // Act
      const attempts = [
        f.s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: 'meta/put', Body: 'x', Metadata: meta(2049) })
        ),
        f.s3.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: 'meta/copy',
            CopySource: `${bucket}/meta/src`,
            MetadataDirective: 'REPLACE',
            Metadata: meta(2049),
          })
        ),
        f.s3.send(
          new CreateMultipartUploadCommand({
            Bucket: bucket,
            Key: 'meta/mpu',
            Metadata: meta(2049),
          })
        ),
      ];
      const errors = await Promise.all(attempts.map((p) => p.catch((e: unknown) => e)));

      // Assess
      const head = await f.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta/src' }));
      expect(head.Metadata?.k).toHaveLength(2047);
      for (const err of errors) {
        expect((err as Error).name).toBe('MetadataTooLarge');
        expect(statusOf(err)).toBe(400);
      }
      expect(filesBelow(storage)).toEqual(before);
    });

    it('counts UTF-8 bytes, not characters (1,025 two-byte characters are over the limit)', async () => {
      // Act: header values travel as raw UTF-8 bytes, as S3 clients send them.
      const value = Buffer.from('é'.repeat(1024), 'utf8').toString('latin1');
      const res = await rawRequest(
        f.rt.endpoint,
        'PUT',
        keyPath(bucket, 'meta/utf8'),
        { ...cliAuth, 'x-amz-meta-k': value, 'content-length': 1 },
        Buffer.from('x')
      );

      // Assess
      expect(res.status).toBe(400);
      expect(res.body).toContain('<Code>MetadataTooLarge</Code>');
    });
  });

  describe('conditional reads (GetObject, HeadObject)', () => {
    const key = 'cond/object.bin';
    let etag: string;
    let lastModified: Date;
    const body = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251));

    beforeAll(async () => {
      const put = await f.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      etag = put.ETag as string;
      const head = await f.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      lastModified = head.LastModified as Date;
    });

    it('If-Match: the ETag reads (quoted, unquoted, in a list, `*`); another ETag is 412 PreconditionFailed', async () => {
      for (const ifMatch of [etag, etag.replace(/"/g, ''), `"nope", ${etag}`, '*']) {
        const got = await f.s3.send(
          new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: ifMatch })
        );
        expect((await text(got.Body)).equals(body), ifMatch).toBe(true);
      }
      const err = await f.s3
        .send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: '"0123"' }))
        .catch((e: unknown) => e);
      expect((err as Error).name).toBe('PreconditionFailed');
      expect(statusOf(err)).toBe(412);
      const headErr = await f.s3
        .send(new HeadObjectCommand({ Bucket: bucket, Key: key, IfMatch: '"0123"' }))
        .catch((e: unknown) => e);
      expect(statusOf(headErr)).toBe(412);
      const headOk = await f.s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: key, IfMatch: etag })
      );
      expect(headOk.ETag).toBe(etag);
    });

    it('If-None-Match: the ETag is 304 Not Modified on GET and HEAD; another ETag reads', async () => {
      for (const send of [
        () => f.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfNoneMatch: etag })),
        () => f.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, IfNoneMatch: etag })),
      ]) {
        const err = await send().catch((e: unknown) => e);
        expect(statusOf(err)).toBe(304);
      }
      const got = await f.s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, IfNoneMatch: '"other"' })
      );
      expect((await text(got.Body)).equals(body)).toBe(true);
    });

    it('If-Modified-Since / If-Unmodified-Since at second precision, with S3 precedence', async () => {
      const earlier = new Date(lastModified.getTime() - 60_000);
      const status = (p: Promise<unknown>) =>
        p.then(
          () => 200,
          (e: unknown) => statusOf(e)
        );
      const get = (input: Record<string, unknown>) =>
        status(f.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...input })));

      // The object's own Last-Modified: not modified since then.
      expect(await get({ IfModifiedSince: lastModified })).toBe(304);
      expect(await get({ IfModifiedSince: earlier })).toBe(200);
      expect(await get({ IfUnmodifiedSince: earlier })).toBe(412);
      expect(await get({ IfUnmodifiedSince: lastModified })).toBe(200);
      // If-Match true + If-Unmodified-Since false -> 200; If-None-Match false + If-Modified-Since true -> 304.
      expect(await get({ IfMatch: etag, IfUnmodifiedSince: earlier })).toBe(200);
      expect(await get({ IfNoneMatch: etag, IfModifiedSince: earlier })).toBe(304);
      expect(
        await status(
          f.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, IfUnmodifiedSince: earlier }))
        )
      ).toBe(412);
    });

    it('a ranged presigned GET pinned with If-Match reads its range, and 412s once the object changed', async () => {
      // Prepare: what ffmpeg does with a presigned URL and an If-Match header.
      const url = await getSignedUrl(f.s3, new GetObjectCommand({ Bucket: bucket, Key: key }), {
        expiresIn: 300,
      });

      // Act
      const ranged = await fetch(url, { headers: { Range: 'bytes=100-199', 'If-Match': etag } });
      const rangedBody = Buffer.from(await ranged.arrayBuffer());
      const stale = await fetch(url, { headers: { Range: 'bytes=100-199', 'If-Match': '"old"' } });
      const staleBody = await stale.text();
      await f.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'replaced' }));
      const afterOverwrite = await fetch(url, {
        headers: { Range: 'bytes=0-3', 'If-Match': etag },
      });
      await afterOverwrite.arrayBuffer();

      // Assess
      expect(ranged.status).toBe(206);
      expect(ranged.headers.get('content-range')).toBe(`bytes 100-199/${body.length}`);
      expect(rangedBody.equals(body.subarray(100, 200))).toBe(true);
      expect(stale.status).toBe(412);
      expect(staleBody).toContain('<Code>PreconditionFailed</Code>');
      expect(afterOverwrite.status).toBe(412);
    });

    it('If-Match on a missing key is 404 NoSuchKey, as S3 answers', async () => {
      const err = await f.s3
        .send(new GetObjectCommand({ Bucket: bucket, Key: 'cond/missing', IfMatch: etag }))
        .catch((e: unknown) => e);
      expect((err as Error).name).toBe('NoSuchKey');
      expect(statusOf(err)).toBe(404);
    });
  });

  describe('notifications carry the literal key, URL-encoded as S3 does', () => {
    it('a key with spaces, plus, percent, unicode and dot segments arrives encoded, and decodes back', async () => {
      // Prepare: S3 encodes event keys like form values (space as '+'), see
      // https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
      const key = 'n/a b/../+%é.txt';
      const expected = 'n/a+b/../%2B%25%C3%A9.txt';

      // Act
      await f.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
      const [eventKey] = await receiveEvents(f, 1, false);

      // Assess
      expect(eventKey).toBe(expected);
      expect(decodeURIComponent(eventKey.replace(/\+/g, ' '))).toBe(key);
    });
  });
});

/** The object keys of the next `count` S3 events on the Direct bucket's queue. */
async function receiveEvents(f: Fixture, count: number, decode = true): Promise<string[]> {
  const keys: string[] = [];
  // The receive's long poll (1 s) is the interval.
  return poll(
    `${count} S3 event(s) on the Direct queue`,
    async () => {
      const r = await f.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: f.rt.outputs.DirectQueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
        })
      );
      for (const m of r.Messages ?? []) {
        const body = JSON.parse(m.Body as string) as {
          Records?: { s3: { object: { key: string } } }[];
        };
        for (const rec of body.Records ?? []) {
          const k = rec.s3.object.key;
          keys.push(decode ? decodeURIComponent(k.replace(/\+/g, ' ')) : k);
        }
      }
      return keys.length >= count && keys;
    },
    15_000,
    { intervalMs: 0 }
  );
}
