import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

const require = createRequire(import.meta.url);

export interface FfmpegLayerProps {
  /** @default - 'ffmpeg and ffprobe static x86_64 binaries' */
  readonly description?: string;
}

/**
 * Where the x86_64 static ffmpeg/ffprobe binaries live: the
 * @ffmpeg-installer/@ffprobe-installer platform packages carry them inside
 * their npm tarballs (ffmpeg-static downloads at install time instead, which
 * fails on machines without internet beyond the registry).
 */
export const resolveFfmpegBinaries = (): { ffmpeg: string; ffprobe: string } => {
  const locate = (pkg: string, bin: string) => {
    try {
      return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), bin);
    } catch {
      throw new Error(
        `${pkg} is not installed. The ffmpeg layer is x86_64 Linux only; on another platform run ` +
          `\`npm install --no-save --force ${pkg}\` or pass your own layer through the ffmpegLayer prop.`
      );
    }
  };
  return {
    ffmpeg: locate('@ffmpeg-installer/linux-x64', 'ffmpeg'),
    ffprobe: locate('@ffprobe-installer/linux-x64', 'ffprobe'),
  };
};

/**
 * A Lambda layer with `bin/ffmpeg` and `bin/ffprobe`. Lambda unzips layers
 * into /opt and puts /opt/bin on PATH, so functions find the tools by name.
 * Built from the npm packages with hard links at synth time (no Docker).
 */
export class FfmpegLayer extends Construct {
  public readonly layer: lambda.LayerVersion;

  constructor(scope: Construct, id: string, props: FfmpegLayerProps = {}) {
    super(scope, id);
    const binaries = resolveFfmpegBinaries();
    const fingerprint = `${fileFingerprint(binaries.ffmpeg)}-${fileFingerprint(binaries.ffprobe)}`;
    this.layer = new lambda.LayerVersion(this, 'Resource', {
      description: props.description ?? 'ffmpeg and ffprobe static x86_64 binaries',
      compatibleArchitectures: [lambda.Architecture.X86_64],
      compatibleRuntimes: [lambda.Runtime.NODEJS_24_X],
      // The layer folder is built here, not in an asset bundling step: CDK skips
      // bundling for `cdk ls`/`diff`/`destroy` yet keeps a custom hash, so a
      // bundled layer could publish the raw package folder under the real hash.
      code: lambda.Code.fromAsset(layerFolder(binaries, fingerprint), { assetHash: fingerprint }),
    });
  }
}

/** `<cache>/<fingerprint>/bin/{ffmpeg,ffprobe}`, hard-linked (or copied) once per binary version. */
const layerFolder = (binaries: Record<string, string>, fingerprint: string): string => {
  const root = path.join(
    path.dirname(require.resolve('aws-cdk-lib/package.json')),
    '..',
    '.cache',
    'ffmpeg-layer',
    fingerprint
  );
  const binDir = path.join(root, 'bin');
  fs.mkdirSync(binDir, { recursive: true });
  for (const [name, file] of Object.entries(binaries)) {
    const target = path.join(binDir, name);
    if (!fs.existsSync(target) || fs.statSync(target).size !== fs.statSync(file).size) {
      linkOrCopy(file, target);
    }
  }
  return root;
};

// Content-derived, but cheap: hashing 150 MB on every synth would cost seconds.
const fileFingerprint = (file: string): string => {
  const st = fs.statSync(file);
  const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(file), 'package.json'), 'utf8'));
  return `${pkg.name.replace(/[^a-z0-9]/gi, '')}${pkg.version}-${st.size}`;
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
