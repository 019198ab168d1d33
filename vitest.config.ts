import { defineConfig } from 'vitest/config';

// Two projects: fast unit/CDK/runtime tests, and the end-to-end suite that
// talks to whatever AWS_ENDPOINT_URL + outputs file point at (local runtime
// by default). They are separate so the e2e suite can be run on its own
// against LocalStack without dragging the unit tests along.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/cdk/**/*.test.ts', 'local-runtime/test/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: 'forks',
        },
      },
    ],
  },
});
