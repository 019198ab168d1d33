import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { artifactKey } from '../../contract/index.js';
import {
  cleanupMedia,
  makeRotatedClip,
  makeVariableRateClip,
  useMediaTools,
} from '../../fixtures/media.js';
import { runTool } from '../../lambdas/shared/media.js';
import { describeE2E } from './guard.js';
import { useVariantStacks } from './variant-stacks.js';

/**
 * Sources real uploads bring, end to end (docs/ffmpeg.md, "Unusual sources"),
 * on a variant of the e2e app with a lowered segment threshold (stack props):
 * a variable-frame-rate clip is segmented and joined at a constant rate, and a
 * phone-style rotated clip comes out upright with the displayed size probed.
 */
const target = inject('e2eTarget');
const STACK = 'VideoPipelineAwkward';

interface Facts {
  codec_type: string;
  width?: number;
  height?: number;
  duration?: string;
  nb_read_frames?: string;
  avg_frame_rate?: string;
}

const streamsOf = async (file: string): Promise<Facts[]> => {
  const res = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-count_frames',
      '-show_entries',
      'stream=codec_type,width,height,duration,nb_read_frames,avg_frame_rate',
      '-of',
      'json',
      file,
    ],
    { timeoutMs: 60_000 }
  );
  expect(res.code, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as { streams: Facts[] }).streams;
};

describeE2E(target)('unusual sources (variant stack, lowered segment threshold)', () => {
  let dir: string;
  // Registered before the variant's hooks: the tools are on PATH before it synthesizes.
  beforeAll(() => {
    useMediaTools();
    dir = mkdtempSync(join(tmpdir(), 'e2e-awkward-'));
  });
  const variants = useVariantStacks(target, {
    [STACK]: {
      segmentThreshold: Duration.seconds(8),
      segmentLength: Duration.seconds(4),
      renditionHeights: [240],
    },
  });

  afterAll(() => {
    cleanupMedia();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** An output that must exist (the manifest names it), written to a local file for ffprobe. */
  const download = async (key: string, name: string): Promise<string> => {
    const body = await variants.readOutput(STACK, key);
    if (!body) throw new Error(`${key} is missing from ${STACK}'s output bucket`);
    const file = join(dir, name);
    writeFileSync(file, body);
    return file;
  };

  it('a variable-frame-rate source is segmented at a constant 25 fps and joined frame-exact, and the manifest says so', async () => {
    // Prepare: 6 s at 30 fps then 6 s at 20 fps: 300 frames, 25 fps on average
    const clip = await makeVariableRateClip({ seconds: 12 });
    const videoId = await variants.upload(STACK, clip, 'uploads/e2e-awkward/vfr.mp4');

    // Act
    const manifest = await variants.waitForManifest(STACK, videoId);

    // Assess
    expect(manifest.status).toBe('COMPLETE');
    expect(manifest.probe).toMatchObject({ frameRate: 25 });
    expect(manifest.probe?.variableFrameRate).toBeGreaterThan(24.5);
    expect(manifest.warnings).toEqual([
      expect.stringMatching(/variable frame rate .* converted to a constant 25 fps$/),
    ]);
    expect(manifest.branches.find((b) => b.id === 'rendition-240p')).toMatchObject({
      status: 'SUCCEEDED',
      segmentation: { count: 3, lengthSec: 4 },
    });
    const joined = await streamsOf(
      await download(artifactKey(videoId, 'renditions/240p.mp4'), 'vfr-240p.mp4')
    );
    const video = joined.find((s) => s.codec_type === 'video')!;
    const audio = joined.find((s) => s.codec_type === 'audio');
    expect(video.avg_frame_rate).toBe('25/1');
    expect(Number(video.nb_read_frames)).toBe(300);
    expect(Math.abs(Number(video.duration) - 12)).toBeLessThanOrEqual(1 / 25);
    expect(audio).toBeDefined();
    expect(Math.abs(Number(audio!.duration) - Number(video.duration))).toBeLessThanOrEqual(1 / 25);
  }, 300_000);

  it('a rotated source is probed at its displayed size and its outputs are upright', async () => {
    // Prepare: coded 640×360 landscape plus a quarter turn: displayed 360×640
    const clip = await makeRotatedClip({ rotation: 90, width: 640, height: 360, seconds: 3 });
    const videoId = await variants.upload(STACK, clip, 'uploads/e2e-awkward/rotated.mp4');

    // Act
    const manifest = await variants.waitForManifest(STACK, videoId);

    // Assess
    expect(manifest.status).toBe('COMPLETE');
    expect(manifest.probe).toMatchObject({ width: 360, height: 640, rotation: 90 });
    const rendition = await streamsOf(
      await download(artifactKey(videoId, 'renditions/240p.mp4'), 'rotated-240p.mp4')
    );
    const video = rendition.find((s) => s.codec_type === 'video')!;
    // 360×640 scaled to 240 high: 135 wide, rounded to an even 136
    expect([video.width, video.height]).toEqual([136, 240]);
    const thumbnails = manifest.branches.filter((b) => b.kind === 'thumbnail');
    expect(thumbnails.length).toBeGreaterThan(0);
    const key = thumbnails[0]!.artifacts[0]!.key;
    const [image] = await streamsOf(await download(key, 'rotated-thumb.jpg'));
    expect(image!.height!).toBeGreaterThan(image!.width!);
  }, 300_000);
});
