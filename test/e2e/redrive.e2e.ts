import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { squash } from '../../cli/test/helpers.js';
import { FAIL_ONCE_METADATA, type Manifest, STATE_NAMES } from '../../contract/index.js';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import { REPO_ROOT } from '../../scripts/project.js';
import { poll } from '../helpers/poll.js';
import { describeE2E } from './guard.js';
import { clientsFor, readOutputs } from './target.js';
import { manifestIfWritten, putUpload } from './videos.js';

const target = inject('e2eTarget');
const runId = `${Date.now().toString(36)}`;

/**
 * Where the target cannot stop an execution before its verdict, the case cannot be set up.
 * Seen on LocalStack 4.14.0 (2026-11-29, own port): StopExecution during the Probe's Lambda
 * task ended the execution FAILED with `Exception: 'dict' object has no attribute 'region'`
 * instead of ABORTED, and on another run the stop was lost and the execution SUCCEEDED.
 */
const STOP_EXECUTION_GAP: Record<string, string | undefined> = {
  localstack:
    "LocalStack 4.14.0's StopExecution does not abort an execution whose Lambda task is running " +
    "(it ends FAILED with \"Exception: 'dict' object has no attribute 'region'\", or the stop is lost " +
    'and the execution SUCCEEDS); the fallback path is covered by test/unit/redrive.test.ts',
};

/**
 * The CLI reads cdk's `{ "<Stack>": {…} }` shape; the local runtime's file is flat.
 * Written once, on first use.
 */
let cliOutputsFile: string | undefined;
const outputsForCli = () => {
  if (!cliOutputsFile) {
    cliOutputsFile = join(mkdtempSync(join(tmpdir(), 'e2e-redrive-')), 'outputs.json');
    writeFileSync(
      cliOutputsFile,
      JSON.stringify({ VideoPipeline: readOutputs(target.outputsFile) })
    );
  }
  return cliOutputsFile;
};

/** Runs the real CLI (`npm run redrive -- …`) against the target; never throws on exit codes. */
const cli = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
      [
        join(REPO_ROOT, 'cli', 'src', 'main.ts'),
        '--outputs',
        outputsForCli(),
        ...(target.endpoint ? ['--endpoint-url', target.endpoint] : []),
        'redrive',
        ...args,
      ],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          ...(target.endpoint ? { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' } : {}),
        },
        timeout: 600_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      }
    );
  });

describeE2E(target)(`redrive end to end on ${target.name}`, () => {
  let out: ReturnType<typeof readOutputs>;
  let aws: ReturnType<typeof clientsFor>;

  beforeAll(() => {
    out = readOutputs(target.outputsFile);
    aws = clientsFor(target);
  });
  afterAll(() => cleanupMedia());

  const readManifest = (videoId: string): Promise<Manifest | undefined> =>
    manifestIfWritten(aws.s3, out.OutputBucketName, videoId);
  const waitForManifest = (videoId: string, accept: (m: Manifest) => boolean = () => true) =>
    poll(
      `manifest of ${videoId}`,
      async () => {
        const m = await readManifest(videoId);
        return m && accept(m) ? m : undefined;
      },
      180_000
    );

  const upload = (file: string, name: string, metadata?: Record<string, string>) =>
    putUpload(aws.s3, out.UploadBucketName, `uploads/e2e/${runId}/${name}`, file, metadata);

  const stamp = async (key: string) => {
    const head = await aws.s3.send(
      new HeadObjectCommand({ Bucket: out.OutputBucketName, Key: key })
    );
    return { etag: head.ETag, lastModified: head.LastModified?.toISOString() };
  };

  it('redrive dlq: a starter message in the DLQ goes back to the starter queue and is consumed', async () => {
    // Prepare: an upload, and the starter's message for it in the DLQ, as the starter leaves
    // it after its 100 receives (reaching that for real takes hours of backpressure). The
    // event names the upload exactly (ETag, version): the starter confirms every event with
    // S3 before acting and drops one S3 does not confirm, so an event without them would be
    // rejected, not run. Moved back, it is confirmed and found already started (a duplicate).
    const clip = await makeClip({ seconds: 3, width: 320, height: 240 });
    const { source, videoId: uploadVideoId } = await upload(clip, 'from-dlq.mp4');
    await waitForManifest(uploadVideoId);
    const event = {
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          eventTime: new Date().toISOString(),
          eventName: 'ObjectCreated:Put',
          s3: {
            bucket: { name: source.bucket },
            object: {
              key: source.key,
              size: readFileSync(clip).length,
              eTag: source.etag,
              ...(source.versionId ? { versionId: source.versionId } : {}),
            },
          },
        },
      ],
    };
    await aws.sqs.send(
      new SendMessageCommand({
        QueueUrl: out.StartWorkflowDeadLetterQueueUrl,
        MessageBody: JSON.stringify(event),
      })
    );
    await poll(
      'the message to be visible in the DLQ',
      async () => {
        const a = await aws.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: out.StartWorkflowDeadLetterQueueUrl,
            AttributeNames: ['ApproximateNumberOfMessages'],
          })
        );
        return Number(a.Attributes?.ApproximateNumberOfMessages ?? 0) > 0 ? true : undefined;
      },
      30_000
    );

    // Act
    const run = await cli(['dlq', 'StartWorkflowDeadLetterQueue']);

    // Assess: the CLI followed the task to its end, and the message was processed.
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('started message move task (StartMessageMoveTask)');
    expect(run.stdout).toMatch(/COMPLETED: \d+ of \d+ moved/);
    const moved = Number(/moved (\d+) message\(s\) \(COMPLETED\)/.exec(run.stdout)?.[1]);
    expect(moved).toBeGreaterThanOrEqual(1);
    await poll(
      'the starter queue to consume the moved message',
      async () => {
        const a = await aws.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: out.StartWorkflowQueueUrl,
            AttributeNames: [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
            ],
          })
        );
        const pending =
          Number(a.Attributes?.ApproximateNumberOfMessages ?? 0) +
          Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
        return pending === 0 ? true : undefined;
      },
      60_000
    );
    const manifest = await waitForManifest(uploadVideoId);
    expect(manifest.status).toBe('COMPLETE');
    expect(manifest.source.key).toBe(source.key);
    // The moved message is not left in the DLQ (other cases' poison messages may come back).
    const left = await aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: out.StartWorkflowDeadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 0,
      })
    );
    expect((left.Messages ?? []).some((m) => m.Body?.includes(source.key))).toBe(false);
  });

  it('redrive dlq: an unknown queue is refused with the list of DLQs', async () => {
    // Act
    const run = await cli(['dlq', 'NoSuchQueue']);
    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('unknown dead-letter queue "NoSuchQueue"');
    expect(run.stderr).toContain('StartWorkflowDeadLetterQueue');
    expect(run.stderr).toContain('UploadAuditDeadLetterQueue');
  });

  it('redrive video: a PARTIAL video re-runs its failed branch only and becomes COMPLETE', async () => {
    // Prepare: thumb-02 fails on its first run (the test-fail-once hook), so the video is PARTIAL.
    const clip = await makeClip({ seconds: 3, width: 320, height: 240 });
    const { videoId } = await upload(clip, 'redrive-partial.mp4', {
      [FAIL_ONCE_METADATA]: 'thumb-02',
    });
    const before = await waitForManifest(videoId);
    expect(before.status).toBe('PARTIAL');
    expect(before.branches.filter((b) => b.status === 'FAILED').map((b) => b.id)).toEqual([
      'thumb-02',
    ]);
    expect(before.branches.find((b) => b.id === 'thumb-02')?.error?.name).toBe('InjectedFailure');
    const kept = before.branches.filter((b) => b.status === 'SUCCEEDED');
    const keys = kept.flatMap((b) => b.artifacts.map((a) => a.key));
    expect(keys.length).toBeGreaterThan(0);
    const stampsBefore = await Promise.all(keys.map(stamp));

    // Act
    const run = await cli(['video', videoId]);

    // Assess: the path is printed, the manifest is rewritten COMPLETE with the redrive note,
    // the successful branches' entries and artifacts are untouched.
    expect(run.code, run.stderr).toBe(0);
    // The CLI wraps its messages at 80 columns (stdout is not a TTY): compared without whitespace.
    expect(squash(run.stdout)).toContain(
      squash(`path: new execution ${videoId}-redrive-1 for branches thumb-02`)
    );
    expect(run.stdout).toContain('manifest COMPLETE');
    const after = await waitForManifest(videoId, (m) => m.redrive !== null);
    expect(after.status).toBe('COMPLETE');
    expect(after.reason).toBeNull();
    expect(after.redrive).toEqual({
      attempt: 1,
      branches: ['thumb-02'],
      previousStatus: 'PARTIAL',
      executionName: `${videoId}-redrive-1`,
    });
    expect(after.branches.map((b) => b.id)).toEqual(before.branches.map((b) => b.id));
    for (const b of kept) expect(after.branches.find((a) => a.id === b.id)).toEqual(b);
    const redriven = after.branches.find((b) => b.id === 'thumb-02');
    expect(redriven?.status).toBe('SUCCEEDED');
    for (const a of redriven?.artifacts ?? []) await stamp(a.key);
    expect(await Promise.all(keys.map(stamp))).toEqual(stampsBefore);
    expect(after.counts).toEqual({
      total: before.counts.total,
      succeeded: before.counts.total,
      failed: 0,
    });

    // Act again: nothing left to do.
    const again = await cli(['video', videoId]);
    // Assess
    expect(again.code).toBe(1);
    expect(squash(again.stderr)).toContain(
      squash(`video ${videoId} is already COMPLETE: nothing to redrive`)
    );
  });

  it('redrive video: an unknown video is refused', async () => {
    // Act
    const run = await cli(['video', `no-such-video-${runId}`]);
    // Assess
    expect(run.code).toBe(1);
    expect(squash(run.stderr)).toContain(squash(`unknown video no-such-video-${runId}`));
  });

  const stopGap = STOP_EXECUTION_GAP[target.name];
  if (stopGap) console.warn(`[redrive e2e] SKIPPED on ${target.name} (known gap): ${stopGap}`);
  it.skipIf(Boolean(stopGap))(
    'redrive video: an execution stopped mid-FanOut is redriven (RedriveExecution where the target has it)',
    async () => {
      // Prepare: a video whose execution is stopped while its FanOut runs, so it has no manifest.
      // The FanOut must outlast the polls below: a 6 s clip's whole execution took 0.5 s on
      // the local runtime, ended before the first poll saw it RUNNING, and the wait timed out.
      // 30 s of 640×360 keeps its 360p encode busy for seconds; the polls look every 50 ms.
      const clip = await makeClip({ seconds: 30, width: 640, height: 360 });
      const { videoId } = await upload(clip, 'redrive-aborted.mp4');
      const arn = `${out.StateMachineArn.replace(':stateMachine:', ':execution:')}:${videoId}`;
      const quickly = { intervalMs: 50 };
      await poll(
        'the execution to start',
        async () => {
          try {
            const d = await aws.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
            if (d.status !== 'RUNNING') {
              // Ended before the test could stop it: say so now rather than time out.
              throw new Error(`the execution ended ${d.status} before it could be stopped`);
            }
            return true;
          } catch (err) {
            if ((err as Error).name === 'ExecutionDoesNotExist') return undefined;
            throw err;
          }
        },
        120_000,
        quickly
      );
      const history = async (): Promise<HistoryEvent[]> => {
        const events: HistoryEvent[] = [];
        let nextToken: string | undefined;
        do {
          const page = await aws.sfn.send(
            new GetExecutionHistoryCommand({ executionArn: arn, nextToken, maxResults: 1000 })
          );
          events.push(...(page.events ?? []));
          nextToken = page.nextToken;
        } while (nextToken);
        return events;
      };
      const fanOutIterations = (events: HistoryEvent[], type: string) =>
        events
          .filter((e) => e.type === type)
          .map(
            (e) =>
              (e.mapIterationStartedEventDetails ?? e.mapIterationSucceededEventDetails) as {
                name?: string;
                index?: number;
              }
          )
          .filter((d) => d?.name === STATE_NAMES.fanOut)
          .map((d) => d.index);
      // Stop once the FanOut has started its first iteration: a redrive must keep the
      // iterations that succeeded and rerun the others (RedriveExecution's inline Map rule).
      await poll(
        'the FanOut to start',
        async () =>
          fanOutIterations(await history(), 'MapIterationStarted').length > 0 ? true : undefined,
        120_000,
        quickly
      );
      await aws.sfn.send(new StopExecutionCommand({ executionArn: arn, error: 'StoppedByTest' }));
      // LocalStack stops asynchronously: wait until the execution has ended.
      const stopped = await poll(
        'the execution to stop',
        async () => {
          const d = await aws.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
          return d.status === 'RUNNING' ? undefined : d.status;
        },
        60_000
      );
      expect(stopped).toBe('ABORTED');

      // Act
      const run = await cli(['video', videoId]);

      // Assess
      expect(run.code, run.stderr).toBe(0);
      expect(squash(run.stdout)).toContain(squash(`path: RedriveExecution of ${arn}`));
      const manifest = await waitForManifest(videoId);
      expect(manifest.status).toBe('COMPLETE');
      // One execution, one history: the redrive went on from the FanOut, and the FanOut
      // iterations that had succeeded before the stop did not start again.
      const events = await history();
      const redriven = events.findIndex((e) => e.type === 'ExecutionRedriven');
      expect(redriven).toBeGreaterThan(0);
      expect(events.filter((e) => e.type === 'ExecutionStarted')).toHaveLength(1);
      const keptBefore = fanOutIterations(events.slice(0, redriven), 'MapIterationSucceeded');
      const startedAfter = fanOutIterations(events.slice(redriven), 'MapIterationStarted');
      expect(startedAfter.filter((i) => keptBefore.includes(i))).toEqual([]);
      const d = await aws.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      expect(d).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
    }
  );
});
