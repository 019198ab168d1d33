/**
 * `npm run localstack:e2e`: the same end-to-end suite as the local runtime, against LocalStack
 * (deployed with `npm run localstack:deploy`). E2E_REQUIRE_LOCALSTACK=1 turns "no LocalStack" into
 * a failure instead of a skip. Extra arguments go to vitest (e.g. `-t "happy path"`).
 */
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from './project.js';

const args = ['vitest', 'run', '--project', 'e2e-localstack', ...process.argv.slice(2)];
console.log(`[localstack:e2e] $ E2E_REQUIRE_LOCALSTACK=1 npx ${args.join(' ')}`);
const r = spawnSync('npx', args, {
  cwd: REPO_ROOT,
  stdio: 'inherit',
  env: { ...process.env, E2E_REQUIRE_LOCALSTACK: '1' },
});
if (r.error) console.error(`[localstack:e2e] could not run vitest: ${r.error.message}`);
process.exitCode = r.status ?? 1;
