import { closeSync, createReadStream } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { OpenedObject } from '../s3-persistence.js';
import { type S3ObjectTarget, s3ObjectTarget } from './s3-request.js';

/**
 * Object GETs served from the runtime's S3 storage as a file stream.
 *
 * fauxqs answers every GET, ranged or not, by reading the whole object file into
 * one Buffer and slicing it, so ffprobe reading a 1 GB source through
 * `Range: bytes=0-` costs 1 GB per request. Here fauxqs still decides
 * everything (HEAD: existence, errors, headers) and only the bytes come from the
 * file, read for the requested range. The file is found through the
 * persistence (a hash of bucket and key, never a path built from the key) and
 * opened in the same tick as its ETag is compared with the HEAD's, so the bytes
 * sent are the ones the headers describe. Conditional headers are settled by the
 * router before this runs; partNumber, response-* overrides and several ranges
 * are left to fauxqs.
 */

/**
 * Bytes per file read and socket write. At the 64 KiB default, serving a video to the
 * branches' ffmpeg was the runtime's largest CPU cost after GC: 300 MB served to curl took
 * 770 ms of the runtime's CPU at 64 KiB, 375 ms at 1 MiB and 365 ms at 4 MiB (two runs
 * each). A response holds at most about two chunks in memory (one read ahead, one in the socket).
 */
const READ_CHUNK_BYTES = 1024 * 1024;

/** Query parameters of a plain (possibly presigned) GetObject. */
const PLAIN_QUERY = new Set([
  'x-id',
  'X-Amz-Algorithm',
  'X-Amz-Content-Sha256',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-Security-Token',
  'X-Amz-Signature',
  'X-Amz-SignedHeaders',
  // The SDK asks for checksums on every GetObject (responseChecksumValidation).
  'x-amz-checksum-mode',
]);

/** Query parameters GetObject/HeadObject may carry besides the plain ones. */
const OBJECT_READ_QUERY = new Set(['partNumber', 'versionId']);

/** A GET or HEAD of one object (not a sub-resource such as ?tagging or ?attributes). */
export function isObjectRead(req: IncomingMessage, url: URL): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  return [...url.searchParams.keys()].every(
    (k) => PLAIN_QUERY.has(k) || OBJECT_READ_QUERY.has(k) || k.startsWith('response-')
  );
}

/** Path-style GetObject the file path can serve, or undefined. */
export function plainObjectGet(req: IncomingMessage, url: URL): S3ObjectTarget | undefined {
  if (req.method !== 'GET') return undefined;
  const hostname = (req.headers.host ?? '').split(':')[0];
  if (hostname.includes('.') && !/^\d+\.\d+\.\d+\.\d+$/.test(hostname)) return undefined;
  if ([...url.searchParams.keys()].some((k) => !PLAIN_QUERY.has(k))) return undefined;
  return s3ObjectTarget(req);
}

/** One `bytes=` range as S3 reads it; undefined when it is not satisfiable or not a single range. */
export function parseRange(
  header: string,
  size: number
): { start: number; end: number } | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return undefined;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || start > end) return undefined;
  return { start, end };
}

/** The raw request path: `url.pathname` has `.`/`..` segments resolved, the key must not. */
export const rawPath = (req: IncomingMessage) => (req.url ?? '/').split('?')[0];

export const headObject = (agent: http.Agent, port: number, req: IncomingMessage, url: URL) =>
  new Promise<IncomingMessage>((resolve, reject) => {
    const checksumMode =
      req.headers['x-amz-checksum-mode'] ?? url.searchParams.get('x-amz-checksum-mode');
    const h = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'HEAD',
        path: rawPath(req),
        agent,
        headers: {
          host: req.headers.host ?? `127.0.0.1:${port}`,
          ...(checksumMode ? { 'x-amz-checksum-mode': checksumMode } : {}),
        },
      },
      resolve
    );
    h.on('error', reject);
    h.end();
  });

/**
 * Serves the GET from the object file; resolves false (nothing sent) when fauxqs
 * should answer it instead. `meta` is fauxqs's HEAD for the object when the
 * caller already has it.
 */
export async function serveObjectFromDisk(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  target: S3ObjectTarget,
  deps: {
    agent: http.Agent;
    fauxqsPort: number;
    open(bucket: string, key: string): OpenedObject | undefined;
  },
  known?: IncomingMessage
): Promise<boolean> {
  const meta = known ?? (await headObject(deps.agent, deps.fauxqsPort, req, url));
  if (!known) meta.resume();
  const size = Number(meta.headers['content-length']);
  if (meta.statusCode !== 200 || !Number.isSafeInteger(size) || size === 0) return false;
  const opened = deps.open(target.bucket, target.key);
  if (!opened) return false;
  // Replaced since the HEAD: let fauxqs answer for the object as it is now.
  if (opened.etag !== meta.headers.etag || opened.size !== size) {
    closeSync(opened.fd);
    return false;
  }
  const rangeHeader = req.headers.range;
  const range = rangeHeader ? parseRange(rangeHeader, size) : { start: 0, end: size - 1 };
  if (!range) {
    closeSync(opened.fd);
    return false;
  }
  const headers: http.OutgoingHttpHeaders = { ...meta.headers };
  delete headers.connection;
  delete headers['keep-alive'];
  delete headers['transfer-encoding'];
  headers['content-length'] = range.end - range.start + 1;
  headers['accept-ranges'] = 'bytes';
  if (rangeHeader) {
    headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
    // A whole-object checksum does not describe a range (S3 and fauxqs omit it too).
    for (const h of Object.keys(headers)) if (h.startsWith('x-amz-checksum-')) delete headers[h];
  }
  res.writeHead(rangeHeader ? 206 : 200, headers);
  const stream = createReadStream('', {
    fd: opened.fd,
    start: range.start,
    end: range.end,
    autoClose: true,
    highWaterMark: READ_CHUNK_BYTES,
  });
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
  stream.pipe(res);
  return true;
}
