import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/project.js';

/**
 * Every end-to-end file goes through the one target gate (test/e2e/guard.ts):
 * a file whose suite bypasses it deploys its variant stack to a LocalStack that
 * is not there and fails a developer's plain `npm test` (segments.e2e.ts did).
 */
const E2E_DIR = join(REPO_ROOT, 'test', 'e2e');
const files = readdirSync(E2E_DIR).filter((f) => f.endsWith('.e2e.ts'));

describe('end-to-end files and the target gate', () => {
  it('finds the end-to-end files', () => {
    expect(files).toContain('segments.e2e.ts');
    expect(files).toContain('pipeline.e2e.ts');
  });

  it.each(files)('%s declares its suites only through describeE2E', (file) => {
    // Prepare
    const source = readFileSync(join(E2E_DIR, file), 'utf8');

    // Act: suites declared with vitest's describe (any modifier) instead of the gate.
    const bypasses = source.match(/\bdescribe(\.\w+)*\s*\(/g) ?? [];
    const gated = source.match(/^describeE2E\(target(, \w+)?\)\(/gm) ?? [];

    // Assess
    expect(bypasses).toEqual([]);
    expect(gated).toHaveLength(1);
  });
});
