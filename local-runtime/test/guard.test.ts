import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntimeError } from '../src/errors.js';
import { guardRequest, runtimeAllowLists, runtimePolicy } from '../src/http/guard.js';

/**
 * The runtime's front-door adapter around the shared check: which body a refusal
 * gets (the client's protocol), preflight and CORS for a listed origin, and the
 * allow-list variables. The attacks themselves are in test/adversarial/.
 */

let server: Server;
let base: string;

beforeAll(async () => {
  // Prepare: a listener that answers 200 "routed" to whatever the guard lets through.
  server = createServer((req, res) => {
    const policy = runtimePolicy((server.address() as AddressInfo).port, '127.0.0.1', {
      hosts: [],
      origins: ['http://127.0.0.1:5173'],
    });
    if (guardRequest(req, res, policy)) return;
    res.end('routed');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const send = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
  fetch(`${base}${path}`, init);

describe('guardRequest', () => {
  it('routes a request without Origin, as SDKs send it', async () => {
    const res = await send('/bucket/key');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('routed');
  });

  it('refuses an S3-style request with S3 XML, naming the code', async () => {
    // Act
    const res = await send('/bucket/key', {
      method: 'PUT',
      headers: { origin: 'http://evil.example', 'content-type': 'application/json' },
      body: '{}',
    });

    // Assess
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/xml');
    expect(await res.text()).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>AccessForbidden<\/Code><Message>local runtime: refused a cross-origin request from Origin &#34;http:\/\/evil.example&#34;: /
    );
  });

  it.each([
    ['the admin API', '/_local/faults', {}],
    ['a JSON-protocol call', '/', { 'x-amz-target': 'AWSStepFunctions.StartExecution' }],
    ['Lambda Invoke', '/2015-03-31/functions/f/invocations', {}],
  ])('refuses %s with JSON', async (_what, path, headers) => {
    // Act
    const res = await send(path, {
      method: 'POST',
      headers: { origin: 'http://evil.example', ...headers },
      body: '{}',
    });

    // Assess
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toMatchObject({ __type: 'AccessForbidden' });
  });

  it("answers a listed origin's preflight itself and adds CORS headers to its requests", async () => {
    // Act
    const preflight = await send('/bucket/key', {
      method: 'OPTIONS',
      headers: {
        origin: 'http://127.0.0.1:5173',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'content-type',
      },
    });
    const put = await send('/bucket/key', {
      method: 'PUT',
      headers: { origin: 'http://127.0.0.1:5173' },
      body: 'x',
    });

    // Assess
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('PUT');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type');
    expect(put.status).toBe(200);
    expect(put.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173');
    expect(put.headers.get('vary')).toBe('Origin');
  });
});

describe('runtimeAllowLists', () => {
  it('reads LOCAL_ALLOWED_HOSTS and LOCAL_ALLOWED_ORIGINS', () => {
    expect(
      runtimeAllowLists({
        LOCAL_ALLOWED_HOSTS: 'devbox.lan',
        LOCAL_ALLOWED_ORIGINS: 'http://127.0.0.1:5173',
      })
    ).toEqual({ hosts: ['devbox.lan'], origins: ['http://127.0.0.1:5173'] });
  });

  it('fails the start with a LocalRuntimeError on a malformed entry', () => {
    expect(() => runtimeAllowLists({ LOCAL_ALLOWED_ORIGINS: '*' })).toThrow(LocalRuntimeError);
  });
});
