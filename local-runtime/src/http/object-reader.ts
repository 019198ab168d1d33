import { createReadStream, statSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';

/**
 * Object GETs served from fauxqs's storage directory as a file stream.
 *
 * fauxqs answers every GET, ranged or not, by reading the whole object file into
 * one Buffer (readFileSync) and slicing it, so ffprobe reading a 1 GB source
 * through `Range: bytes=0-` costs 1 GB per request. Here fauxqs still decides
 * everything (HEAD: existence, errors, headers) and only the bytes come from the
 * file, read for the requested range. Anything unusual (conditional headers,
 * partNumber, response-* overrides, several ranges) is left to fauxqs.
 */

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

const DEFER_HEADERS = ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'];

/** Path-style GetObject the file path can serve, or undefined. */
export function plainObjectGet(
  req: IncomingMessage,
  url: URL
): { bucket: string; key: string } | undefined {
  if (req.method !== 'GET') return undefined;
  const hostname = (req.headers.host ?? '').split(':')[0];
  if (hostname.includes('.') && !/^\d+\.\d+\.\d+\.\d+$/.test(hostname)) return undefined;
  if ([...url.searchParams.keys()].some((k) => !PLAIN_QUERY.has(k))) return undefined;
  if (DEFER_HEADERS.some((h) => req.headers[h] !== undefined)) return undefined;
  const [bucket, ...rest] = url.pathname.split('/').slice(1);
  if (!bucket || rest.length === 0) return undefined;
  try {
    const key = rest.map((s) => decodeURIComponent(s)).join('/');
    return key ? { bucket, key } : undefined;
  } catch {
    return undefined;
  }
}

/** fauxqs 2.4.1 FileS3Persistence's key -> file mapping (unsafe characters %-encoded, '/' kept). */
export function objectDataPath(storageDir: string, bucket: string, key: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the same set fauxqs encodes
  const encoded = key.replace(/[<>:"|?*\\%\x00-\x1f]/g, (ch) => {
    return `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  return path.join(
    storageDir,
    'buckets',
    bucket,
    'objects',
    `${encoded.split('/').join(path.sep)}.data`
  );
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

const head = (agent: http.Agent, port: number, req: IncomingMessage, url: URL) =>
  new Promise<IncomingMessage>((resolve, reject) => {
    const checksumMode =
      req.headers['x-amz-checksum-mode'] ?? url.searchParams.get('x-amz-checksum-mode');
    const h = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'HEAD',
        path: url.pathname,
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
 * should answer it instead.
 */
export async function serveObjectFromDisk(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  target: { bucket: string; key: string },
  deps: { agent: http.Agent; fauxqsPort: number; storageDir: string }
): Promise<boolean> {
  const meta = await head(deps.agent, deps.fauxqsPort, req, url);
  meta.resume();
  const size = Number(meta.headers['content-length']);
  if (meta.statusCode !== 200 || !Number.isSafeInteger(size) || size === 0) return false;
  const file = objectDataPath(deps.storageDir, target.bucket, target.key);
  try {
    // A file of another size was replaced since the HEAD: let fauxqs answer.
    if (statSync(file).size !== size) return false;
  } catch {
    return false;
  }
  const rangeHeader = req.headers.range;
  const range = rangeHeader ? parseRange(rangeHeader, size) : { start: 0, end: size - 1 };
  if (!range) return false;
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
  const stream = createReadStream(file, { start: range.start, end: range.end });
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
  stream.pipe(res);
  return true;
}
