import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { resolveFfmpegBuild } from '../../lib/constructs/ffmpeg-build.js';

/**
 * Test media, generated at test time with the ffmpeg the project ships: no
 * video file is ever committed. The Lambda code finds ffmpeg/ffprobe on PATH
 * (in Lambda: the layer's /opt/bin), so tests put the layer's own build there
 * too: the fetched pinned build when present, else the npm fallback (exactly
 * the rule FfmpegLayer applies at synth).
 */

const run = promisify(execFile);
/** The build the layer ships on this machine, and so the one every media test runs. */
export const LAYER_BUILD = resolveFfmpegBuild();
export const FFMPEG_DIR = dirname(LAYER_BUILD.ffmpeg);
export const FFPROBE_DIR = dirname(LAYER_BUILD.ffprobe);

/** Runs the shipped ffmpeg quietly; generated media never prompts or logs. */
const ffmpeg = (args: string[]) => {
  useMediaTools();
  return run('ffmpeg', ['-nostdin', '-v', 'error', ...args]);
};

/** Idempotent: prepends the ffmpeg and ffprobe directories to PATH once. */
export const useMediaTools = (): void => {
  const path = process.env.PATH ?? '';
  const parts = path.split(delimiter);
  const missing = [...new Set([FFMPEG_DIR, FFPROBE_DIR])].filter((d) => !parts.includes(d));
  if (missing.length > 0) process.env.PATH = [...missing, path].filter(Boolean).join(delimiter);
};

let workDir: string | undefined;
const dir = (): string => {
  workDir ??= mkdtempSync(join(tmpdir(), 'media-fixtures-'));
  return workDir;
};
let counter = 0;
const fresh = (ext: string): string => join(dir(), `f${++counter}.${ext}`);

/** Removes every generated file; call from afterAll. */
export const cleanupMedia = (): void => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
};

export interface ClipOptions {
  seconds?: number;
  width?: number;
  height?: number;
  audio?: boolean;
  /** Put the moov atom first (like a web-ready upload); default false, like a camera file. */
  faststart?: boolean;
}

/** Wall time of the last ffmpeg runs, for the timing notes in the report. */
export const timings: { what: string; ms: number }[] = [];

/** An H.264 (+ AAC) MP4 of a test pattern and a sine tone. */
export const makeClip = async ({
  seconds = 3,
  width = 640,
  height = 360,
  audio = true,
  faststart = false,
}: ClipOptions = {}): Promise<string> => {
  useMediaTools();
  const out = fresh('mp4');
  const started = Date.now();
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=${width}x${height}:rate=25`,
    ...(audio ? ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'] : []),
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    ...(audio ? ['-c:a', 'aac'] : []),
    ...(faststart ? ['-movflags', '+faststart'] : []),
    out,
  ]);
  timings.push({
    what: `makeClip ${width}x${height} ${seconds}s audio=${audio}`,
    ms: Date.now() - started,
  });
  return out;
};

/** A text file with a video extension, the classic wrong upload. */
export const makeNonVideo = async (): Promise<string> => {
  const out = fresh('mp4');
  writeFileSync(out, 'this is not a video, just some text\n'.repeat(100));
  return out;
};

export const makeEmpty = async (): Promise<string> => {
  const out = fresh('mp4');
  writeFileSync(out, '');
  return out;
};

/** An AAC-only file: a valid media file without a video stream. */
export const makeAudioOnly = async (seconds = 2): Promise<string> => {
  useMediaTools();
  const out = fresh('mp4');
  await ffmpeg(['-f', 'lavfi', '-i', 'sine', '-t', String(seconds), '-c:a', 'aac', out]);
  return out;
};

/** One PNG frame named .mp4: decodable, but has no duration. */
export const makeStillImage = async (): Promise<string> => {
  useMediaTools();
  const out = fresh('mp4');
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=64x64',
    '-frames:v',
    '1',
    '-f',
    'image2',
    '-c:v',
    'png',
    out,
  ]);
  return out;
};

/** The first half of a clip, like an interrupted upload. */
export const makeTruncated = async (clip: string): Promise<string> => {
  const bytes = readFileSync(clip);
  const out = fresh('mp4');
  writeFileSync(out, bytes.subarray(0, Math.floor(bytes.length / 2)));
  return out;
};

export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
}

/** ffprobe of an output file, for assertions. */
export const ffprobe = async (
  path: string
): Promise<{ streams: ProbedStream[]; format: { duration?: string; format_name?: string } }> => {
  useMediaTools();
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_format',
    '-show_streams',
    '-of',
    'json',
    path,
  ]);
  return JSON.parse(stdout);
};
