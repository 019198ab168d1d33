import 'aws-sdk-client-mock-vitest/extend';
import { S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Progress } from '../src/branch-rows.js';
import type { LiveStatus } from '../src/history.js';
import {
  AppendLiveView,
  executionArnFor,
  exitCodeFor,
  outcomeMessage,
  TtyLiveView,
  type WatchOutcome,
  watchVideo,
} from '../src/watch.js';
import {
  captureOut,
  FakeBucket,
  FakeExecution,
  failed,
  keys,
  manifestFrom,
  OUTPUT_BUCKET,
  planOf,
  STATE_MACHINE_ARN,
  succeeded,
  VIDEO_ID,
} from './helpers.js';

const s3Mock = mockClient(S3Client);
const sfnMock = mockClient(SFNClient);

const target = () => ({
  s3: new S3Client({ region: 'eu-west-1' }),
  sfn: new SFNClient({ region: 'eu-west-1' }),
  outputBucket: OUTPUT_BUCKET,
  stateMachineArn: STATE_MACHINE_ARN,
});

/** A clock that advances only when the watch loop sleeps, running a scenario step per sleep. */
const scripted = (steps: Array<() => void>) => {
  let t = 0;
  let i = 0;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
      steps[i++]?.();
    },
  };
};

describe('executionArnFor', () => {
  it('derives the execution ARN from the state machine ARN and the videoId', () => {
    // Prepare
    const arn = STATE_MACHINE_ARN;

    // Act
    const executionArn = executionArnFor(arn, VIDEO_ID);

    // Assess
    expect(executionArn).toBe(`arn:aws:states:eu-west-1:123456789012:execution:Video:${VIDEO_ID}`);
  });

  it('rejects an ARN that is not a state machine', () => {
    // Prepare
    const arn = 'arn:aws:sns:eu-west-1:123456789012:topic';

    // Act
    const act = () => executionArnFor(arn, VIDEO_ID);

    // Assess
    expect(act).toThrow('not a state machine ARN');
  });
});

describe('exitCodeFor', () => {
  const progress = (manifest?: ReturnType<typeof manifestFrom>): Progress => ({
    videoId: VIDEO_ID,
    execution: { status: 'SUCCEEDED' },
    live: new Map(),
    manifest,
    elapsedMs: 0,
  });
  const ok = succeeded('thumb-1', 'thumbnail', 'k');
  const bad = failed('r-360', 'rendition', 'x');

  it.each([
    ['COMPLETE', [ok], 0],
    ['PARTIAL', [ok, bad], 2],
    ['FAILED', [bad], 1],
  ] as const)('maps a %s manifest to %i', (status, results, code) => {
    // Prepare
    const manifest = manifestFrom(VIDEO_ID, [...results]);
    const outcome = { kind: 'manifest', progress: progress(manifest) } as WatchOutcome;

    // Act
    const exit = exitCodeFor(outcome);

    // Assess
    expect(manifest.status).toBe(status);
    expect(exit).toBe(code);
  });

  it.each(['timeout', 'execution-ended'] as const)('maps %s to 1', (kind) => {
    // Prepare
    const outcome = { kind, progress: progress() } as WatchOutcome;

    // Act
    const exit = exitCodeFor(outcome);

    // Assess
    expect(exit).toBe(1);
    expect(outcomeMessage(outcome, 60_000)).toBeTruthy();
  });
});

describe('watchVideo', () => {
  let bucket: FakeBucket;
  let execution: FakeExecution;

  beforeEach(() => {
    s3Mock.reset();
    sfnMock.reset();
    bucket = new FakeBucket();
    bucket.install(s3Mock);
    execution = new FakeExecution();
    execution.install(sfnMock);
  });

  it('follows a video from no execution through running branches to a PARTIAL manifest', async () => {
    // Prepare
    const [thumb, rendition] = planOf('thumb-01', 'rendition-360p');
    const ok = succeeded('thumb-01', 'thumbnail', `outputs/${VIDEO_ID}/thumbnails/thumb-01.jpg`);
    const bad = failed('rendition-360p', 'rendition', 'ffmpeg exited 1');
    const h = execution.history;
    const clock = scripted([
      () => {
        execution.status = 'RUNNING';
        h.started();
      },
      () => h.planned([thumb, rendition]),
      () => h.branchStarted(thumb, 0).branchStarted(rendition, 1),
      () => h.after(1500).branchSucceeded(thumb),
      () => h.after(800).branchFailed(rendition, 'MediaToolError'),
      () => {
        bucket.put(keys.manifest(), manifestFrom(VIDEO_ID, [ok, bad]));
        execution.status = 'SUCCEEDED';
      },
    ]);
    const seen: string[][] = [];

    // Act
    const outcome = await watchVideo(target(), VIDEO_ID, {
      timeoutMs: 60_000,
      intervalMs: 1000,
      onProgress: (p) =>
        seen.push([
          p.execution.status,
          ...(p.manifest
            ? [`manifest ${p.manifest.status}`]
            : (p.plan?.map((b) => p.live.get(b.id)?.status ?? 'pending') ?? [])),
        ]),
      ...clock,
    });

    // Assess
    expect(seen).toEqual([
      ['NOT_FOUND'],
      ['RUNNING'],
      ['RUNNING', 'pending', 'pending'],
      ['RUNNING', 'running', 'running'],
      ['RUNNING', 'succeeded', 'running'],
      ['RUNNING', 'succeeded', 'failed'],
      ['SUCCEEDED', 'manifest PARTIAL'],
    ]);
    expect(outcome.kind).toBe('manifest');
    expect(exitCodeFor(outcome)).toBe(2);
    expect(sfnMock).toHaveReceivedCommandWith(GetExecutionHistoryCommand, {
      executionArn: executionArnFor(STATE_MACHINE_ARN, VIDEO_ID),
      includeExecutionData: true,
    });
  });

  it('reads no _work/ records, only the manifest key', async () => {
    // Prepare
    const [meta] = planOf('metadata');
    execution.status = 'RUNNING';
    execution.history.started().planned([meta]).branchStarted(meta);
    const ok = succeeded('metadata', 'metadata', `outputs/${VIDEO_ID}/metadata.json`);
    const clock = scripted([
      () => execution.history.branchSucceeded(meta),
      () => bucket.put(keys.manifest(), manifestFrom(VIDEO_ID, [ok])),
    ]);

    // Act
    const outcome = await watchVideo(target(), VIDEO_ID, {
      timeoutMs: 60_000,
      intervalMs: 500,
      ...clock,
    });

    // Assess
    expect(exitCodeFor(outcome)).toBe(0);
    const s3Keys = s3Mock.calls().map((c) => c.args[0].input as { Key?: string; Prefix?: string });
    expect(s3Keys.every((i) => i.Key === `outputs/${VIDEO_ID}/manifest.json`)).toBe(true);
    expect(s3Keys.length).toBeGreaterThan(0);
  });

  it('times out while the execution never shows up', async () => {
    // Prepare
    const clock = scripted([]);

    // Act
    const outcome = await watchVideo(target(), VIDEO_ID, {
      timeoutMs: 5000,
      intervalMs: 2000,
      ...clock,
    });

    // Assess
    expect(outcome.kind).toBe('timeout');
    expect(clock.now()).toBe(5000);
    expect(exitCodeFor(outcome)).toBe(1);
  });

  it('gives up one poll after the execution ended without a manifest', async () => {
    // Prepare
    execution.status = 'FAILED';
    const clock = scripted([]);

    // Act
    const outcome = await watchVideo(target(), VIDEO_ID, {
      timeoutMs: 60_000,
      intervalMs: 1000,
      ...clock,
    });

    // Assess
    expect(outcome.kind).toBe('execution-ended');
    expect(sfnMock).toHaveReceivedCommandTimes(DescribeExecutionCommand, 2);
    expect(outcomeMessage(outcome, 60_000)).toBe(
      'execution ended FAILED without writing a manifest'
    );
  });
});

describe('live views', () => {
  const progress = (elapsedMs: number, thumb: LiveStatus | 'pending'): Progress => ({
    videoId: VIDEO_ID,
    execution: { status: 'RUNNING' },
    plan: planOf('thumb-01', 'rendition-360p'),
    live:
      thumb === 'pending' ? new Map() : new Map([['thumb-01', { id: 'thumb-01', status: thumb }]]),
    elapsedMs,
  });

  it('prints only changed lines when not a TTY', () => {
    // Prepare
    const out = captureOut(false);
    const view = new AppendLiveView(out);

    // Act
    view.update(progress(0, 'pending'));
    view.update(progress(2000, 'running'));
    view.update(progress(3000, 'running'));
    view.update(progress(4000, 'succeeded'));

    // Assess
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toEqual([
      '[    0ms] execution: RUNNING',
      '[    0ms] plan: 2 branches',
      '[    0ms]   · thumb-01        thumbnail  at 2.5s  pending',
      '[    0ms]   · rendition-360p  rendition  360p     pending',
      '[   2.0s]   ▶ thumb-01        thumbnail  at 2.5s  running',
      '[   4.0s]   ✓ thumb-01        thumbnail  at 2.5s  succeeded',
    ]);
  });

  it('rewrites the previous frame in place on a TTY', () => {
    // Prepare
    const out = captureOut(true);
    const view = new TtyLiveView(out);

    // Act
    view.update(progress(0, 'pending'));
    view.update(progress(1000, 'succeeded'));
    view.done();

    // Assess
    const text = out.text();
    expect(text.startsWith('\x1b[?25l\x1b[0J')).toBe(true);
    // The first frame is 5 lines (header, execution, plan, 2 branches): move up 5, clear, redraw.
    expect(text).toContain('\x1b[5F\x1b[0J');
    expect(text).toContain('1 ok, 0 failed, 0 running, 1 pending');
    expect(text.endsWith('\x1b[?25h')).toBe(true);
  });
});
