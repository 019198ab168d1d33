import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { HeadObjectCommand, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { auditKey, videoIdFor } from '../shared/keys.js';
import { logger, metrics } from '../shared/powertools.js';
import { classifyS3Error, putJson, s3 } from '../shared/s3.js';
import {
  isObjectCreated,
  isUploadKey,
  parseS3EventBody,
  sourceFromS3Record,
} from '../shared/s3-events.js';
import type { S3EventRecord, SourceObject, UploadAuditRecord } from '../shared/schemas.js';

const isNotFound = (err: unknown): boolean => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e?.name === 'NotFound' ||
    e?.name === 'NoSuchKey' ||
    e?.name === 'NoSuchVersion' ||
    e?.$metadata?.httpStatusCode === 404
  );
};

/** HEAD of the exact version; `undefined` when it is already gone. */
const headUpload = async (source: SourceObject): Promise<HeadObjectCommandOutput | undefined> => {
  try {
    return await s3.send(
      new HeadObjectCommand({ Bucket: source.bucket, Key: source.key, VersionId: source.versionId })
    );
  } catch (err) {
    // A deleted/overwritten upload will never reappear: retrying would only
    // push the message to the DLQ, so record the fact instead.
    if (isNotFound(err)) return undefined;
    return classifyS3Error(err, `HeadObject s3://${source.bucket}/${source.key}`);
  }
};

export const buildAuditRecord = (
  record: S3EventRecord,
  source: SourceObject,
  head: HeadObjectCommandOutput | undefined,
  receivedAt: Date
): UploadAuditRecord => ({
  videoId: videoIdFor(source),
  bucket: source.bucket,
  key: source.key,
  versionId: source.versionId ?? head?.VersionId ?? null,
  etag: source.etag ?? head?.ETag?.replace(/"/g, '') ?? null,
  size: head?.ContentLength ?? source.size ?? null,
  contentType: head?.ContentType ?? null,
  uploadedAt: record.eventTime ?? null,
  receivedAt: receivedAt.toISOString(),
  eventName: record.eventName,
  missing: head === undefined,
});

/**
 * Writes one audit document per upload. The key is derived from the videoId,
 * so a redelivered event overwrites the same document: idempotent by design.
 */
export const auditUploadMessage = async (
  body: string,
  auditBucket: string,
  now: () => Date = () => new Date()
): Promise<UploadAuditRecord[]> => {
  const parsed = parseS3EventBody(body);
  if (parsed.kind === 'test') {
    logger.info('Ignoring s3:TestEvent');
    return [];
  }
  const written: UploadAuditRecord[] = [];
  for (const record of parsed.records) {
    const source = sourceFromS3Record(record);
    if (!isObjectCreated(record) || !isUploadKey(source.key)) continue;
    const head = await headUpload(source);
    const audit = buildAuditRecord(record, source, head, now());
    await putJson(auditBucket, auditKey(audit.videoId), audit);
    logger.info('Upload audited', {
      videoId: audit.videoId,
      key: audit.key,
      missing: audit.missing,
    });
    metrics.addMetric(audit.missing ? 'AuditObjectMissing' : 'UploadsAudited', MetricUnit.Count, 1);
    written.push(audit);
  }
  return written;
};
