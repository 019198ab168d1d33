import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { App, Duration } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type Manifest,
  ManifestSchema,
  manifestKey,
  VideoProcessedEventSchema,
  videoIdFor,
} from '../../contract/index.js';
import { cleanupMedia, makeClip } from '../../fixtures/media.js';
import { applyNagPacks, cdkJsonContext } from '../../lib/app.js';
import { VideoPipelineStack } from '../../lib/stacks/video-pipeline-stack.js';
import { silentLogger, startLocalRuntime } from '../../local-runtime/src/index.js';
import { deployStacks, destroyStacks } from '../../scripts/localstack/stacks.js';
import { poll } from '../helpers/poll.js';
import { readObject } from './variant-stacks.js';

/**
 * The overall deadline (docs/policies.md): a variant stack whose videoTimeout (4 s) is far
 * below one video's work, so its execution ends TIMED_OUT, and the verdict keeper, reached
 * through EventBridge's "Step Functions Execution Status Change" rule, writes the FAILED
 * manifest with `ending: TIMED_OUT` and alerts. On the local runtime the variant gets its own
 * runtime; on LocalStack it is deployed next to the main stack and destroyed afterwards.
 * The StopExecution and killed-aggregator endings are chaos cases (test/chaos/verdicts.chaos.ts):
 * LocalStack 4.14.0 mishandles StopExecution during a Lambda task (docs/localstack.md).
 */
const target = inject('e2eTarget');
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
const VARIANT = 'VideoPipelineShortDeadline';

const skipReason =
  target.skipReason ??
  (['local', 'localstack'].includes(target.name)
    ? undefined
    : `the variant stack is deployed only to the local runtime and LocalStack, not ${target.name}`);
if (skipReason) console.log(`[e2e] verdicts skipped on ${target.name}: ${skipReason}`);

describe.skipIf(skipReason)(`every ending has a verdict on ${target.name}`, () => {
  let assemblyDir: string;
  let outputs: Record<string, string>;
  let clients: { s3: S3Client; sqs: SQSClient; sfn: SFNClient };
  const stops: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    assemblyDir = mkdtempSync(join(tmpdir(), 'e2e-verdicts-'));
    const app = new App({ outdir: assemblyDir, context: cdkJsonContext() });
    new VideoPipelineStack(app, VARIANT, {
      description: 'e2e verdict variant: a 4 s per-video deadline',
      videoTimeout: Duration.seconds(4),
    });
    applyNagPacks(app);
    app.synth();
    let endpoint: string;
    if (target.name === 'local') {
      const runtime = await startLocalRuntime({
        assemblyDir,
        stackName: VARIANT,
        port: 0,
        logger: silentLogger,
      });
      stops.push(() => runtime.stop());
      outputs = runtime.outputs;
      endpoint = runtime.endpoint;
    } else {
      endpoint = target.endpoint!;
      const deployed = await deployStacks(assemblyDir, [VARIANT], { endpoint, region });
      console.log(`[e2e] deployed ${VARIANT} to LocalStack in ${deployed.seconds.toFixed(1)} s`);
      stops.push(() => destroyStacks(assemblyDir, [VARIANT], { endpoint, region }));
      outputs = deployed.outputs[VARIANT]!;
    }
    const config = { endpoint, region, credentials };
    clients = {
      s3: new S3Client({ ...config, forcePathStyle: true }),
      sqs: new SQSClient(config),
      sfn: new SFNClient(config),
    };
  }, 900_000);
  afterAll(async () => {
    cleanupMedia();
    for (const stop of stops) await stop();
    if (assemblyDir) rmSync(assemblyDir, { recursive: true, force: true });
    if (clients) for (const c of Object.values(clients)) c.destroy();
  }, 600_000);

  it('an execution past its TimeoutSeconds: FAILED manifest with ending TIMED_OUT, and an alert', async () => {
    // Prepare: 720p for 8 s, seconds of work against a 4 s deadline
    const clip = await makeClip({ seconds: 8, width: 1280, height: 720, audio: false });
    const key = `uploads/e2e-verdicts/timeout-${Date.now()}.mp4`;
    const put = await clients.s3.send(
      new PutObjectCommand({ Bucket: outputs.UploadBucketName, Key: key, Body: readFileSync(clip) })
    );
    const videoId = videoIdFor({
      bucket: outputs.UploadBucketName!,
      key,
      versionId: put.VersionId,
      etag: put.ETag?.replaceAll('"', ''),
    });
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
const alertFor = async (sqs: SQSClient, queueUrl: string, videoId: string) => {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 })
    );
    for (const m of res.Messages ?? []) {
      const event = VideoProcessedEventSchema.parse(JSON.parse(m.Body ?? '{}'));
      if (event.videoId !== videoId) continue;
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle })
      );
      return event;
    }
    if (Date.now() > deadline) throw new Error(`no alert for ${videoId}`);
  }
};
