import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import {
  artifactKey,
  type BranchResult,
  branchResultKey,
  FAIL_ONCE_METADATA,
  segmentRelativeKey,
} from '../../contract/index.js';
import { cleanupMedia, makeClip, measureMedia, useMediaTools } from '../../fixtures/media.js';
import { runTool } from '../../lambdas/shared/media.js';
import { describeE2E } from './guard.js';
import { useVariantStacks } from './variant-stacks.js';

/**
 * Segment-parallel renditions end to end, on a variant of the e2e app whose
 * segment threshold is lowered (stack props, not a test hook in the deployed
 * code): a 12 s clip is above an 8 s threshold, so its rendition is cut into
 * 2 s segments that the Segments Distributed Map encodes before the FanOut,
 * and the rendition branch joins them.
 */
const target = inject('e2eTarget');
/** The variant stack: the main stack's flags and nag packs, another name, a lowered threshold. */
const STACK = 'VideoPipelineSegments';

describeE2E(target)('segment-parallel rendition (variant stack, lowered segment threshold)', () => {
  let dir: string;
  // Registered before the variant's hooks: the tools are on PATH before it synthesizes.
  beforeAll(() => {
    useMediaTools();
    dir = mkdtempSync(join(tmpdir(), 'e2e-segments-'));
  });
  const variants = useVariantStacks(target, {
    [STACK]: { segmentThreshold: Duration.seconds(8), segmentLength: Duration.seconds(2) },
  });

  afterAll(() => {
    cleanupMedia();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** An output that must exist (the manifest names it). */
  const get = async (key: string): Promise<Buffer> => {
    const body = await variants.readOutput(STACK, key);
    if (!body) throw new Error(`${key} is missing from ${STACK}'s output bucket`);
    return body;
  };

  it('a 12 s clip above the threshold ends COMPLETE with a frame-exact, playable joined rendition', async () => {
    // Prepare: 12 s at 25 fps with audio = 300 frames; 2 s segments on the 50-frame GOP grid → 6
    const clip = await makeClip({ seconds: 12, width: 640, height: 360, audio: true });
    const videoId = await variants.upload(STACK, clip, 'uploads/e2e-segments/long.mp4');

    // Act
    const manifest = await variants.waitForManifest(STACK, videoId);

    // Assess: one rendition branch in the fan-in, COMPLETE
    expect(manifest.status).toBe('COMPLETE');
    const rendition = manifest.branches.find((b) => b.id === 'rendition-360p');
    expect(rendition).toMatchObject({
      kind: 'rendition',
      status: 'SUCCEEDED',
      role: 'primary',
      segmentation: { count: 6, lengthSec: 2 },
    });
    expect(manifest.branches.some((b) => b.kind === 'rendition-segment')).toBe(false);
    // Every segment ran in the Segments Distributed Map and recorded its success.
    const segmentRecords = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(
        async (i) =>
          JSON.parse(
            (await get(branchResultKey(videoId, `rendition-360p-s000${i}`))).toString()
          ) as BranchResult
      )
    );
    expect(segmentRecords.map((r) => r.status)).toEqual(Array(6).fill('SUCCEEDED'));
    // The cost prices every item of the map from its record: the 6 segments and the audio.
    const items = manifest.costBreakdown.lambda.find((l) => l.function === 'rendition-segment');
    expect(items?.unmeasured).toBe(0);
    expect(items?.invocations).toBeGreaterThan(6);
    const segmentMs = segmentRecords.reduce((sum, r) => sum + Math.ceil(r.durationMs ?? 0), 0);
    expect(items?.billedMs).toBeGreaterThan(segmentMs);
    // The join: playable, the source's 300 frames, 12 s within a frame, A/V drift ≤ 1 frame.
    const file = join(dir, 'joined.mp4');
    writeFileSync(file, await get(artifactKey(videoId, 'renditions/360p.mp4')));
    const facts = await measureMedia(file);
    expect(facts.frames).toBe(300);
    expect(Math.abs(facts.videoSec - 12)).toBeLessThanOrEqual(1 / 25);
    expect(facts.audioSec).not.toBeNull();
    expect(Math.abs(facts.audioSec! - facts.videoSec)).toBeLessThanOrEqual(1 / 25);
    const decode = await runTool('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], {
      timeoutMs: 60_000,
    });
    expect(decode.code).toBe(0);
    expect(decode.stderr.trim()).toBe('');
  }, 300_000);

  it('a segmented rendition whose join fails falls back segment by segment: a frame-exact half-height fallback, COMPLETE', async () => {
    // Prepare: the join of rendition-360p fails on its first run (the test-fail-once hook,
    // which the early join leaves to the Joins map), so its fallback runs there.
    const clip = await makeClip({ seconds: 12, width: 640, height: 360, audio: true });
    const videoId = await variants.upload(STACK, clip, 'uploads/e2e-segments/fallback.mp4', {
      [FAIL_ONCE_METADATA]: 'rendition-360p',
    });

    // Act
    const manifest = await variants.waitForManifest(STACK, videoId);

    // Assess: the primary's chain delivered through its fallback.
    expect(manifest.status).toBe('COMPLETE');
    const byId = Object.fromEntries(manifest.branches.map((b) => [b.id, b]));
    expect(byId['rendition-360p']).toMatchObject({ status: 'FAILED' });
    expect(byId['rendition-360p']?.error?.name).toBe('InjectedFailure');
    expect(byId['rendition-360p-fallback']).toMatchObject({
      kind: 'rendition-fallback',
      status: 'SUCCEEDED',
      fallbackFor: 'rendition-360p',
    });
    // Segmented: the fallback stored its own six segments on the origin's grid, under its _work/.
    const fallbackSegments = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) =>
        variants.readOutput(
          STACK,
          artifactKey(videoId, segmentRelativeKey('rendition-360p-fallback', i))
        )
      )
    );
    expect(fallbackSegments.map((b) => (b?.length ?? 0) > 0)).toEqual(Array(6).fill(true));
    const fallbackKeys = byId['rendition-360p-fallback']?.artifacts.map((a) => a.key) ?? [];
    expect(fallbackKeys).toContain(`outputs/${videoId}/hls/fallback/180p/index.m3u8`);
    // Half the height, the source's 300 frames, 12 s within a frame, A/V within a frame.
    const file = join(dir, 'fallback.mp4');
    writeFileSync(file, await get(artifactKey(videoId, 'renditions/fallback/180p.mp4')));
    const facts = await measureMedia(file);
    expect(facts.height).toBe(180);
    expect(facts.frames).toBe(300);
    expect(Math.abs(facts.videoSec - 12)).toBeLessThanOrEqual(1 / 25);
    expect(facts.audioSec).not.toBeNull();
    expect(Math.abs(facts.audioSec! - facts.videoSec)).toBeLessThanOrEqual(1 / 25);
  }, 300_000);
});
