import '../helpers/env.js';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { InvalidVideoError } from '../../contract/index.js';
import {
  FFMPEG_DIR,
  FFPROBE_DIR,
  ffprobe,
  LAYER_BUILD,
  useMediaTools,
} from '../../fixtures/media.js';
import { rendition, thumbnail } from '../../lambdas/branch-kinds/index.js';
import { probeFile } from '../../lambdas/probe/logic.js';
import { mediaToolVersions } from '../../lambdas/shared/media.js';
import { FfmpegLayer } from '../../lib/constructs/ffmpeg-layer.js';
import { sha256File } from '../../scripts/fetch-ffmpeg.js';
import { tempOutdir } from '../cdk/synth.js';
import { sourceFactory } from '../helpers/factories.js';

/**
 * The layer's ffmpeg build, checked the way the pipeline uses it: the tests
 * run the very binaries the layer ships, report their versions, and the
 * corpus of upload shapes still probes and renders (issue #11).
 */

const run = promisify(execFile);

/** What each build's `-version` prints after "version": published by the builds, not derived here. */
const PUBLISHED_VERSIONS = {
  fetched: { ffmpeg: '6.0-static', ffprobe: '6.0-static' },
  'npm-fallback': { ffmpeg: 'N-47683-g0e8eb07980-static', ffprobe: 'N-66595-gc2b38619c0-static' },
} as const;

describe('the layer build the tests run', () => {
  it('is the one FfmpegLayer puts into the layer asset', () => {
    // Prepare
    const app = new App({
      outdir: tempOutdir('layer-build-'),
      context: { 'aws:cdk:disable-asset-staging': true, 'aws:cdk:enable-asset-metadata': true },
    });
    const stack = new Stack(app, 'S');
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);

    // Act
    const layer = new FfmpegLayer(stack, 'Ffmpeg');

    // Assess
    const [resource] = Object.values(
      Template.fromStack(stack).findResources('AWS::Lambda::LayerVersion')
    );
    const assetBin = join(resource.Metadata['aws:asset:path'], 'bin');
    expect(layer.build.source).toBe(LAYER_BUILD.source);
    expect(sha256File(join(assetBin, 'ffmpeg'))).toBe(sha256File(join(FFMPEG_DIR, 'ffmpeg')));
    expect(sha256File(join(assetBin, 'ffprobe'))).toBe(sha256File(join(FFPROBE_DIR, 'ffprobe')));
    vi.restoreAllMocks();
  });
});

describe('mediaToolVersions', () => {
  beforeAll(useMediaTools);
  afterEach(() => vi.unstubAllEnvs());

  it("returns the version tokens the layer build's binaries print", async () => {
    // Act
    const versions = await mediaToolVersions();

    // Assess
    expect(versions).toEqual(PUBLISHED_VERSIONS[LAYER_BUILD.source]);
  });

  it('runs the tools once per process', async () => {
    // Act
    const first = await mediaToolVersions();
    const second = await mediaToolVersions();

    // Assess
    expect(second).toBe(first);
  });

  it('rejects with a MediaToolError when a tool prints no version, and does not cache the failure', async () => {
    // Prepare: a fresh module (empty cache) and an "ffmpeg" that only fails.
    vi.resetModules();
    const fresh = await import('../../lambdas/shared/media.js');
    const dir = mkdtempSync(join(tmpdir(), 'fake-ffmpeg-'));
    const fake = join(dir, 'ffmpeg');
    writeFileSync(fake, '#!/bin/sh\necho "unknown option" >&2\nexit 3\n', { mode: 0o755 });
    vi.stubEnv('FFMPEG_PATH', fake);

    // Act
    const failed = fresh.mediaToolVersions();

    // Assess
    // A fresh module graph has its own error classes: match on the name the ASL matches on.
    await expect(failed).rejects.toMatchObject({ name: 'MediaToolError' });
    await expect(failed).rejects.toThrow(/ffmpeg -version exited 3 .*unknown option/);
    vi.unstubAllEnvs();
    await expect(fresh.mediaToolVersions()).resolves.toEqual(
      PUBLISHED_VERSIONS[LAYER_BUILD.source]
    );
    rmSync(dir, { recursive: true, force: true });
  });
});

// ---- the corpus of upload shapes -----------------------------------------------------------------

let workDir: string;
let counter = 0;
const fresh = (ext: string) => join(workDir, `c${++counter}.${ext}`);
const ffmpegRun = (args: string[]) =>
  run(join(FFMPEG_DIR, 'ffmpeg'), ['-nostdin', '-v', 'error', '-y', ...args]);
const pattern = (size: string, rate = 25) => [
  '-f',
  'lavfi',
  '-i',
  `testsrc=size=${size}:rate=${rate}`,
];
const tone = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'];

/** Factories for the shapes uploads come in; each returns a file path. */
const corpus = {
  vp9Webm: async () => {
    const out = fresh('webm');
    await ffmpegRun([
      ...pattern('320x240'),
      ...tone,
      '-t',
      '2',
      '-c:v',
      'libvpx-vp9',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-b:v',
      '300k',
      '-c:a',
      'libopus',
      out,
    ]);
    return out;
  },
  hevcMkv: async () => {
    const out = fresh('mkv');
    await ffmpegRun([
      ...pattern('320x240'),
      ...tone,
      '-t',
      '2',
      '-c:v',
      'libx265',
      '-preset',
      'ultrafast',
      '-x265-params',
      'log-level=error',
      '-c:a',
      'aac',
      out,
    ]);
    return out;
  },
  h264: async (size: string, rate: number, pixFmt = 'yuv420p') => {
    const out = fresh('mp4');
    await ffmpegRun([
      ...pattern(size, rate),
      '-t',
      '2',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      pixFmt,
      out,
    ]);
    return out;
  },
  /** A phone-style portrait clip: landscape frames plus a 90° display rotation. */
  rotatedMov: async () => {
    const landscape = await corpus.h264('320x240', 25);
    const out = fresh('mov');
    await ffmpegRun(['-i', landscape, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', out]);
    return out;
  },
  truncated: async (file: string) => {
    const out = fresh(file.split('.').pop() ?? 'bin');
    const bytes = readFileSync(file);
    writeFileSync(out, bytes.subarray(0, Math.floor(bytes.length / 2)));
    return out;
  },
};

const generous = () => 120_000;
const rendition240 = { id: 'rendition-240p', kind: 'rendition' as const, height: 240 };
const thumb01 = { id: 'thumb-01', kind: 'thumbnail' as const, atSec: 1, width: 160 };

describe('the corpus of upload shapes on the layer build', () => {
  beforeAll(() => {
    useMediaTools();
    workDir = mkdtempSync(join(tmpdir(), 'ffmpeg-corpus-'));
  });
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it.each([
    {
      shape: 'VP9/Opus in WebM',
      make: corpus.vp9Webm,
      facts: { videoCodec: 'vp9', audioCodec: 'opus', width: 320, height: 240, frameRate: 25 },
      rendered: { width: 320, height: 240 },
    },
    {
      shape: 'HEVC/AAC in Matroska',
      make: corpus.hevcMkv,
      facts: { videoCodec: 'hevc', audioCodec: 'aac', width: 320, height: 240, frameRate: 25 },
      rendered: { width: 320, height: 240 },
    },
    {
      shape: 'rotated MOV (display matrix 90°)',
      make: corpus.rotatedMov,
      // Stored 320x240 with a 90° display matrix: the probe reports the displayed (portrait)
      // size, which the plan sizes renditions by; ffmpeg applies the rotation when it decodes,
      // so the rendition is portrait too.
      facts: { videoCodec: 'h264', audioCodec: null, width: 240, height: 320, frameRate: 25 },
      rendered: { width: 180, height: 240 },
    },
    {
      shape: '60 fps',
      make: () => corpus.h264('320x240', 60),
      facts: { videoCodec: 'h264', width: 320, height: 240, frameRate: 60 },
      rendered: { width: 320, height: 240 },
    },
    {
      shape: 'odd frame size 333x201 (4:4:4)',
      make: () => corpus.h264('333x201', 25, 'yuv444p'),
      facts: { videoCodec: 'h264', width: 333, height: 201, frameRate: 25 },
      rendered: { width: 398, height: 240 },
    },
  ])(
    '$shape: probes, renders a 240p H.264 rendition and a thumbnail',
    async ({ make, facts, rendered }) => {
      // Prepare
      const file = await make();
      const out = mkdtempSync(join(workDir, 'out-'));

      // Act
      const probed = await probeFile(file);
      const context = {
        videoId: 'corpus',
        source: sourceFactory(),
        probe: probed,
        input: file,
        workDir: out,
        timeBudget: generous,
      };
      const [video] = await rendition.run(rendition240, context);
      const [thumb] = await thumbnail.run(thumb01, context);

      // Assess
      expect(probed).toMatchObject(facts);
      expect(probed.durationSec).toBeCloseTo(2, 0);
      const info = await ffprobe((video as { path: string }).path);
      expect(info.streams.find((s) => s.codec_type === 'video')).toMatchObject({
        codec_name: 'h264',
        ...rendered,
      });
      expect(statSync((thumb as { path: string }).path).size).toBeGreaterThan(0);
    }
  );

  it.each([
    { shape: 'WebM', make: corpus.vp9Webm },
    { shape: 'Matroska', make: corpus.hevcMkv },
  ])('rejects a truncated $shape as truncated (the -count_packets rule)', async ({ make }) => {
    // Prepare
    const file = await corpus.truncated(await make());

    // Act
    const result = probeFile(file);

    // Assess
    await expect(result).rejects.toThrow(InvalidVideoError);
    await expect(result).rejects.toThrow(/truncated or corrupt video \(.*File ended prematurely/);
  });
});
