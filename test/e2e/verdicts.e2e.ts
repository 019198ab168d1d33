import type { S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Duration } from 'aws-cdk-lib';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import {
  type Manifest,
  ManifestSchema,
  manifestKey,
  VideoProcessedEventSchema,
} from '../../contract/index.js';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import { poll } from '../helpers/poll.js';
import { describeE2E } from './guard.js';
import { credentials, readObject, useVariantStacks } from './variant-stacks.js';
import { putUpload } from './videos.js';

/**
 * The overall deadline (docs/policies.md): a variant stack whose videoTimeout (1 s) is far
 * below one video's work, so its execution ends TIMED_OUT, and the verdict keeper, reached
 * through EventBridge's "Step Functions Execution Status Change" rule, writes the FAILED
 * manifest with `ending: TIMED_OUT` and alerts. On the local runtime the variant gets its own
 * runtime; on LocalStack it is deployed next to the main stack and destroyed afterwards.
 * The StopExecution and killed-aggregator endings are chaos cases (test/chaos/verdicts.chaos.ts):
 * LocalStack 4.14.0 mishandles StopExecution during a Lambda task (docs/localstack.md).
 */
const target = inject('e2eTarget');
const VARIANT = 'VideoPipelineShortDeadline';

const elsewhere = ['local', 'localstack'].includes(target.name)
  ? undefined
  : `the variant stack is deployed only to the local runtime and LocalStack, not ${target.name}`;

describeE2E(target, elsewhere)(`every ending has a verdict on ${target.name}`, () => {
  const variants = useVariantStacks(target, {
    [VARIANT]: { videoTimeout: Duration.seconds(1) },
  });
  let outputs: Record<string, string>;
  let clients: { s3: S3Client; sqs: SQSClient; sfn: SFNClient };

  // After the variant's own beforeAll (hooks run in order): the variant is up.
  beforeAll(() => {
    const v = variants.of(VARIANT);
    const config = { endpoint: v.endpoint, region: v.region, credentials };
    outputs = v.outputs;
    clients = { s3: v.s3, sqs: new SQSClient(config), sfn: new SFNClient(config) };
  });
  afterAll(() => {
    cleanupMedia();
    clients?.sqs.destroy();
    clients?.sfn.destroy();
  });

  it('an execution past its TimeoutSeconds: FAILED manifest with ending TIMED_OUT, and an alert', async () => {
    // Prepare: 720p for 20 s, many seconds of work against a 1 s deadline (4 s against 8 s
    // of 720p was met on a quiet machine)
    const clip = await makeClip({ seconds: 20, width: 1280, height: 720, audio: false });
    const key = `uploads/e2e-verdicts/timeout-${Date.now()}.mp4`;
    const { videoId } = await putUpload(clients.s3, outputs.UploadBucketName!, key, clip);
    // Act
    const manifest = await waitForManifest(clients.s3, outputs.OutputBucketName!, videoId);
    // Assess
    const executionArn = `${outputs.StateMachineArn!.replace(':stateMachine:', ':execution:')}:${videoId}`;
    const described = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).toBe('TIMED_OUT');
    expect(manifest).toMatchObject({
      videoId,
      status: 'FAILED',
      ending: 'TIMED_OUT',
      execution: { arn: executionArn },
    });
    expect(manifest.reason).toMatch(/TimeoutSeconds/);
    const alert = await alertFor(clients.sqs, outputs.AlertsQueueUrl!, videoId);
    expect(alert).toMatchObject({ videoId, status: 'FAILED', reason: manifest.reason });
  });
});

const waitForManifest = async (
  s3: S3Client,
  bucket: string,
  videoId: string
): Promise<Manifest> => {
  const body = await poll(
    `manifest of ${videoId}`,
    () => readObject(s3, bucket, manifestKey(videoId)),
    180_000
  );
  return ManifestSchema.parse(JSON.parse(body.toString('utf8')));
};

/** The video's VideoProcessed event on the Alerts queue (raw delivery), deleted once read. */
const alertFor = (sqs: SQSClient, queueUrl: string, videoId: string) =>
  // The receive's long poll (1 s) is the interval.
  poll(
    `the alert for ${videoId}`,
    async () => {
      const res = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
        })
      );
      for (const m of res.Messages ?? []) {
        const event = VideoProcessedEventSchema.parse(JSON.parse(m.Body ?? '{}'));
        if (event.videoId !== videoId) continue;
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle })
        );
        return event;
      }
      return undefined;
    },
    60_000,
    { intervalMs: 0 }
  );
