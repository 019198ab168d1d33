/** The Lambda API the runtime serves itself: Invoke, ListFunctions and GetFunction. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getFunctionResponse, listFunctionsResponse } from '../lambda/configuration.js';
import { LambdaServiceError } from '../lambda/runner.js';
import { type RouteContext, readBody, sendJson } from './route-context.js';

/** ListFunctions and GetFunction, so tools that discover functions work locally. */
export function handleLambdaRead(ctx: RouteContext, res: ServerResponse, url: URL) {
  const { deps } = ctx;
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

export async function handleLambda(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL
) {
  const { deps } = ctx;
  if (req.method === 'GET') return handleLambdaRead(ctx, res, url);
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
