import { describe, expect, it } from 'vitest';
import type { ManifestBranch } from '../../contract/index.js';
import { publishHls } from '../../lambdas/aggregate/hls.js';
import {
  aacCodecString,
  avcCodecString,
  type HlsMediaInfo,
  mediaSegments,
  multivariantPlaylist,
  segmentBitRates,
  UnsupportedCodecError,
} from '../../lambdas/shared/hls-playlist.js';

const video360: HlsMediaInfo = {
  playlist: 'outputs/v/hls/360p/index.m3u8',
  peakBitRate: 400_000,
  averageBitRate: 300_000,
  codecs: 'avc1.64001e',
  durationSec: 12,
  width: 640,
  height: 360,
  frameRate: 25,
};
const video180: HlsMediaInfo = {
  ...video360,
  playlist: 'outputs/v/hls/180p/index.m3u8',
  peakBitRate: 150_000,
  averageBitRate: 100_000,
  codecs: 'avc1.64000d',
  width: 320,
  height: 180,
};
const audio: HlsMediaInfo = {
  playlist: 'outputs/v/hls/audio/index.m3u8',
  peakBitRate: 130_000,
  averageBitRate: 128_000,
  codecs: 'mp4a.40.2',
  durationSec: 12,
  channels: 2,
};

describe('codec strings (RFC 6381, from ffprobe profile and level)', () => {
  it.each([
    ['High', 31, 'avc1.64001f'],
    ['High', 30, 'avc1.64001e'],
    ['Main', 40, 'avc1.4d4028'],
    ['Constrained Baseline', 30, 'avc1.42c01e'],
  ])('H.264 %s level %d is %s', (profile, level, expected) => {
    // Act
    const codec = avcCodecString(profile, level);

    // Assess
    expect(codec).toBe(expected);
  });

  it('AAC LC is mp4a.40.2 and HE-AAC mp4a.40.5', () => {
    // Act / Assess
    expect(aacCodecString('LC')).toBe('mp4a.40.2');
    expect(aacCodecString('HE-AAC')).toBe('mp4a.40.5');
  });

  it('refuses a profile it has no string for, naming it', () => {
    // Act
    const error = (() => {
      try {
        return avcCodecString('Mystery', 30);
      } catch (e) {
        return e;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(UnsupportedCodecError);
    expect((error as Error).message).toMatch(/"Mystery"/);
  });
});

describe('media playlist segments and bit rates', () => {
  it('reads the EXTINF durations and URIs in order', () => {
    // Prepare
    const text = [
      '#EXTM3U',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXTINF:4.000000,',
      'seg_00000.m4s',
      '#EXTINF:3.000000,',
      'seg_00001.m4s',
      '#EXT-X-ENDLIST',
    ].join('\n');

    // Act
    const segments = mediaSegments(text);

    // Assess
    expect(segments).toEqual([
      { uri: 'seg_00000.m4s', durationSec: 4 },
      { uri: 'seg_00001.m4s', durationSec: 3 },
    ]);
  });

  it('takes the peak over segments (init counted with the first) and the average over the whole', () => {
    // Prepare: 4 s of 100,000 B (+ 1,000 B init) and 2 s of 80,000 B
    const segments = [
      { durationSec: 4, bytes: 100_000 },
      { durationSec: 2, bytes: 80_000 },
    ];

    // Act
    const rates = segmentBitRates(segments, 1_000);

    // Assess: 202,000 and 320,000 bit/s; (181,000 × 8) / 6 s = 241,333.3…
    expect(rates).toEqual({ peakBitRate: 320_000, averageBitRate: 241_334, durationSec: 6 });
  });
});

describe('multivariantPlaylist', () => {
  it('writes an audio group and one variant per rendition, bandwidth and codecs including the audio', () => {
    // Act
    const text = multivariantPlaylist({
      variants: [
        { uri: '180p/index.m3u8', info: video180 },
        { uri: '360p/index.m3u8', info: video360 },
      ],
      audio: { uri: 'audio/index.m3u8', info: audio },
    });

    // Assess
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:7',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"',
        '#EXT-X-STREAM-INF:BANDWIDTH=280000,AVERAGE-BANDWIDTH=228000,CODECS="avc1.64000d,mp4a.40.2",RESOLUTION=320x180,FRAME-RATE=25.000,AUDIO="audio"',
        '180p/index.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=530000,AVERAGE-BANDWIDTH=428000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=25.000,AUDIO="audio"',
        '360p/index.m3u8',
        '',
      ].join('\n')
    );
  });

  it('writes no audio group for a silent source', () => {
    // Act
    const text = multivariantPlaylist({ variants: [{ uri: '360p/index.m3u8', info: video360 }] });

    // Assess
    expect(text).not.toContain('EXT-X-MEDIA');
    expect(text).toContain(
      '#EXT-X-STREAM-INF:BANDWIDTH=400000,AVERAGE-BANDWIDTH=300000,CODECS="avc1.64001e",RESOLUTION=640x360,FRAME-RATE=25.000\n360p/index.m3u8\n'
    );
  });

  it('refuses an empty ladder and a URI it cannot quote', () => {
    // Act / Assess
    expect(() => multivariantPlaylist({ variants: [] })).toThrow(/at least one variant/);
    expect(() =>
      multivariantPlaylist({
        variants: [{ uri: 'a/index.m3u8', info: video360 }],
        audio: { uri: 'a"b.m3u8', info: audio },
      })
    ).toThrow(/cannot quote/);
  });
});

describe('publishHls (the aggregator’s multivariant playlist)', () => {
  const entry = (id: string, overrides: Partial<ManifestBranch> = {}): ManifestBranch => ({
    id,
    kind: 'rendition',
    status: 'SUCCEEDED',
    // What a rendition publishes: its playlists, never its internal package record.
    artifacts: [
      {
        key: `outputs/v/hls/${id.replace('rendition-', '')}/index.m3u8`,
        contentType: 'application/vnd.apple.mpegurl',
        bytes: 100,
      },
    ],
    error: null,
    durationMs: 100,
    finishedAt: '2026-12-07T00:00:00.000Z',
    role: 'primary',
    fallbackFor: null,
    ...overrides,
  });

  const store = (objects: Record<string, unknown>) => {
    const written = new Map<string, { body: string; contentType: string }>();
    return {
      written,
      io: {
        readJson: async (key: string) => objects[key],
        writeText: async (key: string, body: string, contentType: string) => {
          written.set(key, { body, contentType });
        },
      },
    };
  };

  it("lists the delivered renditions with the audio item's playlist, not a failed or timed-out one", async () => {
    // Prepare: a segmented ladder whose 720p timed out (its late package must not be listed)
    const segmentation = { count: 6, lengthSec: 2 };
    const { io, written } = store({
      'outputs/v/_work/hls/rendition-180p.json': { video: video180 },
      'outputs/v/_work/hls/rendition-360p.json': { video: video360 },
      'outputs/v/_work/hls/rendition-720p.json': { video: { ...video360, height: 720 } },
      'outputs/v/_work/branches/audio.json': { status: 'SUCCEEDED' },
      'outputs/v/_work/hls/audio.json': { audio },
    });
    const branches = [
      entry('rendition-180p', { segmentation }),
      entry('rendition-360p', { segmentation }),
      entry('rendition-720p', { segmentation, status: 'TIMED_OUT' }),
    ];

    // Act
    const { hls } = await publishHls('v', branches, true, io);

    // Assess
    expect(hls).toEqual({
      multivariantPlaylist: 'outputs/v/hls/index.m3u8',
      audioPlaylist: 'outputs/v/hls/audio/index.m3u8',
      variants: [
        {
          branchId: 'rendition-180p',
          playlist: 'outputs/v/hls/180p/index.m3u8',
          bandwidth: 280_000,
          resolution: '320x180',
          codecs: 'avc1.64000d,mp4a.40.2',
        },
        {
          branchId: 'rendition-360p',
          playlist: 'outputs/v/hls/360p/index.m3u8',
          bandwidth: 530_000,
          resolution: '640x360',
          codecs: 'avc1.64001e,mp4a.40.2',
        },
      ],
    });
    const playlist = written.get('outputs/v/hls/index.m3u8');
    expect(playlist?.contentType).toBe('application/vnd.apple.mpegurl');
    expect(playlist?.body).toContain('URI="audio/index.m3u8"');
    expect(playlist?.body).not.toContain('720');
  });

  it('writes nothing when the source has sound and no audio playlist was delivered', async () => {
    // Prepare: the audio item failed; the rendition has no audio of its own (segmented)
    const { io, written } = store({
      'outputs/v/_work/hls/rendition-360p.json': { video: video360 },
      'outputs/v/_work/branches/audio.json': { status: 'FAILED' },
    });

    // Act
    const { hls } = await publishHls(
      'v',
      [entry('rendition-360p', { segmentation: { count: 6, lengthSec: 2 } })],
      true,
      io
    );

    // Assess
    expect(hls).toBeNull();
    expect(written.size).toBe(0);
  });
});
