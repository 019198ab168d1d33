import '../../helpers/env.js';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupMedia, makeClip, useMediaTools } from '../../../fixtures/media.js';
import { packageHls } from '../../../lambdas/branch-kinds/hls.js';
import { type Produced, rendition } from '../../../lambdas/branch-kinds/index.js';
import { probeFile } from '../../../lambdas/probe/logic.js';
import { HlsPackageSchema, mediaSegments } from '../../../lambdas/shared/hls-playlist.js';
import { runTool } from '../../../lambdas/shared/media.js';

/**
 * The unsegmented path's HLS packaging on real media: an 8 s, 25 fps clip
 * with audio, one rendition run as the main one and one as a secondary.
 */
describe('HLS packaging of an unsegmented rendition', () => {
  let workDir: string;
  let source: string;
  let main: Produced[];
  let secondary: Produced[];

  const runAs = async (role: 'secondary' | undefined) => {
    const probe = { ...(await probeFile(source)), requestedThumbnailTimes: [] };
    return rendition.run(
      { id: 'rendition-240p', kind: 'rendition', height: 240, ...(role && { role }) },
      {
        videoId: 'vid-hls',
        source: { bucket: 'b', key: 'k' },
        probe,
        input: source,
        workDir: await mkdtemp(join(workDir, 'run-')),
        timeBudget: () => 120_000,
      }
    );
  };
  const byKey = (produced: Produced[], key: string) => produced.find((p) => p.key === key);
  const text = async (p: Produced | undefined) =>
    p && 'path' in p ? readFile(p.path, 'utf8') : p && 'body' in p ? p.body.toString() : '';

  beforeAll(async () => {
    useMediaTools();
    workDir = await mkdtemp(join(tmpdir(), 'hls-packaging-'));
    source = await makeClip({ seconds: 8, width: 320, height: 240, audio: true });
    main = await runAs(undefined);
    secondary = await runAs('secondary');
  }, 240_000);

  afterAll(async () => {
    cleanupMedia();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('cuts 6 s media segments on the fixed 2 s keyframe grid, without B-frames', async () => {
    // Prepare
    const mp4 = byKey(main, 'outputs/vid-hls/renditions/240p.mp4');

    // Act
    const playlist = await text(byKey(main, 'outputs/vid-hls/hls/240p/index.m3u8'));
    const frames = await runTool(
      'ffprobe',
      [
        '-v',
        'error',
        '-select_streams',
        'v:0',
        '-show_entries',
        'frame=pict_type,key_frame',
        '-of',
        'json',
        mp4 && 'path' in mp4 ? mp4.path : '',
      ],
      { timeoutMs: 60_000 }
    );
    const rows = (
      JSON.parse(frames.stdout) as { frames: { key_frame: number; pict_type: string }[] }
    ).frames;

    // Assess: 200 frames, keyframes at 0, 50, 100, 150; never a B-frame
    expect(mediaSegments(playlist).map((s) => s.durationSec)).toEqual([6, 2]);
    expect(playlist).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(playlist).toContain('#EXT-X-ENDLIST');
    expect(rows).toHaveLength(200);
    expect(rows.flatMap((r, i) => (r.key_frame === 1 ? [i] : []))).toEqual([0, 50, 100, 150]);
    expect(rows.some((r) => r.pict_type === 'B')).toBe(false);
  });

  it('the main rendition packages the audio playlist too; a secondary one only its video', async () => {
    // Act
    const mainPkg = HlsPackageSchema.parse(
      JSON.parse(await text(byKey(main, 'outputs/vid-hls/_work/hls/rendition-240p.json')))
    );
    const secondaryPkg = HlsPackageSchema.parse(
      JSON.parse(await text(byKey(secondary, 'outputs/vid-hls/_work/hls/rendition-240p.json')))
    );

    // Assess
    expect(mainPkg.audio).toMatchObject({
      playlist: 'outputs/vid-hls/hls/audio/index.m3u8',
      codecs: 'mp4a.40.2',
    });
    expect(mainPkg.video).toMatchObject({
      playlist: 'outputs/vid-hls/hls/240p/index.m3u8',
      width: 320,
      height: 240,
      frameRate: 25,
    });
    expect(mainPkg.video?.codecs).toMatch(/^avc1\.64[0-9a-f]{4}$/);
    expect(mainPkg.video?.durationSec).toBe(8);
    expect(secondaryPkg.audio).toBeUndefined();
    expect(secondary.some((p) => p.key.includes('/hls/audio/'))).toBe(false);
  });

  it('uploads each playlist after the files it names', () => {
    // Act
    const keys = main.map((p) => p.key);
    const playlistAt = keys.indexOf('outputs/vid-hls/hls/240p/index.m3u8');

    // Assess
    expect(keys.indexOf('outputs/vid-hls/hls/240p/init.mp4')).toBeLessThan(playlistAt);
    expect(keys.indexOf('outputs/vid-hls/hls/240p/seg_00001.m4s')).toBeLessThan(playlistAt);
    expect(keys.indexOf('outputs/vid-hls/hls/audio/seg_00000.m4s')).toBeLessThan(
      keys.indexOf('outputs/vid-hls/hls/audio/index.m3u8')
    );
  });

  it('a track that fails is thrown only once the other has settled (the caller then removes the work directory)', async () => {
    // Prepare: a silent file, so the audio track's stream copy fails at once while the video's runs.
    const silent = await makeClip({ seconds: 8, width: 320, height: 240, audio: false });
    const dir = await mkdtemp(join(workDir, 'silent-'));

    // Act
    const outcome = await packageHls({
      videoId: 'vid-hls',
      branchId: 'rendition-240p',
      inputArgs: ['-i', silent],
      video: '240p',
      audio: 'audio',
      workDir: dir,
      targetSec: 6,
      timeBudget: () => 120_000,
    }).then(
      () => 'packaged',
      (err: Error) => err.name
    );
    // Read at once: what the caller would see before it removes its work directory.
    const videoPlaylistWritten = existsSync(join(dir, 'hls-video', 'index.m3u8'));

    // Assess
    expect(outcome).toBe('MediaToolError');
    expect(videoPlaylistWritten).toBe(true);
  });
});
