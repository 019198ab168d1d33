import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { assembliesUnder, OWNER_FILE } from './leftovers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** This run's temp root of the unit project: each test file gets its own TMPDIR under it. */
    unitTmpRoot: string;
  }
}

/**
 * The unit project's temp directory guard (issue 21 item 6). Every unit test file runs with
 * its own TMPDIR under one root made for this run (test/tmpdir/per-file.ts), so nothing another
 * process on the machine writes can be mistaken for ours. At the end of the run, a synthesized
 * assembly left under the root (the pipeline's holds the 157 MB ffmpeg layer) fails the run,
 * naming the test file that left it; other leftovers are listed. The root is removed either way.
 */
export default function setup(project: TestProject) {
  const root = mkdtempSync(join(tmpdir(), 'vitest-unit-'));
  project.provide('unitTmpRoot', root);
  return () => {
    try {
      const assemblies: string[] = [];
      const others: string[] = [];
      for (const fileDir of readdirSync(root)) {
        const dir = join(root, fileDir);
        const ownerPath = join(dir, OWNER_FILE);
        const owner = existsSync(ownerPath) ? readFileSync(ownerPath, 'utf8') : fileDir;
        for (const a of assembliesUnder(dir)) assemblies.push(`${owner}: ${a}`);
        // node-compile-cache: Node's module compile cache (module.enableCompileCache() in child
        // processes defaults to TMPDIR), a cache rather than a leak; removed with the root.
        const rest = readdirSync(dir).filter((e) => e !== OWNER_FILE && e !== 'node-compile-cache');
        if (rest.length > 0) others.push(`${owner}: ${rest.join(', ')}`);
      }
      if (others.length > 0) {
        console.warn(`[unit] temp entries left behind (removed now):\n  ${others.join('\n  ')}`);
      }
      if (assemblies.length > 0) {
        throw new Error(
          'synthesized assemblies were left in the temp directory; remove each in the ' +
            `test's afterAll (also on failure):\n  ${assemblies.join('\n  ')}`
        );
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}
