import '../../helpers/env.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { KINDS } from '../../../kinds/index.js';

/**
 * A kind's work is found by its file name (lambdas/branch-kinds/find-work.ts),
 * which Node resolves at run time but a Lambda bundle must contain. Here the
 * registry is bundled with the options NodejsFunction uses for every function
 * (lib/constructs/pipeline-function.ts: ESM, node24, SDK external, the
 * require banner) and loaded: every registered kind must arrive with its work.
 */
const outDir = mkdtempSync(join(tmpdir(), 'work-bundle-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('the bundled registry of kind work', () => {
  it('holds the work of every registered kind, in registry order', async () => {
    // Prepare
    const outfile = join(outDir, 'registry.mjs');

    // Act
    const result = await build({
      entryPoints: ['lambdas/branch-kinds/index.ts'],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      mainFields: ['module', 'main'],
      banner: {
        js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
      },
      external: ['@aws-sdk/*'],
      logLevel: 'silent',
    });
    const bundled = (await import(pathToFileURL(outfile).href)) as {
      BRANCH_KINDS: readonly { kind: string; plan: unknown; run: unknown }[];
    };

    // Assess
    expect(result.errors).toEqual([]);
    expect(bundled.BRANCH_KINDS.map((k) => k.kind)).toEqual(KINDS.map((k) => k.kind));
    for (const k of bundled.BRANCH_KINDS) {
      expect(typeof k.plan).toBe('function');
      expect(typeof k.run).toBe('function');
    }
  });
});
