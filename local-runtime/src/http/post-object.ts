import type { IncomingMessage } from 'node:http';

/**
 * Browser uploads with a presigned POST (S3 POST Object): the key is a form field, not the
 * path, and S3 notifies `s3:ObjectCreated:Post` for them.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html
 */

/** S3's `${filename}` form variable (built so it is not mistaken for a JS template). */
const FILENAME_VARIABLE = `$${'{filename}'}`;

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** How much of a POST body is kept to read its key: the fields before the file. */
export const POST_FIELDS_LIMIT = 64 * 1024;

/** The bucket of a POST Object request (multipart/form-data to the bucket), else undefined. */
export function postObjectBucket(req: IncomingMessage): string | undefined {
  if (req.method !== 'POST') return undefined;
  if (!/^multipart\/form-data/i.test(String(req.headers['content-type'] ?? ''))) return undefined;
  const raw = req.url ?? '/';
  const path = raw.split('?')[0];
  const hostname = (req.headers.host ?? '').split(':')[0];
  if (hostname.includes('.') && !IPV4.test(hostname)) {
    return path === '/' ? hostname.slice(0, hostname.indexOf('.')) : undefined;
  }
  const m = /^\/([^/]+)\/?$/.exec(path);
  try {
    return m ? decodeURIComponent(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The object key a POST Object form names: its `key` field, with `${filename}` replaced
 * by the file part's filename, as S3 does. Reads the fields up to the file part (S3
 * ignores fields after it), so the start of the body is enough.
 */
export function postObjectKey(bodyStart: Buffer, contentType: string): string | undefined {
  const boundary = /boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType);
  if (!boundary) return undefined;
  const text = bodyStart.toString('latin1');
  const parts = text.split(`--${boundary[1] ?? boundary[2]}`).slice(1);
  let key: string | undefined;
  for (const part of parts) {
    const end = part.indexOf('\r\n\r\n');
    if (end === -1) break;
    const headers = part.slice(0, end);
    const name = /name="([^"]*)"/i.exec(headers)?.[1];
    if (name?.toLowerCase() === 'file') {
      const filename = /filename="([^"]*)"/i.exec(headers)?.[1] ?? '';
      return key?.replaceAll(FILENAME_VARIABLE, Buffer.from(filename, 'latin1').toString('utf8'));
    }
    if (name === 'key') {
      const value = part.slice(end + 4).replace(/\r\n$/, '');
      key = Buffer.from(value, 'latin1').toString('utf8');
    }
  }
  return key;
}
