import { isVideoFolder, OUTPUT_PREFIX } from '../../contract/index.js';
import { NotFoundError } from './errors.js';

/**
 * What the console may read, decided before any S3 call: a videoId in the shape
 * `videoIdFor` gives (also a legal execution name), and artifact keys under one
 * video's `outputs/<videoId>/`, segment by segment from a short list of
 * characters. Anything else is "not found" (404), not a hint about what exists.
 *
 * Why an allow-list rather than stripping `..`: S3 keys are opaque (a `..` or `%2F`
 * in a key is a literal), but the HTTP layers between here and the store are not
 * (URL parsers fold `.`/`..`, proxies decode `%2F`), so a key that any layer could
 * read differently is refused outright. See docs/security.md.
 */

/** `[<tenant>--]<slug>-<hash16>` and redrive names: ≤ 80 of `[a-z0-9-]`, no leading `-`. */
const VIDEO_ID = /^[a-z0-9][a-z0-9-]{0,79}$/;

/** One path segment of a published artifact: no leading `.` or `_` (internal), no `%`, `\`, controls. */
const ARTIFACT_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/** Published keys are short; S3 allows 1,024 bytes, the console needs far fewer. */
const MAX_ARTIFACT_KEY = 512;

export const isVideoId = (value: string): boolean => VIDEO_ID.test(value);

/** A videoId the console may look up, or a 404 (it becomes part of an S3 key and an ARN). */
export const checkVideoId = (id: string): string => {
  if (!isVideoId(id)) throw new NotFoundError(`no such video: ${JSON.stringify(id.slice(0, 100))}`);
  return id;
};

/** The videoId of a route segment (still percent-encoded), or a 404. */
export const videoIdFromPath = (segment: string): string => {
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    id = segment;
  }
  return checkVideoId(id);
};

/**
 * Only a video's published artifacts: `outputs/<videoId>/<a>/<b>…`, never its
 * `_work/` records, another prefix or bucket, a `.`/`..`/empty segment or an
 * encoded character.
 */
export const checkArtifactKey = (key: string): string => {
  const segments = key.split('/');
  const [prefix, videoId, ...rest] = segments;
  const ok =
    key.length <= MAX_ARTIFACT_KEY &&
    `${prefix}/` === OUTPUT_PREFIX &&
    videoId !== undefined &&
    isVideoId(videoId) &&
    isVideoFolder(videoId) &&
    rest.length > 0 &&
    rest.every((s) => ARTIFACT_SEGMENT.test(s));
  if (!ok) {
    throw new NotFoundError(`not a published artifact: ${JSON.stringify(key.slice(0, 200))}`);
  }
  return key;
};

/** The one folder the player's route serves: a video's HLS ladder (lambdas/branch-kinds/hls.ts). */
export const HLS_FOLDER = 'hls';

/**
 * The S3 key behind `/api/hls/<videoId>/<file…>`: the raw (still percent-encoded)
 * path after `/api/hls/`, read as `<videoId>/<file…>` and checked as a published
 * artifact under that video's `hls/` folder, or a 404. Nothing is decoded: a `%`
 * is refused by checkArtifactKey, so no layer can read the key differently.
 */
export const hlsKeyFromPath = (rest: string): string => {
  const slash = rest.indexOf('/');
  const videoId = slash > 0 ? rest.slice(0, slash) : '';
  if (!isVideoId(videoId)) {
    throw new NotFoundError(`not a published HLS file: ${JSON.stringify(rest.slice(0, 200))}`);
  }
  return checkArtifactKey(`${OUTPUT_PREFIX}${videoId}/${HLS_FOLDER}/${rest.slice(slash + 1)}`);
};
