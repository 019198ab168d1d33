/**
 * S3 user metadata an uploader may set (sent as `x-amz-meta-<key>`). With the
 * AWS CLI use the JSON form, because the shorthand splits values on commas:
 * `aws s3 cp clip.mp4 s3://…/uploads/clip.mp4 --metadata '{"thumbnail-times":"1,2.5"}'`.
 */
/** Extra thumbnail times in seconds, comma-separated: `1,2.5,30`. */
export const THUMBNAIL_TIMES_METADATA = 'thumbnail-times';
/**
 * Test hook: branch ids, comma-separated (`thumb-02,metadata`), whose first run
 * fails with `InjectedFailure`; a later run of the same video (a redrive) runs
 * them normally. It lets the e2e suite make a video PARTIAL on any target
 * without a special deployment. It can only fail the uploader's own video.
 */
export const FAIL_ONCE_METADATA = 'test-fail-once';

/** Extra thumbnails one upload may ask for by default (the stack's `maxExtraThumbnails`). */
export const DEFAULT_MAX_EXTRA_THUMBNAILS = 20;

/** One ignored entry as a warning quotes it: enough to recognise, never a wall of text. */
const QUOTE_LIMIT = 40;
/** A warning never grows past this, whatever an emulator lets through as metadata. */
const WARNING_LIMIT = 1_000;

export interface ThumbnailTimesRequest {
  /** Valid, distinct times in the uploader's order, at most the limit. */
  readonly times: number[];
  /** Entries that are not a time in seconds (as written, trimmed). */
  readonly invalid: string[];
  /** Valid times past the limit, in order: the uploader asked for more than one upload may. */
  readonly beyondLimit: number[];
}

/**
 * Parses `thumbnail-times` ("1,2.5,30") and bounds it: at most `limit` distinct
 * valid times are kept, so one upload's metadata cannot fan out to hundreds of
 * branches (S3 allows 2 KB of user metadata: ~1,000 entries). Pure: the probe
 * and the plan read the same metadata the same way.
 */
export const readThumbnailTimes = (
  raw: string | undefined,
  limit: number
): ThumbnailTimesRequest => {
  const times: number[] = [];
  const invalid: string[] = [];
  const beyondLimit: number[] = [];
  if (!raw?.trim()) return { times, invalid, beyondLimit };
  for (const part of raw.split(',')) {
    const text = part.trim();
    const n = Number(text);
    // Beyond a safe integer of milliseconds a time has no exact branch id (thumb-at-<s>s).
    if (text === '' || !Number.isFinite(n) || n < 0 || n * 1000 > Number.MAX_SAFE_INTEGER) {
      invalid.push(text);
    } else if (times.includes(n) || beyondLimit.includes(n)) {
      // A repeated time is one thumbnail, not a problem worth a warning.
    } else if (times.length < limit) times.push(n);
    else beyondLimit.push(n);
  }
  return { times, invalid, beyondLimit };
};

const quote = (s: string): string =>
  JSON.stringify(s.length > QUOTE_LIMIT ? `${s.slice(0, QUOTE_LIMIT - 1)}…` : s);
const bounded = (s: string): string =>
  s.length > WARNING_LIMIT ? `${s.slice(0, WARNING_LIMIT - 1)}…` : s;

/** The manifest's warnings for what a request left out: at most two lines, each bounded. */
export const thumbnailTimeWarnings = (request: ThumbnailTimesRequest, limit: number): string[] => {
  const warnings: string[] = [];
  const { invalid, beyondLimit } = request;
  if (invalid.length > 0) {
    warnings.push(
      bounded(
        `${THUMBNAIL_TIMES_METADATA}: ignored ${invalid.length} ${invalid.length === 1 ? 'entry' : 'entries'} ` +
          `that ${invalid.length === 1 ? 'is' : 'are'} not a time in seconds: ${invalid.map(quote).join(', ')}`
      )
    );
  }
  if (beyondLimit.length > 0) {
    warnings.push(
      bounded(
        `${THUMBNAIL_TIMES_METADATA}: ignored ${beyondLimit.length} ${beyondLimit.length === 1 ? 'time' : 'times'} ` +
          `beyond the limit of ${limit} extra thumbnails: ${beyondLimit.join(', ')}`
      )
    );
  }
  return warnings;
};
