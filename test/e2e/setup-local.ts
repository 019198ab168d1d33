import { createWriteStream, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ROOT as root, startLocalRuntime, synthesize } from '../../local-runtime/src/index.js';
import { OBSERVATIONS_DIR, runIdOf, startObservations } from './observations.js';
import { E2E_APP } from './stack-config.js';

/**
 * Starts the no-Docker local runtime on a random port from the same cloud
 * assembly `cdk deploy` would use. Synthesizes first, so the suite always
 * runs the current code (set E2E_SKIP_SYNTH=1 to reuse an existing cdk.out).
 */
export default async function setup(project: TestProject) {
  const assemblyDir = join(root, 'cdk.out');
  if (process.env.E2E_SKIP_SYNTH !== '1' || !existsSync(assemblyDir)) {
    synthesize({ app: E2E_APP });
  }
  // Function logs go to a file: the test output should show cases, not log lines.
  mkdirSync(join(root, '.e2e'), { recursive: true });
  const logFile = join(root, '.e2e', 'local-runtime.log');
  const log = createWriteStream(logFile);
  const write = (level: string) => (m: string) => log.write(`${level} ${m}\n`);
  console.log(`[e2e-local] local runtime logs: ${logFile}`);
  const runtime = await startLocalRuntime({
    assemblyDir,
    port: 0,
    logger: { info: write('INFO'), warn: write('WARN'), error: write('ERROR'), debug: () => {} },
  });
  const outputsFile = join(mkdtempSync(join(tmpdir(), 'e2e-local-')), 'outputs.json');
  writeFileSync(outputsFile, JSON.stringify(runtime.outputs, null, 2));
  const runId = runIdOf();
  startObservations(OBSERVATIONS_DIR, runId, 'local');
  project.provide('e2eRunId', runId);
  project.provide('e2eTarget', { name: 'local', endpoint: runtime.endpoint, outputsFile });
  return async () => {
    await runtime.stop();
    log.end();
  };
}
