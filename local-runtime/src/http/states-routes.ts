/** The Step Functions API (JSON protocol, X-Amz-Target AWSStepFunctions.*), served by the runtime's own service. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SfnError } from '../sfn/service.js';
import { type RouteContext, readBody, sendJson } from './route-context.js';

export async function handleSfn(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  target: string
) {
  const { deps } = ctx;
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
