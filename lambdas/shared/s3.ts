import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import {
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { MULTIPART_PART_SIZE, type SourceObject } from '../../contract/index.js';
import { isNotFound, rethrowClassified } from '../../shared/aws-errors.js';
import { tracer } from './powertools.js';

/** One client per process, reused across warm invocations; traced when X-Ray is on (a no-op elsewhere). */
export const s3 = tracer.captureAWSv3Client(new S3Client({}));

export const getJson = async <T>(bucket: string, key: string): Promise<T> => {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse(await res.Body!.transformToString()) as T;
  } catch (err) {
    return rethrowClassified(err, `GetObject s3://${bucket}/${key}`);
  }
};

/** Like getJson, but a missing object is `undefined` rather than an error. */
export const getJsonIfExists = async <T>(bucket: string, key: string): Promise<T | undefined> => {
  try {
    return await getJson<T>(bucket, key);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
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
    rethrowClassified(err, `PutObject s3://${bucket}/${key}`);
  }
};

export const putJson = async (bucket: string, key: string, body: unknown): Promise<number> => {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  await putBytes(bucket, key, Buffer.from(text), 'application/json');
  return Buffer.byteLength(text);
};

/**
 * Uploads a local file with lib-storage (multipart above MULTIPART_PART_SIZE, aborted on
 * failure so no incomplete upload is left to bill). Returns its size.
 */
export const putFile = async (
  bucket: string,
  key: string,
  path: string,
  contentType: string
): Promise<number> => {
  const { size } = await stat(path);
  try {
    await new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: createReadStream(path), ContentType: contentType },
      partSize: MULTIPART_PART_SIZE,
      queueSize: 2,
      leavePartsOnError: false,
    }).done();
  } catch (err) {
    rethrowClassified(err, `Upload s3://${bucket}/${key}`);
  }
  return size;
};

/** HEAD of the exact version; `undefined` when it is gone (deleted or overwritten). */
export const headIfExists = async (
  source: SourceObject
): Promise<HeadObjectCommandOutput | undefined> => {
  try {
    return await s3.send(
      new HeadObjectCommand({ Bucket: source.bucket, Key: source.key, VersionId: source.versionId })
    );
  } catch (err) {
    if (isNotFound(err)) return undefined;
    return rethrowClassified(err, `HeadObject s3://${source.bucket}/${source.key}`);
  }
};

/**
 * A presigned GET of the exact source version, for ffmpeg/ffprobe to read with
 * HTTP range requests instead of downloading the whole upload. Signing is
 * local (no request); the URL lives only as long as the branch may run.
 */
export const presignSource = (source: SourceObject, expiresInSeconds: number): Promise<string> =>
  getSignedUrl(
    s3,
    new GetObjectCommand({ Bucket: source.bucket, Key: source.key, VersionId: source.versionId }),
    { expiresIn: Math.max(60, Math.ceil(expiresInSeconds)) }
  );
