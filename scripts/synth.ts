import { spawnSync } from 'node:child_process';

import { REPO_ROOT } from './project.js';

/** The repository root, where cdk.json and cdk.out live. */
export const ROOT = REPO_ROOT;

/**
 * `cdk synth` with the pinned CLI, output shown, into ROOT/cdk.out: the one
 * assembly the local runtime, LocalStack and AWS all run.
 */
export const synthesize = (): void => {
  const res = spawnSync('npx', ['cdk', 'synth', '--quiet'], { cwd: ROOT, stdio: 'inherit' });
  if (res.status !== 0) throw new Error(`cdk synth failed (exit ${res.status})`);
};
