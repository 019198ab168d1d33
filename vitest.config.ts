import { defineConfig } from 'vitest/config';

// Three projects, run one after another (groupOrder) because a 2-core machine
// runs ffmpeg in all of them:
//  - unit: handler logic, media work on generated clips, CDK assertions, runtime semantics, CLI;
//  - e2e-local: the end-to-end suite against the no-Docker local runtime (started by its setup);
//  - e2e-localstack: the same suite against LocalStack; skipped with a printed reason
//    when none is up, unless CI=true or E2E_REQUIRE_LOCALSTACK=1;
//  - browser: the web console (console/) in Debian's Chromium against its own local runtime;
//  - e2e-compare: after both, fails if the targets that ran in this run disagree on a case
//    (or one of them recorded nothing); see test/e2e/observations.ts;
//  - chaos: load and fault injection on the local runtime (test/chaos/), last because
//    it is the heaviest; each file starts its own runtime.
const e2e = {
  include: ['test/e2e/**/*.e2e.ts'],
  testTimeout: 240_000,
  hookTimeout: 300_000,
  fileParallelism: false,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'test/unit/**/*.test.ts',
            'test/cdk/**/*.test.ts',
            'local-runtime/test/**/*.test.ts',
            'cli/test/**/*.test.ts',
            'console/test/**/*.test.ts',
          ],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: 'forks',
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...e2e,
          name: 'e2e-local',
          globalSetup: ['test/e2e/setup-local.ts'],
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          ...e2e,
          name: 'e2e-localstack',
          globalSetup: ['test/e2e/setup-localstack.ts'],
          sequence: { groupOrder: 2 },
        },
      },
      {
        test: {
          name: 'e2e-compare',
          include: ['test/e2e/**/*.compare.ts'],
          globalSetup: ['test/e2e/setup-compare.ts'],
          sequence: { groupOrder: 3 },
        },
      },
      {
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.chaos.ts'],
          globalSetup: ['test/chaos/setup.ts'],
          testTimeout: 900_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          sequence: { groupOrder: 4 },
        },
      },
      {
        test: {
          // Forged and racing upload events against the real stack on the local runtime
          // (test/adversarial/); each file starts its own runtime, like chaos.
          name: 'adversarial',
          include: ['test/adversarial/**/*.adversarial.ts'],
          globalSetup: ['test/chaos/setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          sequence: { groupOrder: 6 },
        },
      },
      {
        test: {
          name: 'browser',
          include: ['console/test/**/*.browser.ts'],
          globalSetup: ['console/test/setup-browser.ts'],
          testTimeout: 240_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          sequence: { groupOrder: 5 },
        },
      },
    ],
  },
});
