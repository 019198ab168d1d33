import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../local-runtime/src/index.js';
import { type FetchResult, fallbackNotice, fetchFfmpegBuild } from '../scripts/fetch-ffmpeg.js';

/**
 * First global setup of every project: fetches the pinned ffmpeg/ffprobe the
 * layer ships (`npm run ffmpeg:fetch`, as the demo does) before anything
 * synthesizes or encodes, so a fresh clone's `npm test` tests what ships, not
 * the 2018 npm fallback. Needs Python 3 with pip; without them a developer's
 * run warns loudly and goes on with the fallback, while CI (CI=true) fails.
 */

export interface FfmpegSetupOptions {
  fetch?: () => FetchResult;
  required?: boolean;
  /** The assembly a fresh fetch makes stale (its layer holds the fallback build). */
  assemblyDir?: string;
  log?: (line: string) => void;
  warn?: (text: string) => void;
}

export class PinnedFfmpegUnavailableError extends Error {
  override name = 'PinnedFfmpegUnavailableError';
}

export const ensurePinnedFfmpeg = (options: FfmpegSetupOptions = {}): FetchResult => {
  const log = options.log ?? ((line: string) => console.log(`[ffmpeg] ${line}`));
  const warn = options.warn ?? ((text: string) => console.warn(text));
  const result = (options.fetch ?? (() => fetchFfmpegBuild({ log: (line) => log(line) })))();
  if (result.status === 'unavailable') {
    if (options.required ?? process.env.CI === 'true') {
      throw new PinnedFfmpegUnavailableError(
        `CI=true requires the pinned ffmpeg build, but ${result.reason}`
      );
    }
    warn(fallbackNotice(result.reason));
    return result;
  }
  const assemblyDir = options.assemblyDir ?? join(ROOT, 'cdk.out');
  if (result.status === 'installed' && existsSync(assemblyDir)) {
    // The setups reuse a fresh-looking cdk.out (E2E_SKIP_SYNTH, the browser's freshness stamp),
    // and the stamp does not cover .tools/: drop the assembly so the next synth ships this build.
    rmSync(assemblyDir, { recursive: true, force: true });
    log(`removed ${assemblyDir}: synthesized before this fetch, its layer may hold another ffmpeg`);
  }
  return result;
};

/** vitest loads a global setup once per project; the fetch runs once per run. */
const ONCE = Symbol.for('serverless-fan-out-fan-in.setup-ffmpeg');

export default function setup(): void {
  const state = globalThis as { [ONCE]?: true };
  if (state[ONCE]) return;
  // A cached build needs no line in every run; a download says what it does.
  ensurePinnedFfmpeg({
    log: (line) => {
      if (!line.includes('already fetched')) console.log(`[ffmpeg] ${line}`);
    },
  });
  state[ONCE] = true;
}
