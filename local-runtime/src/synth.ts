import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * The repository root, where cdk.json and cdk.out live (the package root, two
 * levels above this file). Computed here so the runtime imports nothing from
 * the app or the tools around it.
 */
export const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * `cdk synth` with the pinned CLI, output shown, into ROOT/cdk.out: the one
 * assembly the local runtime, LocalStack and AWS all run.
 */
export const synthesize = ({ app }: { app?: string } = {}): void => {
  const appArgs = app === undefined ? [] : ['--app', app];
  const res = spawnSync('npx', ['cdk', 'synth', '--quiet', ...appArgs], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (res.status !== 0) throw new Error(`cdk synth failed (exit ${res.status})`);
};
