import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../lib/project-root.js';

/** The one definition of the repository root for every tool (it is the package root). */
export const REPO_ROOT = PROJECT_ROOT;

/** The account id both emulators (the local runtime and LocalStack) report. */
export { EMULATOR_ACCOUNT_ID } from '../local-runtime/src/index.js';

/**
 * The LocalStack release this project is tested with: the last one that runs
 * without an auth token. Kept in one text file so setup.sh and start.sh read it too.
 */
export const LOCALSTACK_VERSION = readFileSync(
  join(REPO_ROOT, 'localstack-executor', 'VERSION'),
  'utf8'
).trim();
