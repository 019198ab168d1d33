import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Annotations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  DEFAULT_FFMPEG_CACHE,
  FETCH_COMMAND,
  type FfmpegBuild,
  findFetchedBuild,
  npmFallbackBuild,
} from './ffmpeg-build.js';

export {
  type FfmpegBuild,
  PINNED_FFMPEG_BUILD,
  resolveFfmpegBuild,
} from './ffmpeg-build.js';

const require = createRequire(import.meta.url);

export interface FfmpegLayerProps {
  /** @default - 'ffmpeg and ffprobe <version> static x86_64 binaries (GPLv3, licence in /opt/licenses/ffmpeg)' */
  readonly description?: string;
  /**
   * Where `npm run ffmpeg:fetch` put the pinned build.
   * @default - .tools/ffmpeg in the project root
   */
  readonly cacheDir?: string;
  /**
   * Fail synth instead of falling back to the old npm binaries when the
   * pinned build has not been fetched. (The stack reads no environment, so
   * CI's guarantee is `npm run ffmpeg:fetch -- --require` before synth.)
   * @default false
   */
  readonly requireFetched?: boolean;
}

/**
 * A Lambda layer with `bin/ffmpeg`, `bin/ffprobe` and `licenses/ffmpeg/`.
 * Lambda unzips layers into /opt and puts /opt/bin on PATH, so functions find
 * the tools by name. The local runtime and the LocalStack process executor
 * run the same asset folder, so all three targets share one build.
 *
 * The build is the pinned ffmpeg 6.0 fetched by `npm run ffmpeg:fetch`. When
 * it is absent (no Python on this machine), the layer falls back to the 2018
 * binaries of @ffmpeg-installer and synth prints a warning, or fails when
 * `requireFetched` is set.
 */
export class FfmpegLayer extends Construct {
  public readonly layer: lambda.LayerVersion;
  /** The build this layer ships; its `versions` are what `-version` prints. */
  public readonly build: FfmpegBuild;

  constructor(scope: Construct, id: string, props: FfmpegLayerProps = {}) {
    super(scope, id);
    const requireFetched = props.requireFetched ?? false;
    const fetched = findFetchedBuild(props.cacheDir ?? DEFAULT_FFMPEG_CACHE);
    if ('build' in fetched) {
      this.build = fetched.build;
    } else {
      const why =
        `the pinned ffmpeg 6.0 build was not found (${fetched.missing}). ` +
        `Run \`${FETCH_COMMAND}\` (needs Python 3 with pip); see docs/ffmpeg.md.`;
      if (requireFetched) {
        throw new Error(`FfmpegLayer: ${why} Refusing the npm fallback (requireFetched).`);
      }
      this.build = npmFallbackBuild();
      const warning =
        `${why} Falling back to the 2018 ffmpeg ${this.build.versions.ffmpeg} from ` +
        '@ffmpeg-installer/linux-x64, which misses years of security fixes; do not deploy it ' +
        'where uploads are untrusted.';
      Annotations.of(this).addWarningV2('ffmpeg-layer:npm-fallback', warning);
      // Also straight to stderr: tests and tools that synthesize in-process never print annotations.
      process.stderr.write(`\n!!! FfmpegLayer: ${warning}\n\n`);
    }
    const folder = this.build.layerDir ?? fallbackLayerFolder(this.build);
    this.layer = new lambda.LayerVersion(this, 'Resource', {
      description:
        props.description ??
        `ffmpeg and ffprobe ${this.build.versions.ffmpeg} static x86_64 binaries (GPLv3, licence in /opt/licenses/ffmpeg)`,
      compatibleArchitectures: [lambda.Architecture.X86_64],
      compatibleRuntimes: [lambda.Runtime.NODEJS_24_X],
      license: 'GPL-3.0-or-later',
      // The layer folder is prepared before synth, not in an asset bundling step: CDK skips
      // bundling for `cdk ls`/`diff`/`destroy` yet keeps a custom hash, so a bundled layer
      // could publish the raw package folder under the real hash.
      code: lambda.Code.fromAsset(folder, { assetHash: this.build.id }),
    });
  }
}

/** `<cache>/<id>/bin/{ffmpeg,ffprobe}` from the npm packages, hard-linked (or copied) once. */
const fallbackLayerFolder = (build: FfmpegBuild): string => {
  const fingerprint = `${build.id}-${fs.statSync(build.ffmpeg).size}-${fs.statSync(build.ffprobe).size}`;
  const root = path.join(
    path.dirname(require.resolve('aws-cdk-lib/package.json')),
    '..',
    '.cache',
    'ffmpeg-layer',
    fingerprint
  );
  const binDir = path.join(root, 'bin');
  fs.mkdirSync(binDir, { recursive: true });
  for (const name of ['ffmpeg', 'ffprobe'] as const) {
    const target = path.join(binDir, name);
    if (!fs.existsSync(target) || fs.statSync(target).size !== fs.statSync(build[name]).size) {
      linkOrCopy(build[name], target);
    }
  }
  const notice = path.join(root, 'licenses', 'ffmpeg', 'NOTICE.txt');
  fs.mkdirSync(path.dirname(notice), { recursive: true });
  fs.writeFileSync(
    notice,
    'These ffmpeg/ffprobe static builds (@ffmpeg-installer/linux-x64 4.1.0, @ffprobe-installer/linux-x64 5.2.0,\n' +
      'by John Van Sickle) are GPLv3: https://www.gnu.org/licenses/gpl-3.0.txt. The npm packages carry no\n' +
      'licence text; the default layer (npm run ffmpeg:fetch) ships the full text.\n'
  );
  return root;
};

const linkOrCopy = (from: string, to: string): void => {
  fs.rmSync(to, { force: true });
  try {
    fs.linkSync(from, to);
  } catch {
    fs.copyFileSync(from, to);
  }
  fs.chmodSync(to, 0o755);
};
