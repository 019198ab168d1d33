import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { LocalHttpPolicy } from '../../../shared/local-http-guard.js';
import { S3_MAX_PUT_BYTES } from '../emulator.js';
import { FAULT_RATES, type FaultRate, type Faults } from '../faults.js';
import { getFunctionResponse, listFunctionsResponse } from '../lambda/configuration.js';
import type { LambdaRunner } from '../lambda/runner.js';
import { LambdaServiceError } from '../lambda/runner.js';
import type { Logger } from '../logger.js';
import type { ObjectCreatedEvent, S3Notifier } from '../s3-notifier.js';
import type { OpenedObject } from '../s3-persistence.js';
import { SfnError, type StepFunctionsService } from '../sfn/service.js';
import { isMoveTaskOperation, type MessageMoveTasks, SqsError } from '../sqs/move-tasks.js';
import { invalidReceiptHandle, RECEIPT_HANDLE_OPERATIONS } from '../sqs/receipt-handles.js';
import { conditionalHeaders, conditionFailure, headEtag, KeyLocks } from './conditional-write.js';
import { guardRequest } from './guard.js';
import { headObject, isObjectRead, plainObjectGet, serveObjectFromDisk } from './object-reader.js';
import { POST_FIELDS_LIMIT, postObjectBucket, postObjectKey } from './post-object.js';
import {
  objectWrite,
  objectWriteRefusal,
  readConditionOutcome,
  readConditions,
  s3ObjectTarget,
} from './s3-request.js';

export interface RouterDeps {
  /** The Host/Origin policy every request passes first (guard.ts, docs/security.md). */
  guard: LocalHttpPolicy;
  fauxqsPort: number;
  /** The S3 store's bodies: plain object GETs are streamed from them (see object-reader.ts). */
  s3Objects?: { openObject(bucket: string, key: string): OpenedObject | undefined };
  sfn: StepFunctionsService;
  /** SQS message move tasks, which fauxqs lacks (JSON protocol only); proxied when absent. */
  moveTasks?: MessageMoveTasks;
  lambda: LambdaRunner;
  notifier: S3Notifier;
  logger: Logger;
  info(): unknown;
  /** Fault injection (S3 SlowDown); none when absent. */
  faults?: Faults;
  /** The admin API under /_local/ (chaos tests): the runtime's own operations. */
  admin?: AdminOperations;
}

export interface AdminOperations {
  stats(): unknown;
  /** The EMF records the functions printed (the CLI's `metrics` command). */
  metrics?(): unknown;
  /** The traced log lines of one trace or video (the CLI's `status --trace`). */
  logs?(query: { traceId?: string; videoId?: string }): unknown;
  setEventSourceMappingEnabled(functionName: string, enabled: boolean): Promise<unknown>;
  /** This process's memory and its Lambda environments' pids (soak tests). */
  memory?(): unknown;
  /** Runs a full GC when node was started with --expose-gc; false otherwise. */
  gc?(): boolean;
}

/** SigV4 credential scope `AKID/date/region/service/aws4_request`, from header or presigned query. */
export function signingService(req: IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization ?? '';
  const m = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(auth);
  if (m) return m[1];
  const q = url.searchParams.get('X-Amz-Credential');
  return q?.split('/')[3];
}

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

function sendS3Error(res: ServerResponse, status: number, code: string, message: string) {
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
    `<Message>${message}</Message></Error>`;
  // The body is not read: closing tells the client to stop sending it.
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(xml),
    connection: 'close',
  });
  res.end(xml);
}

const FAUXQS_QUEUE_HOST = /http:\/\/sqs\.[a-z0-9-]+\.localhost(:\d+)/g;

/** SQS over JSON (X-Amz-Target AmazonSQS.*) or the query protocol (form POST to / or a queue path). */
function isSqsRequest(req: IncomingMessage, url: URL): boolean {
  const target = String(req.headers['x-amz-target'] ?? '');
  if (target.startsWith('AmazonSQS.')) return true;
  const form = String(req.headers['content-type'] ?? '').includes('x-www-form-urlencoded');
  return (
    form && req.method === 'POST' && (url.pathname === '/' || /^\/\d{12}\//.test(url.pathname))
  );
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
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

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {}
) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * The single LocalStack-style endpoint. Step Functions and Lambda are served
 * here; everything else (S3, SNS, SQS, STS) is proxied to fauxqs, which does its
 * own protocol routing, while object writes are observed for S3 notifications.
 */
export function createRouter(deps: RouterDeps): http.RequestListener {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const locks = new KeyLocks();

  /**
   * The admin API, loopback like the rest: GET /_local/stats; GET /_local/metrics (the
   * functions' EMF records); GET /_local/logs?traceId=|videoId= (traced log lines); POST /_local/faults
   * {"s3SlowDownRate": 0.1, "snsDeliveryErrorRate": 0.3, ...} (faults.ts); GET /_local/memory
   * (rss, heap, Lambda pids); POST /_local/gc (a full GC, only under --expose-gc); POST /_local/lambda/<function>/kill (SIGKILLs one busy
   * environment); POST /_local/esm/<function> {"enabled": false}.
   */
  async function handleAdmin(req: IncomingMessage, res: ServerResponse, url: URL) {
    const raw = req.method === 'POST' ? (await readBody(req)).toString('utf8') : '';
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const bad = (message: string) => sendJson(res, 400, { message });
    if (url.pathname === '/_local/stats' && deps.admin)
      return sendJson(res, 200, deps.admin.stats());
    if (url.pathname === '/_local/metrics' && req.method === 'GET' && deps.admin?.metrics)
      return sendJson(res, 200, deps.admin.metrics());
    if (url.pathname === '/_local/logs' && req.method === 'GET' && deps.admin?.logs) {
      const traceId = url.searchParams.get('traceId') ?? undefined;
      const videoId = url.searchParams.get('videoId') ?? undefined;
      if (!traceId && !videoId) return bad('GET /_local/logs needs traceId or videoId');
      return sendJson(res, 200, deps.admin.logs({ traceId, videoId }));
    }
    if (url.pathname === '/_local/memory' && req.method === 'GET' && deps.admin?.memory)
      return sendJson(res, 200, deps.admin.memory());
    if (url.pathname === '/_local/gc' && req.method === 'POST' && deps.admin?.gc) {
      if (!deps.admin.gc())
        return sendJson(res, 409, { message: 'GC is not exposed: start node with --expose-gc' });
      return sendJson(res, 200, deps.admin.memory?.() ?? {});
    }
    if (url.pathname === '/_local/faults' && req.method === 'POST' && deps.faults) {
      const faults = deps.faults;
      const known = [...FAULT_RATES, 'snsRetryTimeScale'];
      const fields = Object.keys(body);
      const unknown = fields.filter((k) => !known.includes(k));
      if (fields.length === 0 || unknown.length > 0)
        return bad(`Expected one or more of ${known.join(', ')}`);
      // All or nothing: every value is checked before any is applied.
      const out = fields.find(
        (k) => typeof body[k] !== 'number' || !(body[k] >= 0 && body[k] <= 1)
      );
      if (out)
        return bad(`${out} must be a number between 0 and 1, got ${JSON.stringify(body[out])}`);
      try {
        for (const k of fields) {
          if (k === 'snsRetryTimeScale') faults.snsRetryTimeScale = body[k] as number;
          else faults.setRate(k as FaultRate, body[k] as number);
        }
      } catch (err) {
        return bad((err as Error).message);
      }
      return sendJson(res, 200, {
        ...Object.fromEntries(FAULT_RATES.map((k) => [k, faults.rate(k)])),
        snsRetryTimeScale: faults.snsRetryTimeScale,
      });
    }
    const kill = /^\/_local\/lambda\/([^/]+)\/kill$/.exec(url.pathname);
    if (kill && req.method === 'POST') {
      const pid = deps.lambda.killBusy(decodeURIComponent(kill[1]));
      return sendJson(res, pid === undefined ? 409 : 200, { killed: pid ?? null });
    }
    const esm = /^\/_local\/esm\/([^/]+)$/.exec(url.pathname);
    if (esm && req.method === 'POST' && deps.admin) {
      if (typeof body.enabled !== 'boolean') return bad('enabled must be a boolean');
      return sendJson(
        res,
        200,
        await deps.admin.setEventSourceMappingEnabled(decodeURIComponent(esm[1]), body.enabled)
      );
    }
    return sendJson(res, 404, { message: `No admin operation ${req.method} ${url.pathname}` });
  }

  /** A conditional PUT: checked and written under the key's lock (fauxqs ignores the headers). */
  async function conditionalPut(req: IncomingMessage, res: ServerResponse, url: URL) {
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
    return proxy(req, res, url);
  }

  /**
   * S3 object writes: S3's own refusals that fauxqs 2.4.1 lacks (KeyTooLongError,
   * MetadataTooLarge), answered before the body is read; true when answered.
   */
  function s3ObjectWriteAnswered(req: IncomingMessage, res: ServerResponse): boolean {
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
  async function s3ObjectReadAnswered(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL
  ): Promise<boolean> {
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

  async function handleSfn(req: IncomingMessage, res: ServerResponse, target: string) {
    const op = target.slice(target.indexOf('.') + 1);
    try {
      const raw = (await readBody(req)).toString('utf8');
      const body = raw ? JSON.parse(raw) : {};
      sendJson(res, 200, await deps.sfn.handle(op, body));
    } catch (err) {
      if (err instanceof SfnError)
        return sendJson(res, 400, { __type: err.type, message: err.message });
      deps.logger.error(`[states] ${op} failed: ${(err as Error).stack}`);
      sendJson(res, 500, { __type: 'InternalFailure', message: (err as Error).message });
    }
  }

  async function handleMoveTask(req: IncomingMessage, res: ServerResponse, op: string) {
    try {
      const raw = (await readBody(req)).toString('utf8');
      sendJson(res, 200, await deps.moveTasks!.handle(op, raw ? JSON.parse(raw) : {}));
    } catch (err) {
      if (err instanceof SqsError)
        return sendJson(res, 400, { __type: err.type, message: err.message });
      deps.logger.error(`[sqs] ${op} failed: ${(err as Error).stack}`);
      sendJson(res, 500, { __type: 'InternalFailure', message: (err as Error).message });
    }
  }

  /** ListFunctions and GetFunction, so tools that discover functions work locally. */
  function handleLambdaRead(res: ServerResponse, url: URL) {
    if (/^\/2015-03-31\/functions\/?$/.test(url.pathname)) {
      const fns = deps.lambda.functionNames.flatMap((n) => deps.lambda.resolveName(n) ?? []);
      const q = url.searchParams;
      return sendJson(
        res,
        200,
        listFunctionsResponse(fns, q.get('Marker') ?? undefined, q.get('MaxItems') ?? undefined)
      );
    }
    const m = /^\/2015-03-31\/functions\/([^/]+)\/?$/.exec(url.pathname);
    const fn = m ? deps.lambda.resolveName(decodeURIComponent(m[1])) : undefined;
    if (!m || !fn) {
      return sendJson(
        res,
        404,
        {
          Type: 'User',
          message: `Function not found: ${m ? decodeURIComponent(m[1]) : url.pathname}`,
        },
        { 'x-amzn-errortype': 'ResourceNotFoundException' }
      );
    }
    return sendJson(res, 200, getFunctionResponse(fn));
  }

  async function handleLambda(req: IncomingMessage, res: ServerResponse, url: URL) {
    if (req.method === 'GET') return handleLambdaRead(res, url);
    const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/.exec(url.pathname);
    if (!m || req.method !== 'POST') {
      return sendJson(
        res,
        400,
        {
          Type: 'User',
          message: `Only Invoke is supported locally (${req.method} ${url.pathname})`,
        },
        { 'x-amzn-errortype': 'InvalidRequestContentException' }
      );
    }
    const name = decodeURIComponent(m[1]);
    const raw = (await readBody(req)).toString('utf8');
    let event: unknown = {};
    try {
      event = raw ? JSON.parse(raw) : {};
    } catch {
      return sendJson(
        res,
        400,
        { Type: 'User', message: 'Could not parse request body into json' },
        { 'x-amzn-errortype': 'InvalidRequestContentException' }
      );
    }
    if (!deps.lambda.resolveName(name)) {
      return sendJson(
        res,
        404,
        { Type: 'User', message: `Function not found: ${name}` },
        { 'x-amzn-errortype': 'ResourceNotFoundException' }
      );
    }
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (type === 'DryRun') return sendJson(res, 204, undefined);
    if (type === 'Event') {
      deps.lambda
        .invoke(name, event)
        .catch((err) => deps.logger.warn(`[lambda] async ${name}: ${(err as Error).message}`));
      return sendJson(res, 202, undefined);
    }
    try {
      const r = await deps.lambda.invoke(name, event);
      if (r.ok) return sendJson(res, 200, r.payload, { 'x-amz-executed-version': '$LATEST' });
      return sendJson(res, 200, r.error, {
        'x-amz-function-error': 'Unhandled',
        'x-amz-executed-version': '$LATEST',
      });
    } catch (err) {
      if (err instanceof LambdaServiceError) {
        const status =
          err.code === 'TooManyRequestsException'
            ? 429
            : err.code === 'ResourceNotFoundException'
              ? 404
              : 500;
        return sendJson(
          res,
          status,
          { Type: 'User', message: err.message },
          { 'x-amzn-errortype': err.code }
        );
      }
      throw err;
    }
  }

  /** DeleteMessage / ChangeMessageVisibility: a handle SQS never issued is refused as SQS does. */
  async function checkedReceiptHandle(req: IncomingMessage, res: ServerResponse, url: URL) {
    const raw = await readBody(req);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw.toString('utf8') || '{}');
    } catch {
      // Malformed JSON is fauxqs's to answer.
    }
    const invalid = invalidReceiptHandle(body);
    if (invalid) {
      return sendJson(
        res,
        400,
        { __type: `com.amazonaws.sqs#${invalid.type}`, message: invalid.message },
        { 'x-amzn-query-error': `${invalid.type};Sender` }
      );
    }
    return proxy(req, res, url, raw);
  }

  function proxy(req: IncomingMessage, res: ServerResponse, url: URL, buffered?: Buffer) {
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
              Buffer.concat(chunks)
                .toString('utf8')
                .replace(FAUXQS_QUEUE_HOST, 'http://127.0.0.1$1')
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

  return (req, res) => {
    // Before anything else, /_local/health included: a rebinding page must learn nothing.
    if (guardRequest(req, res, deps.guard)) return;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const target = String(req.headers['x-amz-target'] ?? '');
    const service = signingService(req, url);
    const work = (async () => {
      if (url.pathname === '/_local/health') return sendJson(res, 200, deps.info());
      if (url.pathname.startsWith('/_local/')) return handleAdmin(req, res, url);
      if (target.startsWith('AWSStepFunctions.')) return handleSfn(req, res, target);
      const sqsOp = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
      if (deps.moveTasks && isMoveTaskOperation(sqsOp)) return handleMoveTask(req, res, sqsOp);
      if (RECEIPT_HANDLE_OPERATIONS.has(sqsOp)) return checkedReceiptHandle(req, res, url);
      if (service === 'states') {
        return sendJson(res, 400, {
          __type: 'UnknownOperationException',
          message: 'Missing X-Amz-Target',
        });
      }
      if (service === 'lambda' || url.pathname.startsWith('/2015-03-31/functions/')) {
        return handleLambda(req, res, url);
      }
      if (service === 's3' && deps.faults?.slowDownS3()) {
        req.resume();
        return sendS3Error(res, 503, 'SlowDown', 'Please reduce your request rate.');
      }
      const s3 = (service === 's3' || service === undefined) && !isSqsRequest(req, url);
      if (s3 && s3ObjectWriteAnswered(req, res)) return;
      if (service === 's3' && req.method === 'PUT' && conditionalHeaders(req)) {
        return conditionalPut(req, res, url);
      }
      if (s3 && (await s3ObjectReadAnswered(req, res, url))) return;
      return proxy(req, res, url);
    })();
    work.catch((err) => {
      deps.logger.error(`[router] ${req.method} ${req.url}: ${(err as Error).stack}`);
      if (!res.headersSent)
        sendJson(res, 500, { __type: 'InternalFailure', message: (err as Error).message });
      else res.destroy();
    });
  };
}
