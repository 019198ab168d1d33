import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { HeadBucketCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import cliProgress from 'cli-progress';
import {
  extensionOf,
  MULTIPART_PART_SIZE,
  type SourceObject,
  THUMBNAIL_TIMES_METADATA,
  UPLOAD_PREFIX,
  videoIdFor,
} from '../../contract/index.js';
import { CliError } from './config.js';
import { formatDuration } from './format.js';
import type { Out } from './watch.js';

/**
 * The project's one part size (contract/transfer.ts): the CLI uploads like the
 * Lambdas do; files up to this size go up in one PutObject.
 */
export const PART_SIZE = MULTIPART_PART_SIZE;

/** `uploads/<file name>` by default; a `--key` ending in `/` is a folder under uploads/. */
export const resolveUploadKey = (file: string, key: string | undefined): string => {
  const name = basename(file);
  if (key === undefined) return `${UPLOAD_PREFIX}${name}`;
  const k = key.replace(/^\/+/, '');
  if (!k.startsWith(UPLOAD_PREFIX)) {
    throw new CliError(
      `--key must be under ${UPLOAD_PREFIX} (only uploads there start the pipeline): got ${key}`
    );
  }
  const full = k.endsWith('/') ? `${k}${name}` : k;
  if (full === UPLOAD_PREFIX)
    throw new CliError(`--key needs an object name after ${UPLOAD_PREFIX}`);
  return full;
};

/** Validates `--thumbnail-times 1,2.5` strictly and returns the normalized metadata value. */
export const parseThumbnailTimesOption = (raw: string): string => {
  const parts = raw.split(',').map((p) => p.trim());
  const bad = parts.filter((p) => p === '' || !Number.isFinite(Number(p)) || Number(p) < 0);
  if (bad.length > 0 || parts.length === 0) {
    throw new CliError(
      `--thumbnail-times must be comma-separated non-negative seconds, e.g. 1,2.5 (bad: ${bad.map((b) => JSON.stringify(b)).join(', ')})`
    );
  }
  return parts.map((p) => String(Number(p))).join(',');
};

const CONTENT_TYPES: Record<string, string> = {
  mp4: 'video/mp4',
  m4v: 'video/x-m4v',
  mov: 'video/quicktime',
  mkv: 'video/x-matroska',
  webm: 'video/webm',
  avi: 'video/x-msvideo',
  mpg: 'video/mpeg',
  mpeg: 'video/mpeg',
  ts: 'video/mp2t',
  mts: 'video/mp2t',
  m2ts: 'video/mp2t',
  wmv: 'video/x-ms-wmv',
  flv: 'video/x-flv',
  '3gp': 'video/3gpp',
  ogv: 'video/ogg',
};

export const contentTypeFor = (file: string): string =>
  CONTENT_TYPES[extensionOf(file)] ?? 'application/octet-stream';

/** A local file that must exist and be a regular file (it may be empty). */
export const checkLocalFile = async (file: string): Promise<number> => {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new CliError(`not a regular file: ${file}`);
    return s.size;
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`file not found: ${file}`);
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
};

/**
 * The object identity the pipeline will see. S3 events carry the ETag
 * without quotes and the versionId only on versioned buckets; the starter
 * derives the videoId from exactly these fields with the same function.
 */
export const sourceFromUploadResult = (
  bucket: string,
  key: string,
  res: { VersionId?: string; ETag?: string },
  size?: number
): SourceObject => ({
  bucket,
  key,
  versionId: res.VersionId || undefined,
  etag: res.ETag?.replace(/"/g, '') || undefined,
  size,
});

export interface UploadParams {
  s3: S3Client;
  bucket: string;
  key: string;
  file: string;
  size: number;
  thumbnailTimes?: string;
  onProgress?: (loaded: number, total: number) => void;
}

export interface UploadedVideo {
  source: SourceObject;
  videoId: string;
}

export const uploadVideo = async (p: UploadParams): Promise<UploadedVideo> => {
  const upload = new Upload({
    client: p.s3,
    partSize: PART_SIZE,
    queueSize: 4,
    params: {
      Bucket: p.bucket,
      Key: p.key,
      Body: createReadStream(p.file),
      ContentLength: p.size,
      ContentType: contentTypeFor(p.file),
      ...(p.thumbnailTimes ? { Metadata: { [THUMBNAIL_TIMES_METADATA]: p.thumbnailTimes } } : {}),
    },
  });
  upload.on('httpUploadProgress', (e) => p.onProgress?.(e.loaded ?? 0, e.total ?? p.size));
  const res = (await upload.done()) as { VersionId?: string; ETag?: string };
  let source = sourceFromUploadResult(p.bucket, p.key, res, p.size);
  if (!source.versionId && !source.etag) {
    // Some emulators omit both from the response; the object itself knows.
    const head = await p.s3.send(new HeadObjectCommand({ Bucket: p.bucket, Key: p.key }));
    source = sourceFromUploadResult(p.bucket, p.key, head, p.size);
  }
  return { source, videoId: videoIdFor(source) };
};

/**
 * One HeadBucket before the upload, so an endpoint that is down fails with
 * "cannot reach" before a progress bar is drawn (lib-storage only fails once
 * its retries of the first part are used up). Any HTTP answer other than
 * "no such bucket" counts as reachable: a 403 only means this principal may
 * not list the bucket, which PutObject does not need.
 */
export const checkReachable = async (
  s3: S3Client,
  bucket: string,
  endpoint: string | undefined,
  timeoutMs = 5000
): Promise<void> => {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }), {
      abortSignal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') {
      throw new CliError(
        `cannot reach ${endpoint ?? 'AWS'}: no answer within ${formatDuration(timeoutMs)}`
      );
    }
    const status = e.$metadata?.httpStatusCode;
    if (status === 404 || e.name === 'NoSuchBucket' || e.name === 'NotFound') {
      throw new CliError(
        `upload bucket ${bucket} does not exist at ${endpoint ?? 'AWS'} (is the outputs file from another deployment?)`
      );
    }
    // No HTTP status: the request never got an answer (refused, DNS, reset).
    if (status === undefined) throw err;
  }
};

// ---- progress --------------------------------------------------------------

export const formatBytes = (n: number): string => {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
};

export interface ProgressReporter {
  update(loaded: number): void;
  stop(): void;
}

/** A bar on a TTY; in CI a line per 10% step (and at most one per second). */
export const createProgressReporter = (
  out: Out,
  total: number,
  now: () => number = Date.now
): ProgressReporter => {
  if (out.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: out as NodeJS.WritableStream,
        format: 'uploading [{bar}] {percentage}% | {done} / {size} | {speed}',
        // 20 keeps the widest line (1023.9 MiB / 1023.9 MiB | 1023.9 MiB/s) under 80 columns.
        barsize: 20,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic
    );
    const start = now();
    const payload = (loaded: number) => ({
      done: formatBytes(loaded),
      size: formatBytes(total),
      speed: `${formatBytes(Math.round(loaded / Math.max(0.001, (now() - start) / 1000)))}/s`,
    });
    bar.start(Math.max(total, 1), 0, payload(0));
    return {
      update: (loaded) => bar.update(Math.min(loaded, Math.max(total, 1)), payload(loaded)),
      stop: () => {
        bar.update(Math.max(total, 1), payload(total));
        bar.stop();
      },
    };
  }
  const start = now();
  let lastStep = -1;
  let lastAt = Number.NEGATIVE_INFINITY;
  const line = (loaded: number) => {
    const pct = total > 0 ? Math.floor((loaded / total) * 100) : 100;
    out.write(
      `uploading: ${pct}% (${formatBytes(loaded)} / ${formatBytes(total)}, ${formatDuration(now() - start)})\n`
    );
  };
  return {
    update: (loaded) => {
      const step = total > 0 ? Math.floor((loaded / total) * 10) : 10;
      if (step <= lastStep || now() - lastAt < 1000) return;
      lastStep = step;
      lastAt = now();
      line(loaded);
    },
    stop: () => {
      if (lastStep < 10) line(total);
    },
  };
};
