import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { Duration } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRedriveVideo } from '../../cli/src/redrive-video.js';
import { type Manifest, manifestKey, VideoProcessedEventSchema } from '../../contract/index.js';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import { createPipelineApp } from '../../lib/app.js';
import { type ChaosRuntime, manifestOf, poll, startChaosRuntime, upload } from './harness.js';

/**
 * Every ending has a verdict (docs/architecture.md): an execution stopped mid-fan-out,
 * an aggregator killed on every attempt and an execution past its TimeoutSeconds each
 * end with a FAILED manifest written by the verdict keeper, a VideoProcessed FAILED
 * event and an alert; a redrive of the stopped one then replaces the keeper's verdict.
 */
describe('every ending has a verdict (local runtime)', () => {
  let env: ChaosRuntime;
  let sfn: SFNClient;
  let clip: string;
  const runId = Date.now().toString(36);
  let stopped: { videoId: string; manifest: Manifest } | undefined;

  beforeAll(async () => {
    env = await startChaosRuntime('verdicts');
    sfn = sfnOn(env);
    // 720p for 8 s: the renditions take seconds, long enough to stop the fan-out mid-way.
    clip = await makeClip({ seconds: 8, width: 1280, height: 720, audio: false });
  });
  afterAll(async () => {
    sfn?.destroy();
    await env?.stop();
    cleanupMedia();
  });

  it('StopExecution mid-fan-out: FAILED manifest with ending ABORTED, VideoProcessed FAILED, an alert', async () => {
    // Prepare
    const { videoId } = await upload(env, clip, `uploads/chaos/${runId}/stopped.mp4`);
    const executionArn = executionOf(env, videoId);
    // Every 50 ms: the stop must land while the fan-out runs (an 8 s clip's runs for ~1–2 s).
    await poll(
      'the fan-out running',
      async () => ((await history(sfn, executionArn)).some(enteredFanOut) ? true : undefined),
      120_000,
      { intervalMs: 50 }
    );
    // Act
    await sfn.send(new StopExecutionCommand({ executionArn, cause: 'chaos: stopped mid-fan-out' }));
    const manifest = await manifestOf(env, videoId, 60_000);
    // Assess
    console.log(`[chaos] stopped execution's manifest:\n${JSON.stringify(manifest, null, 2)}`);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).toBe('ABORTED');
    expect(manifest).toMatchObject({
      videoId,
      status: 'FAILED',
      ending: 'ABORTED',
      execution: { arn: executionArn },
      branches: [],
    });
    expect(manifest.reason).toBe(
      "execution stopped (StopExecution) before the aggregator's verdict: chaos: stopped mid-fan-out"
    );
    const alert = await alertFor(env, videoId);
    expect(alert).toEqual({
      videoId,
      status: 'FAILED',
      reason: manifest.reason,
      source: manifest.source,
      manifest: { bucket: env.out.OutputBucketName, key: manifestKey(videoId) },
    });
    stopped = { videoId, manifest };
  });

  it('a redrive of the stopped execution replaces the FAILED verdict with the aggregator’s', async () => {
    // Prepare
    if (!stopped) throw new Error('the StopExecution case did not leave a stopped video');
    const s3 = new S3Client(clientConfig(env));
    const out = { write: () => true };
    try {
      // Act
      const result = await runRedriveVideo(
        { s3, sfn },
        {
          outputBucket: env.out.OutputBucketName,
          stateMachineArn: env.out.StateMachineArn,
          targetName: 'local runtime',
        },
        stopped.videoId,
        out as never
      );
      const redriven = await poll(
        'the redriven manifest',
        async () => {
          const m = await manifestOf(env, stopped!.videoId, 5_000);
          return m.ending === null ? m : undefined;
        },
        240_000
      );
      // Assess
      expect(result.path).toBe('redrive-execution');
      expect(redriven).toMatchObject({ status: 'COMPLETE', ending: null, execution: null });
      expect(redriven.branches.length).toBeGreaterThan(0);
    } finally {
      s3.destroy();
    }
  });

  it('the aggregator killed on every attempt: the keeper writes FAILED with the aggregator’s error', async () => {
    // Prepare
    const aggregator = env.runtime.model.functions.find(
      (f) => f.environment.PROCESSED_TOPIC_ARN && f.environment.COST_PROFILE
    );
    if (!aggregator) throw new Error('no aggregator (COST_PROFILE) in the stack');
    const { videoId } = await upload(env, clip, `uploads/chaos/${runId}/aggregator-killed.mp4`);
    const executionArn = executionOf(env, videoId);
    // Act: kill every environment that runs the aggregator until the execution ends. The
    // killer runs on its own 1 ms timer: a warm aggregator answers in a few event-loop turns
    // (it calls this runtime's S3 and SNS), so it is always caught busy.
    const killedPids = new Set<number>();
    const killer = setInterval(() => {
      // A dying environment stays busy until its invocation ends: count processes, not kills.
      const pid = env.runtime.lambda.killBusy(aggregator.name);
      if (pid !== undefined) killedPids.add(pid);
    }, 1);
    let status: Awaited<ReturnType<typeof describeIfStarted>>;
    try {
      status = await poll(
        'the execution to end',
        async () => {
          const d = await describeIfStarted(sfn, executionArn);
          return d === undefined || d.status === 'RUNNING' ? undefined : d;
        },
        300_000
      );
    } finally {
      clearInterval(killer);
    }
    const manifest = await manifestOf(env, videoId, 60_000);
    // Assess
    console.log(`[chaos] killed aggregator's manifest:\n${JSON.stringify(manifest, null, 2)}`);
    // One attempt and its 3 retries (Runtime.ExitError is retryable), each killed.
    expect(killedPids.size).toBe(4);
    expect(status).toMatchObject({ status: 'FAILED', error: 'AggregateFailed' });
    expect(manifest).toMatchObject({ status: 'FAILED', ending: 'FAILED' });
    expect(manifest.reason).toMatch(/^the aggregator failed past its retries: Runtime\.ExitError/);
    expect(await alertFor(env, videoId)).toMatchObject({ videoId, status: 'FAILED' });
  });

  it('leaves the verdict keeper’s dead-letter queue empty', async () => {
    const dlq = verdictDeadLetterQueueUrl(env);
    const res = await env.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: dlq,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      })
    );
    expect(res.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
    });
  });
});

describe('every ending has a verdict: the overall deadline (a 1 s videoTimeout)', () => {
  let env: ChaosRuntime;
  let sfn: SFNClient;
  let clip: string;
  let assemblyDir: string;

  beforeAll(async () => {
    // A variant of the stack whose per-video deadline is far below one video's work.
    assemblyDir = mkdtempSync(join(tmpdir(), 'chaos-video-timeout-'));
    createPipelineApp({
      outdir: assemblyDir,
      // 1 s against a 20 s 720p source: the renditions alone take several seconds even on
      // a quiet machine (a 4 s deadline against 8 s of 720p was met there, SUCCEEDED).
      stackProps: { videoTimeout: Duration.seconds(1) },
    }).app.synth();
    env = await startChaosRuntime('verdicts-timeout', undefined, { assemblyDir });
    sfn = sfnOn(env);
    clip = await makeClip({ seconds: 20, width: 1280, height: 720, audio: false });
  });
  afterAll(async () => {
    sfn?.destroy();
    await env?.stop();
    if (assemblyDir) rmSync(assemblyDir, { recursive: true, force: true });
    cleanupMedia();
  });

  it('an execution past TimeoutSeconds: FAILED manifest with ending TIMED_OUT and an alert', async () => {
    // Prepare
    const { videoId } = await upload(env, clip, `uploads/chaos/timeout-${Date.now()}.mp4`);
    const executionArn = executionOf(env, videoId);
    // Act
    const manifest = await manifestOf(env, videoId, 120_000);
    // Assess
    console.log(`[chaos] timed-out execution's manifest:\n${JSON.stringify(manifest, null, 2)}`);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
    expect(manifest).toMatchObject({ status: 'FAILED', ending: 'TIMED_OUT' });
    expect(manifest.execution?.arn).toBe(executionArn);
    expect(manifest.reason).toMatch(/TimeoutSeconds/);
    expect(await alertFor(env, videoId)).toMatchObject({ videoId, status: 'FAILED' });
  });
});

const clientConfig = (env: ChaosRuntime) => ({
  region: env.runtime.region,
  endpoint: env.runtime.endpoint,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  forcePathStyle: true,
});
const sfnOn = (env: ChaosRuntime) => new SFNClient(clientConfig(env));

/** The starter names each execution after its videoId. */
const executionOf = (env: ChaosRuntime, videoId: string) =>
  `${env.out.StateMachineArn.replace(':stateMachine:', ':execution:')}:${videoId}`;

const history = async (sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> => {
  try {
    return (
      (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events ??
      []
    );
  } catch (err) {
    // The starter has not started it yet.
    if ((err as Error).name === 'ExecutionDoesNotExist') return [];
    throw err;
  }
};
const describeIfStarted = async (sfn: SFNClient, executionArn: string) => {
  try {
    return await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (err) {
    if ((err as Error).name === 'ExecutionDoesNotExist') return undefined;
    throw err;
  }
};
/** A branch task scheduled inside the FanOut map: the fan-out is under way. */
const enteredFanOut = (e: HistoryEvent) =>
  e.type === 'TaskStateEntered' &&
  /^Run(Rendition|Thumbnail|Metadata)$/.test(e.stateEnteredEventDetails?.name ?? '');

/** The VideoProcessed event of one video on the Alerts queue (raw delivery), deleted once read. */
const alertFor = async (env: ChaosRuntime, videoId: string) =>
  poll(
    `an alert for ${videoId}`,
    async () => {
      const res = await env.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: env.out.AlertsQueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
        })
      );
      let found: unknown;
      for (const m of res.Messages ?? []) {
        const event = VideoProcessedEventSchema.parse(JSON.parse(m.Body ?? '{}'));
        if (event.videoId !== videoId) continue;
        found = event;
        await env.sqs.send(
          new DeleteMessageCommand({
            QueueUrl: env.out.AlertsQueueUrl,
            ReceiptHandle: m.ReceiptHandle,
          })
        );
      }
      return found;
    },
    60_000
  );

const verdictDeadLetterQueueUrl = (env: ChaosRuntime) => {
  const queue = env.runtime.model.queues.find((q) =>
    q.logicalId.startsWith('VerdictDeadLetterQueue')
  );
  if (!queue) throw new Error('no VerdictDeadLetterQueue in the stack');
  return `${env.runtime.endpoint}/000000000000/${queue.name}`;
};
