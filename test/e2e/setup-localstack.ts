import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { DEFAULT_ENDPOINT, DEFAULT_OUTPUTS_FILE } from '../../scripts/localstack/options.js';
import { REPO_ROOT } from '../../scripts/project.js';
import { OBSERVATIONS_DIR, runIdOf, startObservations } from './observations.js';
import { localStackProblem, readOutputs } from './target.js';

/**
 * Points the suite at LocalStack (deployed with `npm run localstack:deploy`).
 * A developer's plain `npm test` skips it, with the reason printed, when no
 * LocalStack is up; CI (CI=true) and E2E_REQUIRE_LOCALSTACK=1 make that a failure.
 */
export default async function setup(project: TestProject) {
  const endpoint = process.env.LOCALSTACK_ENDPOINT ?? DEFAULT_ENDPOINT;
  const outputsFile = resolve(
    REPO_ROOT,
    process.env.LOCALSTACK_OUTPUTS_FILE ?? DEFAULT_OUTPUTS_FILE
  );
  const problem = await localStackProblem('LocalStack e2e suite', endpoint, () => {
    if (!existsSync(outputsFile)) {
      return `LocalStack is up but ${outputsFile} is missing (run npm run localstack:deploy)`;
    }
    // A failed deploy leaves `{}` (the toolkit writes the outputs of the stacks that succeeded).
    try {
      readOutputs(outputsFile);
      return undefined;
    } catch (err) {
      return `${(err as Error).message}: did the last npm run localstack:deploy fail?`;
    }
  });
  if (problem) {
    console.warn(
      `\n[e2e-localstack] SKIPPED: ${problem}. Start it with \`npm run localstack:host\` and ` +
        '`npm run localstack:deploy` (or Docker, see README), or set E2E_REQUIRE_LOCALSTACK=1 to fail instead.\n'
    );
  }
  const runId = runIdOf();
  if (!problem) startObservations(OBSERVATIONS_DIR, runId, 'localstack');
  project.provide('e2eRunId', runId);
  project.provide('e2eTarget', { name: 'localstack', endpoint, outputsFile, skipReason: problem });
}
