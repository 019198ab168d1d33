import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { type Manifest, ManifestSchema, manifestKey } from '../../contract/index.js';
import { isNotFound } from './aws.js';
import { countRows, type ExecutionState, type Progress, rowsOf } from './branch-rows.js';
import { CliError } from './config.js';
import { formatDuration } from './format.js';
import { progressFromHistory, readHistory } from './history.js';
import { NON_TTY_WIDTH, screenWidth, textWidth, wrap } from './layout.js';
import { appendOnlyChanges, liveEntries, ttyFrame } from './live-screen.js';
import { type ChildCache, type MapRunCounts, readSegmentStage } from './segment-progress.js';
import { renderExecution } from './status-screen.js';

export interface WatchTarget {
  s3: S3Client;
  sfn: SFNClient;
  outputBucket: string;
  stateMachineArn: string;
}

/** The execution is named after the videoId, so its ARN is derivable from the state machine's. */
export const executionArnFor = (stateMachineArn: string, videoId: string): string => {
  if (!stateMachineArn.includes(':stateMachine:')) {
    throw new CliError(`not a state machine ARN: ${stateMachineArn}`);
  }
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${videoId}`;
};

/** Any schema with zod's safeParse (classic or mini), so the CLI does not care which flavour. */
interface Schema<T> {
  safeParse(value: unknown):
    | { success: true; data: T }
    | {
        success: false;
        error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> };
      };
}

const getJson = async <T>(
  s3: S3Client,
  bucket: string,
  key: string,
  schema: Schema<T>
): Promise<T | undefined> => {
  let text: string | undefined;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = await res.Body?.transformToString();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    throw new CliError(`s3://${bucket}/${key} is not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join('.') || '(root)';
    throw new CliError(
      `s3://${bucket}/${key} does not match its schema: ${path}: ${issue?.message}`
    );
  }
  return parsed.data;
};

export const readManifest = (
  s3: S3Client,
  bucket: string,
  videoId: string
): Promise<Manifest | undefined> => getJson(s3, bucket, manifestKey(videoId), ManifestSchema);

/** The Map Runs' item counts added up (one Segments map, or one per state that has one). */
const sumItems = (runs: readonly MapRunCounts[]): MapRunCounts['items'] =>
  runs.reduce(
    (sum, r) => ({
      total: sum.total + r.items.total,
      succeeded: sum.succeeded + r.items.succeeded,
      failed: sum.failed + r.items.failed,
      running: sum.running + r.items.running,
      pending: sum.pending + r.items.pending,
    }),
    { total: 0, succeeded: 0, failed: 0, running: 0, pending: 0 }
  );

export const describeExecution = async (
  sfn: SFNClient,
  executionArn: string
): Promise<ExecutionState> => {
  try {
    const res = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return { status: res.status ?? 'UNKNOWN', error: res.error, cause: res.cause };
  } catch (err) {
    // The starter Lambda has not started it yet (S3 -> SNS -> SQS takes a few seconds).
    if ((err as Error).name === 'ExecutionDoesNotExist') return { status: 'NOT_FOUND' };
    throw err;
  }
};

/**
 * Reads everything published about a video once (no clock: elapsedMs is 0):
 * the execution, its history and the manifest.
 */
export const createSnapshotter = (t: WatchTarget, videoId: string) => {
  const executionArn = executionArnFor(t.stateMachineArn, videoId);
  const children: ChildCache = new Map();
  return async (): Promise<Progress> => {
    const [execution, manifest] = await Promise.all([
      describeExecution(t.sfn, executionArn),
      readManifest(t.s3, t.outputBucket, videoId),
    ]);
    // The plan labels the manifest's rows too, so the history is read either way.
    const events = execution.status === 'NOT_FOUND' ? [] : await readHistory(t.sfn, executionArn);
    const history = progressFromHistory(events);
    // Segment progress only while it can change: the manifest already says how it ended.
    const stage =
      history.plan && !manifest
        ? await readSegmentStage(t, t.outputBucket, videoId, events, children)
        : undefined;
    return {
      videoId,
      execution,
      plan: history.plan,
      live: history.branches,
      manifest,
      elapsedMs: 0,
      ...(stage && {
        segments: new Map(
          stage.renditions.map((r) => [
            r.id,
            // Without the Map Run's children only the files and the join are known per rendition.
            stage.childExecutions === 'listed' ? r : { done: r.done, total: r.total, join: r.join },
          ])
        ),
        ...(stage.audio && { audio: stage.audio }),
        ...(stage.audioParts && { audioParts: stage.audioParts }),
        ...(stage.mapRuns.length > 0 && { segmentItems: sumItems(stage.mapRuns) }),
      }),
    };
  };
};

export type WatchOutcome =
  | { kind: 'manifest'; progress: Progress & { manifest: Manifest } }
  | { kind: 'timeout'; progress: Progress }
  | { kind: 'execution-ended'; progress: Progress };

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

export interface WatchOptions {
  timeoutMs: number;
  intervalMs: number;
  onProgress?: (p: Progress) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls until the manifest exists, the timeout passes, or the execution has
 * ended without one (given one extra poll, since the aggregator writes the
 * manifest just before the execution ends).
 */
export const watchVideo = async (
  target: WatchTarget,
  videoId: string,
  opts: WatchOptions
): Promise<WatchOutcome> => {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  const snapshot = createSnapshotter(target, videoId);
  const start = now();
  let terminalPolls = 0;
  for (;;) {
    const progress = { ...(await snapshot()), elapsedMs: now() - start };
    opts.onProgress?.(progress);
    if (progress.manifest)
      return { kind: 'manifest', progress: { ...progress, manifest: progress.manifest } };
    if (TERMINAL.has(progress.execution.status) && ++terminalPolls >= 2) {
      return { kind: 'execution-ended', progress };
    }
    if (now() - start >= opts.timeoutMs) return { kind: 'timeout', progress };
    await sleep(Math.min(opts.intervalMs, Math.max(0, opts.timeoutMs - (now() - start))));
  }
};

/** 0 COMPLETE, 2 PARTIAL, 1 FAILED, timeout, or an execution that ended without a manifest. */
export const exitCodeFor = (outcome: WatchOutcome): number => {
  if (outcome.kind !== 'manifest') return 1;
  return manifestExitCode(outcome.progress.manifest);
};

export const manifestExitCode = (m: Manifest): number =>
  m.status === 'COMPLETE' ? 0 : m.status === 'PARTIAL' ? 2 : 1;

export const outcomeMessage = (outcome: WatchOutcome, timeoutMs: number): string | undefined => {
  if (outcome.kind === 'timeout') {
    const hint =
      outcome.progress.execution.status === 'NOT_FOUND'
        ? 'no execution was ever started: check the start-workflow function and its dead-letter queue'
        : `the pipeline may still finish: check with \`npm run status -- ${outcome.progress.videoId}\``;
    return `timed out after ${formatDuration(timeoutMs)} waiting for the manifest (${hint})`;
  }
  if (outcome.kind === 'execution-ended') {
    return `execution ended ${outcome.progress.execution.status} without writing a manifest`;
  }
  return undefined;
};

// ---- live views --------------------------------------------------------------

export interface Out {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

/** One message, wrapped to the terminal with its continuation lines indented. */
export const say = (out: Out, text: string): void => {
  out.write(`${wrap(text, screenWidth(out), 2)}\n`);
};

export interface LiveView {
  update(p: Progress): void;
  done(): void;
}

/** Rewrites one block in place with ANSI cursor moves. */
export class TtyLiveView implements LiveView {
  private lines = 0;
  constructor(private readonly out: Out) {
    out.write('\x1b[?25l'); // hide the cursor while redrawing
  }
  update(p: Progress): void {
    // The terminal's own width even under 80 columns: a frame the terminal wraps
    // itself takes more lines than were counted, and cursor-up rewriting breaks.
    const frame = ttyFrame(p, this.out.columns || NON_TTY_WIDTH, this.out.rows || 24);
    const up = this.lines > 0 ? `\x1b[${this.lines}F` : '';
    this.out.write(`${up}\x1b[0J${frame.join('\n')}\n`);
    this.lines = frame.length;
  }
  done(): void {
    this.out.write('\x1b[?25h');
  }
}

/** Prints only new or changed lines, with a heartbeat so CI logs show it is alive. */
export class AppendLiveView implements LiveView {
  private readonly printed = new Map<string, string>();
  private lastWrite = Number.NEGATIVE_INFINITY;
  constructor(
    private readonly out: Out,
    private readonly heartbeatMs = 30_000
  ) {}
  update(p: Progress): void {
    const stamp = `[${formatDuration(p.elapsedMs).padStart(7)}]`;
    const width = screenWidth(this.out) - textWidth(stamp) - 1;
    const lines = appendOnlyChanges(this.printed, liveEntries(p, width));
    if (lines.length === 0 && p.elapsedMs - this.lastWrite >= this.heartbeatMs) {
      const c = countRows(rowsOf(p));
      lines.push(
        wrap(
          p.plan
            ? `still waiting: ${c.succeeded} ok, ${c.failed} failed, ${c.running} running, ${c.pending} pending`
            : `still waiting: ${renderExecution(p.execution, Number.POSITIVE_INFINITY)}, no plan yet`,
          width,
          2
        )
      );
    }
    if (lines.length === 0) return;
    this.lastWrite = p.elapsedMs;
    // An entry's continuation lines sit under its text, not under the stamp.
    const under = ' '.repeat(textWidth(stamp) + 1);
    this.out.write(lines.map((l) => `${stamp} ${l.replace(/\n/g, `\n${under}`)}\n`).join(''));
  }
  done(): void {}
}

export const createLiveView = (out: Out): LiveView =>
  out.isTTY ? new TtyLiveView(out) : new AppendLiveView(out);
