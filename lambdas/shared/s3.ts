import { createReadStream, createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { TransientServiceError } from './errors.js';
import type { SourceObject } from './schemas.js';

/** One client per process: reused across warm invocations. */
export const s3 = new S3Client({});

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

/**
 * Uploads a local file without loading it into memory (renditions can be
 * large). lib-storage sends buffered parts rather than a streaming body, which
 * keeps checksums in headers: emulators handle that, not aws-chunked trailers.
 */
export const putFile = async (
  bucket: string,
  key: string,
  path: string,
  contentType: string
): Promise<void> => {
  try {
    await new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: createReadStream(path), ContentType: contentType },
    }).done();
  } catch (err) {
    classifyS3Error(err, `PutObject s3://${bucket}/${key}`);
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

export const requireEnv = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`Missing required environment variable ${name}`);
  return v;
};
