import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LambdaRunner } from '../src/lambda/runner.js';
import type { FunctionSpec } from '../src/model.js';
import { captureLogger } from './helpers.js';

/** The project's node_modules/.cache, where the runtime keeps V8's compile cache (runner.ts). */
const CACHE_DIR = path.resolve(
  fileURLToPath(new URL('../../node_modules/.cache/local-runtime-compile', import.meta.url))
);

const HANDLER = `
import { getCompileCacheDir } from 'node:module';
export const handler = async () => ({
  cacheDir: getCompileCacheDir() ?? null,
  envVar: process.env.NODE_COMPILE_CACHE ?? null,
});
`;

describe("an environment's code compiles through V8's compile cache", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('the environment has the cache enabled in the fixed directory, written at Init, and not as a variable the function sees', async () => {
    // Prepare
    const dir = mkdtempSync(path.join(tmpdir(), 'compile-cache-'));
    writeFileSync(path.join(dir, 'index.mjs'), HANDLER);
    const fn: FunctionSpec = {
      logicalId: 'Cached',
      name: 'cached',
      arn: 'arn:aws:lambda:us-east-1:000000000000:function:cached',
      runtime: 'nodejs22.x',
      handler: 'index.handler',
      codeDir: dir,
      environment: {},
      timeoutSeconds: 30,
      memoryMb: 128,
      layerBinDirs: [],
      ephemeralStorageMiB: 512,
    };
    const runner = new LambdaRunner([fn], {
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      logger: captureLogger([]),
    });
    cleanups.push(async () => {
      await runner.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    // Act
    const r = await runner.invoke('cached', {});

    // Assess
    expect(r).toMatchObject({ ok: true, payload: { envVar: null } });
    const { cacheDir } = (r.ok ? r.payload : {}) as { cacheDir: string | null };
    // V8 keeps one subdirectory per Node version and V8 flags under the directory it is given.
    expect(cacheDir && path.dirname(cacheDir)).toBe(CACHE_DIR);
    expect(existsSync(cacheDir!) && readdirSync(cacheDir!).length).toBeGreaterThan(0);
  });
});
