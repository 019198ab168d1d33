import { defineConfig } from 'vitest/config';

// Projects run group by group (groupOrder) because a 2-core machine
// runs ffmpeg in all of them:
//  - unit: handler logic, media work on generated clips, CDK assertions, runtime semantics, CLI;
//  - adversarial: attacks on the local surfaces (test/adversarial/, docs/security.md), right
//    after unit: each file starts its own runtime (and console), and they take seconds, not minutes;
//  - e2e-local: the end-to-end suite against the no-Docker local runtime (started by its setup);
//  - e2e-localstack: the same suite against LocalStack; skipped with a printed reason
//    when none is up, unless CI=true or E2E_REQUIRE_LOCALSTACK=1;
//  - browser: the web console (console/) in Chromium (@sparticuz/chromium from npm, or
//    CHROMIUM_PATH) against its own local runtime; skipped with one printed line when no
//    browser starts, unless CI=true;
//  - conformance: public AWS workflows with their documented results, on the local runtime
//    and on LocalStack (test/conformance/), beside e2e-local because it is light;
//  - e2e-compare: after both, fails if the targets that ran in this run disagree on a case
//    (or one of them recorded nothing); see test/e2e/observations.ts;
//  - chaos: load and fault injection on the local runtime (test/chaos/), last because
//    it is the heaviest; each file starts its own runtime.
// Every project's first global setup: the pinned ffmpeg build the layer ships, fetched once per
// run before any setup synthesizes or any test encodes (test/setup-ffmpeg.ts). Not the root
// config's globalSetup: vitest runs that after the projects' own setups, which synthesize.
const FFMPEG = 'test/setup-ffmpeg.ts';

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
          // Each test file gets its own TMPDIR under one root for this run; the run fails if a
          // synthesized assembly is left there (test/tmpdir/global-setup.ts).
          globalSetup: [FFMPEG, 'test/tmpdir/global-setup.ts'],
          setupFiles: ['test/tmpdir/per-file.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...e2e,
          name: 'e2e-local',
          globalSetup: [FFMPEG, 'test/e2e/setup-local.ts'],
          sequence: { groupOrder: 2 },
        },
      },
      {
        test: {
          name: 'conformance',
          include: ['test/conformance/**/*.conformance.ts'],
          testTimeout: 90_000,
          hookTimeout: 180_000,
          sequence: { groupOrder: 2 },
        },
      },
      {
        test: {
          ...e2e,
          name: 'e2e-localstack',
          globalSetup: [FFMPEG, 'test/e2e/setup-localstack.ts'],
          sequence: { groupOrder: 3 },
        },
      },
      {
        test: {
          name: 'e2e-compare',
          include: ['test/e2e/**/*.compare.ts'],
          globalSetup: [FFMPEG, 'test/e2e/setup-compare.ts'],
          sequence: { groupOrder: 4 },
        },
      },
      {
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.chaos.ts'],
          globalSetup: [FFMPEG, 'test/chaos/setup.ts'],
          testTimeout: 900_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          sequence: { groupOrder: 5 },
        },
      },
      {
        // Attacks on the local surfaces (test/adversarial/): each file starts its own runtime
        // (and console) from cdk.out, synthesized by its setup when the inputs changed.
        test: {
          name: 'adversarial',
          include: ['test/adversarial/**/*.adversarial.ts'],
          globalSetup: [FFMPEG, 'test/adversarial/setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          // Alone in its group: its setup and e2e-local's both synthesize cdk.out.
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'browser',
          include: ['console/test/**/*.browser.ts'],
          globalSetup: [FFMPEG, 'console/test/setup-browser.ts'],
          testTimeout: 240_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          sequence: { groupOrder: 6 },
        },
      },
    ],
  },
});
