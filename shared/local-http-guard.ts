/**
 * The one Host/Origin check that every local HTTP surface runs before anything
 * else: the local runtime's endpoint (local-runtime/src/http/guard.ts) and the web
 * console (console/src/security.ts). Pure: headers and a policy in, a verdict out.
 *
 * It lives here, outside both packages, because neither may import the other's
 * internals and the rule must be the same for both (docs/security.md).
 *
 * - Host: a web page can make the browser send anything to 127.0.0.1, and with DNS
 *   rebinding (evil.example resolving to 127.0.0.1 after the page loaded) it can even
 *   read the answers. The page's requests then carry `Host: evil.example:<port>`, so a
 *   Host that is not one of the server's own loopback names and port is refused (421).
 * - Origin: a cross-site page can still send "simple" requests (a text/plain POST) to
 *   127.0.0.1 without a preflight; browsers mark them with `Origin`. AWS SDKs and CLIs
 *   send none, so a request carrying an Origin that is not allowed is refused (403).
 *   Referer is not consulted (unlike LocalStack): a page can suppress it, so it would
 *   stop no one.
 *
 * References: RFC 9110 §7.2 (Host) and §15.5.20 (421 Misdirected Request), RFC 6454
 * (the Origin header), https://fetch.spec.whatwg.org/#cors-safelisted-method (which
 * cross-site requests go without a preflight).
 */
import { networkInterfaces } from 'node:os';

export interface LocalHttpPolicy {
  /** What the messages call this server, e.g. `local runtime`, `console`. */
  readonly service: string;
  /** Accepted `Host` values, lower case, each with its port (`127.0.0.1:4566`). */
  readonly hosts: readonly string[];
  /** Accepted `Origin` values (serialized origins, lower case). */
  readonly origins: readonly string[];
  /** Also accept an Origin equal to `http://<the request's accepted Host>` (a page this server served). */
  readonly sameOrigin: boolean;
  /** The environment variables that extend `hosts` and `origins`, named in refusals. */
  readonly hostsVariable: string;
  readonly originsVariable: string;
}

export type GuardVerdict =
  | {
      readonly allowed: true /** The allowed cross-origin Origin, when CORS headers are due. */;
      readonly corsOrigin?: string;
    }
  | {
      readonly allowed: false;
      readonly status: 421 | 403;
      /** `MisdirectedRequest` (Host) or `AccessForbidden` (Origin: S3's code for a refused CORS request). */
      readonly code: 'MisdirectedRequest' | 'AccessForbidden';
      readonly message: string;
    };

export interface GuardHeaders {
  readonly host?: string | undefined;
  readonly origin?: string | string[] | undefined;
}

/** Loopback names every surface accepts, whatever address it is bound to. */
export const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'] as const;

/** A bind address as it appears in a Host header (IPv6 in brackets). */
export const hostName = (address: string): string =>
  (address.includes(':') && !address.startsWith('[') ? `[${address}]` : address).toLowerCase();

const isWildcard = (bindHost: string) => bindHost === '0.0.0.0' || bindHost === '::';

/**
 * The Host values a server bound to `bindHost:port` answers to: the loopback names,
 * the bind address itself, and on a wildcard bind the machine's interface addresses
 * (how other machines reach it); each with the port, and also bare when the port is
 * HTTP's default (clients then omit it). `extra` entries (`name` or `name:port`) come
 * from the surface's *_ALLOWED_HOSTS variable; a bare name gets the port.
 */
export const allowedHosts = (opts: {
  port: number;
  bindHost: string;
  interfaceAddresses?: readonly string[];
  extra?: readonly string[];
}): string[] => {
  const names = new Set<string>(LOOPBACK_NAMES);
  if (isWildcard(opts.bindHost)) {
    for (const a of opts.interfaceAddresses ?? []) names.add(hostName(a));
  } else {
    names.add(hostName(opts.bindHost));
  }
  const hosts = new Set<string>();
  for (const name of names) {
    hosts.add(`${name}:${opts.port}`);
    if (opts.port === 80) hosts.add(name);
  }
  for (const entry of opts.extra ?? []) {
    const e = entry.toLowerCase();
    hosts.add(/:\d+$/.test(e) ? e : `${e}:${opts.port}`);
  }
  return [...hosts];
};

/**
 * A comma-separated list from an environment variable; throws on an entry that is
 * not a bare origin (`scheme://host[:port]`, no path), so a typo fails at start
 * rather than silently allowing nothing (or too much). `*` is refused on purpose.
 */
export const parseOriginList = (value: string | undefined, variable: string): string[] =>
  splitList(value).map((entry) => {
    let origin: string | undefined;
    try {
      origin = new URL(entry).origin;
    } catch {
      origin = undefined;
    }
    if (!origin || origin === 'null' || origin !== entry.toLowerCase().replace(/\/$/, '')) {
      throw new Error(
        `${variable}: "${entry}" is not an origin (scheme://host[:port], e.g. http://127.0.0.1:5173)`
      );
    }
    return origin;
  });

/** Host names or `name:port` entries; refuses anything with a scheme, path or space. */
export const parseHostList = (value: string | undefined, variable: string): string[] =>
  splitList(value).map((entry) => {
    if (!/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/i.test(entry)) {
      throw new Error(
        `${variable}: "${entry}" is not a host name (name or name:port, e.g. devbox.lan:4566)`
      );
    }
    return entry.toLowerCase();
  });

const splitList = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Attacker-chosen text in a message: bounded and quoted (JSON escapes control characters). */
const quote = (text: string): string =>
  JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);

const list = (items: readonly string[]): string =>
  items.length <= 1
    ? (items[0] ?? '(none)')
    : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;

/** A surface's two allow-lists, from its `*_ALLOWED_HOSTS` and `*_ALLOWED_ORIGINS` variables. */
export interface AllowLists {
  hosts: string[];
  origins: string[];
}

export interface SurfaceVariables {
  hosts: string;
  origins: string;
}

/** Both variables, read and validated at start (a typo fails there, not at the first request). */
export const readAllowLists = (
  env: NodeJS.ProcessEnv,
  variables: SurfaceVariables
): AllowLists => ({
  hosts: parseHostList(env[variables.hosts], variables.hosts),
  origins: parseOriginList(env[variables.origins], variables.origins),
});

/**
 * One surface's policy once it listens on `bindHost:port`: the hosts `allowedHosts`
 * names (with this machine's interface addresses, for a wildcard bind) and the listed
 * origins; `sameOrigin` says whether the surface's own page counts as trusted.
 */
export const surfacePolicy = (opts: {
  service: string;
  port: number;
  bindHost: string;
  lists: AllowLists;
  sameOrigin: boolean;
  variables: SurfaceVariables;
}): LocalHttpPolicy => ({
  service: opts.service,
  hosts: allowedHosts({
    port: opts.port,
    bindHost: opts.bindHost,
    interfaceAddresses: Object.values(networkInterfaces()).flatMap(
      (list) => list?.map((i) => i.address) ?? []
    ),
    extra: opts.lists.hosts,
  }),
  origins: opts.lists.origins,
  sameOrigin: opts.sameOrigin,
  hostsVariable: opts.variables.hosts,
  originsVariable: opts.variables.origins,
});

/** The verdict on one request: Host first (it says which server was meant), then Origin. */
export const checkLocalRequest = (headers: GuardHeaders, policy: LocalHttpPolicy): GuardVerdict => {
  const host = (headers.host ?? '').toLowerCase();
  if (!policy.hosts.includes(host)) {
    return {
      allowed: false,
      status: 421,
      code: 'MisdirectedRequest',
      message:
        `${policy.service}: refused a request for Host ${quote(headers.host ?? '')}: this server ` +
        `answers only to ${list(policy.hosts)} (a foreign Host is how DNS rebinding reaches ` +
        `loopback). Add a name to ${policy.hostsVariable} to allow it.`,
    };
  }
  // Several Origin headers are not a browser's doing: refuse them as one unknown origin.
  const raw = Array.isArray(headers.origin) ? headers.origin.join(', ') : headers.origin;
  if (raw === undefined) return { allowed: true };
  const origin = raw.toLowerCase();
  if (policy.sameOrigin && origin === `http://${host}`) return { allowed: true };
  if (policy.origins.includes(origin)) return { allowed: true, corsOrigin: origin };
  return {
    allowed: false,
    status: 403,
    code: 'AccessForbidden',
    message:
      `${policy.service}: refused a cross-origin request from Origin ${quote(raw)}: web pages ` +
      `may not drive this server (AWS SDKs and CLIs send no Origin). Add the origin to ` +
      `${policy.originsVariable} to allow it.`,
  };
};

/**
 * A page of another site embedding this server's answers (`<img>`, `<video>`, a
 * no-cors fetch): no Origin is sent, but browsers mark the request with
 * `Sec-Fetch-Site` (https://www.w3.org/TR/fetch-metadata/). The page cannot read the
 * bytes, yet it learns whether they exist and an image's size. Navigations (a link to
 * the page) are left alone. `same-site` counts as foreign: another port on 127.0.0.1
 * is the same site but not the same origin.
 */
export const isCrossSiteEmbed = (headers: {
  readonly origin?: string | string[] | undefined;
  readonly 'sec-fetch-site'?: string | string[] | undefined;
  readonly 'sec-fetch-mode'?: string | string[] | undefined;
}): boolean =>
  headers.origin === undefined &&
  (headers['sec-fetch-site'] === 'cross-site' || headers['sec-fetch-site'] === 'same-site') &&
  headers['sec-fetch-mode'] !== 'navigate';

/** Response headers for an allowed cross-origin request (the origin is echoed, never `*`). */
export const corsHeaders = (origin: string): Record<string, string> => ({
  'access-control-allow-origin': origin,
  'access-control-expose-headers': '*',
  vary: 'Origin',
});

/**
 * The answer to an allowed origin's preflight (OPTIONS with Access-Control-Request-Method):
 * the method and headers it asked for, for ten minutes.
 */
export const preflightHeaders = (
  origin: string,
  requestMethod: string,
  requestHeaders: string | undefined
): Record<string, string> => ({
  ...corsHeaders(origin),
  'access-control-allow-methods': requestMethod,
  ...(requestHeaders ? { 'access-control-allow-headers': requestHeaders } : {}),
  'access-control-max-age': '600',
});
