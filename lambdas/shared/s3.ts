import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { TransientServiceError } from './errors.js';
import { tracer } from './powertools.js';
import type { SourceObject } from './schemas.js';

/** One client per process, reused across warm invocations; traced when X-Ray is on (a no-op elsewhere). */
export const s3 = tracer.captureAWSv3Client(new S3Client({}));

const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);

/**
 * Re-throws S3 failures that AWS documents as retryable (throttling, 5xx) as
 * TransientServiceError so the state machine's Retry picks them up by name;
 * anything else (NoSuchKey, AccessDenied) propagates unchanged as terminal.
 */
export const classifyS3Error = (err: unknown, action: string): never => {
  if (err instanceof S3ServiceException) {
    const status = err.$metadata?.httpStatusCode ?? 0;
    if (TRANSIENT_STATUS.has(status) || err.name === 'SlowDown' || err.$retryable) {
      throw new TransientServiceError(`${action}: ${err.name} (${status})`, { cause: err });
    }
  } else if (
    err instanceof Error &&
    /ECONNRESET|ETIMEDOUT|EPIPE|socket hang up/i.test(err.message)
  ) {
    throw new TransientServiceError(`${action}: ${err.message}`, { cause: err });
  }
  throw err;
};

export const getJson = async <T>(bucket: string, key: string): Promise<T> => {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse(await res.Body!.transformToString()) as T;
  } catch (err) {
    return classifyS3Error(err, `GetObject s3://${bucket}/${key}`);
  }
};

/** Like getJson, but a missing object is `undefined` rather than an error. */
export const getJsonIfExists = async <T>(bucket: string, key: string): Promise<T | undefined> => {
  try {
    return await getJson<T>(bucket, key);
  } catch (err) {
    if (
      err instanceof S3ServiceException &&
      (err.name === 'NoSuchKey' || err.name === 'NotFound')
    ) {
      return undefined;
    }
    throw err;
  }
};

export const putJson = async (bucket: string, key: string, body: unknown): Promise<number> => {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  await putBytes(bucket, key, Buffer.from(text), 'application/json');
  return Buffer.byteLength(text);
};

export const putBytes = async (
  bucket: string,
  key: string,
  body: Buffer,
  contentType: string
): Promise<void> => {
  try {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType })
    );
  } catch (err) {
    classifyS3Error(err, `PutObject s3://${bucket}/${key}`);
  }
};

/** Part size for multipart uploads: 16 MiB keeps memory flat and needs < 10,000 parts up to 160 GB. */
export const PART_SIZE = 16 * 1024 * 1024;

/**
 * Uploads a local file without loading it whole into memory (renditions can
 * be large). Parts are sent as Buffers, not streams, so checksums travel in
 * headers (emulators handle that, not aws-chunked trailers), and no extra
 * package is needed: the Lambda runtime's SDK has every command used here.
 */
export const putFile = async (
  bucket: string,
  key: string,
  path: string,
  contentType: string
): Promise<number> => {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size <= PART_SIZE) {
      const body = Buffer.alloc(size);
      await handle.read(body, 0, size, 0);
      await putBytes(bucket, key, body, contentType);
      return size;
    }
    await putMultipart(bucket, key, contentType, size, async (offset, length) => {
      const part = Buffer.alloc(length);
      await handle.read(part, 0, length, offset);
      return part;
    });
    return size;
  } finally {
    await handle.close();
  }
};

const putMultipart = async (
  bucket: string,
  key: string,
  contentType: string,
  size: number,
  readPart: (offset: number, length: number) => Promise<Buffer>
): Promise<void> => {
  const action = `MultipartUpload s3://${bucket}/${key}`;
  let uploadId: string | undefined;
  try {
    ({ UploadId: uploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType })
    ));
    const parts: { ETag: string | undefined; PartNumber: number }[] = [];
    for (let offset = 0, n = 1; offset < size; offset += PART_SIZE, n++) {
      const body = await readPart(offset, Math.min(PART_SIZE, size - offset));
      const res = await s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: n,
          Body: body,
        })
      );
      parts.push({ ETag: res.ETag, PartNumber: n });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      })
    );
  } catch (err) {
    // Incomplete uploads are billed until aborted (or a lifecycle rule cleans them).
    if (uploadId) {
      try {
        await s3.send(
          new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })
        );
      } catch {
        // The original failure is the one worth reporting.
      }
    }
    classifyS3Error(err, action);
  }
};

/** Streams the exact source version to local disk (ffmpeg needs a seekable file). */
export const downloadSource = async (source: SourceObject, path: string): Promise<number> => {
  try {
    const res = await s3.send(
      new GetObjectCommand({ Bucket: source.bucket, Key: source.key, VersionId: source.versionId })
    );
    await pipeline(res.Body as Readable, createWriteStream(path));
    return res.ContentLength ?? 0;
  } catch (err) {
    return classifyS3Error(err, `GetObject s3://${source.bucket}/${source.key}`);
  }
};

/** Kept here for existing importers; new code imports it from env.ts (no S3 client needed). */
