import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import {
  type ChaosRuntime,
  deliveryDlqUrlOf,
  dlqUrlOfQueue,
  emfSum,
  executionsNamed,
  manifestOf,
  poll,
  queueDepth,
  startChaosRuntime,
  upload,
} from './harness.js';

/**
 * SNS and SQS are at-least-once and sometimes unavailable. With SNS→SQS
 * deliveries failing (retried per SNS's policy), arriving twice, or running out
 * of retries into the subscription's DLQ, and with SQS receive/delete calls
 * failing under the pollers, every upload must still end with one workflow and
 * one manifest, and every message must end processed or in a DLQ.
 */
describe('SNS and SQS faults on the local runtime', () => {
  let env: ChaosRuntime;
  let clip: string;
  const runId = Date.now().toString(36);

  beforeAll(async () => {
    env = await startChaosRuntime('delivery');
    clip = await makeClip({ seconds: 1, width: 160, height: 120, audio: false });
  });
  afterAll(async () => {
    await env?.stop();
    cleanupMedia();
  });

  const counts = () => ({ ...env.runtime.faults.counts });
  const uploadQueues = () => [env.out.StartWorkflowQueueUrl, env.out.UploadAuditQueueUrl];
  const allDlqs = () => [
    env.out.StartWorkflowDeadLetterQueueUrl,
    dlqUrlOfQueue(env, env.out.UploadAuditQueueUrl),
    deliveryDlqUrlOf(env, env.out.UploadTopicArn),
  ];
  /** Every upload queue empty (processed and deleted): nothing waits, nothing is in flight. */
  const drained = (timeoutMs: number) =>
    poll(
      'the upload queues to drain',
      async () => {
        if (env.runtime.faults.counts.snsPendingRetries > 0) return undefined;
        const depths = await Promise.all(uploadQueues().map((q) => queueDepth(env, q)));
        return depths.every((d) => d === 0) ? true : undefined;
      },
      timeoutMs
    );

  it('30% of SNS→SQS deliveries fail and 30% arrive twice: one workflow and one manifest each', async () => {
    // Prepare
    const before = counts();
    const startsBefore = emfSum(env, 'WorkflowsStarted') + emfSum(env, 'DuplicateUploadIgnored');
    env.runtime.faults.snsDeliveryErrorRate = 0.3;
    env.runtime.faults.snsDuplicateRate = 0.3;
    try {
      // Act: rounds of 4 uploads until each fault kind happened at least once. The faults are
      // random at 30% per delivery: one round (8 deliveries) has no duplicate 0.7^8 ≈ 6% of the
      // time (a CI run here failed so); after four rounds the chance is below 1e-4.
      const uploads: Awaited<ReturnType<typeof upload>>[] = [];
      const manifests: Awaited<ReturnType<typeof manifestOf>>[] = [];
      const injectedNow = () => {
        const after = counts();
        return {
          failedAttempts: after.snsDeliveryFailures - before.snsDeliveryFailures,
          deliveredAfterRetry: after.snsDeliveredAfterRetry - before.snsDeliveredAfterRetry,
          duplicates: after.snsDuplicates - before.snsDuplicates,
          deadLettered: after.snsDeadLettered - before.snsDeadLettered,
          discarded: after.snsDiscarded - before.snsDiscarded,
        };
      };
      let injected = injectedNow();
      for (let round = 0; round < 4; round++) {
        const batch = await Promise.all(
          Array.from({ length: 4 }, (_, i) =>
            upload(env, clip, `uploads/chaos/${runId}/sns-${round}-${i}.mp4`)
          )
        );
        uploads.push(...batch);
        manifests.push(
          ...(await Promise.all(batch.map((u) => manifestOf(env, u.videoId, 300_000))))
        );
        await drained(240_000);
        injected = injectedNow();
        if (
          injected.failedAttempts > 0 &&
          injected.deliveredAfterRetry > 0 &&
          injected.duplicates > 0
        ) {
          break;
        }
      }
      // Assess
      const starterCalls =
        emfSum(env, 'WorkflowsStarted') + emfSum(env, 'DuplicateUploadIgnored') - startsBefore;
      console.log(`[chaos] SNS faults over ${uploads.length} uploads: ${JSON.stringify(injected)}`);
      console.log(
        `[chaos] the starter handled ${starterCalls} upload events for ${uploads.length} uploads`
      );
      expect(injected.failedAttempts).toBeGreaterThan(0);
      expect(injected.deliveredAfterRetry).toBeGreaterThan(0);
      expect(injected.duplicates).toBeGreaterThan(0);
      // The faults touch only the upload's event path: each video's own work decides its
      // status (on a loaded machine a branch can still time out), so any decided status is fine.
      console.log(`[chaos] statuses: ${manifests.map((m) => m.status).join(', ')}`);
      expect(manifests.map((m) => m.videoId)).toEqual(uploads.map((u) => u.videoId));
      const executions = await executionsNamed(
        env,
        uploads.map((u) => u.videoId)
      );
      expect(executions.sort()).toEqual(uploads.map((u) => u.videoId).sort());
      // Nothing lost: no delivery ran out of retries at this rate, and no DLQ holds anything.
      expect(injected.deadLettered + injected.discarded).toBe(0);
      for (const dlq of allDlqs()) expect(await queueDepth(env, dlq)).toBe(0);
    } finally {
      env.runtime.faults.snsDeliveryErrorRate = 0;
      env.runtime.faults.snsDuplicateRate = 0;
    }
  });

  it('deliveries that keep failing end in the subscription DLQ, counted, and replay from there', async () => {
    // Prepare: every attempt fails; SNS's 23 days of retries compressed into about 2 s.
    const before = counts();
    const dlqUrl = deliveryDlqUrlOf(env, env.out.UploadTopicArn);
    const subscriptions = env.runtime.model.subscriptions.filter(
      (s) => s.topicArn === env.out.UploadTopicArn
    ).length;
    env.runtime.faults.snsRetryTimeScale = 1e-6;
    env.runtime.faults.snsDeliveryErrorRate = 1;
    let uploads: Awaited<ReturnType<typeof upload>>[] = [];
    try {
      // Act
      uploads = await Promise.all(
        [0, 1].map((i) => upload(env, clip, `uploads/chaos/${runId}/dead-${i}.mp4`))
      );
      await poll(
        'every delivery of both uploads dead-lettered',
        async () =>
          env.runtime.faults.counts.snsDeadLettered - before.snsDeadLettered >= 2 * subscriptions
            ? true
            : undefined,
        60_000
      );
    } finally {
      env.runtime.faults.snsDeliveryErrorRate = 0;
      env.runtime.faults.snsRetryTimeScale = 1;
    }
    // Assess: one DLQ message per upload and subscription, no workflow started.
    const deadLettered = env.runtime.faults.counts.snsDeadLettered - before.snsDeadLettered;
    console.log(
      `[chaos] ${deadLettered} deliveries dead-lettered for 2 uploads x ${subscriptions} subscriptions`
    );
    expect(deadLettered).toBe(2 * subscriptions);
    expect(env.runtime.faults.counts.snsDiscarded).toBe(before.snsDiscarded);
    expect(await queueDepth(env, dlqUrl)).toBe(2 * subscriptions);
    expect(
      await executionsNamed(
        env,
        uploads.map((u) => u.videoId)
      )
    ).toEqual([]);

    // Act: an operator replays the DLQ into the starter's queue (one copy of each event).
    const held: Message[] = [];
    await poll(
      'the DLQ messages',
      async () => {
        const res = await env.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: dlqUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            VisibilityTimeout: 600,
          })
        );
        held.push(...(res.Messages ?? []));
        return held.length >= 2 * subscriptions ? true : undefined;
      },
      30_000
    );
    const bodies = new Set(held.map((m) => m.Body ?? ''));
    for (const body of bodies) {
      await env.sqs.send(
        new SendMessageCommand({ QueueUrl: env.out.StartWorkflowQueueUrl, MessageBody: body })
      );
    }
    for (const m of held) {
      await env.sqs.send(
        new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: m.ReceiptHandle })
      );
    }
    const manifests = await Promise.all(uploads.map((u) => manifestOf(env, u.videoId, 240_000)));
    // Assess
    expect(bodies.size).toBe(2);
    expect(manifests.map((m) => m.videoId)).toEqual(uploads.map((u) => u.videoId));
    expect(await queueDepth(env, dlqUrl)).toBe(0);
  });

  it('SQS ReceiveMessage/DeleteMessage failing under the pollers: nothing lost, one workflow each', async () => {
    // Prepare
    const before = counts();
    env.runtime.faults.sqsReceiveErrorRate = 0.3;
    env.runtime.faults.sqsDeleteErrorRate = 0.1;
    // A few deletes may fall under 10%; the first two are failed for sure.
    env.runtime.faults.failNextSqs('DeleteMessage', 2);
    try {
      // Act
      const uploads = await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          upload(env, clip, `uploads/chaos/${runId}/sqs-${i}.mp4`)
        )
      );
      const manifests = await Promise.all(uploads.map((u) => manifestOf(env, u.videoId, 300_000)));
      // A delete lost past the SDK's retries returns the message after the visibility timeout (180 s).
      await drained(300_000);
      // Assess
      const after = counts();
      const receiveErrors = after.sqsReceiveErrors - before.sqsReceiveErrors;
      const deleteErrors = after.sqsDeleteErrors - before.sqsDeleteErrors;
      console.log(
        `[chaos] SQS faults over 4 uploads: ${receiveErrors} receive errors, ${deleteErrors} delete errors`
      );
      expect(receiveErrors).toBeGreaterThan(0);
      expect(deleteErrors).toBeGreaterThanOrEqual(2);
      console.log(`[chaos] statuses: ${manifests.map((m) => m.status).join(', ')}`);
      expect(manifests.map((m) => m.videoId)).toEqual(uploads.map((u) => u.videoId));
      const executions = await executionsNamed(
        env,
        uploads.map((u) => u.videoId)
      );
      expect(executions.sort()).toEqual(uploads.map((u) => u.videoId).sort());
      for (const dlq of allDlqs()) expect(await queueDepth(env, dlq)).toBe(0);
    } finally {
      env.runtime.faults.sqsReceiveErrorRate = 0;
      env.runtime.faults.sqsDeleteErrorRate = 0;
      env.runtime.faults.failNextSqs('DeleteMessage', 0);
    }
  });
});
