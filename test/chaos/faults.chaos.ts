import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSequencers } from '../../contract/index.js';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import {
  type ChaosRuntime,
  executionArnOf,
  failureErrorOf,
  historyOf,
  manifestOf,
  pointerOf,
  poll,
  startChaosRuntime,
  upload,
} from './harness.js';

/** Faults injected into one local runtime: each case must end with every video COMPLETE. */
describe('faults on the local runtime', () => {
  let env: ChaosRuntime;
  let clip: string;
  let otherClip: string;
  const runId = Date.now().toString(36);

  beforeAll(async () => {
    env = await startChaosRuntime('faults');
    clip = await makeClip({ seconds: 1, width: 160, height: 120, audio: false });
    otherClip = await makeClip({ seconds: 2, width: 160, height: 120, audio: false });
  });
  afterAll(async () => {
    await env?.stop();
    cleanupMedia();
  });

  const starterName = () => {
    const fn = env.runtime.model.functions.find((f) => f.environment.MAX_RUNNING_WORKFLOWS);
    if (!fn) throw new Error('no starter function (MAX_RUNNING_WORKFLOWS) in the stack');
    return fn.name;
  };
  const branchNames = () => env.runtime.lambda.functionNames.filter((n) => /Branch/.test(n));
  const queued = async () => {
    const res = await env.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: env.out.StartWorkflowQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      })
    );
    return Number(res.Attributes?.ApproximateNumberOfMessages);
  };

  it('a branch environment SIGKILLed mid-run is retried: COMPLETE, one manifest', async () => {
    // Prepare
    const names = branchNames();
    expect(names.length).toBeGreaterThan(0);
    const uploads = await Promise.all(
      [0, 1, 2].map((i) => upload(env, clip, `uploads/chaos/${runId}/kill-${i}.mp4`))
    );
    // Act: kill the first branch environment seen busy.
    const killed = await poll(
      'a busy branch environment',
      async () => {
        for (const name of names) {
          const pid = env.runtime.lambda.killBusy(name);
          if (pid !== undefined) return { name, pid };
        }
        return undefined;
      },
      120_000,
      // A branch environment is busy for seconds at most: look often.
      { intervalMs: 5 }
    );
    const manifests = await Promise.all(uploads.map((u) => manifestOf(env, u.videoId, 240_000)));
    // Assess
    console.log(`[chaos] SIGKILLed ${killed.name} pid ${killed.pid}`);
    expect(env.runtime.stats().killed).toBe(1);
    expect(manifests.map((m) => m.status)).toEqual(['COMPLETE', 'COMPLETE', 'COMPLETE']);
    expect(manifests.map((m) => m.videoId)).toEqual(uploads.map((u) => u.videoId));
    const failed = manifests.flatMap((m) => m.branches).filter((b) => b.status !== 'SUCCEEDED');
    expect(failed).toEqual([]);
  });

  it("the aggregator's environment SIGKILLed mid-run: the Retry re-runs it, one manifest", async () => {
    // Prepare
    const aggregator = env.runtime.model.functions.find((f) => f.logicalId.startsWith('Aggregate'));
    if (!aggregator) throw new Error('no Aggregate function in the stack');
    const killedBefore = env.runtime.stats().killed;
    // The previous case's aggregators are still busy for a moment after their manifests
    // (publish, metrics): a kill then hits another video's Aggregate. Start from a quiet machine.
    await poll(
      'no execution of the earlier cases running',
      async () => {
        const { executions } = (await env.runtime.stepFunctions.handle('ListExecutions', {
          stateMachineArn: env.out.StateMachineArn,
          statusFilter: 'RUNNING',
        })) as { executions: unknown[] };
        return executions.length === 0 ? true : undefined;
      },
      120_000
    );
    const { videoId } = await upload(env, clip, `uploads/chaos/${runId}/aggregate.mp4`);
    const arn = executionArnOf(env, videoId);
    // Act: SIGKILL the aggregator's environment as soon as one is busy. Only this upload's
    // execution runs now, so a busy aggregator is running its Aggregate state; polling the
    // history first (or in 250 ms steps) would let a fast aggregator finish first.
    const pid = await poll(
      'a busy aggregator environment',
      () => env.runtime.lambda.killBusy(aggregator.name),
      240_000,
      { intervalMs: 2 }
    );
    const hit = { videoId, pid };
    const manifest = await manifestOf(env, hit.videoId, 240_000);
    const described = await poll(
      'the execution to end',
      async () => {
        const d = (await env.runtime.stepFunctions.handle('DescribeExecution', {
          executionArn: arn,
        })) as { status: string };
        return d.status === 'RUNNING' ? undefined : d;
      },
      60_000
    );
    // Assess
    const history = await historyOf(env, arn);
    const failures = history.map(failureErrorOf).filter((e) => e !== undefined);
    // The failed task is the Aggregate state's: the last state entered before the failure.
    const failedAt = history.findIndex((e) => failureErrorOf(e) !== undefined);
    const stateOfFailure = history
      .slice(0, failedAt)
      .reverse()
      .find((e) => e.type.endsWith('StateEntered'))?.stateEnteredEventDetails as
      | { name?: string }
      | undefined;
    console.log(
      `[chaos] SIGKILLed ${aggregator.name} pid ${hit.pid}; failures in history: ${JSON.stringify(failures)} in ${stateOfFailure?.name}`
    );
    expect(env.runtime.stats().killed).toBe(killedBefore + 1);
    expect(failures).toEqual(['Runtime.ExitError']);
    expect(stateOfFailure?.name).toBe('Aggregate');
    // The retried aggregator decided the video: the execution ends as its manifest says.
    expect(manifest.videoId).toBe(hit.videoId);
    expect(described.status).toBe(manifest.status === 'FAILED' ? 'FAILED' : 'SUCCEEDED');
  });

  it('10% of S3 calls answered 503 SlowDown: nothing lost, every video has its manifest', async () => {
    // Prepare
    env.runtime.faults.s3SlowDownRate = 0.1;
    const before = env.runtime.stats().s3SlowDowns;
    try {
      // Act
      const uploads = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          upload(env, clip, `uploads/chaos/${runId}/slowdown-${i}.mp4`)
        )
      );
      const manifests = await Promise.all(uploads.map((u) => manifestOf(env, u.videoId, 300_000)));
      // Assess
      const injected = env.runtime.stats().s3SlowDowns - before;
      console.log(`[chaos] ${injected} S3 SlowDowns injected over 10 videos`);
      expect(injected).toBeGreaterThan(0);
      expect(manifests.map((m) => m.status)).toEqual(Array(10).fill('COMPLETE'));
    } finally {
      env.runtime.faults.s3SlowDownRate = 0;
    }
  });

  it("the starter's consumer disabled, then re-enabled: the backlog drains, nothing lost", async () => {
    // Prepare
    await env.runtime.setEventSourceMappingEnabled(starterName(), false);
    const uploads = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        upload(env, clip, `uploads/chaos/${runId}/backlog-${i}.mp4`)
      )
    );
    // The uploads wait in the queue while nobody consumes it.
    await poll('5 uploads queued', async () => ((await queued()) === 5 ? true : undefined), 30_000);
    // Act
    await env.runtime.setEventSourceMappingEnabled(starterName(), true);
    const manifests = await Promise.all(uploads.map((u) => manifestOf(env, u.videoId, 240_000)));
    // Assess
    expect(manifests.map((m) => m.status)).toEqual(Array(5).fill('COMPLETE'));
    await poll(
      'the queue drained',
      async () => ((await queued()) === 0 ? true : undefined),
      30_000
    );
  });

  it('out-of-order events on one key: the pointer names the newest upload', async () => {
    // Prepare: two uploads of different content to one key, their events held in the queue.
    const key = `uploads/chaos/${runId}/same-key.mp4`;
    await env.runtime.setEventSourceMappingEnabled(starterName(), false);
    const older = await upload(env, clip, key);
    const newer = await upload(env, otherClip, key);
    const held: Message[] = [];
    await poll(
      'both events',
      async () => {
        const res = await env.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: env.out.StartWorkflowQueueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            VisibilityTimeout: 600,
          })
        );
        held.push(...(res.Messages ?? []));
        return held.length >= 2 ? true : undefined;
      },
      30_000
    );
    for (const m of held) {
      await env.sqs.send(
        new DeleteMessageCommand({
          QueueUrl: env.out.StartWorkflowQueueUrl,
          ReceiptHandle: m.ReceiptHandle,
        })
      );
    }
    const sequencer = (m: Message) =>
      JSON.parse(m.Body ?? '{}').Records[0].s3.object.sequencer as string;
    const [first, second] = [...held].sort((a, b) => compareSequencers(sequencer(a), sequencer(b)));
    expect(held).toHaveLength(2);
    // Act: deliver the newer event first, the older one last.
    await env.runtime.setEventSourceMappingEnabled(starterName(), true);
    await env.sqs.send(
      new SendMessageCommand({ QueueUrl: env.out.StartWorkflowQueueUrl, MessageBody: second.Body })
    );
    await poll(
      'the pointer to name the newer upload',
      async () => ((await pointerOf(env, key))?.videoId === newer.videoId ? true : undefined),
      120_000
    );
    const rejected = () =>
      env.runtime
        .metrics()
        .records.reduce((n, e) => n + Number(e.record.UploadEventsRejected ?? 0), 0);
    const rejectedBefore = rejected();
    await env.sqs.send(
      new SendMessageCommand({ QueueUrl: env.out.StartWorkflowQueueUrl, MessageBody: first.Body })
    );
    // The older event names bytes the unversioned key no longer holds: the starter verifies it
    // against S3 and drops it (UploadEventsRejected), so it neither runs on the newer bytes nor
    // takes the pointer. On a versioned bucket it would run on its own version instead.
    await poll(
      'the older event to be rejected',
      async () => (rejected() > rejectedBefore ? true : undefined),
      60_000
    );
    const newerManifest = await manifestOf(env, newer.videoId, 240_000);
    // Assess
    expect(newerManifest.status).toBe('COMPLETE');
    expect(newerManifest.source.etag).toBe(newer.source.etag);
    const pointer = await pointerOf(env, key);
    expect(pointer?.videoId).toBe(newer.videoId);
    expect(pointer?.sequencer).toBe(sequencer(second));
    // The older upload has no run of its own: its bytes exist nowhere any more.
    await expect(manifestOf(env, older.videoId, 1_000)).rejects.toThrow('timed out');
  });
});
