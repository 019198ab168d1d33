/** S3 object requests settled before (or instead of) fauxqs: conditional writes and reads, S3's own refusals, plain GETs from disk. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { conditionalHeaders, conditionFailure, headEtag } from './conditional-write.js';
import { headObject, isObjectRead, plainObjectGet, serveObjectFromDisk } from './object-reader.js';
import { objectCreation, proxy } from './proxy.js';
import { type RouteContext, sendS3Error } from './route-context.js';
import {
  objectWrite,
  objectWriteRefusal,
  readConditionOutcome,
  readConditions,
  s3ObjectTarget,
} from './s3-request.js';

/** A conditional PUT: checked and written under the key's lock (fauxqs ignores the headers). */
export async function conditionalPut(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL
) {
  const { deps, agent, locks } = ctx;
  const created = objectCreation(req, url);
  const release = await locks.acquire(`${created?.bucket}/${created?.key}`);
  try {
    const failure = conditionFailure(
      conditionalHeaders(req)!,
      await headEtag(deps.fauxqsPort, agent, req)
    );
    if (failure) {
      release();
      req.resume();
      return sendS3Error(res, failure.status, failure.code, failure.message);
    }
  } catch (err) {
    release();
    throw err;
  }
  delete req.headers['if-match'];
  delete req.headers['if-none-match'];
  res.once('close', release);
  return proxy(ctx, req, res, url);
}

/**
 * S3 object writes: S3's own refusals that fauxqs 2.4.1 lacks (KeyTooLongError,
 * MetadataTooLarge), answered before the body is read; true when answered.
 */
export function s3ObjectWriteAnswered(
  _ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse
): boolean {
  const write = objectWrite(req);
  const target = write ? s3ObjectTarget(req) : undefined;
  if (!write || !target) return false;
  const refusal = objectWriteRefusal(req, target, write);
  if (refusal) {
    req.resume();
    sendS3Error(res, refusal.status, refusal.code, refusal.message);
    return true;
  }
  // fauxqs answers 500 to a body-less PUT without Content-Type (the AWS CLI's
  // `s3api put-object` without --body): its parser is skipped and it reads an
  // undefined body. S3 stores such objects as binary/octet-stream.
  if ((write === 'put' || write === 'part') && req.headers['content-type'] === undefined) {
    req.headers['content-type'] = 'binary/octet-stream';
  }
  return false;
}

/**
 * S3 object reads: conditional GET/HEAD settled here (fauxqs ignores them on
 * HEAD and compares them loosely on GET), then plain GETs streamed from the
 * object file. True when answered.
 */
export async function s3ObjectReadAnswered(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL
): Promise<boolean> {
  const { deps, agent } = ctx;
  const target = isObjectRead(req, url) ? s3ObjectTarget(req) : undefined;
  if (!target) return false;
  const conditions = readConditions(req);
  let meta: IncomingMessage | undefined;
  if (conditions) {
    meta = await headObject(agent, deps.fauxqsPort, req, url);
    meta.resume();
    for (const h of ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'])
      delete req.headers[h];
    // A missing object: fauxqs answers 404 NoSuchKey as S3 does whatever the conditions.
    if (meta.statusCode !== 200) return false;
    const etag = String(meta.headers.etag ?? '');
    const outcome = readConditionOutcome(conditions, {
      etag,
      lastModified: new Date(String(meta.headers['last-modified'])),
    });
    if (outcome === 412) {
      req.resume();
      if (req.method === 'HEAD') {
        res.writeHead(412, { 'content-length': 0 });
        res.end();
      } else {
        sendS3Error(
          res,
          412,
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold'
        );
      }
      return true;
    }
    if (outcome === 304) {
      req.resume();
      res.writeHead(304, {
        etag,
        'last-modified': String(meta.headers['last-modified'] ?? ''),
      });
      res.end();
      return true;
    }
    // The condition held for this ETag: fauxqs re-checks it when it serves the bytes,
    // so an overwrite in between is a 412, not the new object's bytes.
    if (conditions.ifMatch !== undefined) req.headers['if-match'] = etag;
  }
  const get = deps.s3Objects ? plainObjectGet(req, url) : undefined;
  if (!get || !deps.s3Objects) return false;
  const objects = deps.s3Objects;
  return serveObjectFromDisk(
    req,
    res,
    url,
    get,
    {
      agent,
      fauxqsPort: deps.fauxqsPort,
      open: (bucket, key) => objects.openObject(bucket, key),
    },
    meta
  );
}
