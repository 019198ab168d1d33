/** The SQS operations the runtime answers before fauxqs: message move tasks and receipt-handle checks. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SqsError } from '../sqs/move-tasks.js';
import { invalidReceiptHandle } from '../sqs/receipt-handles.js';
import { proxy } from './proxy.js';
import { type RouteContext, readBody, sendJson } from './route-context.js';

export async function handleMoveTask(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  op: string
) {
  const { deps } = ctx;
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

/** DeleteMessage / ChangeMessageVisibility: a handle SQS never issued is refused as SQS does. */
export async function checkedReceiptHandle(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL
) {
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
  return proxy(ctx, req, res, url, raw);
}
