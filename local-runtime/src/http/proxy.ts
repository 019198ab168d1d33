/** The proxy to fauxqs (S3, SNS, SQS, STS), which observes object writes to raise S3 notifications. */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { S3_MAX_PUT_BYTES } from '../emulator.js';
import type { ObjectCreatedEvent } from '../s3-notifier.js';
import { POST_FIELDS_LIMIT, postObjectBucket, postObjectKey } from './post-object.js';
import { type RouteContext, sendJson, sendS3Error } from './route-context.js';
import { s3ObjectTarget } from './s3-request.js';

// Query parameters that make a PUT a sub-resource write (tagging, ACL, ...) rather than an object write.
const PUT_SUBRESOURCES = [
  'partNumber',
  'uploadId',
  'tagging',
  'acl',
  'retention',
  'legal-hold',
  'torrent',
  'restore',
];

/** Which S3 writes create an object, and so may trigger bucket notifications. */
export function objectCreation(
  req: IncomingMessage,
  url: URL
): { bucket: string; key: string; event: ObjectCreatedEvent } | undefined {
  if (req.method !== 'PUT' && req.method !== 'POST') return undefined;
  // The literal key (url.pathname would have resolved `..` segments: a different key).
  const target = s3ObjectTarget(req);
  if (!target) return undefined;
  const { bucket, key } = target;
  const q = url.searchParams;
  if (req.method === 'POST') {
    return q.has('uploadId')
      ? { bucket, key, event: 'ObjectCreated:CompleteMultipartUpload' }
      : undefined;
  }
  if (PUT_SUBRESOURCES.some((p) => q.has(p))) return undefined;
  return {
    bucket,
    key,
    event: req.headers['x-amz-copy-source'] ? 'ObjectCreated:Copy' : 'ObjectCreated:Put',
  };
}

/**
 * The object this write created, from the write's own answer: S3's event names the
 * bytes that request stored, so a HEAD afterwards (which may see a later overwrite)
 * must not decide its ETag. PutObject answers the ETag in a header and its size is
 * the payload's; CopyObject and CompleteMultipartUpload answer it in their XML body.
 */
export function writtenObject(
  event: ObjectCreatedEvent,
  headers: http.IncomingHttpHeaders,
  body: Buffer,
  payload: number | undefined
): { eTag: string; size?: number } {
  if (event === 'ObjectCreated:Put') {
    return { eTag: String(headers.etag ?? '').replace(/"/g, ''), size: payload };
  }
  const m = /<ETag>([^<]*)<\/ETag>/.exec(body.toString('utf8'));
  return { eTag: (m?.[1] ?? '').replace(/&quot;|&#34;|"/g, '') };
}

/**
 * The payload size of an S3 PUT (object or part): aws-chunked bodies announce it in
 * x-amz-decoded-content-length, their Content-Length includes the chunk framing.
 */
export function s3PayloadLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['x-amz-decoded-content-length'] ?? req.headers['content-length'];
  const n = Number(raw);
  return raw === undefined || !Number.isFinite(n) ? undefined : n;
}

const FAUXQS_QUEUE_HOST = /http:\/\/sqs\.[a-z0-9-]+\.localhost(:\d+)/g;

/** SQS over JSON (X-Amz-Target AmazonSQS.*) or the query protocol (form POST to / or a queue path). */
export function isSqsRequest(req: IncomingMessage, url: URL): boolean {
  const target = String(req.headers['x-amz-target'] ?? '');
  if (target.startsWith('AmazonSQS.')) return true;
  const form = String(req.headers['content-type'] ?? '').includes('x-www-form-urlencoded');
  return (
    form && req.method === 'POST' && (url.pathname === '/' || /^\/\d{12}\//.test(url.pathname))
  );
}

/** The ETag of a POST Object's answer: a header, or the redirect's `etag` (303). */
function postedETag(headers: http.IncomingHttpHeaders): string {
  let etag = String(headers.etag ?? '');
  if (!etag && headers.location) {
    try {
      etag = new URL(String(headers.location)).searchParams.get('etag') ?? '';
    } catch {
      // No usable redirect: the notifier reads the object's ETag itself.
    }
  }
  return etag.replace(/"/g, '');
}

export function proxy(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  buffered?: Buffer
) {
  const { deps, agent } = ctx;
  const created = objectCreation(req, url);
  const sqs = isSqsRequest(req, url);
  // A presigned POST upload names its key in the form: keep the fields to raise its event.
  const postBucket = sqs ? undefined : postObjectBucket(req);
  const postFields: Buffer[] = [];
  if (postBucket && deps.notifier.hasRulesFor(postBucket)) {
    let kept = 0;
    req.on('data', (c: Buffer) => {
      if (kept >= POST_FIELDS_LIMIT) return;
      postFields.push(c.subarray(0, POST_FIELDS_LIMIT - kept));
      kept += c.length;
    });
  }
  const payload = req.method === 'PUT' && !sqs ? s3PayloadLength(req) : undefined;
  if (payload !== undefined && payload > S3_MAX_PUT_BYTES) {
    return sendS3Error(
      res,
      400,
      'EntityTooLarge',
      `Your proposed upload exceeds the maximum allowed size (${payload} > ${S3_MAX_PUT_BYTES} bytes)`
    );
  }
  const upstream = http.request(
    {
      host: '127.0.0.1',
      port: deps.fauxqsPort,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent,
    },
    (up) => {
      const status = up.statusCode ?? 502;
      if (sqs) {
        // fauxqs always mints queue URLs as http://sqs.<region>.localhost:<port>/..., and
        // *.localhost does not resolve everywhere; hand out the endpoint's own host instead.
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const body = Buffer.from(
            Buffer.concat(chunks).toString('utf8').replace(FAUXQS_QUEUE_HOST, 'http://127.0.0.1$1')
          );
          res.writeHead(status, { ...up.headers, 'content-length': body.length });
          res.end(body);
        });
        return;
      }
      if (postBucket && postFields.length > 0 && [200, 201, 204, 303].includes(status)) {
        res.writeHead(status, up.headers);
        up.pipe(res);
        const key = postObjectKey(Buffer.concat(postFields), String(req.headers['content-type']));
        if (key === undefined) return;
        deps.notifier
          .objectCreated(
            postBucket,
            key,
            'ObjectCreated:Post',
            req.socket.remoteAddress ?? '127.0.0.1',
            { eTag: postedETag(up.headers) }
          )
          .catch((err) =>
            deps.logger.warn(`[s3] notification for ${key} failed: ${(err as Error).message}`)
          );
        return;
      }
      if (!created || status !== 200 || !deps.notifier.hasRulesFor(created.bucket)) {
        res.writeHead(status, up.headers);
        up.pipe(res);
        return;
      }
      // CompleteMultipartUpload and CopyObject can fail with HTTP 200 and an <Error> body.
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        const body = Buffer.concat(chunks);
        res.writeHead(status, up.headers);
        res.end(body);
        if (/<Error>/.test(body.toString('utf8', 0, Math.min(body.length, 512)))) return;
        deps.notifier
          .objectCreated(
            created.bucket,
            created.key,
            created.event,
            req.socket.remoteAddress ?? '127.0.0.1',
            writtenObject(created.event, up.headers, body, payload)
          )
          .catch((err) =>
            deps.logger.warn(
              `[s3] notification for ${created.key} failed: ${(err as Error).message}`
            )
          );
      });
    }
  );
  upstream.on('error', (err) => {
    if (!res.headersSent) sendJson(res, 502, { message: `fauxqs unavailable: ${err.message}` });
    else res.destroy();
  });
  if (buffered) upstream.end(buffered);
  else req.pipe(upstream);
}
