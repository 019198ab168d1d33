import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import {
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  InvalidVideoError,
  MULTIPART_PART_SIZE,
  SourceChangedError,
  type SourceObject,
} from '../../contract/index.js';
import { isConditionFailure, isNotFound, rethrowClassified } from '../../shared/aws-errors.js';
import { tracer } from './powertools.js';
import { checkPinned, isPinnable } from './source-pin.js';

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
  contentType: string,
  metadata?: Record<string, string>
): Promise<void> => {
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        ...(metadata && { Metadata: metadata }),
      })
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
 * Writes JSON only where no object exists (If-None-Match: *): `exists` when S3
 * answers 412, or 409 for a concurrent conditional write, so a verdict already
 * written always stands.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
export const putJsonIfAbsent = async (
  bucket: string,
  key: string,
  body: unknown
): Promise<'written' | 'exists'> => {
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: `${JSON.stringify(body, null, 2)}\n`,
        ContentType: 'application/json',
        IfNoneMatch: '*',
      })
    );
    return 'written';
  } catch (err) {
    if (isConditionFailure(err)) return 'exists';
    return rethrowClassified(err, `PutObject s3://${bucket}/${key}`);
  }
};

/** A text object with its ETag and user metadata, or undefined when it does not exist. */
export const getTextIfExists = async (
  bucket: string,
  key: string
): Promise<{ body: string; etag: string; metadata: Record<string, string> } | undefined> => {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return {
      body: await res.Body!.transformToString(),
      etag: res.ETag ?? '',
      metadata: res.Metadata ?? {},
    };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    return rethrowClassified(err, `GetObject s3://${bucket}/${key}`);
  }
};

/**
 * Writes text only over the version the caller read (If-Match: its ETag), or
 * only where none exists (If-None-Match: *) when it read none: `conflict`
 * when S3 answers 412 (or 409, a concurrent conditional write), so the caller
 * reads again instead of replacing a newer object.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
export const putTextIfUnchanged = async (
  bucket: string,
  key: string,
  body: string,
  contentType: string,
  read: { etag: string } | undefined,
  metadata: Record<string, string>
): Promise<'written' | 'conflict'> => {
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        Metadata: metadata,
        ...(read ? { IfMatch: read.etag } : { IfNoneMatch: '*' }),
      })
    );
    return 'written';
  } catch (err) {
    if (isConditionFailure(err)) return 'conflict';
    return rethrowClassified(err, `PutObject s3://${bucket}/${key}`);
  }
};

/** Every key under a prefix (ListObjectsV2, all pages). */
export const listKeys = async (bucket: string, prefix: string): Promise<string[]> => {
  const keys: string[] = [];
  let token: string | undefined;
  try {
    do {
      const res = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })
      );
      for (const o of res.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  } catch (err) {
    return rethrowClassified(err, `ListObjectsV2 s3://${bucket}/${prefix}`);
  }
  return keys;
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

/**
 * After a read of the source failed: was it because the pinned object is no
 * longer there (a tool sees a 412 or 404 as a broken input)? Then the failure
 * is a SourceChangedError, terminal, and the video ends FAILED "source changed
 * while processing"; otherwise the original failure stands (the caller
 * rethrows it).
 */
export const assertSourceUnchanged = async (source: SourceObject, cause?: unknown) => {
  if (!isPinnable(source)) return;
  const check = await checkPinned(s3, source);
  if (check.outcome !== 'match') {
    throw new SourceChangedError(`source changed while processing: ${check.detail}`, { cause });
  }
};

/** Said when the upload is no longer there at all (deleted, or an unversioned key overwritten). */
export const UPLOAD_GONE = 'the upload is gone (deleted or overwritten) before probing';

/**
 * HEAD of the exact object the workflow was started for (source-pin.ts): its
 * metadata and size are the ones this run describes. Another object under the
 * key is a SourceChangedError; no object at all keeps the long-standing
 * InvalidVideoError "the upload is gone". A source without a pin (an execution
 * started by hand) reads whatever the key holds, as before.
 */
export const pinnedHead = async (source: SourceObject): Promise<HeadObjectCommandOutput> => {
  if (!isPinnable(source)) {
    const head = await headIfExists(source);
    if (!head) throw new InvalidVideoError(UPLOAD_GONE);
    return head;
  }
  const check = await checkPinned(s3, source);
  if (check.outcome === 'match') return check.head;
  if (check.outcome === 'changed') {
    throw new SourceChangedError(`source changed while processing: ${check.detail}`);
  }
  throw new InvalidVideoError(`${UPLOAD_GONE}: ${check.detail}`);
};
