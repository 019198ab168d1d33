import type { IncomingMessage } from 'node:http';

/**
 * What the front door reads from an S3 request before fauxqs sees it: the
 * literal bucket and key, and the request limits S3 enforces that fauxqs 2.4.1
 * does not (key length, user-metadata size).
 */

export interface S3ObjectTarget {
  bucket: string;
  /** The key exactly as the client named it: percent-decoded once, never normalised. */
  key: string;
}

/** An S3 error the front door answers itself, in S3's XML shape. */
export interface S3Refusal {
  status: number;
  code: string;
  message: string;
}

const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

/**
 * Bucket and key of a path-style or virtual-hosted request, read from the raw
 * request target. WHATWG `new URL()` must not be used for this: it resolves `.`
 * and `..` segments (also `%2e%2e`), so `uploads/a/../b.mp4` would become
 * `uploads/b.mp4`, while fauxqs stores the literal key, as S3 does
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html).
 * Undefined for bucket-level requests and for malformed percent-encoding
 * (left to fauxqs, which refuses it).
 */
export function s3ObjectTarget(req: IncomingMessage): S3ObjectTarget | undefined {
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const rawPath = q === -1 ? raw : raw.slice(0, q);
  if (!rawPath.startsWith('/')) return undefined;
  const hostname = (req.headers.host ?? '').split(':')[0];
  const virtualHosted = hostname.includes('.') && !IPV4.test(hostname);
  let bucket: string;
  let rawKey: string;
  if (virtualHosted) {
    bucket = hostname.slice(0, hostname.indexOf('.'));
    rawKey = rawPath.slice(1);
  } else {
    const slash = rawPath.indexOf('/', 1);
    if (slash === -1) return undefined;
    bucket = rawPath.slice(1, slash);
    rawKey = rawPath.slice(slash + 1);
  }
  if (!bucket || !rawKey) return undefined;
  try {
    return { bucket: decodeURIComponent(bucket), key: decodeURIComponent(rawKey) };
  } catch {
    return undefined;
  }
}

/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html: up to 1,024 bytes of UTF-8. */
export const S3_MAX_KEY_BYTES = 1024;

/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html: user metadata up to 2 KB. */
export const S3_MAX_USER_METADATA_BYTES = 2048;

/**
 * The user-defined metadata size as S3 measures it: "the sum of the number of
 * bytes in the UTF-8 encoding of each key and value" (UsingMetadata.html), the
 * key being the name after `x-amz-meta-`. Node hands header values over as one
 * character per received byte (latin1), so the byte count is taken in latin1:
 * that is the UTF-8 length the client sent.
 */
export function userMetadataBytes(req: IncomingMessage): number {
  let total = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    if (!name.startsWith('x-amz-meta-')) continue;
    total +=
      Buffer.byteLength(name.slice('x-amz-meta-'.length), 'latin1') +
      Buffer.byteLength(req.rawHeaders[i + 1], 'latin1');
  }
  return total;
}

/** Which request writes an object's key and user metadata, and so is subject to their limits. */
export type ObjectWrite = 'put' | 'copy' | 'copy-replace' | 'create-multipart' | 'part';

export function objectWrite(req: IncomingMessage): ObjectWrite | undefined {
  const raw = req.url ?? '/';
  const params = new URLSearchParams(raw.includes('?') ? raw.slice(raw.indexOf('?') + 1) : '');
  if (req.method === 'POST') return params.has('uploads') ? 'create-multipart' : undefined;
  if (req.method !== 'PUT') return undefined;
  if (params.has('uploadId') || params.has('partNumber')) return 'part';
  // Sub-resource writes (tagging, ACL, ...) carry no key or metadata of their own.
  if (
    ['tagging', 'acl', 'retention', 'legal-hold', 'torrent', 'restore'].some((p) => params.has(p))
  )
    return undefined;
  if (req.headers['x-amz-copy-source'] === undefined) return 'put';
  const directive = String(req.headers['x-amz-metadata-directive'] ?? 'COPY').toUpperCase();
  return directive === 'REPLACE' ? 'copy-replace' : 'copy';
}

/**
 * The refusal S3 gives a write before storing anything, or undefined:
 * KeyTooLongError for a key over 1,024 bytes
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList),
 * MetadataTooLarge for user metadata over 2 KB on PutObject, CopyObject with
 * REPLACE and CreateMultipartUpload (a COPY keeps the source's, already within
 * the limit).
 */
export function objectWriteRefusal(
  req: IncomingMessage,
  target: S3ObjectTarget,
  write: ObjectWrite
): S3Refusal | undefined {
  const keyBytes = Buffer.byteLength(target.key, 'utf8');
  if (keyBytes > S3_MAX_KEY_BYTES) {
    return {
      status: 400,
      code: 'KeyTooLongError',
      message: `Your key is too long (${keyBytes} bytes; the limit is ${S3_MAX_KEY_BYTES})`,
    };
  }
  if (write === 'put' || write === 'copy-replace' || write === 'create-multipart') {
    const size = userMetadataBytes(req);
    if (size > S3_MAX_USER_METADATA_BYTES) {
      return {
        status: 400,
        code: 'MetadataTooLarge',
        message: `Your metadata headers exceed the maximum allowed metadata size (${size} > ${S3_MAX_USER_METADATA_BYTES} bytes)`,
      };
    }
  }
  return undefined;
}

/**
 * S3 conditional reads (GetObject and HeadObject), evaluated as S3 documents
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html and
 * API_HeadObject.html): If-Match false -> 412; If-Unmodified-Since false -> 412
 * unless If-Match is present and true; If-None-Match false -> 304;
 * If-Modified-Since false -> 304 unless If-None-Match is present and true.
 * fauxqs 2.4.1 ignores them on HEAD, and on GET compares If-Match as an exact
 * string (no `*`, no list, no unquoted form) and dates to the millisecond.
 */
export interface ReadConditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

export function readConditions(req: IncomingMessage): ReadConditions | undefined {
  const h = req.headers;
  const c: ReadConditions = {
    ifMatch: h['if-match'],
    ifNoneMatch: h['if-none-match'],
    ifModifiedSince: h['if-modified-since'],
    ifUnmodifiedSince: h['if-unmodified-since'],
  };
  return Object.values(c).some((v) => v !== undefined) ? c : undefined;
}

const entityTags = (header: string) =>
  header.split(',').map((t) =>
    t
      .trim()
      .replace(/^W\//, '')
      .replace(/^"(.*)"$/, '$1')
  );

function etagMatches(header: string, etag: string): boolean {
  const current = etag.replace(/^"(.*)"$/, '$1');
  return entityTags(header).some((t) => t === '*' || t === current);
}

/** Seconds since the epoch of an HTTP date, or undefined when it is not one (then ignored, as S3 does). */
function httpSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/**
 * 412 or 304 for an existing object with this ETag and Last-Modified, or
 * undefined when the read goes ahead. Last-Modified is compared at the
 * second, the precision of the header a client echoes back.
 */
export function readConditionOutcome(
  c: ReadConditions,
  object: { etag: string; lastModified: Date }
): 304 | 412 | undefined {
  const modified = Math.floor(object.lastModified.getTime() / 1000);
  if (c.ifMatch !== undefined) {
    if (!etagMatches(c.ifMatch, object.etag)) return 412;
  } else {
    const since = httpSeconds(c.ifUnmodifiedSince);
    if (since !== undefined && modified > since) return 412;
  }
  if (c.ifNoneMatch !== undefined) {
    if (etagMatches(c.ifNoneMatch, object.etag)) return 304;
  } else {
    const since = httpSeconds(c.ifModifiedSince);
    if (since !== undefined && modified <= since) return 304;
  }
  return undefined;
}
