import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import {
  CurrentPointerSchema,
  currentPointerKey,
  isVideoFolder,
  manifestKey,
  OUTPUT_PREFIX,
  UPLOAD_PREFIX,
  videoIdOfExecution,
} from '../../contract/index.js';
import { mapLimit } from '../../shared/concurrency.js';
import type { Clients } from './aws.js';
import { CliError, type StackOutputs } from './config.js';
import { screenWidth, wrap } from './layout.js';
import { type ListRow, renderListTable } from './list-screen.js';
import { fetchEmfRecords, type MetricsView, metricsView, renderMetricsView } from './metrics.js';
import { sniffFile } from './sniff.js';
import { renderReport, renderWatchSummary } from './status-screen.js';
import {
  checkLocalFile,
  checkReachable,
  createProgressReporter,
  parseThumbnailTimesOption,
  resolveUploadKey,
  uploadVideo,
} from './upload.js';
import {
  createLiveView,
  createSnapshotter,
  executionArnFor,
  exitCodeFor,
  manifestExitCode,
  type Out,
  outcomeMessage,
  readManifest,
  type WatchOptions,
  watchVideo,
} from './watch.js';

/**
 * The three commands as functions of their inputs; each returns the process
 * exit code. main.ts only parses arguments and maps errors to one line.
 */

export interface Context {
  outputs: StackOutputs;
  clients: Clients;
  out: Out;
  err: Out;
}

/** Exit code of `status` while the video has no manifest yet. */
export const EXIT_IN_PROGRESS = 3;

const target = (ctx: Context) => ({
  s3: ctx.clients.s3,
  sfn: ctx.clients.sfn,
  outputBucket: ctx.outputs.outputBucket,
  stateMachineArn: ctx.outputs.stateMachineArn,
});

export interface UploadCommandOptions {
  watch?: boolean;
  key?: string;
  thumbnailTimes?: string;
  timeoutSec: number;
  intervalMs?: number;
  /** Test seams for the watch loop. */
  now?: WatchOptions['now'];
  sleep?: WatchOptions['sleep'];
}

export const runUpload = async (
  ctx: Context,
  file: string,
  opts: UploadCommandOptions
): Promise<number> => {
  const key = resolveUploadKey(file, opts.key);
  const thumbnailTimes =
    opts.thumbnailTimes !== undefined ? parseThumbnailTimesOption(opts.thumbnailTimes) : undefined;
  const size = await checkLocalFile(file);
  const sniff = await sniffFile(file);
  if (sniff.warnings.length > 0) {
    const warning = `warning: ${file} does not look like a video (${sniff.warnings.join('; ')}); uploading anyway: the pipeline will reject it with a FAILED manifest`;
    ctx.err.write(`${wrap(warning, screenWidth(ctx.err), 2)}\n`);
  }

  // Ctrl-C must not leave the terminal with a hidden cursor (progress bar, live view).
  const onSigint = () => {
    if (ctx.out.isTTY) ctx.out.write('\x1b[?25h\n');
    ctx.err.write('interrupted\n');
    process.exit(130);
  };
  process.once('SIGINT', onSigint);
  try {
    return await uploadAndWatch(ctx, file, key, size, thumbnailTimes, opts);
  } finally {
    process.off('SIGINT', onSigint);
  }
};

const uploadAndWatch = async (
  ctx: Context,
  file: string,
  key: string,
  size: number,
  thumbnailTimes: string | undefined,
  opts: UploadCommandOptions
): Promise<number> => {
  const bucket = ctx.outputs.uploadBucket;
  const width = screenWidth(ctx.out);
  await checkReachable(ctx.clients.s3, bucket, ctx.clients.endpoint);
  ctx.out.write(`${wrap(`uploading ${file} to s3://${bucket}/${key}`, width, 2)}\n`);
  const uploadStartedAt = Date.now();
  const progress = createProgressReporter(ctx.out, size);
  let uploaded: Awaited<ReturnType<typeof uploadVideo>>;
  try {
    uploaded = await uploadVideo({
      s3: ctx.clients.s3,
      bucket,
      key,
      file,
      size,
      thumbnailTimes,
      onProgress: (loaded) => progress.update(loaded),
    });
  } finally {
    progress.stop();
  }
  const { videoId, source } = uploaded;
  const executionArn = executionArnFor(ctx.outputs.stateMachineArn, videoId);
  // Labels padded to one width; long ARNs and keys continue under the value.
  const field = (label: string, value: string) => wrap(`${label.padEnd(11)}${value}`, width, 11);
  ctx.out.write(
    [
      field('videoId:', `${videoId} (also the execution name)`),
      field('execution:', executionArn),
      field('object:', source.versionId ? `versionId ${source.versionId}` : `etag ${source.etag}`),
      field('manifest:', `s3://${ctx.outputs.outputBucket}/${manifestKey(videoId)}`),
      '',
    ].join('\n')
  );
  if (!opts.watch) return 0;
  const outcome = await follow(ctx, videoId, opts);
  if (outcome.kind === 'manifest' && isEarlierResult(outcome.progress.manifest, uploadStartedAt)) {
    const note = `note: this manifest is from ${outcome.progress.manifest.createdAt}, before this upload: the same bytes were already uploaded under this key (same ETag, so the same videoId), and the pipeline ignores the duplicate`;
    ctx.err.write(`${wrap(note, screenWidth(ctx.err), 2)}\n`);
  }
  return reportOutcome(ctx, outcome, opts.timeoutSec * 1000);
};

export interface WatchCommandOptions {
  timeoutSec: number;
  intervalMs?: number;
  /** Test seams for the watch loop. */
  now?: WatchOptions['now'];
  sleep?: WatchOptions['sleep'];
}

/**
 * The live view of `upload --watch` and `status --watch`: polls until the
 * manifest (or the timeout), then prints what the live view did not show.
 */
const follow = async (
  ctx: Context,
  videoId: string,
  opts: WatchCommandOptions
): Promise<Awaited<ReturnType<typeof watchVideo>>> => {
  const view = createLiveView(ctx.out);
  let outcome: Awaited<ReturnType<typeof watchVideo>>;
  try {
    outcome = await watchVideo(target(ctx), videoId, {
      timeoutMs: opts.timeoutSec * 1000,
      intervalMs: opts.intervalMs ?? 2000,
      onProgress: (p) => view.update(p),
      now: opts.now,
      sleep: opts.sleep,
    });
  } finally {
    view.done();
  }
  const summary = renderWatchSummary(
    outcome.progress,
    ctx.outputs.outputBucket,
    screenWidth(ctx.out)
  );
  if (summary) ctx.out.write(`\n${summary}\n`);
  return outcome;
};

const reportOutcome = (
  ctx: Context,
  outcome: Awaited<ReturnType<typeof watchVideo>>,
  timeoutMs: number
): number => {
  const message = outcomeMessage(outcome, timeoutMs);
  if (message) ctx.err.write(`${wrap(`error: ${message}`, screenWidth(ctx.err), 2)}\n`);
  return exitCodeFor(outcome);
};

/** A manifest written before the upload began belongs to an identical earlier upload. */
export const isEarlierResult = (
  manifest: { createdAt: string },
  uploadStartedAt: number
): boolean => Date.parse(manifest.createdAt) < uploadStartedAt;

/**
 * `status uploads/…`: the videoId the key's pointer names as current (the newest
 * upload by S3's sequencer), or a clear error when the key was never started.
 */
export const resolveVideoId = async (ctx: Context, videoIdOrKey: string): Promise<string> => {
  if (!videoIdOrKey.startsWith(UPLOAD_PREFIX)) return videoIdOrKey;
  const pointer = currentPointerKey(ctx.outputs.uploadBucket, videoIdOrKey);
  try {
    const res = await ctx.clients.s3.send(
      new GetObjectCommand({ Bucket: ctx.outputs.outputBucket, Key: pointer })
    );
    return CurrentPointerSchema.parse(JSON.parse(await res.Body!.transformToString())).videoId;
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey' || (err as Error).name === 'NotFound') {
      throw new CliError(
        `no upload started for s3://${ctx.outputs.uploadBucket}/${videoIdOrKey} (no s3://${ctx.outputs.outputBucket}/${pointer})`
      );
    }
    throw err;
  }
};

/**
 * `status <videoId>`: one snapshot (the manifest's table, or the progress so far).
 * `--watch`: the live view until the manifest, as `upload --watch` draws it (per
 * segmented rendition: segments done, running, queued, the audio item, the join).
 */
export const runStatus = async (
  ctx: Context,
  videoIdOrKey: string,
  watch?: WatchCommandOptions
): Promise<number> => {
  const videoId = await resolveVideoId(ctx, videoIdOrKey);
  if (watch) return reportOutcome(ctx, await follow(ctx, videoId, watch), watch.timeoutSec * 1000);
  const progress = await createSnapshotter(target(ctx), videoId)();
  if (!progress.manifest && !progress.plan && progress.execution.status === 'NOT_FOUND') {
    throw new CliError(
      `no such video: ${videoId} (no manifest in s3://${ctx.outputs.outputBucket}, no execution)`
    );
  }
  ctx.out.write(`${renderReport(progress, ctx.outputs.outputBucket, screenWidth(ctx.out))}\n`);
  return progress.manifest ? manifestExitCode(progress.manifest) : EXIT_IN_PROGRESS;
};

/** All `outputs/<videoId>/` folders in the output bucket. */
const listVideoIds = async (ctx: Context): Promise<string[]> => {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await ctx.clients.s3.send(
      new ListObjectsV2Command({
        Bucket: ctx.outputs.outputBucket,
        Prefix: OUTPUT_PREFIX,
        Delimiter: '/',
        ContinuationToken: token,
      })
    );
    for (const p of page.CommonPrefixes ?? []) {
      // Not by-key/ (the per-key pointers) nor an internal `_…/` folder (`_segment-runs/`).
      const id = p.Prefix?.slice(OUTPUT_PREFIX.length).replace(/\/$/, '') ?? '';
      if (isVideoFolder(id)) ids.push(id);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return ids;
};

const listRunning = async (ctx: Context): Promise<Map<string, Date | undefined>> => {
  const running = new Map<string, Date | undefined>();
  let token: string | undefined;
  do {
    const page = await ctx.clients.sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: ctx.outputs.stateMachineArn,
        statusFilter: 'RUNNING',
        nextToken: token,
      })
    );
    for (const e of page.executions ?? []) {
      // A running redrive is its video's, not another video.
      if (e.name && !running.has(videoIdOfExecution(e.name))) {
        running.set(videoIdOfExecution(e.name), e.startDate);
      }
    }
    token = page.nextToken;
  } while (token);
  return running;
};

/** A `list` row with what its manifest says of the video's tenant and cost (none without one). */
export interface VideoListRow extends ListRow {
  tenant?: string;
  estimatedCostUsd?: number;
}

/** Recent videos first: manifests (newest createdAt) plus in-flight executions. */
export const collectList = async (ctx: Context, limit: number): Promise<VideoListRow[]> => {
  const [ids, running] = await Promise.all([listVideoIds(ctx), listRunning(ctx)]);
  const rows = await mapLimit(ids, 8, async (videoId): Promise<VideoListRow> => {
    const manifest = await readManifest(ctx.clients.s3, ctx.outputs.outputBucket, videoId);
    if (manifest) {
      return {
        videoId,
        status: manifest.status,
        branches: `${manifest.counts.succeeded}/${manifest.counts.total}`,
        created: manifest.createdAt,
        tenant: manifest.tenant,
        estimatedCostUsd: manifest.estimatedCostUsd,
      };
    }
    const started = running.get(videoId);
    return {
      videoId,
      status: running.has(videoId) ? 'RUNNING' : 'NO MANIFEST',
      branches: '-',
      created: started?.toISOString() ?? '-',
    };
  });
  const known = new Set(ids);
  for (const [videoId, started] of running) {
    if (!known.has(videoId)) {
      rows.push({
        videoId,
        status: 'RUNNING',
        branches: '-',
        created: started?.toISOString() ?? '-',
      });
    }
  }
  // ISO timestamps sort chronologically; rows without a time go last.
  rows.sort((a, b) =>
    (b.created === '-' ? '' : b.created).localeCompare(a.created === '-' ? '' : a.created)
  );
  return rows.slice(0, limit);
};

export const runList = async (ctx: Context, limit: number): Promise<number> => {
  const rows = await collectList(ctx, limit);
  if (rows.length === 0) {
    const none = `no videos yet in s3://${ctx.outputs.outputBucket}/${OUTPUT_PREFIX}`;
    ctx.out.write(`${wrap(none, screenWidth(ctx.out), 2)}\n`);
    return 0;
  }
  ctx.out.write(`${renderListTable(rows, screenWidth(ctx.out))}\n`);
  return 0;
};

/**
 * The figures `metrics` prints (and the console's metrics view shows): the local runtime's
 * EMF records, with videos counted from their manifests.
 */
export const collectMetrics = async (
  ctx: Context,
  endpoint: string | undefined,
  fetchFn: typeof fetch = fetch
): Promise<MetricsView> => {
  // The records first: elsewhere than the local runtime, their error says where the figures are.
  const { records, dropped } = await fetchEmfRecords(endpoint, fetchFn);
  const verdicts = await collectList(ctx, Number.POSITIVE_INFINITY);
  return metricsView(records, dropped, verdicts);
};

/**
 * `metrics`: the local runtime's EMF figures, with videos counted from their
 * manifests (as `list` shows them): a redrive rewrites its video's manifest, so
 * a redriven video counts once, with its latest verdict.
 */
export const runMetrics = async (
  ctx: Context,
  endpoint: string | undefined,
  opts: { json?: boolean },
  fetchFn: typeof fetch = fetch
): Promise<number> => {
  const view = await collectMetrics(ctx, endpoint, fetchFn);
  ctx.out.write(
    `${opts.json ? JSON.stringify(view, null, 2) : renderMetricsView(view, screenWidth(ctx.out))}\n`
  );
  return 0;
};
