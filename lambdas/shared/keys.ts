import { createHash } from 'node:crypto';
import type { SourceObject } from './schemas.js';

/**
 * Where everything lives in S3, and the identity of a video. Both the workers
 * and the aggregator derive keys from here, so the fan-in never needs the
 * fan-out to tell it where things are.
 */

export const UPLOAD_PREFIX = 'uploads/';
export const OUTPUT_PREFIX = 'outputs/';

/** Extensions accepted under uploads/ (the S3 notification filters on prefix only). */
export const VIDEO_EXTENSIONS = [
  'mp4',
  'm4v',
  'mov',
  'mkv',
  'webm',
  'avi',
  'mpg',
  'mpeg',
  'ts',
  'mts',
  'm2ts',
  'wmv',
  'flv',
  '3gp',
  'ogv',
] as const;

const slug = (key: string): string => {
  const base = key.split('/').pop() ?? key;
  const stem = base.includes('.') ? base.slice(0, base.lastIndexOf('.')) : base;
  const s = stem
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return s || 'video';
};

/**
 * Deterministic id of one uploaded object version: readable slug + hash of
 * bucket, key and version (ETag when the bucket is unversioned). It doubles as
 * the Step Functions execution name, which makes starting a workflow
 * idempotent: a duplicated S3 event or SNS redelivery cannot start a second run.
 * Matches the execution-name rules (≤ 80 chars of [a-z0-9-]).
 */
export const videoIdFor = (source: SourceObject): string => {
  const identity = `${source.bucket}/${source.key}#${source.versionId ?? source.etag ?? ''}`;
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 16);
  return `${slug(source.key)}-${hash}`;
};

export const extensionOf = (key: string): string => {
  const base = key.split('/').pop() ?? '';
  return base.includes('.') ? base.slice(base.lastIndexOf('.') + 1).toLowerCase() : '';
};

export const outputPrefix = (videoId: string): string => `${OUTPUT_PREFIX}${videoId}/`;
export const manifestKey = (videoId: string): string => `${outputPrefix(videoId)}manifest.json`;
export const metadataKey = (videoId: string): string => `${outputPrefix(videoId)}metadata.json`;
export const planKey = (videoId: string): string => `${outputPrefix(videoId)}_work/plan.json`;
export const branchResultKey = (videoId: string, taskId: string): string =>
  `${outputPrefix(videoId)}_work/branches/${taskId}.json`;
export const thumbnailKey = (videoId: string, taskId: string): string =>
  `${outputPrefix(videoId)}thumbnails/${taskId}.jpg`;
export const renditionKey = (videoId: string, height: number): string =>
  `${outputPrefix(videoId)}renditions/${height}p.mp4`;
export const auditKey = (videoId: string): string => `audit/${videoId}.json`;
