import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { CliError } from '../../cli/src/index.js';
import {
  type AllowLists,
  type LocalHttpPolicy,
  readAllowLists,
  surfacePolicy,
} from '../../shared/local-http-guard.js';

/**
 * The console's side of docs/security.md: the shared Host/Origin policy (its own
 * page's origin is allowed, plus CONSOLE_ALLOWED_ORIGINS), and a per-process token
 * for every request that changes something. The token reaches the page inside the
 * served index.html (a same-origin, Host-checked GET a foreign page cannot read),
 * the page sends it back in a custom header, and a custom header makes any
 * cross-origin attempt a preflighted request, which the Origin check refuses. The
 * same pattern as Jupyter's server token.
 */

export const ALLOWED_HOSTS_VARIABLE = 'CONSOLE_ALLOWED_HOSTS';
export const ALLOWED_ORIGINS_VARIABLE = 'CONSOLE_ALLOWED_ORIGINS';
/** The header the page sends the token in (web/app.ts reads the same name from the page). */
export const TOKEN_HEADER = 'x-console-token';
/** The `<meta name=…>` in index.html that carries the token to the page. */
export const TOKEN_META = 'console-token';

export type { AllowLists } from '../../shared/local-http-guard.js';

const VARIABLES = { hosts: ALLOWED_HOSTS_VARIABLE, origins: ALLOWED_ORIGINS_VARIABLE };

export const consoleAllowLists = (env: NodeJS.ProcessEnv = process.env): AllowLists => {
  try {
    return readAllowLists(env, VARIABLES);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
};

/** The console's own page is trusted (it carries the token), plus CONSOLE_ALLOWED_ORIGINS. */
export const consolePolicy = (port: number, bindHost: string, lists: AllowLists): LocalHttpPolicy =>
  surfacePolicy({
    service: 'console',
    port,
    bindHost,
    lists,
    sameOrigin: true,
    variables: VARIABLES,
  });

/** 256 random bits, new for each console process. */
export const newConsoleToken = (): string => randomBytes(32).toString('base64url');

/** GET and HEAD only read; everything else must carry the token. */
export const isMutating = (method: string | undefined): boolean =>
  method !== 'GET' && method !== 'HEAD';

export const hasToken = (req: IncomingMessage, token: string): boolean => {
  const sent = req.headers[TOKEN_HEADER];
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
};

/** index.html with the token in its `<meta name="console-token">` (base64url needs no escaping). */
export const withToken = (html: string, token: string): string => {
  const placeholder = `<meta name="${TOKEN_META}" content="">`;
  if (!html.includes(placeholder)) {
    throw new Error(`console/web/index.html lacks ${placeholder}: the page could not upload`);
  }
  return html.replace(placeholder, `<meta name="${TOKEN_META}" content="${token}">`);
};
