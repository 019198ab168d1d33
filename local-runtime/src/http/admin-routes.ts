/** The runtime's admin API under /_local/ (chaos, soak and trace tests; the CLI's metrics and logs). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FAULT_RATES, type FaultRate } from '../faults.js';
import { type RouteContext, readBody, sendJson } from './route-context.js';

/**
 * The admin API, loopback like the rest: GET /_local/stats; GET /_local/metrics (the
 * functions' EMF records); GET /_local/logs?traceId=|videoId= (traced log lines); POST /_local/faults
 * {"s3SlowDownRate": 0.1, "snsDeliveryErrorRate": 0.3, ...} (faults.ts); GET /_local/memory
 * (rss, heap, Lambda pids); POST /_local/gc (a full GC, only under --expose-gc); POST /_local/lambda/<function>/kill (SIGKILLs one busy
 * environment); POST /_local/esm/<function> {"enabled": false}.
 */
export async function handleAdmin(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL
) {
  const { deps } = ctx;
  const raw = req.method === 'POST' ? (await readBody(req)).toString('utf8') : '';
  const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  const bad = (message: string) => sendJson(res, 400, { message });
  if (url.pathname === '/_local/stats' && deps.admin) return sendJson(res, 200, deps.admin.stats());
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
    const out = fields.find((k) => typeof body[k] !== 'number' || !(body[k] >= 0 && body[k] <= 1));
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
