import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { S3_MAX_PUT_BYTES } from '../emulator.js';
import { FAULT_RATES, type FaultRate, type Faults } from '../faults.js';
import type { LambdaRunner } from '../lambda/runner.js';
import { LambdaServiceError } from '../lambda/runner.js';
import type { Logger } from '../logger.js';
import type { ObjectCreatedEvent, S3Notifier } from '../s3-notifier.js';
import { SfnError, type StepFunctionsService } from '../sfn/service.js';
import { isMoveTaskOperation, type MessageMoveTasks, SqsError } from '../sqs/move-tasks.js';
import { conditionalHeaders, conditionFailure, headEtag, KeyLocks } from './conditional-write.js';
import { plainObjectGet, serveObjectFromDisk } from './object-reader.js';

export interface RouterDeps {
  fauxqsPort: number;
  /** fauxqs's S3 file storage: plain object GETs are streamed from it (see object-reader.ts). */
  s3StorageDir?: string;
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
  const hostname = (req.headers.host ?? '').split(':')[0];
  const virtualHosted = hostname.includes('.') && !/^\d+\.\d+\.\d+\.\d+$/.test(hostname);
  const segments = url.pathname.split('/').slice(1);
  const bucket = virtualHosted ? hostname.split('.')[0] : segments.shift();
  const key = segments.map((s) => decodeURIComponent(s)).join('/');
  if (!bucket || !key) return undefined;
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
   * functions' EMF records); POST /_local/faults
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

  async function handleLambda(req: IncomingMessage, res: ServerResponse, url: URL) {
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

  function proxy(req: IncomingMessage, res: ServerResponse, url: URL) {
    const created = objectCreation(req, url);
    const sqs = isSqsRequest(req, url);
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
              req.socket.remoteAddress ?? '127.0.0.1'
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
    req.pipe(upstream);
  }

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const target = String(req.headers['x-amz-target'] ?? '');
    const service = signingService(req, url);
    const work = (async () => {
      if (url.pathname === '/_local/health') return sendJson(res, 200, deps.info());
      if (url.pathname.startsWith('/_local/')) return handleAdmin(req, res, url);
      if (target.startsWith('AWSStepFunctions.')) return handleSfn(req, res, target);
      const sqsOp = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
      if (deps.moveTasks && isMoveTaskOperation(sqsOp)) return handleMoveTask(req, res, sqsOp);
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
      if (service === 's3' && req.method === 'PUT' && conditionalHeaders(req)) {
        return conditionalPut(req, res, url);
      }
      const get = deps.s3StorageDir ? plainObjectGet(req, url) : undefined;
      if (
        get &&
        deps.s3StorageDir &&
        (await serveObjectFromDisk(req, res, url, get, {
          agent,
          fauxqsPort: deps.fauxqsPort,
          storageDir: deps.s3StorageDir,
        }))
      ) {
        return;
      }
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
