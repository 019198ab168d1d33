/**
 * `npm run synth`: the production app's `cdk synth` (cdk-nag runs inside it), stamped with the
 * inputs' hash as the demo's and `npm run local`'s own synth is, so that either of them run next
 * reuses this assembly instead of synthesizing again.
 */
import { synthesize } from '../local-runtime/src/index.js';

synthesize();
