import {
  InvalidEventError,
  S3EventNotificationSchema,
  type S3EventRecord,
  S3TestEventSchema,
  type SourceObject,
  tenantOfKey,
  UPLOAD_PREFIX,
} from '../../contract/index.js';
import { logger } from './powertools.js';

/**
 * Parsing of the SQS bodies both upload subscribers receive. The subscription
 * uses raw delivery, so a body is the S3 notification itself; an SNS envelope
 * is unwrapped too, so a subscription created without raw delivery degrades
 * gracefully instead of sending every upload to the DLQ.
 */

export type ParsedS3Body = { kind: 'test' } | { kind: 'records'; records: S3EventRecord[] };

const parseJson = (text: string, what: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidEventError(`${what} is not JSON: ${text.slice(0, 80)}`);
  }
};

const isSnsEnvelope = (v: unknown): v is { Type: string; Message: string } =>
  typeof v === 'object' &&
  v !== null &&
  (v as { Type?: unknown }).Type === 'Notification' &&
  typeof (v as { Message?: unknown }).Message === 'string';

export const parseS3EventBody = (body: string): ParsedS3Body => {
  let value = parseJson(body, 'SQS body');
  if (isSnsEnvelope(value)) value = parseJson(value.Message, 'SNS message');
  if (S3TestEventSchema.safeParse(value).success) return { kind: 'test' };
  const parsed = S3EventNotificationSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidEventError(
      `Not an S3 event notification: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`
    );
  }
  return { kind: 'records', records: parsed.data.Records };
};

/** S3 URL-encodes keys in notifications, with '+' for space. */
export const decodeS3Key = (key: string): string => {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    throw new InvalidEventError(`Object key is not valid URL encoding: ${key.slice(0, 200)}`);
  }
};

/** An upload is an object under uploads/; "folder" placeholders (keys ending in /) are not. */
export const isUploadKey = (key: string): boolean =>
  key.startsWith(UPLOAD_PREFIX) && !key.endsWith('/') && key.length > UPLOAD_PREFIX.length;

export const isObjectCreated = (record: S3EventRecord): boolean =>
  record.eventName.startsWith('ObjectCreated:');

export const sourceFromS3Record = (record: S3EventRecord): SourceObject => {
  const { bucket, object } = record.s3;
  return {
    bucket: bucket.name,
    key: decodeS3Key(object.key),
    // Emulators send "" for absent fields; the schema wants them absent.
    versionId: object.versionId || undefined,
    etag: object.eTag?.replace(/"/g, '') || undefined,
    size: object.size,
  };
};

export interface Upload {
  readonly record: S3EventRecord;
  readonly source: SourceObject;
}

/**
 * The uploads in one SQS body, for every subscriber of the upload topic: the
 * s3:TestEvent and records outside the upload contract (other events, other
 * prefixes, folder placeholders) are logged and left out, the same way for all.
 */
export const uploadsIn = (
  body: string,
  onIgnored?: (record: S3EventRecord, source: SourceObject) => void
): Upload[] => {
  const parsed = parseS3EventBody(body);
  if (parsed.kind === 'test') {
    logger.info('Ignoring s3:TestEvent');
    return [];
  }
  const uploads: Upload[] = [];
  for (const record of parsed.records) {
    const source = sourceFromS3Record(record);
    if (isObjectCreated(record) && isUploadKey(source.key)) uploads.push({ record, source });
    else if (onIgnored) onIgnored(record, source);
    else
      logger.info('Ignoring event outside the upload contract', {
        eventName: record.eventName,
        key: source.key,
      });
  }
  return uploads;
};

/**
 * The tenants of the uploads in one SQS body, without logging anything (for
 * tagging log lines before the body is handled). Throws like uploadsIn on a
 * bad body or an invalid tenant segment.
 */
export const tenantsInBody = (body: string): string[] => {
  const parsed = parseS3EventBody(body);
  if (parsed.kind === 'test') return [];
  return parsed.records
    .filter((record) => isObjectCreated(record))
    .map((record) => sourceFromS3Record(record).key)
    .filter(isUploadKey)
    .map(tenantOfKey);
};
