import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { inputsHash, recordInputs, staleReason } from '../../local-runtime/src/freshness.js';
import { ROOT, synthesize } from '../../scripts/synth.js';

/**
 * The adversarial files attack the same cloud assembly every target runs; each
 * file starts its own local runtime (test/adversarial/harness.ts). Synthesizes
 * only when the app's inputs changed since the last synth; E2E_SKIP_SYNTH=1
 * reuses cdk.out as the e2e setups do.
 */
export default function setup() {
  const assemblyDir = join(ROOT, 'cdk.out');
  const skip = process.env.E2E_SKIP_SYNTH === '1' && existsSync(join(assemblyDir, 'manifest.json'));
  if (!skip && staleReason(ROOT, assemblyDir)) {
    const hash = inputsHash(ROOT);
    synthesize();
    recordInputs(assemblyDir, hash);
  }
}
