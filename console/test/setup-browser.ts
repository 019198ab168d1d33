import { createWriteStream, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { inputsHash, recordInputs, staleReason } from '../../local-runtime/src/freshness.js';
import { ROOT, startLocalRuntime, synthesize } from '../../local-runtime/src/index.js';

/**
 * The browser tests' target: the no-Docker local runtime on a random port
 * (as test/e2e/setup-local.ts starts it), synthesizing only when the app's
 * inputs changed since the last synth (CI has just synthesized).
 */
export default async function setup(project: TestProject) {
  const assemblyDir = join(ROOT, 'cdk.out');
  // E2E_SKIP_SYNTH=1 reuses cdk.out as the e2e setups do. (CI's `npm run synth` leaves no
  // freshness stamp, so in CI this synthesizes once more: spawnSync, never concurrently.)
  const skip = process.env.E2E_SKIP_SYNTH === '1' && existsSync(join(assemblyDir, 'manifest.json'));
  if (!skip && staleReason(ROOT, assemblyDir)) {
    const hash = inputsHash(ROOT);
    synthesize();
    recordInputs(assemblyDir, hash);
  }
  mkdirSync(join(ROOT, '.e2e'), { recursive: true });
  const log = createWriteStream(join(ROOT, '.e2e', 'console-local-runtime.log'));
  const write = (level: string) => (m: string) => log.write(`${level} ${m}\n`);
  const outputsFile = join(mkdtempSync(join(tmpdir(), 'console-browser-')), 'outputs.json');
  const runtime = await startLocalRuntime({
    assemblyDir,
    // Written like `cdk deploy --outputs-file`: the console reads it as the CLI would.
    outputsFile,
    port: 0,
    logger: { info: write('INFO'), warn: write('WARN'), error: write('ERROR'), debug: () => {} },
  });
  project.provide('consoleOutputsFile', outputsFile);
  return async () => {
    await runtime.stop();
    log.end();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    consoleOutputsFile: string;
  }
}
