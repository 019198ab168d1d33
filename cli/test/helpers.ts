import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import {
  type Branch,
  type BranchResult,
  type CostBreakdown,
  type FanOutPolicy,
  type Manifest,
  STATE_NAMES,
} from '../../contract/index.js';
import type { Clients, StackOutputs } from '../src/index.js';
import type { Out } from '../src/watch.js';

export const STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Video';
export const OUTPUT_BUCKET = 'output-bucket';
export const UPLOAD_BUCKET = 'upload-bucket';
export const VIDEO_ID = 'clip-0123456789abcdef';

/**
 * The outputs of the fake deployment the mocked clients answer for. Typed by the CLI's
 * public surface (cli/src/index.ts), so the console's tests use it too.
 */
export const fakeOutputs = (): StackOutputs => ({
  stackName: 'VideoPipeline',
  file: '/dev/null',
  uploadBucket: UPLOAD_BUCKET,
  outputBucket: OUTPUT_BUCKET,
  stateMachineArn: STATE_MACHINE_ARN,
});

/** Clients for the fake deployment: aws-sdk-client-mock stubs answer them; pick any to replace. */
export const fakeClients = (given: Partial<Clients> = {}, region = 'eu-west-1'): Clients => ({
  s3: new S3Client({ region }),
  sfn: new SFNClient({ region }),
  sqs: new SQSClient({ region }),
  endpoint: undefined,
  ...given,
});

/** A writable that records what was written. */
export const captureOut = (isTTY = false, columns = 100): Out & { text: () => string } => {
  const chunks: string[] = [];
  return {
    isTTY,
    columns,
    rows: 40,
    write: (s: string) => {
      chunks.push(s);
      return true;
    },
    text: () => chunks.join(''),
  };
};

/** An in-memory output bucket behind the mocked S3 client. */
export class FakeBucket {
  readonly objects = new Map<string, string>();

  put(key: string, value: unknown): void {
    this.objects.set(key, JSON.stringify(value));
  }

  install(s3: AwsClientStub<S3Client>): void {
    s3.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
      const text = this.objects.get(input.Key);
      if (text === undefined) {
        throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });
      }
      return { Body: { transformToString: async () => text } };
    });
    s3.on(ListObjectsV2Command).callsFake(
      async (input: { Prefix?: string; Delimiter?: string }) => {
        const keys = [...this.objects.keys()]
          .filter((k) => k.startsWith(input.Prefix ?? ''))
          .sort();
        if (input.Delimiter) {
          const prefixes = new Set(
            keys.map((k) => {
              const rest = k.slice((input.Prefix ?? '').length);
              const at = rest.indexOf(input.Delimiter as string);
              return at < 0 ? undefined : `${input.Prefix ?? ''}${rest.slice(0, at + 1)}`;
            })
          );
          prefixes.delete(undefined);
          return {
            CommonPrefixes: [...prefixes].map((Prefix) => ({ Prefix })),
            IsTruncated: false,
          };
        }
        return {
          Contents: keys.map((Key) => ({
            Key,
            ETag: `"${createHash('md5')
              .update(this.objects.get(Key) ?? '')
              .digest('hex')}"`,
          })),
          IsTruncated: false,
        };
      }
    );
  }
}

/** A mocked execution whose status and history the test changes between polls. */
export class FakeExecution {
  status: ExecutionStatus | 'NOT_FOUND' = 'NOT_FOUND';
  readonly history = new HistoryFactory();
  /** Events per GetExecutionHistory page, to exercise pagination. */
  pageSize = 1000;
  readonly describedArns: string[] = [];

  install(sfn: AwsClientStub<SFNClient>): void {
    const missing = () =>
      new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} });
    sfn.on(DescribeExecutionCommand).callsFake(async (input: { executionArn: string }) => {
      this.describedArns.push(input.executionArn);
      if (this.status === 'NOT_FOUND') throw missing();
      return { status: this.status, executionArn: input.executionArn, startDate: new Date() };
    });
    sfn
      .on(GetExecutionHistoryCommand)
      .callsFake(async (input: { nextToken?: string; maxResults?: number }) => {
        if (this.status === 'NOT_FOUND') throw missing();
        const size = Math.min(this.pageSize, input.maxResults ?? 100);
        const start = Number(input.nextToken ?? 0);
        const events = this.history.events.slice(start, start + size);
        const more = start + size < this.history.events.length;
        return { events, nextToken: more ? String(start + size) : undefined };
      });
  }
}

/**
 * Builds execution history in the AWS shape (GetExecutionHistory with
 * includeExecutionData): `<Type>StateEntered/Exited` events whose details
 * carry the state name and the JSON input or output.
 */
export class HistoryFactory {
  readonly events: HistoryEvent[] = [];
  private clock = Date.parse('2025-01-01T00:00:00.000Z');

  /** Moves the event clock on, so the next events are `ms` later. */
  after(ms: number): this {
    this.clock += ms;
    return this;
  }

  private push(type: string, details: Partial<HistoryEvent>): this {
    const id = this.events.length + 1;
    this.events.push({
      id,
      previousEventId: id - 1,
      timestamp: new Date(this.clock),
      type,
      ...details,
    } as HistoryEvent);
    return this;
  }

  private entered(type: string, name: string, input: unknown): this {
    return this.push(`${type}StateEntered`, {
      stateEnteredEventDetails: {
        name,
        input: JSON.stringify(input),
        inputDetails: { truncated: false },
      },
    });
  }

  private exited(type: string, name: string, output: unknown): this {
    return this.push(`${type}StateExited`, {
      stateExitedEventDetails: {
        name,
        output: JSON.stringify(output),
        outputDetails: { truncated: false },
      },
    });
  }

  started(videoId = VIDEO_ID): this {
    return this.push('ExecutionStarted', {
      executionStartedEventDetails: { input: JSON.stringify({ videoId, source: SOURCE }) },
    });
  }

  /**
   * Probe and Plan run; Plan's output is the whole state with `$.plan` (and `$.policy` when given).
   * `segmentItems`: the plan wrote that many items for the Segments map (`plan.segments`).
   */
  planned(
    branches: Branch[],
    videoId = VIDEO_ID,
    policy?: FanOutPolicy,
    segmentItems?: number
  ): this {
    const state = { videoId, source: SOURCE, probe: PROBE, ...(policy && { policy }) };
    const plan = {
      branches,
      ...(segmentItems !== undefined && {
        segments: { key: `outputs/${videoId}/_work/segments/items.json`, count: segmentItems },
      }),
    };
    this.entered('Task', 'Probe', { videoId, source: SOURCE });
    this.exited('Task', 'Probe', state);
    this.entered('Task', 'Plan', state);
    this.exited('Task', 'Plan', { ...state, plan });
    if (segmentItems === undefined) this.entered('Map', 'FanOut', { ...state, plan });
    return this;
  }

  /** The Segments Distributed Map started its Map Run. */
  mapRunStarted(mapRunArn: string): this {
    return this.push('MapRunStarted', { mapRunStartedEventDetails: { mapRunArn } });
  }

  /** One Map iteration reaches the branch's `Run<Kind>` task. */
  branchStarted(branch: Branch, index = 0, videoId = VIDEO_ID): this {
    this.push('MapIterationStarted', {
      mapIterationStartedEventDetails: { name: 'FanOut', index },
    });
    this.entered('Choice', 'RouteBranch', { videoId, source: SOURCE, probe: PROBE, branch });
    this.exited('Choice', 'RouteBranch', { videoId, source: SOURCE, probe: PROBE, branch });
    return this.entered('Task', STATE_NAMES.runBranch(branch.kind), {
      videoId,
      source: SOURCE,
      probe: PROBE,
      branch,
    });
  }

  /**
   * The task timed out (AWS: no exit of the caught task), its Catch ran the
   * fallback kind in a Parallel, and FellBack<Kind> reported both refs.
   */
  branchFellBack(
    branch: Branch,
    fallbackKind: string,
    fallbackStatus: 'SUCCEEDED' | 'FAILED'
  ): this {
    const fallback = { id: `${branch.id}-fallback`, kind: fallbackKind, origin: branch };
    this.push('TaskTimedOut', {
      taskTimedOutEventDetails: {
        resourceType: 'lambda',
        resource: 'invoke',
        error: 'States.Timeout',
      },
    });
    this.entered('Task', STATE_NAMES.runBranch(fallbackKind), {
      videoId: VIDEO_ID,
      source: SOURCE,
      probe: PROBE,
      branch: fallback,
    });
    this.after(1000);
    const fallbackRef = { id: fallback.id, status: fallbackStatus };
    this.exited('Task', STATE_NAMES.runBranch(fallbackKind), fallbackRef);
    return this.exited('Pass', STATE_NAMES.fellBack(branch.kind), {
      id: branch.id,
      status: 'FAILED',
      error: 'States.Timeout',
      fallback: fallbackRef,
    });
  }

  /** The Wave's FanOut leaves a segmented rendition to the Joins map: its Deferred pass exits SKIPPED. */
  branchDeferred(branch: Branch): this {
    return this.exited('Pass', STATE_NAMES.deferred, { id: branch.id, status: 'SKIPPED' });
  }

  /** The Joins map reaches the deferred branch's `JoinRun<Kind>` task. */
  joinStarted(branch: Branch): this {
    return this.entered('Task', `${STATE_NAMES.joinPrefix}${STATE_NAMES.runBranch(branch.kind)}`, {
      videoId: VIDEO_ID,
      source: SOURCE,
      probe: PROBE,
      branch,
    });
  }

  /** The join failed and its Catch ran the Joins map's BranchFailed pass (AWS: no exit of the task). */
  joinFailed(branch: Branch, error: string): this {
    return this.exited('Pass', `${STATE_NAMES.joinPrefix}${STATE_NAMES.branchFailed}`, {
      id: branch.id,
      status: 'FAILED',
      error,
    });
  }

  branchSucceeded(branch: Branch): this {
    return this.exited('Task', STATE_NAMES.runBranch(branch.kind), {
      id: branch.id,
      status: 'SUCCEEDED',
    });
  }

  /**
   * The task failed and its Catch ran the BranchFailed pass. `taskExits`:
   * the local interpreter also exits the caught task (with `$.error`); AWS does not.
   */
  branchFailed(branch: Branch, error: string, taskExits = false): this {
    if (taskExits) {
      this.exited('Task', STATE_NAMES.runBranch(branch.kind), {
        videoId: VIDEO_ID,
        source: SOURCE,
        probe: PROBE,
        branch,
        error: { Error: error, Cause: 'boom' },
      });
    }
    this.push('TaskFailed', {
      taskFailedEventDetails: { resourceType: 'lambda', resource: 'invoke', error, cause: 'boom' },
    });
    this.entered('Pass', STATE_NAMES.branchFailed, {
      branch,
      error: { Error: error, Cause: 'boom' },
    });
    return this.exited('Pass', STATE_NAMES.branchFailed, {
      id: branch.id,
      status: 'FAILED',
      error,
    });
  }
}

const SOURCE = { bucket: UPLOAD_BUCKET, key: 'uploads/clip.mp4', etag: 'abc' };
const PROBE = {
  durationSec: 8,
  width: 1280,
  height: 720,
  videoCodec: 'h264',
  audioCodec: 'aac',
  frameRate: 25,
  formatName: 'mp4',
  sizeBytes: 1_000_000,
  bitRate: 1_000_000,
};

/** Branches as the plan writes them: thumb-* thumbnails, rendition-<h>p, metadata. */
export const planOf = (...ids: string[]): Branch[] =>
  ids.map((id) =>
    id.startsWith('thumb')
      ? { id, kind: 'thumbnail', atSec: 2.5, width: 320 }
      : id === 'metadata'
        ? { id, kind: 'metadata' }
        : { id, kind: 'rendition', height: Number(/(\d+)p$/.exec(id)?.[1] ?? 360) }
  );

export const succeeded = (id: string, kind: string, key: string): BranchResult => ({
  id,
  kind,
  status: 'SUCCEEDED',
  artifacts: [{ key, contentType: 'image/jpeg', bytes: 1234 }],
  error: null,
  durationMs: 1500,
  finishedAt: '2025-01-01T00:00:02.000Z',
});

export const failed = (id: string, kind: string, message: string): BranchResult => ({
  id,
  kind,
  status: 'FAILED',
  artifacts: [],
  error: { name: 'MediaToolError', message },
  durationMs: 800,
  finishedAt: '2025-01-01T00:00:02.000Z',
});

export const costBreakdownFactory = (): CostBreakdown => ({
  currency: 'USD',
  region: 'us-east-1',
  pricesAsOf: '2026-11-29',
  lambda: [
    {
      function: 'probe',
      memoryMiB: 1024,
      architecture: 'x86_64',
      invocations: 1,
      unmeasured: 0,
      billedMs: 800,
      gbSeconds: 0.8,
      computeUsd: 0.0000133334,
    },
    {
      function: 'rendition',
      memoryMiB: 2048,
      architecture: 'x86_64',
      invocations: 2,
      unmeasured: 1,
      billedMs: 120,
      gbSeconds: 0.24,
      computeUsd: 0.000004,
    },
  ],
  stateTransitions: { count: 15, usd: 0.000375 },
  requests: {
    lambda: { count: 7, usd: 0.0000014 },
    sqs: { count: 6, usd: 0.0000024 },
    sns: { count: 2, usd: 0.000001 },
    s3Put: { count: 12, usd: 0.00006 },
    s3Get: { count: 11, usd: 0.0000044 },
  },
});

export const manifestFrom = (
  videoId: string,
  results: BranchResult[],
  overrides: Partial<Manifest> = {}
): Manifest => {
  const ok = results.filter((r) => r.status === 'SUCCEEDED').length;
  const status = ok === results.length ? 'COMPLETE' : ok === 0 ? 'FAILED' : 'PARTIAL';
  return {
    schemaVersion: 7,
    videoId,
    tenant: 'default',
    source: SOURCE,
    status,
    reason:
      status === 'COMPLETE' ? null : `${results.length - ok} of ${results.length} branches failed`,
    probe: null,
    policy: { mode: 'parallel', await: 'all' },
    branches: results.map((r) => ({ ...r, role: 'secondary' as const, fallbackFor: null })),
    counts: { total: results.length, succeeded: ok, failed: results.length - ok },
    fanOut: {
      sent: results.length,
      succeeded: ok,
      failed: results.length - ok,
      timedOut: 0,
      fellBack: 0,
      skipped: 0,
    },
    hls: null,
    estimatedCostUsd: 0.000467,
    costBreakdown: costBreakdownFactory(),
    createdAt: '2025-01-01T00:00:03.000Z',
    redrive: null,
    ending: null,
    execution: null,
    ...overrides,
  };
};

export const keys = {
  manifest: (videoId = VIDEO_ID) => `outputs/${videoId}/manifest.json`,
};

/** Removes ANSI escapes, so widths are measured as the terminal shows them. */
export const stripAnsi = (s: string): string =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ESC is the point
  s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

/** Lines wider than the terminal, measured in characters after stripping ANSI. */
export const linesWiderThan = (text: string, columns: number): string[] =>
  stripAnsi(text)
    .split('\n')
    .filter((l) => [...l].length > columns);

/**
 * Text as it was before wrapping: each continuation line (indented) joined to
 * the line before, with a space unless that line ended at a path break
 * (`/`, `-`, `.`, `_`), where a long token was split. A heuristic: use it on
 * text with no sentence ending in `.` at a line end, and no ARN split at `:`.
 */
export const unwrap = (text: string): string =>
  text.replace(/([^\n])\n +/g, (_, last: string) => (/[/\-._]/.test(last) ? last : `${last} `));

/** The tokens (space-separated) of `source` that fit in `fits` columns but no line of `rendered` holds whole. */
export const brokenTokens = (source: string, rendered: string, fits: number): string[] => {
  const lines = stripAnsi(rendered).split('\n');
  return source
    .split(/\s+/)
    .filter((t) => t && [...t].length <= fits)
    .filter((t) => !lines.some((l) => l.includes(t)));
};

/** Text without whitespace: compares wrapped CLI output with a message however it broke. */
export const squash = (s: string): string => s.replace(/\s+/g, '');
