import { createHash } from 'node:crypto';
import { versionIdentity } from './layout.js';
import type { SourceObject } from './schemas.js';
import { slugify } from './slug.js';
import { DEFAULT_TENANT, tenantOfKey } from './tenant.js';

/** Separates the tenant from the rest of a videoId; a slug never contains it (runs of `-` collapse). */
export const TENANT_SEPARATOR = '--';

/**
 * A readable slug of the file name. Accents are transliterated rather than
 * dropped (`été 2026` → `ete-2026`), so the id still says which file it is.
 */
export const slugOf = (key: string): string => {
  const base = key.split('/').pop() ?? key;
  const stem = base.includes('.') ? base.slice(0, base.lastIndexOf('.')) : base;
  const s = slugify(stem, 40);
  return s || 'video';
};

/** Who an upload belongs to and the id it goes by: computed once, where the upload enters. */
export interface UploadIdentity {
  readonly videoId: string;
  readonly tenant: string;
}

/**
 * An upload's tenant (tenantOfKey) and videoId (below), the tenant derived once:
 * the starter puts both in the workflow input, and every later step reads the
 * `tenant` field instead of deriving it again.
 */
export const uploadIdentity = (source: SourceObject): UploadIdentity => {
  const tenant = tenantOfKey(source.key);
  const hash = createHash('sha256').update(versionIdentity(source)).digest('hex').slice(0, 16);
  return { videoId: `${videoIdStemOf(source.key, tenant)}-${hash}`, tenant };
};

/**
 * A videoId without its hash, `[<tenant>--]<slug>`: what a client that knows only
 * the key can look for (the demo lists the outputs under it).
 */
export const videoIdStemOf = (key: string, tenant = tenantOfKey(key)): string =>
  `${tenant === DEFAULT_TENANT ? '' : `${tenant}${TENANT_SEPARATOR}`}${slugOf(key)}`;

/**
 * Deterministic id of one uploaded object version: readable slug + hash of
 * bucket, key and version (ETag when the bucket is unversioned). It doubles as
 * the Step Functions execution name, which makes starting a workflow
 * idempotent on the upload's business identity: a duplicated S3 event or an
 * SNS redelivery cannot start a second run. Fits the execution-name rules
 * (≤ 80 chars of [a-z0-9-]: tenant ≤ 20 + `--` + slug ≤ 40 + `-` + 16).
 *
 * An upload of a tenant other than `default` is prefixed `<tenant>--`, so the
 * execution name says whose it is and the starter can count a tenant's
 * RUNNING executions from one ListExecutions (see tenantOfVideoId).
 */
export const videoIdFor = (source: SourceObject): string => uploadIdentity(source).videoId;

/**
 * The tenant a videoId (an execution name) belongs to: its `<tenant>--` prefix,
 * else `default`. Only where the name is all there is: the starter's quota
 * counts RUNNING executions from ListExecutions, which returns names and no
 * input, and a redrive of a manifest or execution input written before the
 * `tenant` field existed. Everywhere else the `tenant` field is read.
 */
export const tenantOfVideoId = (videoId: string): string => {
  const at = videoId.indexOf(TENANT_SEPARATOR);
  return at > 0 ? videoId.slice(0, at) : DEFAULT_TENANT;
};

/**
 * The execution name of a video's redrive attempt (`npm run redrive -- video`).
 * Deterministic, so starting the same attempt twice is refused by Step
 * Functions instead of running it twice; ≤ 57 + 12 chars, within the 80 allowed.
 */
export const redriveExecutionName = (videoId: string, attempt: number): string =>
  `${videoId}-redrive-${attempt}`;

/**
 * The video an execution belongs to: a redrive attempt (`<videoId>-redrive-<n>`)
 * is the same video as its original execution. A videoId ends with 16 hex digits,
 * so a file named `…-redrive-2` is not mistaken for an attempt.
 */
export const videoIdOfExecution = (executionName: string): string =>
  /^(.+-[0-9a-f]{16})-redrive-\d+$/.exec(executionName)?.[1] ?? executionName;
