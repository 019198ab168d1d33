import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type AllowLists,
  checkLocalRequest,
  corsHeaders,
  type LocalHttpPolicy,
  preflightHeaders,
  readAllowLists,
  surfacePolicy,
} from '../../../shared/local-http-guard.js';
import { LocalRuntimeError } from '../errors.js';

/**
 * The endpoint's front door: every request (S3, SQS, SNS, Step Functions, Lambda,
 * `/_local/*`) passes the shared Host/Origin check before it is routed. LocalStack
 * refuses foreign origins by default too (docs.localstack.cloud, "CORS"); AWS itself
 * has no such listener on the user's machine. Documented in docs/security.md and
 * local-runtime/README.md.
 */

export const ALLOWED_HOSTS_VARIABLE = 'LOCAL_ALLOWED_HOSTS';
export const ALLOWED_ORIGINS_VARIABLE = 'LOCAL_ALLOWED_ORIGINS';

export type { AllowLists } from '../../../shared/local-http-guard.js';

const VARIABLES = { hosts: ALLOWED_HOSTS_VARIABLE, origins: ALLOWED_ORIGINS_VARIABLE };

/** The two variables, read and validated at start (a typo fails there, not at the first request). */
export const runtimeAllowLists = (env: NodeJS.ProcessEnv = process.env): AllowLists => {
  try {
    return readAllowLists(env, VARIABLES);
  } catch (err) {
    throw new LocalRuntimeError((err as Error).message);
  }
};

/** The runtime's policy once it listens: no page is "same origin" here, only listed origins. */
export const runtimePolicy = (port: number, bindHost: string, lists: AllowLists): LocalHttpPolicy =>
  surfacePolicy({
    service: 'local runtime',
    port,
    bindHost,
    lists,
    // Objects served from this endpoint are user content: a page among them must not
    // count as trusted, so the endpoint's own origin is not allowed either.
    sameOrigin: false,
    variables: VARIABLES,
  });

/**
 * The host names (no port) that may reach fauxqs's own random loopback port: those of
 * the endpoint, whose proxy forwards the client's Host, and the loopback names the
 * runtime's internal clients use. fauxqs takes no Origin at all: only the runtime
 * and its proxy talk to it, and neither is a web page.
 */
export const emulatorHostNames = (bindHost: string, lists: AllowLists): string[] => [
  ...new Set(runtimePolicy(0, bindHost, lists).hosts.map((h) => h.replace(/:\d+$/, ''))),
];

/** JSON for the JSON protocols and the admin API, S3's XML error for the rest. */
const wantsJson = (req: IncomingMessage): boolean =>
  (req.url ?? '').startsWith('/_local/') ||
  (req.url ?? '').startsWith('/2015-03-31/') ||
  req.headers['x-amz-target'] !== undefined ||
  String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json');

const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Refuses the request, answers an allowed origin's preflight, or adds CORS headers
 * for an allowed origin. Returns true when the request was answered here.
 */
export function guardRequest(
  req: IncomingMessage,
  res: ServerResponse,
  policy: LocalHttpPolicy
): boolean {
  const verdict = checkLocalRequest(req.headers, policy);
  if (!verdict.allowed) {
    const body = wantsJson(req)
      ? JSON.stringify({ __type: verdict.code, message: verdict.message })
      : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${verdict.code}</Code>` +
        `<Message>${xmlEscape(verdict.message)}</Message></Error>`;
    // The body is not read: closing tells the client to stop sending it.
    res.writeHead(verdict.status, {
      'content-type': wantsJson(req) ? 'application/json' : 'application/xml',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    res.end(body);
    req.resume();
    return true;
  }
  if (!verdict.corsOrigin) return false;
  const method = req.headers['access-control-request-method'];
  if (req.method === 'OPTIONS' && typeof method === 'string') {
    res.writeHead(
      204,
      preflightHeaders(verdict.corsOrigin, method, req.headers['access-control-request-headers'])
    );
    res.end();
    return true;
  }
  for (const [k, v] of Object.entries(corsHeaders(verdict.corsOrigin))) res.setHeader(k, v);
  return false;
}
