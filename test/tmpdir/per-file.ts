import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, expect, inject } from 'vitest';
import { OWNER_FILE } from './leftovers.js';

/**
 * Unit project setup file: this test file's own TMPDIR, under the run's root
 * (test/tmpdir/global-setup.ts), so the teardown can tell which file left what. Node's
 * os.tmpdir() reads TMPDIR on every call, and this runs before the test file is imported.
 */
const root = inject('unitTmpRoot');
const testFile = relative(process.cwd(), expect.getState().testPath ?? 'unknown');
const dir = mkdtempSync(join(root, 'file-'));
writeFileSync(join(dir, OWNER_FILE), testFile);
process.env.TMPDIR = dir;

// After the file's own afterAll hooks (hooks run as a stack): CDK's own temporary outdirs
// (`cdk.out…`, made by an App built without an outdir, e.g. `Template.fromStack(new Stack())`)
// have no name a test could remove, so they are removed here. Every outdir a test names is its
// own to remove; the global teardown fails the run on any that is left.
afterAll(() => {
  for (const name of readdirSync(dir)) {
    if (name.startsWith('cdk.out')) rmSync(join(dir, name), { recursive: true, force: true });
  }
});
