import { describe, expect, it } from 'vitest';
import {
  allowedHosts,
  checkLocalRequest,
  isCrossSiteEmbed,
  type LocalHttpPolicy,
  parseHostList,
  parseOriginList,
  preflightHeaders,
} from '../../shared/local-http-guard.js';

const policy = (overrides: Partial<LocalHttpPolicy> = {}): LocalHttpPolicy => ({
  service: 'test server',
  hosts: allowedHosts({ port: 4566, bindHost: '127.0.0.1' }),
  origins: [],
  sameOrigin: false,
  hostsVariable: 'TEST_ALLOWED_HOSTS',
  originsVariable: 'TEST_ALLOWED_ORIGINS',
  ...overrides,
});

describe('allowedHosts', () => {
  it('answers to the loopback names with the bound port only', () => {
    // Act
    const hosts = allowedHosts({ port: 4566, bindHost: '127.0.0.1' });

    // Assess
    expect(hosts.sort()).toEqual(['127.0.0.1:4566', '[::1]:4566', 'localhost:4566']);
  });

  it('adds the bind address, bracketed when it is IPv6', () => {
    expect(allowedHosts({ port: 1, bindHost: '127.0.0.2' })).toContain('127.0.0.2:1');
    expect(allowedHosts({ port: 1, bindHost: 'fd00::5' })).toContain('[fd00::5]:1');
  });

  it("on a wildcard bind, adds the machine's interface addresses, not the wildcard", () => {
    // Act
    const hosts = allowedHosts({
      port: 4566,
      bindHost: '0.0.0.0',
      interfaceAddresses: ['192.168.1.20', 'fe80::1'],
    });

    // Assess
    expect(hosts).toContain('192.168.1.20:4566');
    expect(hosts).toContain('[fe80::1]:4566');
    expect(hosts).not.toContain('0.0.0.0:4566');
  });

  it('accepts a bare name on port 80, where clients omit the port', () => {
    expect(allowedHosts({ port: 80, bindHost: '127.0.0.1' })).toContain('localhost');
    expect(allowedHosts({ port: 4566, bindHost: '127.0.0.1' })).not.toContain('localhost');
  });

  it('gives extra names the bound port unless they name one', () => {
    // Act
    const hosts = allowedHosts({
      port: 4566,
      bindHost: '127.0.0.1',
      extra: ['DevBox.lan', 'proxy.lan:8080'],
    });

    // Assess
    expect(hosts).toContain('devbox.lan:4566');
    expect(hosts).toContain('proxy.lan:8080');
  });
});

describe('checkLocalRequest: Host', () => {
  it.each(['127.0.0.1:4566', 'localhost:4566', '[::1]:4566', 'LOCALHOST:4566'])(
    'lets Host %s through',
    (host) => {
      expect(checkLocalRequest({ host }, policy())).toEqual({ allowed: true });
    }
  );

  it.each([
    ['a rebinding domain (issue #17)', 'evil.example:4566'],
    ['the right name on another port', '127.0.0.1:4567'],
    ['no port', '127.0.0.1'],
    ['a localhost subdomain', 'bucket.localhost:4566'],
    ['an S3 virtual-hosted bucket on the IP', 'bucket.127.0.0.1:4566'],
    ['a trailing dot', 'localhost.:4566'],
    ['the wildcard address', '0.0.0.0:4566'],
    ['an empty Host', ''],
  ])('refuses %s with 421', (_what, host) => {
    // Act
    const verdict = checkLocalRequest({ host }, policy());

    // Assess
    expect(verdict).toEqual({
      allowed: false,
      status: 421,
      code: 'MisdirectedRequest',
      message:
        `test server: refused a request for Host ${JSON.stringify(host)}: this server answers ` +
        'only to 127.0.0.1:4566, localhost:4566 or [::1]:4566 (a foreign Host is how DNS ' +
        'rebinding reaches loopback). Add a name to TEST_ALLOWED_HOSTS to allow it.',
    });
  });

  it('refuses a missing Host', () => {
    expect(checkLocalRequest({}, policy())).toMatchObject({ allowed: false, status: 421 });
  });

  it('checks Host before Origin: a rebinding page gets 421 whatever its Origin', () => {
    const verdict = checkLocalRequest(
      { host: 'evil.example:4566', origin: 'http://evil.example:4566' },
      policy({ sameOrigin: true })
    );
    expect(verdict).toMatchObject({ allowed: false, status: 421 });
  });

  it('bounds and quotes an attacker-chosen Host in the message', () => {
    // Act
    const verdict = checkLocalRequest({ host: `${'x'.repeat(500)}\n<script>` }, policy());

    // Assess
    expect(verdict.allowed).toBe(false);
    const message = verdict.allowed ? '' : verdict.message;
    expect(message).not.toContain('\n');
    expect(message).not.toContain('<script>');
    expect(message).toContain(`"${'x'.repeat(200)}…"`);
  });
});

describe('checkLocalRequest: Origin', () => {
  const host = '127.0.0.1:4566';

  it('lets requests without Origin through (AWS SDKs and CLIs send none)', () => {
    expect(checkLocalRequest({ host }, policy())).toEqual({ allowed: true });
  });

  it.each([
    ['a foreign site (issue #17)', 'http://evil.example'],
    ['another local port', 'http://127.0.0.1:8000'],
    ["the server's own origin when same-origin pages are not trusted", 'http://127.0.0.1:4566'],
    ['an opaque origin (sandboxed frame, file://)', 'null'],
    ['https on the same host and port', 'https://127.0.0.1:4566'],
  ])('refuses %s with 403', (_what, origin) => {
    // Act
    const verdict = checkLocalRequest({ host, origin }, policy());

    // Assess
    expect(verdict).toEqual({
      allowed: false,
      status: 403,
      code: 'AccessForbidden',
      message:
        `test server: refused a cross-origin request from Origin ${JSON.stringify(origin)}: web ` +
        'pages may not drive this server (AWS SDKs and CLIs send no Origin). Add the origin to ' +
        'TEST_ALLOWED_ORIGINS to allow it.',
    });
  });

  it("accepts the page's own origin where the server serves its own page", () => {
    // Act
    const same = checkLocalRequest(
      { host: 'localhost:4566', origin: 'http://localhost:4566' },
      policy({ sameOrigin: true })
    );
    const crossName = checkLocalRequest(
      { host: '127.0.0.1:4566', origin: 'http://localhost:4566' },
      policy({ sameOrigin: true })
    );

    // Assess: same origin means the very Host the request came to, not any loopback name.
    expect(same).toEqual({ allowed: true });
    expect(crossName).toMatchObject({ allowed: false, status: 403 });
  });

  it('accepts a listed origin and says CORS headers are due', () => {
    const verdict = checkLocalRequest(
      { host, origin: 'http://127.0.0.1:5173' },
      policy({ origins: ['http://127.0.0.1:5173'] })
    );
    expect(verdict).toEqual({ allowed: true, corsOrigin: 'http://127.0.0.1:5173' });
  });

  it('refuses several Origin headers, even when one of them is listed', () => {
    const verdict = checkLocalRequest(
      { host, origin: ['http://127.0.0.1:5173', 'http://evil.example'] },
      policy({ origins: ['http://127.0.0.1:5173'] })
    );
    expect(verdict).toMatchObject({ allowed: false, status: 403 });
  });
});

describe('allow-list variables', () => {
  it('reads comma-separated origins, normalising case and a trailing slash', () => {
    expect(parseOriginList(' http://127.0.0.1:5173, HTTP://Dev.Lan:8080/ ,', 'X')).toEqual([
      'http://127.0.0.1:5173',
      'http://dev.lan:8080',
    ]);
    expect(parseOriginList(undefined, 'X')).toEqual([]);
  });

  it.each([
    ['a wildcard', '*'],
    ['a path', 'http://dev.lan/app'],
    ['no scheme', 'dev.lan:8080'],
    ['the opaque origin', 'null'],
  ])('fails at start on %s in the origins', (_what, entry) => {
    expect(() => parseOriginList(entry, 'LOCAL_ALLOWED_ORIGINS')).toThrow(
      `LOCAL_ALLOWED_ORIGINS: "${entry}" is not an origin (scheme://host[:port], e.g. http://127.0.0.1:5173)`
    );
  });

  it('reads host names with or without a port, and refuses URLs', () => {
    expect(parseHostList('devbox.lan, [fd00::1]:4566', 'X')).toEqual([
      'devbox.lan',
      '[fd00::1]:4566',
    ]);
    expect(() => parseHostList('http://devbox.lan', 'LOCAL_ALLOWED_HOSTS')).toThrow(
      'LOCAL_ALLOWED_HOSTS: "http://devbox.lan" is not a host name (name or name:port, e.g. devbox.lan:4566)'
    );
  });
});

describe('preflightHeaders', () => {
  it('echoes the listed origin with the asked method and headers, never *', () => {
    expect(preflightHeaders('http://127.0.0.1:5173', 'PUT', 'content-type,x-amz-date')).toEqual({
      'access-control-allow-origin': 'http://127.0.0.1:5173',
      'access-control-allow-methods': 'PUT',
      'access-control-allow-headers': 'content-type,x-amz-date',
      'access-control-expose-headers': '*',
      'access-control-max-age': '600',
      vary: 'Origin',
    });
  });
});

describe('isCrossSiteEmbed', () => {
  it.each([
    ["another site's <img>", { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }, true],
    [
      'another port on 127.0.0.1 (same site)',
      { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors' },
      true,
    ],
    [
      'a link from another site',
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' },
      false,
    ],
    [
      "the page's own <img>",
      { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'no-cors' },
      false,
    ],
    ['a typed URL or bookmark', { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' }, false],
    ['a client without fetch metadata (SDK, curl)', {}, false],
  ])('%s: %s', (_what, headers, expected) => {
    expect(isCrossSiteEmbed(headers)).toBe(expected);
  });

  it('leaves requests with an Origin to the Origin check', () => {
    expect(
      isCrossSiteEmbed({
        origin: 'http://evil.example',
        'sec-fetch-site': 'cross-site',
        'sec-fetch-mode': 'cors',
      })
    ).toBe(false);
  });
});
