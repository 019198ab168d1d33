import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Stand-alone config for the CLI tests until the root config includes them
// (add 'cli/test/**/*.test.ts' to the root 'unit' project's include).
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    name: 'cli',
    include: ['cli/test/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
