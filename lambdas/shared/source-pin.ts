import { HeadObjectCommand, type HeadObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { isNotFound, rethrowClassified } from '../../contract/aws-errors.js';
import type { SourceObject } from '../../contract/index.js';

/**
 * Pinning every read of an upload to the object version its event named, so a
 * manifest always describes its own bytes.
 *
 * - With a `versionId` (a versioned bucket on AWS) the version is the pin: a
 *   version is immutable, and HeadObject/GetObject with `VersionId` answers 404
 *   (NoSuchVersion) when it never existed or was deleted.
 * - Without one (an unversioned bucket: the local runtime's S3 has no
 *   versioning) the ETag is the pin, sent as `If-Match`: S3 answers 412
 *   PreconditionFailed when the key now holds other bytes.
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-reads.html
 * The ETag an answer carries is compared too, so an S3 that ignores If-Match on
 * HEAD still cannot pass other bytes off as the pinned ones.
 */

/** S3 ETags are quoted on the wire; events carry them bare. */
export const quotedEtag = (etag: string): string => `"${etag.replace(/"/g, '')}"`;
const bareEtag = (etag: string | undefined): string | undefined => etag?.replace(/"/g, '');

/** True when the source names an object version or an ETag to pin reads to. */
export const isPinnable = (source: SourceObject): boolean =>
  Boolean(source.versionId || source.etag);

export type PinCheck =
  | { readonly outcome: 'match'; readonly head: HeadObjectCommandOutput }
  | { readonly outcome: 'missing' | 'changed'; readonly detail: string };

const isPreconditionFailed = (err: unknown): boolean => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412;
};

/** A VersionId S3 cannot parse is a version that does not exist (400 InvalidArgument). */
const isInvalidVersion = (err: unknown, source: SourceObject): boolean => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    Boolean(source.versionId) &&
    (e?.name === 'InvalidArgument' || e?.$metadata?.httpStatusCode === 400)
  );
};

/**
 * HEAD of the pinned object: `match` (with the HEAD, whose metadata the probe
 * reads), `missing` (no such key or version) or `changed` (the key holds other
 * bytes). Transient failures throw TransientServiceError (retryable); anything
 * else (403: a missing grant) propagates, so it is retried and seen, never
 * taken for a verdict on the upload.
 */
export const checkPinned = async (s3: S3Client, source: SourceObject): Promise<PinCheck> => {
  const where = `s3://${source.bucket}/${source.key}`;
  let head: HeadObjectCommandOutput;
  try {
    head = await s3.send(
      new HeadObjectCommand({
        Bucket: source.bucket,
        Key: source.key,
        ...(source.versionId && { VersionId: source.versionId }),
        ...(source.etag && { IfMatch: quotedEtag(source.etag) }),
      })
    );
  } catch (err) {
    if (isNotFound(err) || isInvalidVersion(err, source)) {
      return {
        outcome: 'missing',
        detail: source.versionId
          ? `${where} has no version ${source.versionId}`
          : `${where} does not exist`,
      };
    }
    if (isPreconditionFailed(err)) {
      return { outcome: 'changed', detail: `${where} no longer has ETag ${source.etag}` };
    }
    return rethrowClassified(err, `HeadObject ${where}`);
  }
  const etag = bareEtag(head.ETag);
  if (source.etag && etag !== bareEtag(source.etag)) {
    return {
      outcome: 'changed',
      detail: `${where} has ETag ${etag ?? '(none)'}, not ${source.etag}`,
    };
  }
  if (source.versionId && head.VersionId && head.VersionId !== source.versionId) {
    return { outcome: 'changed', detail: `${where} answered version ${head.VersionId}` };
  }
  return { outcome: 'match', head };
};

/**
 * Is the pinned object the key's current object (what a GET without a version
 * returns now)? A superseded version still exists on a versioned bucket, but
 * it must not become the key's "current" upload.
 */
export const isCurrentObject = async (s3: S3Client, source: SourceObject): Promise<boolean> => {
  let head: HeadObjectCommandOutput;
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: source.bucket, Key: source.key }));
  } catch (err) {
    if (isNotFound(err)) return false;
    return rethrowClassified(err, `HeadObject s3://${source.bucket}/${source.key}`);
  }
  if (source.versionId) return head.VersionId === source.versionId;
  return bareEtag(head.ETag) === bareEtag(source.etag);
};

/**
 * The headers a tool sends with every HTTP read of the source (each range
 * request included): If-Match on the ETag. A presigned URL does not sign them,
 * and S3 accepts unsigned extra headers on a presigned request; the URL itself
 * carries the VersionId when there is one.
 */
export const pinnedReadHeaders = (source: SourceObject): Record<string, string> =>
  source.etag ? { 'If-Match': quotedEtag(source.etag) } : {};
