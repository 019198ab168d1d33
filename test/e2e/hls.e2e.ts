import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { artifactKey, type Manifest } from '../../contract/index.js';
import { cleanupMedia, makeClip, useMediaTools } from '../../fixtures/media.js';
import { mediaSegments } from '../../lambdas/shared/hls-playlist.js';
import { runTool } from '../../lambdas/shared/media.js';
import { describeE2E } from './guard.js';
import { useVariantStacks } from './variant-stacks.js';

/**
 * The HLS ladder end to end, on a variant of the e2e app with a lowered
 * segment threshold (stack props): a 12 s clip is segmented (2 s segments, the
 * audio item), a 5 s clip is not, and both get two renditions (180p, 360p).
 * The ladder is downloaded as a player would fetch it (multivariant → media
 * playlists → init sections and segments) and ffprobe reads the local copy:
 * the source's duration within one frame with every variant, every frame,
 * audio and video starting together; the progressive MP4s are frame-exact
 * with A/V durations within one AAC frame.
 */
const target = inject('e2eTarget');
const STACK = 'VideoPipelineHls';
const FPS = 25;
const SAMPLE_RATE = 44_100;
/** One AAC frame: 1024 samples. */
const AAC_FRAME_SEC = 1024 / SAMPLE_RATE;

interface StreamFacts {
  codec_type: string;
  height?: number;
  start_time?: string;
  duration?: string;
  nb_read_frames?: string;
}

const probe = async (
  file: string,
  entries: string,
  count = false
): Promise<{
  programs?: { streams: StreamFacts[] }[];
  streams: StreamFacts[];
  format: { duration: string };
}> => {
  const res = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      ...(count ? ['-count_frames'] : []),
      '-show_entries',
      entries,
      '-of',
      'json',
      file,
    ],
    { timeoutMs: 120_000 }
  );
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout);
};

describeE2E(target)('HLS ladder (variant stack, lowered segment threshold)', () => {
  let dir: string;
  beforeAll(() => {
    useMediaTools();
    dir = mkdtempSync(join(tmpdir(), 'e2e-hls-'));
  });
  const variants = useVariantStacks(target, {
    [STACK]: {
      segmentThreshold: Duration.seconds(8),
      segmentLength: Duration.seconds(2),
      renditionHeights: [180, 360],
    },
  });

  afterAll(() => {
    cleanupMedia();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const get = async (key: string): Promise<Buffer> => {
    const body = await variants.readOutput(STACK, key);
    if (!body) throw new Error(`${key} is missing from ${STACK}'s output bucket`);
    return body;
  };

  /** Fetches a playlist's tree as a player would; returns the local multivariant path. */
  const download = async (manifest: Manifest, into: string): Promise<string> => {
    const hls = manifest.hls!;
    const base = posix.dirname(hls.multivariantPlaylist);
    const save = async (key: string): Promise<Buffer> => {
      const body = await get(key);
      const local = join(into, posix.relative(base, key));
      mkdirSync(dirname(local), { recursive: true });
      writeFileSync(local, body);
      return body;
    };
    const top = (await save(hls.multivariantPlaylist)).toString('utf8');
    const media = [
      ...[...top.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]!),
      ...top.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')),
    ];
    for (const uri of media) {
      const key = posix.join(base, uri);
      const text = (await save(key)).toString('utf8');
      const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)?.[1];
      const parts = [...(init ? [init] : []), ...mediaSegments(text).map((s) => s.uri)];
      for (const part of parts) await save(posix.join(posix.dirname(key), part));
    }
    return join(into, posix.basename(hls.multivariantPlaylist));
  };

  const assessLadder = async (manifest: Manifest, seconds: number, name: string) => {
    const frames = seconds * FPS;
    // The ladder the manifest lists: both renditions, one audio playlist.
    expect(manifest.status).toBe('COMPLETE');
    expect(manifest.hls).not.toBeNull();
    const hls = manifest.hls!;
    expect(hls.multivariantPlaylist).toBe(artifactKey(manifest.videoId, 'hls/index.m3u8'));
    expect(hls.audioPlaylist).toBe(artifactKey(manifest.videoId, 'hls/audio/index.m3u8'));
    expect(hls.variants.map((v) => [v.branchId, v.resolution])).toEqual([
      ['rendition-180p', '320x180'],
      ['rendition-360p', '640x360'],
    ]);
    for (const v of hls.variants) {
      expect(v.codecs).toMatch(/^avc1\.64[0-9a-f]{4},mp4a\.40\.2$/);
      expect(v.bandwidth).toBeGreaterThan(0);
    }

    // The player's view: ffprobe on the downloaded multivariant playlist.
    const local = await download(manifest, join(dir, name));
    const top = await probe(
      local,
      'format=duration:program_stream=codec_type,height,start_time:stream=codec_type'
    );
    expect(Math.abs(Number(top.format.duration) - seconds)).toBeLessThanOrEqual(1 / FPS);
    const programs = top.programs ?? [];
    expect(programs).toHaveLength(2);
    expect(
      programs.map((p) => p.streams.find((s) => s.codec_type === 'video')?.height).sort()
    ).toEqual([180, 360]);
    for (const program of programs) {
      const video = program.streams.find((s) => s.codec_type === 'video');
      const audio = program.streams.find((s) => s.codec_type === 'audio');
      expect(audio, 'every variant plays with the audio group').toBeDefined();
      // Audio and video start together (no B-frame delay, no offset between the playlists).
      expect(Math.abs(Number(video!.start_time) - Number(audio!.start_time))).toBeLessThanOrEqual(
        AAC_FRAME_SEC
      );
    }

    // Every variant on its own: the source's duration within a frame and every frame.
    const durations: Record<string, number> = {};
    const localOf = (key: string) =>
      join(dir, name, posix.relative(posix.dirname(hls.multivariantPlaylist), key));
    for (const v of hls.variants) {
      const m = await probe(localOf(v.playlist), 'format=duration:stream=nb_read_frames', true);
      durations[v.branchId] = Number(m.format.duration);
      expect(Math.abs(Number(m.format.duration) - seconds)).toBeLessThanOrEqual(1 / FPS);
      expect(Number(m.streams[0]?.nb_read_frames)).toBe(frames);
    }
    // The audio playlist: the same duration plus the AAC encoder's priming (1024 samples,
    // which fMP4 segments without an edit list keep), within one AAC frame.
    const audio = await probe(localOf(hls.audioPlaylist!), 'format=duration');
    const audioSec = Number(audio.format.duration);
    expect(Math.abs(audioSec - AAC_FRAME_SEC - seconds)).toBeLessThanOrEqual(AAC_FRAME_SEC);
    return { durations, audioSec };
  };

  const assessMp4 = async (manifest: Manifest, height: number, frames: number) => {
    const file = join(dir, `${manifest.videoId}-${height}p.mp4`);
    writeFileSync(file, await get(artifactKey(manifest.videoId, `renditions/${height}p.mp4`)));
    const facts = await probe(file, 'stream=codec_type,duration,nb_read_frames', true);
    const video = facts.streams.find((s) => s.codec_type === 'video')!;
    const audio = facts.streams.find((s) => s.codec_type === 'audio')!;
    expect(Number(video.nb_read_frames)).toBe(frames);
    expect(Math.abs(Number(video.duration) - frames / FPS)).toBeLessThanOrEqual(1 / FPS);
    expect(Math.abs(Number(audio.duration) - Number(video.duration))).toBeLessThanOrEqual(
      AAC_FRAME_SEC
    );
    return { videoSec: Number(video.duration), audioSec: Number(audio.duration) };
  };

  it('a segmented 12 s source: its encoded segments are the media segments, one audio item, copy joins', async () => {
    // Prepare: 12 s at 25 fps with audio, above the 8 s threshold → 6 segments of 2 s per rendition
    const clip = await makeClip({ seconds: 12, width: 640, height: 360, audio: true });
    const videoId = await variants.upload(STACK, clip, 'uploads/e2e-hls/segmented.mp4');

    // Act
    const manifest = await variants.waitForManifest(STACK, videoId);

    // Assess
    expect(manifest.branches.find((b) => b.id === 'rendition-360p')?.segmentation).toEqual({
      count: 6,
      lengthSec: 2,
    });
    const ladder = await assessLadder(manifest, 12, 'segmented');
    // One media segment per encoded segment, 2 s each.
    for (const height of [180, 360]) {
      const text = (await get(artifactKey(videoId, `hls/${height}p/index.m3u8`))).toString();
      expect(mediaSegments(text).map((s) => s.durationSec)).toEqual([2, 2, 2, 2, 2, 2]);
    }
    const mp4s = [await assessMp4(manifest, 180, 300), await assessMp4(manifest, 360, 300)];
    console.log(`[hls] segmented 12 s: ${JSON.stringify({ ladder, mp4s, hls: manifest.hls })}`);
  }, 420_000);

  it('an unsegmented 5 s source: its renditions packaged by stream copy, the main one giving the audio', async () => {
    // Prepare: below the 8 s threshold → single-run renditions
    const clip = await makeClip({ seconds: 5, width: 640, height: 360, audio: true });
    const videoId = await variants.upload(STACK, clip, 'uploads/e2e-hls/short.mp4');

    // Act
    const manifest = await variants.waitForManifest(STACK, videoId);

    // Assess
    expect(manifest.branches.some((b) => b.segmentation)).toBe(false);
    const ladder = await assessLadder(manifest, 5, 'unsegmented');
    const mp4s = [await assessMp4(manifest, 180, 125), await assessMp4(manifest, 360, 125)];
    console.log(`[hls] unsegmented 5 s: ${JSON.stringify({ ladder, mp4s, hls: manifest.hls })}`);
  }, 420_000);
});
