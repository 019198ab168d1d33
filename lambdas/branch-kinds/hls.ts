import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactKey, MediaToolError } from '../../contract/index.js';
import {
  aacCodecString,
  avcCodecString,
  type HlsMediaInfo,
  type HlsPackage,
  mediaSegments,
  multivariantPlaylist,
  segmentBitRates,
  UnsupportedCodecError,
} from '../shared/hls-playlist.js';
import { inspect, parseRate, remaining, runFfmpeg } from '../shared/media.js';
import { settleAll } from '../shared/settle.js';
import type { Produced, TimeBudget } from './kind.js';

/**
 * HLS packaging (CMAF/fMP4 media playlists) of media that is already encoded:
 * ffmpeg's hls muxer with `-c copy`, so packaging never re-encodes. The
 * segment boundaries are the keyframes already in the stream: a segmented
 * rendition's encoded segments (one GOP grid, each segment starting with a
 * keyframe) become its media segments one to one when the target duration is
 * the segment length; an unsegmented rendition is cut on its fixed 2 s GOP grid.
 *
 * RFC 8216 §3.3 (fMP4 segments, EXT-X-MAP): https://datatracker.ietf.org/doc/html/rfc8216#section-3.3
 * Apple HLS authoring spec (6 s target duration, fMP4, CODECS/RESOLUTION/FRAME-RATE):
 * https://developer.apple.com/documentation/http-live-streaming/hls-authoring-specification-for-apple-devices
 */

/** Target media segment duration for unsegmented renditions and the audio (Apple: 6 s). */
export const HLS_TARGET_SEC = 6;
export const PLAYLIST_NAME = 'index.m3u8';
const INIT_NAME = 'init.mp4';
export const HLS_CONTENT_TYPE = 'application/vnd.apple.mpegurl';

/** Where a video's HLS files live, relative to its output prefix. */
export const HLS_DIR = 'hls/';
/** The multivariant playlist's key: what a player opens. */
export const multivariantKey = (videoId: string): string =>
  artifactKey(videoId, `${HLS_DIR}${PLAYLIST_NAME}`);
/**
 * The multivariant playlist's text over the delivered variants, in the order
 * given (lowest first), with the video's one audio playlist; URIs relative to
 * `hls/`, so a CDN or a static server in front of that folder plays it as is.
 * One writer of the text for the aggregator's final playlist and the early
 * one the first delivered rendition writes.
 */
export const multivariantText = (
  videoId: string,
  variants: readonly HlsMediaInfo[],
  audio: HlsMediaInfo | undefined
): string => {
  const base = artifactKey(videoId, HLS_DIR);
  const relative = (key: string): string => (key.startsWith(base) ? key.slice(base.length) : key);
  return multivariantPlaylist({
    variants: variants.map((info) => ({ uri: relative(info.playlist), info })),
    audio: audio && { uri: relative(audio.playlist), info: audio },
  });
};

/**
 * User metadata on the multivariant playlist: who wrote this version, the
 * first delivered renditions (`early`) or the aggregator (`final`, never
 * replaced by an early writer).
 */
export const LADDER_METADATA = 'ladder';
export type LadderWriter = 'early' | 'final';

/** Internal: one branch's measurements of what it packaged (HlsPackage JSON). */
export const hlsPackageKey = (videoId: string, branchId: string): string =>
  artifactKey(videoId, `_work/hls/${branchId}.json`);

export interface PackageJob {
  /** ffmpeg input arguments (`-i file`, or the concat demuxer's). */
  readonly inputArgs: readonly string[];
  readonly track: 'video' | 'audio';
  /** Local directory the playlist, init section and segments are written to (created empty). */
  readonly dir: string;
  readonly targetSec: number;
  readonly timeBudget: TimeBudget;
}

/** Packages one track of the input into `dir` as an fMP4 VOD media playlist, stream copy only. */
export const packageTrack = async ({
  inputArgs,
  track,
  dir,
  targetSec,
  timeBudget,
}: PackageJob): Promise<void> => {
  await runFfmpeg(
    [
      ...inputArgs,
      '-map',
      track === 'video' ? '0:v:0' : '0:a:0',
      '-c',
      'copy',
      '-f',
      'hls',
      '-hls_time',
      String(targetSec),
      '-hls_playlist_type',
      'vod',
      '-hls_segment_type',
      'fmp4',
      '-hls_fmp4_init_filename',
      INIT_NAME,
      '-hls_segment_filename',
      join(dir, 'seg_%05d.m4s'),
      ...(track === 'video' ? ['-hls_flags', 'independent_segments'] : []),
      join(dir, PLAYLIST_NAME),
    ],
    timeBudget
  );
};

/**
 * What the multivariant playlist needs to know of one packaged track: its
 * bit rates from the segment sizes and durations, its codec string from
 * ffprobe's profile and level, and (video) its resolution and frame rate.
 */
export const describeTrack = async (
  dir: string,
  track: 'video' | 'audio',
  playlistKey: string,
  timeBudget: TimeBudget
): Promise<HlsMediaInfo> => {
  const playlistPath = join(dir, PLAYLIST_NAME);
  const segments = mediaSegments(await readFile(playlistPath, 'utf8'));
  if (segments.length === 0)
    throw new MediaToolError(`the ${track} media playlist has no segments`);
  const sized = await Promise.all(
    segments.map(async (s) => ({ ...s, bytes: (await stat(join(dir, s.uri))).size }))
  );
  const initBytes = (await stat(join(dir, INIT_NAME))).size;
  const rates = segmentBitRates(sized, initBytes);
  const info = await inspect(playlistPath, remaining(timeBudget, 'ffprobe'));
  const stream = info.streams?.find((s) => s.codec_type === track);
  if (!stream) throw new MediaToolError(`ffprobe found no ${track} stream in the media playlist`);
  try {
    if (track === 'audio') {
      return {
        playlist: playlistKey,
        ...rates,
        codecs: aacCodecString(String(stream.profile)),
        ...(typeof stream.channels === 'number' && { channels: stream.channels }),
      };
    }
    const frameRate = parseRate(stream.avg_frame_rate);
    return {
      playlist: playlistKey,
      ...rates,
      codecs: avcCodecString(String(stream.profile), Number(stream.level)),
      ...(stream.width && { width: stream.width }),
      ...(stream.height && { height: stream.height }),
      ...(frameRate > 0 && { frameRate: Math.round(frameRate * 1000) / 1000 }),
    };
  } catch (err) {
    if (err instanceof UnsupportedCodecError) throw new MediaToolError(err.message);
    throw err;
  }
};

const contentTypeOf = (name: string, track: 'video' | 'audio'): string =>
  name.endsWith('.m3u8')
    ? HLS_CONTENT_TYPE
    : name.endsWith('.m4s')
      ? `${track}/iso.segment`
      : `${track}/mp4`;

/** Every file of a packaged track, for upload under `keyPrefix` (ends with `/`). */
export const packagedFiles = async (
  dir: string,
  keyPrefix: string,
  track: 'video' | 'audio'
): Promise<Produced[]> => {
  // The playlist last: once it is in S3, every segment it names is too.
  const names = (await readdir(dir)).sort((a, b) =>
    a === PLAYLIST_NAME ? 1 : b === PLAYLIST_NAME ? -1 : a.localeCompare(b)
  );
  return names.map((name) => ({
    key: `${keyPrefix}${name}`,
    contentType: contentTypeOf(name, track),
    path: join(dir, name),
  }));
};

/**
 * Packages the given tracks of one input under `outputs/<videoId>/hls/<name>/`
 * (audio: `<audioName>/`), and returns the files plus the branch's HlsPackage
 * record (JSON under `_work/hls/`), which the aggregator reads to write the
 * multivariant playlist.
 */
export const packageHls = async ({
  videoId,
  branchId,
  inputArgs,
  video,
  audio,
  workDir,
  targetSec,
  timeBudget,
}: {
  videoId: string;
  branchId: string;
  inputArgs: readonly string[];
  /** Directory name of the video playlist under hls/, or null for no video. */
  video: string | null;
  /** Directory name of the audio playlist under hls/, or null for no audio. */
  audio: string | null;
  workDir: string;
  targetSec: number;
  timeBudget: TimeBudget;
}): Promise<Produced[]> => {
  // The tracks side by side: each is a stream copy and a probe on its own files, so the audio's
  // two processes no longer wait for the video's (the main rendition of every unsegmented
  // source packages both). What is produced, and the package's keys, stay in video, audio order.
  // Settled both before either's failure is thrown: the caller removes the work directory then,
  // and the other track's ffmpeg must not be writing into it.
  const tracks = await settleAll(
    (
      [
        ['video', video],
        ['audio', audio],
      ] as const
    ).map(async ([track, name]) => {
      if (name === null) return null;
      const dir = join(workDir, `hls-${track}`);
      await mkdir(dir, { recursive: true });
      await packageTrack({ inputArgs, track, dir, targetSec, timeBudget });
      const prefix = artifactKey(videoId, `${HLS_DIR}${name}/`);
      const info = await describeTrack(dir, track, `${prefix}${PLAYLIST_NAME}`, timeBudget);
      return { track, info, files: await packagedFiles(dir, prefix, track) };
    })
  );
  const pkg: HlsPackage = {};
  const produced: Produced[] = [];
  for (const t of tracks) {
    if (t === null) continue;
    pkg[t.track] = t.info;
    produced.push(...t.files);
  }
  produced.push({
    key: hlsPackageKey(videoId, branchId),
    contentType: 'application/json',
    // The aggregator's input, not an output: it reads it by its key (hlsPackageKey).
    internal: true,
    body: Buffer.from(`${JSON.stringify(pkg)}\n`),
  });
  return produced;
};
