import 'aws-sdk-client-mock-vitest/extend';
import { S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Progress } from '../src/render.js';
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
    results: new Map(),
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

  it('follows a video from no execution through pending branches to a PARTIAL manifest', async () => {
    // Prepare
    const ok = succeeded('thumb-1', 'thumbnail', `outputs/${VIDEO_ID}/thumbnails/thumb-1.jpg`);
    const bad = failed('r-360', 'rendition', 'ffmpeg exited 1');
    const clock = scripted([
      () => {
        execution.status = 'RUNNING';
      },
      () => bucket.put(keys.plan(), planOf('thumb-1', 'r-360')),
      () => bucket.put(keys.branch('thumb-1'), ok),
      () => bucket.put(keys.branch('r-360'), bad),
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
            : (p.plan?.tasks.map((t) => p.results.get(t.id)?.status ?? 'pending') ?? [])),
        ]),
      ...clock,
    });

    // Assess
    expect(seen).toEqual([
      ['NOT_FOUND'],
      ['RUNNING'],
      ['RUNNING', 'pending', 'pending'],
      ['RUNNING', 'SUCCEEDED', 'pending'],
      ['RUNNING', 'SUCCEEDED', 'FAILED'],
      ['SUCCEEDED', 'manifest PARTIAL'],
    ]);
    expect(outcome.kind).toBe('manifest');
    expect(exitCodeFor(outcome)).toBe(2);
    expect(sfnMock).toHaveReceivedCommandWith(DescribeExecutionCommand, {
      executionArn: executionArnFor(STATE_MACHINE_ARN, VIDEO_ID),
    });
  });

  it('ends with exit code 0 on a COMPLETE manifest', async () => {
    // Prepare
    const ok = succeeded('metadata', 'metadata', `outputs/${VIDEO_ID}/metadata.json`);
    execution.status = 'RUNNING';
    bucket.put(keys.plan(), planOf('metadata'));
    const clock = scripted([
      () => bucket.put(keys.branch('metadata'), ok),
      () => bucket.put(keys.manifest(), manifestFrom(VIDEO_ID, [ok])),
    ]);

    // Act
    const outcome = await watchVideo(target(), VIDEO_ID, {
      timeoutMs: 60_000,
      intervalMs: 500,
      ...clock,
    });

    // Assess
    expect(outcome.kind).toBe('manifest');
    expect(exitCodeFor(outcome)).toBe(0);
  });

  it('re-reads a branch result only when its ETag changes', async () => {
    // Prepare
    execution.status = 'RUNNING';
    bucket.put(keys.plan(), planOf('thumb-1'));
    bucket.put(keys.branch('thumb-1'), failed('thumb-1', 'thumbnail', 'first try'));
    const retried = succeeded('thumb-1', 'thumbnail', 'outputs/x/thumbnails/thumb-1.jpg');
    const statuses: string[] = [];
    const clock = scripted([
      () => undefined,
      () => bucket.put(keys.branch('thumb-1'), retried),
      () => bucket.put(keys.manifest(), manifestFrom(VIDEO_ID, [retried])),
    ]);

    // Act
    await watchVideo(target(), VIDEO_ID, {
      timeoutMs: 60_000,
      intervalMs: 1000,
      onProgress: (p) =>
        statuses.push(p.manifest ? 'manifest' : (p.results.get('thumb-1')?.status ?? '-')),
      ...clock,
    });

    // Assess
    expect(statuses).toEqual(['FAILED', 'FAILED', 'SUCCEEDED', 'manifest']);
    const branchGets = s3Mock
      .calls()
      .filter((c) => (c.args[0].input as { Key?: string }).Key === keys.branch('thumb-1'));
    expect(branchGets).toHaveLength(2);
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
  const progress = (elapsedMs: number, status: 'pending' | 'SUCCEEDED'): Progress => ({
    videoId: VIDEO_ID,
    execution: { status: 'RUNNING' },
    plan: planOf('thumb-1', 'r-360'),
    results:
      status === 'SUCCEEDED'
        ? new Map([['thumb-1', succeeded('thumb-1', 'thumbnail', 'k.jpg')]])
        : new Map(),
    elapsedMs,
  });

  it('prints only changed lines when not a TTY', () => {
    // Prepare
    const out = captureOut(false);
    const view = new AppendLiveView(out);

    // Act
    view.update(progress(0, 'pending'));
    view.update(progress(2000, 'pending'));
    view.update(progress(4000, 'SUCCEEDED'));

    // Assess
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toEqual([
      '[    0ms] execution: RUNNING',
      '[    0ms] plan: 2 branches',
      '[    0ms]   · thumb-1  thumbnail  pending',
      '[    0ms]   · r-360    rendition  pending',
      '[   4.0s]   ✓ thumb-1  thumbnail  succeeded  1.5s',
    ]);
  });

  it('rewrites the previous frame in place on a TTY', () => {
    // Prepare
    const out = captureOut(true);
    const view = new TtyLiveView(out);

    // Act
    view.update(progress(0, 'pending'));
    view.update(progress(1000, 'SUCCEEDED'));
    view.done();

    // Assess
    const text = out.text();
    expect(text.startsWith('\x1b[?25l\x1b[0J')).toBe(true);
    // The first frame is 5 lines (header, execution, plan, 2 branches): move up 5, clear, redraw.
    expect(text).toContain('\x1b[5F\x1b[0J');
    expect(text).toContain('1 ok, 0 failed, 1 pending');
    expect(text.endsWith('\x1b[?25h')).toBe(true);
  });
});
