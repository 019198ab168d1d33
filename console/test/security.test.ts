import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../cli/src/config.js';
import {
  consoleAllowLists,
  hasToken,
  isMutating,
  newConsoleToken,
  withToken,
} from '../src/security.js';

const request = (headers: Record<string, string | string[]>) =>
  ({ headers }) as unknown as IncomingMessage;

describe('the console token', () => {
  it('is new for each process and long enough not to be guessed', () => {
    const a = newConsoleToken();
    const b = newConsoleToken();
    expect(a).not.toBe(b);
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
  });

  it('is written into the page once, where the page reads it', () => {
    // Prepare
    const html = '<head><meta name="console-token" content=""></head>';

    // Act / Assess
    expect(withToken(html, 'abc_-1')).toBe(
      '<head><meta name="console-token" content="abc_-1"></head>'
    );
  });

  it('fails the start when the page has no place for it (the page could not upload)', () => {
    expect(() => withToken('<head></head>', 'abc')).toThrow(
      'console/web/index.html lacks <meta name="console-token" content="">: the page could not upload'
    );
  });

  it.each([
    ['the right token', { 'x-console-token': 'tok-123' }, true],
    ['no token', {}, false],
    ['a wrong token of the same length', { 'x-console-token': 'tok-124' }, false],
    ['a prefix of the token', { 'x-console-token': 'tok' }, false],
    ['the token twice (two headers)', { 'x-console-token': ['tok-123', 'tok-123'] }, false],
  ])('accepts a request carrying %s: %s', (_what, headers, expected) => {
    expect(hasToken(request(headers), 'tok-123')).toBe(expected);
  });

  it('is needed for every method but GET and HEAD', () => {
    expect(['GET', 'HEAD'].map(isMutating)).toEqual([false, false]);
    expect(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'].map(isMutating)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
  });
});

describe('consoleAllowLists', () => {
  it('fails with a CLI error naming the variable', () => {
    expect(() => consoleAllowLists({ CONSOLE_ALLOWED_ORIGINS: 'localhost:5173' })).toThrow(
      new CliError(
        'CONSOLE_ALLOWED_ORIGINS: "localhost:5173" is not an origin (scheme://host[:port], e.g. http://127.0.0.1:5173)'
      )
    );
  });
});
