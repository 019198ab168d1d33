import { createHash } from 'node:crypto';
import { versionIdentity } from './layout.js';
import type { SourceObject } from './schemas.js';

/**
 * A readable slug of the file name. Accents are transliterated rather than
 * dropped (`été 2026` → `ete-2026`), so the id still says which file it is.
 */
export const slugOf = (key: string): string => {
  const base = key.split('/').pop() ?? key;
  const stem = base.includes('.') ? base.slice(0, base.lastIndexOf('.')) : base;
  const s = stem
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/ß/g, 'ss')
    .replace(/æ/gi, 'ae')
    .replace(/ø/gi, 'o')
    .replace(/œ/gi, 'oe')
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
 * idempotent on the upload's business identity: a duplicated S3 event or an
 * SNS redelivery cannot start a second run. Fits the execution-name rules
 * (≤ 80 chars of [a-z0-9-]).
 */
export const videoIdFor = (source: SourceObject): string => {
  const hash = createHash('sha256').update(versionIdentity(source)).digest('hex').slice(0, 16);
  return `${slugOf(source.key)}-${hash}`;
};

/**
 * The execution name of a video's redrive attempt (`npm run redrive -- video`).
 * Deterministic, so starting the same attempt twice is refused by Step
 * Functions instead of running it twice; ≤ 57 + 12 chars, within the 80 allowed.
 */
export const redriveExecutionName = (videoId: string, attempt: number): string =>
  `${videoId}-redrive-${attempt}`;
