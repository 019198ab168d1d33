import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  browserRequired,
  type NpmChromium,
  npmChromiumArgs,
  resolveChromium,
  SYSTEM_CHROMIUM_ARGS,
  skipLine,
} from './chromium.js';

/** The browser choice of the console's browser tests, without starting a browser. */

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'chromium-choice-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Stands in for @sparticuz/chromium: its Lambda flags and an inflated binary path. */
const npmFactory = (executablePath: string | Error): (() => Promise<NpmChromium>) => {
  return async () => ({
    args: ['--single-process', '--disable-web-security', '--no-sandbox', '--no-zygote'],
    executablePath: async () => {
      if (executablePath instanceof Error) throw executablePath;
      return executablePath;
    },
  });
};

describe('resolveChromium', () => {
  it('takes the Chromium from npm when CHROMIUM_PATH is not set, without the flags it must not use here', async () => {
    // Act
    const res = await resolveChromium({}, npmFactory('/tmp/chromium'));

    // Assess
    expect(res).toEqual({
      chromium: {
        executablePath: '/tmp/chromium',
        args: ['--no-sandbox', '--no-zygote', '--disable-dev-shm-usage'],
        source: '@sparticuz/chromium (/tmp/chromium)',
      },
    });
  });

  it('keeps the system Chromium named by CHROMIUM_PATH, and does not inflate the npm one', async () => {
    // Prepare
    const system = join(dir, 'chromium');
    writeFileSync(system, '');
    let loaded = false;
    const load = async () => {
      loaded = true;
      return npmFactory('/tmp/chromium')();
    };

    // Act
    const res = await resolveChromium({ CHROMIUM_PATH: system }, load);

    // Assess
    expect(res).toEqual({
      chromium: {
        executablePath: system,
        args: [...SYSTEM_CHROMIUM_ARGS],
        source: `CHROMIUM_PATH=${system}`,
      },
    });
    expect(loaded).toBe(false);
  });

  it('says why when CHROMIUM_PATH names no file', async () => {
    // Act
    const res = await resolveChromium(
      { CHROMIUM_PATH: join(dir, 'absent') },
      npmFactory('/tmp/chromium')
    );

    // Assess
    expect(res).toEqual({ unavailable: `CHROMIUM_PATH=${join(dir, 'absent')} does not exist` });
  });

  it('says why when the npm Chromium cannot be inflated', async () => {
    // Act
    const res = await resolveChromium({}, npmFactory(new Error('ENOSPC: no space left')));

    // Assess
    expect(res).toEqual({
      unavailable: '@sparticuz/chromium is not usable (ENOSPC: no space left)',
    });
  });
});

describe('browser tests outside and inside CI', () => {
  it.each([
    [{ CI: 'true' }, true],
    [{}, false],
    [{ CI: 'false' }, false],
  ])('with %j the browser is required: %s', (env, required) => {
    expect(browserRequired(env)).toBe(required);
  });

  it('prints one line that says how to enable the browser tests', () => {
    // Act
    const line = skipLine('@sparticuz/chromium does not start (missing libnss3.so)');

    // Assess
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toBe(
      '[browser] SKIPPED: @sparticuz/chromium does not start (missing libnss3.so). To enable: ' +
        '`npm ci` (installs @sparticuz/chromium), or set CHROMIUM_PATH to a Chromium binary.'
    );
  });

  it('drops only the flags it names from the npm flags', () => {
    expect(npmChromiumArgs(['--headless=shell', '--single-process'])).toEqual([
      '--headless=shell',
      '--disable-dev-shm-usage',
    ]);
  });
});
