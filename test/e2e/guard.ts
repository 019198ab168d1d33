import { describe } from 'vitest';
import type { E2ETarget } from './target.js';

/**
 * The one gate of every end-to-end file: its top-level suite is
 * `describeE2E(target)('title', …)` (test/unit/e2e-guard.test.ts checks each
 * file). When the project's setup found its target unavailable (no LocalStack
 * answers; it printed why, and only outside CI and E2E_REQUIRE_LOCALSTACK=1,
 * where it fails instead), the whole suite is skipped, hooks included: no
 * variant stack is synthesized or deployed against an endpoint that is not there.
 * `fileReason` is a file's own reason not to run on this target (printed here).
 */
export const describeE2E = (target: E2ETarget, fileReason?: string) => {
  if (!target.skipReason && fileReason) {
    console.log(`[e2e] skipped on ${target.name}: ${fileReason}`);
  }
  return describe.skipIf(Boolean(target.skipReason ?? fileReason));
};
