import type { SourceObject } from './schemas.js';

/**
 * The published S3 layout. Uploads land under `uploads/[<tenant>/]…`; everything
 * a video produces lives under `outputs/<videoId>/`. Consumers may rely on
 * these paths (they are pinned by literal-path tests); `_work/` is internal to
 * the workflow and not part of the contract.
 */
export const UPLOAD_PREFIX = 'uploads/';
export const OUTPUT_PREFIX = 'outputs/';
export const AUDIT_PREFIX = 'audit/';

/** Extensions accepted under uploads/ without a warning (the notification filters on prefix only). */
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

export const extensionOf = (key: string): string => {
  const base = key.split('/').pop() ?? '';
  return base.includes('.') ? base.slice(base.lastIndexOf('.') + 1).toLowerCase() : '';
};

/** Where every output of one video lives. */
export const outputPrefix = (videoId: string): string => `${OUTPUT_PREFIX}${videoId}/`;
/** A published artifact of a video, at a path relative to its output prefix. */
export const artifactKey = (videoId: string, relative: string): string =>
  `${outputPrefix(videoId)}${relative}`;
export const manifestKey = (videoId: string): string => artifactKey(videoId, 'manifest.json');
export const auditKey = (videoId: string): string => `${AUDIT_PREFIX}${videoId}.json`;

/** Internal: the workflow's own records. Not part of the published contract. */
export const branchRecordKey = (videoId: string, branchId: string): string =>
  artifactKey(videoId, `_work/branches/${branchId}.json`);

/** The identity S3 gives one object version (ETag when the bucket is unversioned). */
export const versionIdentity = (source: SourceObject): string =>
  `${source.bucket}/${source.key}#${source.versionId ?? source.etag ?? ''}`;
