import http, { type IncomingMessage } from 'node:http';
import { isMoveTaskOperation } from '../sqs/move-tasks.js';
import { RECEIPT_HANDLE_OPERATIONS } from '../sqs/receipt-handles.js';
import { handleAdmin } from './admin-routes.js';
import { conditionalHeaders, KeyLocks } from './conditional-write.js';
import { guardRequest } from './guard.js';
import { handleLambda } from './lambda-routes.js';
import { isSqsRequest, proxy } from './proxy.js';
import { type RouteContext, type RouterDeps, sendJson, sendS3Error } from './route-context.js';
import { conditionalPut, s3ObjectReadAnswered, s3ObjectWriteAnswered } from './s3-routes.js';
import { checkedReceiptHandle, handleMoveTask } from './sqs-routes.js';
import { handleSfn } from './states-routes.js';

export { objectCreation, s3PayloadLength, writtenObject } from './proxy.js';
export type { AdminOperations, RouterDeps } from './route-context.js';

/** SigV4 credential scope `AKID/date/region/service/aws4_request`, from header or presigned query. */
export function signingService(req: IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization ?? '';
  const m = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(auth);
  if (m) return m[1];
  const q = url.searchParams.get('X-Amz-Credential');
  return q?.split('/')[3];
}

/**
 * The single LocalStack-style endpoint. Step Functions and Lambda are served
 * here; everything else (S3, SNS, SQS, STS) is proxied to fauxqs, which does its
 * own protocol routing, while object writes are observed for S3 notifications.
 */
export function createRouter(deps: RouterDeps): http.RequestListener {
  const ctx: RouteContext = {
    deps,
    agent: new http.Agent({ keepAlive: true, maxSockets: 64 }),
    locks: new KeyLocks(),
  };
  return (req, res) => {
    // Before anything else, /_local/health included: a rebinding page must learn nothing.
    if (guardRequest(req, res, deps.guard)) return;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const target = String(req.headers['x-amz-target'] ?? '');
    const service = signingService(req, url);
    const work = (async () => {
      if (url.pathname === '/_local/health') return sendJson(res, 200, deps.info());
      if (url.pathname.startsWith('/_local/')) return handleAdmin(ctx, req, res, url);
      if (target.startsWith('AWSStepFunctions.')) return handleSfn(ctx, req, res, target);
      const sqsOp = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
      if (deps.moveTasks && isMoveTaskOperation(sqsOp)) return handleMoveTask(ctx, req, res, sqsOp);
      if (RECEIPT_HANDLE_OPERATIONS.has(sqsOp)) return checkedReceiptHandle(ctx, req, res, url);
      if (service === 'states') {
        return sendJson(res, 400, {
          __type: 'UnknownOperationException',
          message: 'Missing X-Amz-Target',
        });
      }
      if (service === 'lambda' || url.pathname.startsWith('/2015-03-31/functions/')) {
        return handleLambda(ctx, req, res, url);
      }
      if (service === 's3' && deps.faults?.slowDownS3()) {
        req.resume();
        return sendS3Error(res, 503, 'SlowDown', 'Please reduce your request rate.');
      }
      const s3 = (service === 's3' || service === undefined) && !isSqsRequest(req, url);
      if (s3 && s3ObjectWriteAnswered(ctx, req, res)) return;
      if (service === 's3' && req.method === 'PUT' && conditionalHeaders(req)) {
        return conditionalPut(ctx, req, res, url);
      }
      if (s3 && (await s3ObjectReadAnswered(ctx, req, res, url))) return;
      return proxy(ctx, req, res, url);
    })();
    work.catch((err) => {
      deps.logger.error(`[router] ${req.method} ${req.url}: ${(err as Error).stack}`);
      if (!res.headersSent)
        sendJson(res, 500, { __type: 'InternalFailure', message: (err as Error).message });
      else res.destroy();
    });
  };
}
