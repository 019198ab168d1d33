import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, synthesize } from '../../local-runtime/src/index.js';

/**
 * The chaos project runs the same cloud assembly as every other target; each
 * file starts its own local runtime (its own account limit and faults).
 * E2E_SKIP_SYNTH=1 reuses an existing cdk.out, as for e2e-local.
 */
export default function setup() {
  if (process.env.E2E_SKIP_SYNTH !== '1' || !existsSync(join(ROOT, 'cdk.out'))) synthesize();
}
