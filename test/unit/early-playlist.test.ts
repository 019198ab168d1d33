import { describe, expect, it } from 'vitest';
import { branchResultKey } from '../../contract/index.js';
import { hlsPackageKey, multivariantKey } from '../../lambdas/branch-kinds/hls.js';
import {
  claimPlayable,
  deliveredLadder,
  type EarlyPlaylistIo,
  playableMarkerKey,
  recordPublished,
  writeEarlyPlaylist,
} from '../../lambdas/run-branch/early-playlist.js';
import type { HlsMediaInfo, HlsPackage } from '../../lambdas/shared/hls-playlist.js';

const VIDEO_ID = 'clip-0123456789abcdef';
const base = `outputs/${VIDEO_ID}/hls/`;

/** An S3 bucket in memory with S3's conditional-write semantics (412 as `conflict`/`exists`). */
class Bucket implements EarlyPlaylistIo {
  readonly objects = new Map<
    string,
    { body: string; etag: string; metadata: Record<string, string> }
  >();
  private version = 0;
  /** Runs once, right before the next conditional write: a concurrent writer's PUT. */
  beforeNextWrite?: () => void;

  put(key: string, body: string, metadata: Record<string, string> = {}) {
    this.version += 1;
    this.objects.set(key, { body, etag: `"v${this.version}"`, metadata });
  }
  putJson(key: string, value: unknown) {
    this.put(key, JSON.stringify(value));
  }
  listKeys = async (prefix: string) => [...this.objects.keys()].filter((k) => k.startsWith(prefix));
  readJson = async (key: string) => {
    const o = this.objects.get(key);
    return o ? JSON.parse(o.body) : undefined;
  };
  readText = async (key: string) => this.objects.get(key);
  writeTextIfUnchanged: EarlyPlaylistIo['writeTextIfUnchanged'] = async (
    key,
    body,
    _contentType,
    read,
    metadata
  ) => {
    const race = this.beforeNextWrite;
    this.beforeNextWrite = undefined;
    race?.();
    const now = this.objects.get(key);
    if (read ? now?.etag !== read.etag : now !== undefined) return 'conflict';
    this.put(key, body, metadata);
    return 'written';
  };
  writeJson = async (key: string, body: unknown) => {
    this.putJson(key, body);
  };
  createJson = async (key: string, body: unknown) => {
    if (this.objects.has(key)) return 'exists' as const;
    this.putJson(key, body);
    return 'written' as const;
  };
}

const video = (height: number): HlsMediaInfo => ({
  playlist: `${base}${height}p/index.m3u8`,
  peakBitRate: height * 1000,
  averageBitRate: height * 800,
  codecs: 'avc1.64001e',
  durationSec: 12,
  width: (height * 16) / 9,
  height,
  frameRate: 25,
});
const AUDIO: HlsMediaInfo = {
  playlist: `${base}audio/index.m3u8`,
  peakBitRate: 130_000,
  averageBitRate: 128_000,
  codecs: 'mp4a.40.2',
  durationSec: 12.023,
  channels: 2,
};

/** A branch as runBranch leaves it: its HLS package, then its record. */
const deliver = (
  bucket: Bucket,
  id: string,
  kind: string,
  pkg: HlsPackage,
  status = 'SUCCEEDED'
) => {
  bucket.putJson(hlsPackageKey(VIDEO_ID, id), pkg);
  bucket.putJson(branchResultKey(VIDEO_ID, id), { id, kind, status });
};

const variantsOf = (text: string | undefined) =>
  (text ?? '').split('\n').filter((l) => l !== '' && !l.startsWith('#'));

describe('deliveredLadder', () => {
  it('lists SUCCEEDED variants lowest first, with the audio item, and leaves out the rest', async () => {
    // Prepare: 720p delivered before 360p; a failed 1080p; a package whose record is not written yet.
    const bucket = new Bucket();
    deliver(bucket, 'audio', 'rendition-segment', { audio: AUDIO });
    deliver(bucket, 'rendition-720p', 'rendition', { video: video(720) });
    deliver(bucket, 'rendition-360p', 'rendition', { video: video(360) });
    deliver(bucket, 'rendition-1080p', 'rendition', { video: video(1080) }, 'FAILED');
    bucket.putJson(hlsPackageKey(VIDEO_ID, 'rendition-540p'), { video: video(540) });
    // Act
    const ladder = await deliveredLadder(VIDEO_ID, true, bucket);
    // Assess
    expect(ladder?.variants.map((v) => v.height)).toEqual([360, 720]);
    expect(ladder?.audio).toEqual(AUDIO);
  });

  it('is null for a source with sound until an audio playlist is delivered', async () => {
    // Prepare: the lowest rung of an unsegmented source (the main one packages the audio).
    const bucket = new Bucket();
    deliver(bucket, 'rendition-360p', 'rendition', { video: video(360) });
    // Act / Assess
    expect(await deliveredLadder(VIDEO_ID, true, bucket)).toBeNull();
    expect((await deliveredLadder(VIDEO_ID, false, bucket))?.variants).toHaveLength(1);
    deliver(bucket, 'rendition-720p', 'rendition', { video: video(720), audio: AUDIO });
    expect((await deliveredLadder(VIDEO_ID, true, bucket))?.variants).toHaveLength(2);
  });
});

describe('writeEarlyPlaylist', () => {
  it('writes the first delivered rendition, then grows with the next one', async () => {
    // Prepare
    const bucket = new Bucket();
    deliver(bucket, 'audio', 'rendition-segment', { audio: AUDIO });
    deliver(bucket, 'rendition-360p', 'rendition', { video: video(360) });
    // Act
    const first = await writeEarlyPlaylist(VIDEO_ID, true, bucket);
    const firstText = bucket.objects.get(multivariantKey(VIDEO_ID));
    deliver(bucket, 'rendition-720p', 'rendition', { video: video(720) });
    const second = await writeEarlyPlaylist(VIDEO_ID, true, bucket);
    const secondText = bucket.objects.get(multivariantKey(VIDEO_ID));
    // Assess
    expect(first).toEqual({ outcome: 'current', text: firstText?.body });
    expect(variantsOf(firstText?.body)).toEqual(['360p/index.m3u8']);
    expect(firstText?.body).toContain('URI="audio/index.m3u8"');
    expect(firstText?.metadata).toEqual({ ladder: 'early' });
    expect(second).toEqual({ outcome: 'current', text: secondText?.body });
    expect(variantsOf(secondText?.body)).toEqual(['360p/index.m3u8', '720p/index.m3u8']);
  });

  it('never replaces the final playlist the aggregator wrote', async () => {
    // Prepare: a late rendition (its branch timed out) after the aggregator's playlist.
    const bucket = new Bucket();
    deliver(bucket, 'rendition-360p', 'rendition', { video: video(360) });
    deliver(bucket, 'rendition-720p', 'rendition', { video: video(720) });
    bucket.put(multivariantKey(VIDEO_ID), '#EXTM3U\nfinal-only.m3u8\n', { ladder: 'final' });
    // Act
    const outcome = await writeEarlyPlaylist(VIDEO_ID, false, bucket);
    // Assess
    expect(outcome).toEqual({ outcome: 'final', text: '#EXTM3U\nfinal-only.m3u8\n' });
    expect(bucket.objects.get(multivariantKey(VIDEO_ID))?.body).toBe('#EXTM3U\nfinal-only.m3u8\n');
  });

  it('a writer that loses the race reads again and keeps the other writer’s variant', async () => {
    // Prepare: 360p and 720p delivered; the 720p writer read no playlist, then the 360p
    // writer's PUT lands (listing only 360p) before the 720p writer's conditional PUT.
    const bucket = new Bucket();
    deliver(bucket, 'rendition-720p', 'rendition', { video: video(720) });
    bucket.beforeNextWrite = () => {
      deliver(bucket, 'rendition-360p', 'rendition', { video: video(360) });
      bucket.put(multivariantKey(VIDEO_ID), '#EXTM3U\n360p/index.m3u8\n', { ladder: 'early' });
    };
    // Act
    const outcome = await writeEarlyPlaylist(VIDEO_ID, false, bucket);
    // Assess: the 720p write was refused once (If-None-Match), then written over the 360p one.
    expect(outcome.outcome).toBe('current');
    expect(variantsOf(bucket.objects.get(multivariantKey(VIDEO_ID))?.body)).toEqual([
      '360p/index.m3u8',
      '720p/index.m3u8',
    ]);
  });

  it('a writer that loses to the aggregator leaves the final playlist', async () => {
    // Prepare
    const bucket = new Bucket();
    deliver(bucket, 'rendition-360p', 'rendition', { video: video(360) });
    bucket.beforeNextWrite = () =>
      bucket.put(multivariantKey(VIDEO_ID), '#EXTM3U\nfinal.m3u8\n', { ladder: 'final' });
    // Act
    const outcome = await writeEarlyPlaylist(VIDEO_ID, false, bucket);
    // Assess
    expect(outcome.outcome).toBe('final');
    expect(bucket.objects.get(multivariantKey(VIDEO_ID))?.body).toBe('#EXTM3U\nfinal.m3u8\n');
  });

  it('writes nothing while the video is not playable', async () => {
    // Prepare: a video with sound and no audio playlist yet.
    const bucket = new Bucket();
    deliver(bucket, 'rendition-360p', 'rendition', { video: video(360) });
    // Act
    const outcome = await writeEarlyPlaylist(VIDEO_ID, true, bucket);
    // Assess
    expect(outcome).toEqual({ outcome: 'not-playable' });
    expect(bucket.objects.has(multivariantKey(VIDEO_ID))).toBe(false);
  });
});

describe('claimPlayable', () => {
  it('the first branch claims; it may publish again until its publish is recorded; no other branch can', async () => {
    // Prepare
    const bucket = new Bucket();
    const claim = { branchId: 'rendition-360p', playlist: 'a' };
    // Act
    const first = await claimPlayable(VIDEO_ID, claim, bucket);
    const retry = await claimPlayable(VIDEO_ID, { ...claim, playlist: 'b' }, bucket);
    const other = await claimPlayable(
      VIDEO_ID,
      { branchId: 'rendition-720p', playlist: 'c' },
      bucket
    );
    await recordPublished(VIDEO_ID, claim, '2026-12-07T09:00:00.000Z', bucket);
    const again = await claimPlayable(VIDEO_ID, claim, bucket);
    // Assess: the marker keeps the first claim, with the playlist it was made on.
    expect([first, retry, other, again]).toEqual(['publish', 'publish', 'other', 'done']);
    expect(await bucket.readJson(playableMarkerKey(VIDEO_ID))).toEqual({
      branchId: 'rendition-360p',
      playlist: 'a',
      publishedAt: '2026-12-07T09:00:00.000Z',
    });
  });
});
