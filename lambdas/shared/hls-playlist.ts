import * as z from 'zod/mini';

/**
 * HLS text, pure: the codec strings, the media playlists' segment lines, the
 * bit rates a multivariant playlist declares, and the multivariant playlist
 * itself. ffmpeg's hls muxer writes the media playlists (it packages the
 * fMP4 segments); the multivariant playlist is written here from what each
 * branch measured on its own output.
 *
 * RFC 8216 (HTTP Live Streaming): https://datatracker.ietf.org/doc/html/rfc8216
 * Apple HLS authoring specification:
 * https://developer.apple.com/documentation/http-live-streaming/hls-authoring-specification-for-apple-devices
 */

/** What one branch measured on one media playlist it packaged (stored as JSON under `_work/hls/`). */
export const HlsMediaInfoSchema = z.object({
  /** The media playlist's S3 key. */
  playlist: z.string().check(z.minLength(1)),
  /** Peak segment bit rate, bits/s (RFC 8216 §4.3.4.2 BANDWIDTH). */
  peakBitRate: z.int().check(z.nonnegative()),
  /** Sum of segment sizes over the duration, bits/s (AVERAGE-BANDWIDTH). */
  averageBitRate: z.int().check(z.nonnegative()),
  /** RFC 6381 codec string of this track, e.g. `avc1.64001e` or `mp4a.40.2`. */
  codecs: z.string().check(z.minLength(1)),
  durationSec: z.number().check(z.nonnegative()),
  width: z.optional(z.int().check(z.positive())),
  height: z.optional(z.int().check(z.positive())),
  frameRate: z.optional(z.number().check(z.positive())),
  channels: z.optional(z.int().check(z.positive())),
});
export type HlsMediaInfo = z.infer<typeof HlsMediaInfoSchema>;

/** One branch's packaged playlists: its video variant, its audio, or both. */
export const HlsPackageSchema = z.object({
  video: z.optional(HlsMediaInfoSchema),
  audio: z.optional(HlsMediaInfoSchema),
});
export type HlsPackage = z.infer<typeof HlsPackageSchema>;

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/**
 * ffprobe's H.264 profile names → profile_idc and the constraint_set flags
 * byte the codec string carries (RFC 6381 §3.3: `avc1.PPCCLL`, hex). x264 and
 * ffprobe agree on these names; the flags are those the encoders set for the
 * profile (Constrained Baseline: constraint_set0 and 1).
 */
const AVC_PROFILES: Readonly<Record<string, { idc: number; flags: number }>> = {
  'Constrained Baseline': { idc: 66, flags: 0xc0 },
  Baseline: { idc: 66, flags: 0x00 },
  Main: { idc: 77, flags: 0x40 },
  Extended: { idc: 88, flags: 0x00 },
  High: { idc: 100, flags: 0x00 },
  'High 10': { idc: 110, flags: 0x00 },
  'High 4:2:2': { idc: 122, flags: 0x00 },
  'High 4:4:4 Predictive': { idc: 244, flags: 0x00 },
};

export class UnsupportedCodecError extends Error {
  override name = 'UnsupportedCodecError';
}

/** `avc1.64001e` from ffprobe's `profile` ("High") and `level` (30 → 3.0). */
export const avcCodecString = (profile: string, level: number): string => {
  const p = AVC_PROFILES[profile];
  if (!p) throw new UnsupportedCodecError(`no HLS codec string for H.264 profile "${profile}"`);
  if (!Number.isInteger(level) || level <= 0 || level > 255) {
    throw new UnsupportedCodecError(`no HLS codec string for H.264 level ${level}`);
  }
  return `avc1.${hex2(p.idc)}${hex2(p.flags)}${hex2(level)}`;
};

/** MPEG-4 audio object types by ffprobe's AAC profile name (RFC 6381 §3.3: `mp4a.40.<AOT>`). */
const AAC_OBJECT_TYPES: Readonly<Record<string, number>> = { LC: 2, 'HE-AAC': 5, 'HE-AACv2': 29 };

/** `mp4a.40.2` from ffprobe's AAC `profile` ("LC"). */
export const aacCodecString = (profile: string): string => {
  const aot = AAC_OBJECT_TYPES[profile];
  if (aot === undefined)
    throw new UnsupportedCodecError(`no HLS codec string for AAC profile "${profile}"`);
  return `mp4a.40.${aot}`;
};

/** The media segments of a media playlist, in order (`#EXTINF:<duration>,` then the URI line). */
export const mediaSegments = (playlist: string): { uri: string; durationSec: number }[] => {
  const out: { uri: string; durationSec: number }[] = [];
  let duration: number | undefined;
  for (const raw of playlist.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice('#EXTINF:'.length));
    else if (line !== '' && !line.startsWith('#') && duration !== undefined) {
      out.push({ uri: line, durationSec: duration });
      duration = undefined;
    }
  }
  return out;
};

/**
 * Peak and average bit rates of a media playlist's segments (RFC 8216
 * §4.3.4.2: BANDWIDTH is the peak segment bit rate, AVERAGE-BANDWIDTH the
 * average over the playlist). The init section counts towards the first
 * segment, as a player must fetch it before decoding it.
 */
export const segmentBitRates = (
  segments: readonly { durationSec: number; bytes: number }[],
  initBytes = 0
): { peakBitRate: number; averageBitRate: number; durationSec: number } => {
  let peak = 0;
  let bytes = 0;
  let seconds = 0;
  segments.forEach((s, i) => {
    const size = s.bytes + (i === 0 ? initBytes : 0);
    bytes += size;
    seconds += s.durationSec;
    if (s.durationSec > 0) peak = Math.max(peak, (size * 8) / s.durationSec);
  });
  return {
    peakBitRate: Math.ceil(peak),
    averageBitRate: seconds > 0 ? Math.ceil((bytes * 8) / seconds) : 0,
    durationSec: Math.round(seconds * 1e6) / 1e6,
  };
};

export interface MultivariantInput {
  /** Video variants, in the order a player should consider them (the first is the start variant). */
  readonly variants: readonly { uri: string; info: HlsMediaInfo }[];
  /** The one audio rendition every variant refers to, or none for a silent source. */
  readonly audio?: { uri: string; info: HlsMediaInfo } | undefined;
}

/** The audio group's id (`EXT-X-MEDIA GROUP-ID` and each variant's `AUDIO`). */
export const AUDIO_GROUP_ID = 'audio';

const quoted = (s: string): string => {
  // RFC 8216 §4.2: a quoted-string cannot hold a double quote, CR or LF.
  if (/["\r\n]/.test(s)) throw new Error(`cannot quote ${JSON.stringify(s)} in a playlist`);
  return `"${s}"`;
};

/**
 * The multivariant playlist (RFC 8216 §4.3.4): one `EXT-X-MEDIA TYPE=AUDIO`
 * rendition, and one `EXT-X-STREAM-INF` per video variant with BANDWIDTH
 * (video peak + audio peak: §4.3.4.2 counts every rendition played with it),
 * AVERAGE-BANDWIDTH, CODECS (every format in the variant, audio included),
 * RESOLUTION and FRAME-RATE (Apple's authoring spec asks for both), and the
 * AUDIO group. EXT-X-INDEPENDENT-SEGMENTS: every segment starts with a
 * keyframe (§4.3.5.1). Version 7 matches the media playlists ffmpeg writes.
 */
export const multivariantPlaylist = ({ variants, audio }: MultivariantInput): string => {
  if (variants.length === 0) throw new Error('a multivariant playlist needs at least one variant');
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS'];
  if (audio) {
    const attrs = [
      'TYPE=AUDIO',
      `GROUP-ID=${quoted(AUDIO_GROUP_ID)}`,
      `NAME=${quoted('Audio')}`,
      'DEFAULT=YES',
      'AUTOSELECT=YES',
      ...(audio.info.channels ? [`CHANNELS=${quoted(String(audio.info.channels))}`] : []),
      `URI=${quoted(audio.uri)}`,
    ];
    lines.push(`#EXT-X-MEDIA:${attrs.join(',')}`);
  }
  for (const { uri, info } of variants) {
    const attrs = [
      `BANDWIDTH=${info.peakBitRate + (audio?.info.peakBitRate ?? 0)}`,
      `AVERAGE-BANDWIDTH=${info.averageBitRate + (audio?.info.averageBitRate ?? 0)}`,
      `CODECS=${quoted(audio ? `${info.codecs},${audio.info.codecs}` : info.codecs)}`,
      ...(info.width && info.height ? [`RESOLUTION=${info.width}x${info.height}`] : []),
      ...(info.frameRate ? [`FRAME-RATE=${info.frameRate.toFixed(3)}`] : []),
      ...(audio ? [`AUDIO=${quoted(AUDIO_GROUP_ID)}`] : []),
    ];
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, uri);
  }
  return `${lines.join('\n')}\n`;
};
