import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import {
  auditKey,
  type S3EventRecord,
  type SourceObject,
  type UploadAuditRecord,
  videoIdFor,
} from '../../contract/index.js';
import { logger, metrics } from '../shared/powertools.js';
import { headIfExists, putJson } from '../shared/s3.js';
import { uploadsIn } from '../shared/s3-events.js';

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
  const written: UploadAuditRecord[] = [];
  for (const { record, source } of uploadsIn(body)) {
    // A deleted/overwritten upload will never reappear: retrying would only
    // push the message to the DLQ, so record the fact instead.
    const head = await headIfExists(source);
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
