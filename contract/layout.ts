import { createHash } from 'node:crypto';

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
export const branchResultKey = (videoId: string, branchId: string): string =>
  artifactKey(videoId, `_work/branches/${branchId}.json`);

/**
 * The identity S3 gives one object version (ETag when the bucket is unversioned).
 * Takes the SourceObject's fields structurally: the layout is the bottom of the
 * contract (tenant.ts and schemas.ts build on it), so it imports none of it.
 */
export const versionIdentity = (source: {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string | undefined;
  readonly etag?: string | undefined;
}): string => `${source.bucket}/${source.key}#${source.versionId ?? source.etag ?? ''}`;

/**
 * The per-source-key pointer: which videoId is current for one `bucket/key`.
 * Published: `outputs/by-key/<sha256 of "bucket/key", lowercase hex>/current.json`.
 * Hashed because keys may be 1024 bytes of anything; the pointer names the key in full.
 */
export const BY_KEY_PREFIX = `${OUTPUT_PREFIX}by-key/`;
export const sourceKeyHash = (bucket: string, key: string): string =>
  createHash('sha256').update(`${bucket}/${key}`).digest('hex');
export const currentPointerKey = (bucket: string, key: string): string =>
  `${BY_KEY_PREFIX}${sourceKeyHash(bucket, key)}/current.json`;

/**
 * S3's ordering of events on one key: sequencers are hex strings of varying
 * length, compared after left-padding the shorter with zeros (as the S3 docs
 * say). Positive when `a` is newer.
 */
export const compareSequencers = (a: string, b: string): number => {
  const width = Math.max(a.length, b.length);
  const pa = a.toUpperCase().padStart(width, '0');
  const pb = b.toUpperCase().padStart(width, '0');
  return pa < pb ? -1 : pa > pb ? 1 : 0;
};

/** The segment items the Plan writes for the segment Distributed Map (internal). */
export const segmentItemsKey = (videoId: string): string =>
  artifactKey(videoId, '_work/segments/items.json');
/** Where the segment Distributed Map's ResultWriter writes (Step Functions adds the Map Run id). */
export const SEGMENT_RUNS_PREFIX = `${OUTPUT_PREFIX}_segment-runs/`;

/**
 * Whether a top-level folder under outputs/ (`outputs/<name>/`) holds a video.
 * The per-key pointers (by-key/) and the workflow's internal folders do not:
 * every internal name starts with `_` (`_segment-runs/`, like `_work/` inside a
 * video), which no videoId can (slug and tenant are `[a-z0-9-]`). Listings of
 * videos (the CLI's list and metrics, the console) use this one predicate.
 */
export const isVideoFolder = (name: string): boolean =>
  name.length > 0 && !name.startsWith('_') && `${OUTPUT_PREFIX}${name}/` !== BY_KEY_PREFIX;

/** Where segment `index` of one rendition branch is stored until the join (internal `_work/`). */
export const segmentRelativeKey = (renditionId: string, index: number): string =>
  `_work/segments/${renditionId}/${String(index).padStart(4, '0')}.mp4`;

/**
 * Where the video's audio track (AAC: the join of its audio parts, or the whole-file
 * encode of an items file written before the parts) is stored until the renditions' joins.
 */
export const audioItemRelativeKey = (): string => '_work/segments/audio.m4a';

/** The folder of the audio parts (docs/segments.md, "Audio in parts"); internal `_work/`. */
export const AUDIO_PARTS_RELATIVE_PREFIX = '_work/segments/audio-parts/';

/** Where audio part `part` is stored until the audio join. */
export const audioPartRelativeKey = (part: number): string =>
  `${AUDIO_PARTS_RELATIVE_PREFIX}${String(part).padStart(4, '0')}.m4a`;
