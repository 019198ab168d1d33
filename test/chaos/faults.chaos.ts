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
    await env.sqs.send(
      new SendMessageCommand({ QueueUrl: env.out.StartWorkflowQueueUrl, MessageBody: first.Body })
    );
    // The older run happens (its manifest is written) but must not take the pointer.
    const olderManifest = await manifestOf(env, older.videoId, 240_000);
    const newerManifest = await manifestOf(env, newer.videoId, 240_000);
    // Assess
    expect(olderManifest.status).toBe('COMPLETE');
    expect(newerManifest.status).toBe('COMPLETE');
    const pointer = await pointerOf(env, key);
    expect(pointer?.videoId).toBe(newer.videoId);
    expect(pointer?.sequencer).toBe(sequencer(second));
  });
});
