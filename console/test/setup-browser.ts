import { createWriteStream, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { TestProject } from 'vitest/node';
import { inputsHash, recordInputs, staleReason } from '../../local-runtime/src/freshness.js';
import { ROOT, startLocalRuntime, synthesize } from '../../local-runtime/src/index.js';
import {
  browserRequired,
  type ChromiumChoice,
  type ChromiumResolution,
  resolveChromium,
  skipLine,
} from './chromium.js';

/** Resolves the browser and starts it once, so a missing library shows here, not in every case. */
const usableChromium = async (): Promise<ChromiumResolution> => {
  const resolved = await resolveChromium();
  if (!('chromium' in resolved)) return resolved;
  const { executablePath, args } = resolved.chromium;
  try {
    const browser = await chromium.launch({ executablePath, args: [...args] });
    await browser.close();
    return resolved;
  } catch (err) {
    const first = (err as Error).message.split('\n')[0];
    return { unavailable: `${resolved.chromium.source} does not start (${first})` };
  }
};

/**
 * The browser tests' browser (see chromium.ts) and target: the no-Docker local
 * runtime on a random port (as test/e2e/setup-local.ts starts it), synthesizing
 * only when the app's inputs changed since the last synth (CI has just
 * synthesized). Without a usable browser the project is skipped with one line,
 * except in CI, where that fails the run.
 */
export default async function setup(project: TestProject) {
  const resolved = await usableChromium();
  if (!('chromium' in resolved)) {
    if (browserRequired()) {
      throw new Error(`browser tests are required in CI (CI=true) but ${resolved.unavailable}`);
    }
    console.warn(skipLine(resolved.unavailable));
    project.provide('consoleBrowser', { skipReason: resolved.unavailable });
    project.provide('consoleOutputsFile', '');
    return;
  }
  console.log(`[browser] Chromium: ${resolved.chromium.source}`);
  project.provide('consoleBrowser', { chromium: resolved.chromium });
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
    consoleBrowser: { chromium: ChromiumChoice } | { skipReason: string };
  }
}
