import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EphemeralStorageFullError, MediaToolError } from '../../contract/errors.js';

/**
 * The one place that runs ffmpeg/ffprobe. In Lambda the binaries come from a
 * layer under /opt/bin, which the runtime puts on PATH, so we look them up by
 * name; FFMPEG_PATH / FFPROBE_PATH override that for unusual installs.
 */

export type MediaTool = 'ffmpeg' | 'ffprobe';

export interface ToolResult {
  stdout: string;
  stderr: string;
  code: number;
  durationMs: number;
}

export interface ToolOptions {
  /** Hard limit; the process is SIGKILLed when it is reached. */
  timeoutMs: number;
}

/** The media tool runs of one piece of work: how many, and their summed wall time. */
export interface ToolTally {
  runs: number;
  ms: number;
}

const tallies = new AsyncLocalStorage<ToolTally>();

/**
 * Runs `fn` and counts the ffmpeg/ffprobe processes it ran and their wall time
 * (spawn → exit), so a branch can tell its tools' time from its own I/O (the
 * per-branch split of bench (a)). Scoped by AsyncLocalStorage: branches run
 * side by side in one process (the bench's direct side) each count their own.
 */
export const tallyTools = async <T>(
  fn: () => Promise<T>
): Promise<{ result: T; tools: ToolTally }> => {
  const tools: ToolTally = { runs: 0, ms: 0 };
  const result = await tallies.run(tools, fn);
  return { result, tools };
};

/** Older stderr is dropped beyond this: ffmpeg can be chatty and only the tail explains a failure. */
const MAX_CAPTURE = 4 * 1024 * 1024;

export const toolPath = (tool: MediaTool): string =>
  (tool === 'ffmpeg' ? process.env.FFMPEG_PATH : process.env.FFPROBE_PATH) || tool;

const TMP_PATH = new RegExp(`${tmpdir().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/[^\\s:]+`, 'g');

/**
 * Last non-empty stderr lines, for error messages that stay readable in a
 * state's Cause. Local temp paths are masked: they mean nothing to a reader
 * and would make identical failures look different.
 */
export const stderrTail = (stderr: string, lines = 3, maxChars = 300): string => {
  const tail = stderr
    .replace(TMP_PATH, '<file>')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(' | ');
  return tail.length > maxChars ? `${tail.slice(0, maxChars - 1)}…` : tail;
};

/**
 * Runs a media tool to completion. Resolves with the exit code instead of
 * rejecting on a non-zero exit, because callers map exit codes to different
 * named errors (bad input vs tool failure). Rejects only when the tool cannot
 * be started or exceeds its time limit.
 */
export const runTool = (
  tool: MediaTool,
  args: string[],
  options: ToolOptions
): Promise<ToolResult> =>
  new Promise((resolve, reject) => {
    const started = Date.now();
    // Taken here, in the caller's async context: the child's events run outside it.
    const tally = tallies.getStore();
    const bin = toolPath(tool);
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let errBytes = 0;
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => {
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      errBytes += b.length;
      err.push(b);
      // Keep only the recent stderr; the tail is what explains a failure.
      while (errBytes > MAX_CAPTURE && err.length > 1) errBytes -= err.shift()!.length;
    });
    const timer = setTimeout(
      () => {
        timedOut = true;
        child.kill('SIGKILL');
      },
      Math.max(1, options.timeoutMs)
    );
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hint = e.code === 'ENOENT' ? ` (not found: is ${bin} on PATH?)` : '';
      reject(new MediaToolError(`${tool} could not start${hint}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const durationMs = Date.now() - started;
      if (tally) {
        tally.runs++;
        tally.ms += durationMs;
      }
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) {
        reject(new MediaToolError(`${tool} timed out after ${Math.round(durationMs / 1000)}s`));
        return;
      }
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr,
        code: code ?? (signal ? 128 : 1),
        durationMs,
      });
    });
  });

export interface MediaToolVersions {
  /** The token after "ffmpeg version", e.g. "6.0-static" or "N-47683-g0e8eb07980-static". */
  ffmpeg: string;
  ffprobe: string;
}

let versions: Promise<MediaToolVersions> | undefined;

const toolVersion = async (tool: MediaTool): Promise<string> => {
  const res = await runTool(tool, ['-version'], { timeoutMs: 15_000 });
  const token = new RegExp(`^${tool} version (\\S+)`).exec(res.stdout)?.[1];
  if (res.code !== 0 || !token) {
    throw new MediaToolError(
      `${tool} -version exited ${res.code} without a "${tool} version <token>" line: ` +
        (stderrTail(res.stderr) || res.stdout.slice(0, 120))
    );
  }
  return token;
};

/**
 * The versions of the ffmpeg and ffprobe this process runs (the layer's in
 * Lambda), for recording next to what they produced. Run once per process:
 * the binaries cannot change under a running Lambda environment. A failure
 * is not cached, so a later call tries again.
 */
export const mediaToolVersions = (): Promise<MediaToolVersions> => {
  if (!versions) {
    const pending = Promise.all([toolVersion('ffmpeg'), toolVersion('ffprobe')]).then(
      ([ffmpeg, ffprobe]) => ({ ffmpeg, ffprobe })
    );
    versions = pending;
    pending.catch(() => {
      if (versions === pending) versions = undefined;
    });
  }
  return versions;
};

/** Subset of `ffprobe -show_format -show_streams -of json` this project reads. */
export interface FfprobeStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  nb_read_packets?: string;
  [k: string]: unknown;
}
export interface FfprobeFormat {
  filename?: string;
  format_name?: string;
  duration?: string;
  size?: string;
  bit_rate?: string;
  [k: string]: unknown;
}
export interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: FfprobeFormat;
}

/** Parses "30000/1001" or "25" into frames per second; 0 when unknown. */
export const parseRate = (rate: string | undefined): number => {
  if (!rate) return 0;
  const [n, d] = rate.split('/').map(Number);
  const value = d === undefined ? n : d === 0 ? 0 : n / d;
  return Number.isFinite(value) && value > 0 ? Math.round(value * 1000) / 1000 : 0;
};

export const toNumber = (v: string | number | undefined): number | null => {
  if (v === undefined || v === '' || v === 'N/A') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};

const httpErrorRetry = new Map<string, boolean>();
/**
 * Whether this binary's HTTP protocol knows `reconnect_on_http_error`
 * (ffmpeg ≥ 4.4). The 2018 fallback build does not, and an unknown option
 * fails every run; asked once per process, only when a URL is first read.
 */
const knowsHttpErrorRetry = (tool: MediaTool): boolean => {
  const bin = toolPath(tool);
  let known = httpErrorRetry.get(bin);
  if (known === undefined) {
    const res = spawnSync(bin, ['-hide_banner', '-h', 'protocol=http'], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    known = `${res.stdout ?? ''}${res.stderr ?? ''}`.includes('reconnect_on_http_error');
    httpErrorRetry.set(bin, known);
  }
  return known;
};

/**
 * Options placed before `-i` for a source read over HTTP (a presigned URL):
 * reconnect on a dropped connection instead of failing a long transcode, and
 * on a 5xx answer (S3's 503 SlowDown), which ffmpeg otherwise reports as a
 * broken input: the chaos tests turned such answers into "corrupt video".
 * Seeking (`-ss` before `-i`) then becomes HTTP range requests.
 */
export const inputOptions = (input: string, tool: MediaTool = 'ffmpeg'): string[] => {
  if (!/^https?:\/\//.test(input)) return [];
  const base = ['-reconnect', '1', '-reconnect_streamed', '1', '-reconnect_delay_max', '4'];
  const headers = pinnedHeaders.get(input);
  return [
    ...base,
    ...(knowsHttpErrorRetry(tool) ? ['-reconnect_on_http_error', '5xx'] : []),
    // ffmpeg's http protocol sends these on every request, range requests and reconnects included.
    ...(headers ? ['-headers', headers] : []),
  ];
};

/**
 * Request headers that must go with every read of one URL (If-Match pinning
 * the source's ETag, lambdas/shared/source-pin.ts). Kept here, keyed by the
 * URL, because every branch kind builds its tool arguments through
 * inputOptions from the input string alone: the pin travels with the URL and
 * no kind can forget it. A presigned URL is unique per signing, so entries of
 * concurrent reads never collide; the owner removes its entry when done.
 */
const pinnedHeaders = new Map<string, string>();

/** Registers headers for every tool read of `url`; returns a function that forgets them. */
export const pinHttpInput = (url: string, headers: Record<string, string>): (() => void) => {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  if (lines.length === 0) return () => undefined;
  pinnedHeaders.set(url, lines.join(''));
  return () => {
    pinnedHeaders.delete(url);
  };
};

/** The time a tool may still use, or a MediaToolError when none is left. */
export const remaining = (timeBudget: () => number, tool: MediaTool): number => {
  const ms = timeBudget();
  if (ms <= 0) throw new MediaToolError(`no time left to run ${tool} before the Lambda timeout`);
  return ms;
};

/** ffmpeg's words for ENOSPC (strerror), wherever it was writing. */
const NO_SPACE = /No space left on device/i;

/**
 * ffmpeg, quiet, overwriting; a non-zero exit is a MediaToolError with stderr's tail,
 * or an EphemeralStorageFullError when it ran out of /tmp.
 */
export const runFfmpeg = async (args: string[], timeBudget: () => number): Promise<void> => {
  const res = await runTool('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args], {
    timeoutMs: remaining(timeBudget, 'ffmpeg'),
  });
  if (res.code !== 0) {
    const message = `ffmpeg exited ${res.code}: ${stderrTail(res.stderr)}`;
    if (NO_SPACE.test(res.stderr)) {
      throw new EphemeralStorageFullError(`/tmp (${tmpdir()}) is full: ${message}`);
    }
    throw new MediaToolError(message);
  }
};

/**
 * ffprobe's JSON description (format and streams) of `input` (a path or a URL,
 * read with the range options a URL needs); `extra` asks for more (the probe
 * counts packets). The caller judges the exit code and stderr.
 */
export const ffprobeJson = (
  input: string,
  extra: readonly string[],
  timeoutMs: number
): Promise<ToolResult> =>
  runTool(
    'ffprobe',
    [
      '-v',
      'error',
      ...inputOptions(input, 'ffprobe'),
      ...extra,
      '-show_format',
      '-show_streams',
      '-of',
      'json',
      input,
    ],
    { timeoutMs }
  );

/**
 * Container-level facts (format and streams) without reading every packet:
 * the probe already decided the source is sound. `input` may be a URL.
 */
export const inspect = async (input: string, timeoutMs: number): Promise<FfprobeOutput> => {
  const res = await ffprobeJson(input, [], timeoutMs);
  if (res.code !== 0) {
    throw new MediaToolError(`ffprobe exited ${res.code}: ${stderrTail(res.stderr)}`);
  }
  return JSON.parse(res.stdout) as FfprobeOutput;
};

/**
 * The frames of a local file's first video (`v:0`) or audio (`a:0`) stream, from ffprobe:
 * decoded (`-count_frames`, what "frame-exact" is measured with) or the container's
 * count (no decode; for AAC, its packets).
 */
export const countStreamFrames = async (
  file: string,
  timeBudget: () => number,
  { stream, decode }: { stream: 'v:0' | 'a:0'; decode: boolean }
): Promise<number> => {
  const res = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      ...(decode ? ['-count_frames'] : []),
      '-select_streams',
      stream,
      '-show_entries',
      decode ? 'stream=nb_read_frames' : 'stream=nb_frames',
      '-of',
      'csv=p=0',
      file,
    ],
    { timeoutMs: Math.max(1, timeBudget()) }
  );
  const n = Number(res.stdout.trim());
  if (res.code !== 0 || !Number.isInteger(n)) {
    const what = stream === 'a:0' ? 'audio packets' : 'frames';
    throw new MediaToolError(`ffprobe could not count the ${what} of ${file}: exit ${res.code}`);
  }
  return n;
};

/** A concat demuxer input over files or URLs (ours, never user input), its list in workDir. */
export const concatInput = async (
  files: readonly string[],
  workDir: string,
  name: string
): Promise<string[]> => {
  const list = join(workDir, name);
  // The concat list's own quoting: a single quote inside is written '\''.
  await writeFile(list, files.map((s) => `file '${s.replace(/'/g, "'\\''")}'\n`).join(''));
  const remote = files.some((s) => /^https?:\/\//.test(s));
  return [
    '-f',
    'concat',
    // Absolute paths and URLs in the list are ours, not user input.
    '-safe',
    '0',
    ...(remote ? ['-protocol_whitelist', 'file,http,https,tcp,tls,crypto'] : []),
    '-i',
    list,
  ];
};
