import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
} from '@aws-sdk/client-sfn';
import { PublishCommand, SubscribeCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { auditKey, type Manifest, ManifestSchema, manifestKey } from '../../contract/index.js';
import {
  cleanupMedia,
  ffprobe,
  LAYER_BUILD,
  makeClip,
  makeEmpty,
  makeNonVideo,
  makeTruncated,
} from '../../fixtures/media.js';
import { FAN_OUT_KINDS } from '../../kinds/index.js';
import { poll } from '../helpers/poll.js';
import { describeE2E } from './guard.js';
import { OBSERVATIONS_DIR, recordObservations } from './observations.js';
import { clientsFor, readOutputs } from './target.js';
import { putUpload } from './videos.js';

const target = inject('e2eTarget');
const runId = `${Date.now().toString(36)}`;

/**
 * Cases a target is known to get wrong, with the exact reason. They stay in the
 * suite as `it.fails`, so the day the target fixes it the suite says so.
 */
const KNOWN_GAPS: Record<string, Record<string, string>> = {
  local: {},
  localstack: {},
  aws: {},
};
const gap = (name: string) => KNOWN_GAPS[target.name]?.[name];
const testCase = (name: string, timeout: number, fn: () => Promise<void>) => {
  const reason = gap(name);
  if (reason) it.fails(`${name} [known ${target.name} gap: ${reason}]`, fn, timeout);
  else it(name, fn, timeout);
};

/** What each case observed; test/e2e/cross-target.compare.ts compares the targets of this run. */
const observations: Record<string, unknown> = {};

describeE2E(target)(`video pipeline end to end on ${target.name}`, () => {
  let out: ReturnType<typeof readOutputs>;
  let aws: ReturnType<typeof clientsFor>;

  beforeAll(async () => {
    out = readOutputs(target.outputsFile);
    aws = clientsFor(target);
    // A target restarted since its deploy (LocalStack keeps state in memory) leaves a stale
    // outputs file: say so once instead of failing every case with NoSuchBucket.
    try {
      await aws.s3.send(new HeadBucketCommand({ Bucket: out.UploadBucketName }));
    } catch (err) {
      throw new Error(
        `${target.outputsFile} names upload bucket ${out.UploadBucketName}, which ${target.name} ` +
          `does not have (${(err as Error).name}): the outputs file is stale. Redeploy ` +
          '(npm run localstack:deploy for LocalStack).'
      );
    }
  });

  afterAll(() => {
    cleanupMedia();
    recordObservations(OBSERVATIONS_DIR, inject('e2eRunId'), target.name, observations);
  });

  const upload = (file: string, name: string, metadata?: Record<string, string>) =>
    putUpload(aws.s3, out.UploadBucketName, `uploads/e2e/${runId}/${name}`, file, metadata);

  const getText = async (bucket: string, key: string) => {
    try {
      const res = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey' || (err as Error).name === 'NotFound')
        return undefined;
      throw err;
    }
  };

  const waitForManifest = async (videoId: string): Promise<Manifest> => {
    const body = await poll(
      `manifest of ${videoId}`,
      () => getText(out.OutputBucketName, manifestKey(videoId)),
      180_000
    );
    return ManifestSchema.parse(JSON.parse(body.toString('utf8')));
  };

  const execution = async (videoId: string) => {
    const arn = `${out.StateMachineArn.replace(':stateMachine:', ':execution:')}:${videoId}`;
    return poll(
      `execution ${videoId} to finish`,
      async () => {
        const res = await aws.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
        return res.status === 'RUNNING' ? undefined : res;
      },
      60_000
    );
  };

  /** How many states an execution entered: what Step Functions bills as transitions, retries aside. */
  const statesEntered = async (executionArn: string): Promise<number> => {
    let count = 0;
    let nextToken: string | undefined;
    do {
      const page = await aws.sfn.send(
        new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 })
      );
      count += (page.events ?? []).filter((e) => e.type?.endsWith('StateEntered')).length;
      nextToken = page.nextToken;
    } while (nextToken);
    return count;
  };

  /** Receives from the alerts queue until a message for this video arrives. */
  const alertFor = async (videoId: string) =>
    poll(
      `alert for ${videoId}`,
      async () => {
        const res = await aws.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: out.AlertsQueueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageAttributeNames: ['All'],
          })
        );
        for (const m of res.Messages ?? []) {
          const body = JSON.parse(m.Body ?? '{}');
          if (body.videoId === videoId) {
            await aws.sqs.send(
              new DeleteMessageCommand({
                QueueUrl: out.AlertsQueueUrl,
                ReceiptHandle: m.ReceiptHandle,
              })
            );
            return { body, attributes: m.MessageAttributes };
          }
        }
        return undefined;
      },
      60_000
    );

  const artifactBytes = async (key: string) => {
    const bytes = await getText(out.OutputBucketName, key);
    expect(bytes, `artifact ${key}`).toBeDefined();
    return bytes!;
  };

  testCase('happy path: every branch succeeds and the manifest is COMPLETE', 240_000, async () => {
    // Prepare
    const clip = await makeClip({ seconds: 4, width: 640, height: 360 });
    // Act
    const { videoId, source } = await upload(clip, 'happy clip.mp4');
    const manifest = await waitForManifest(videoId);
    // Assess
    expect(manifest.status).toBe('COMPLETE');
    expect(manifest.reason).toBeNull();
    expect(manifest.source).toMatchObject({ bucket: source.bucket, key: source.key });
    // The kinds whose outputs this case checks, by count; another registered kind may
    // plan branches of its own, held to the same rules below.
    const kinds = manifest.branches.map((b) => b.kind);
    const count = (kind: string) => kinds.filter((k) => k === kind).length;
    expect({
      thumbnail: count('thumbnail'),
      rendition: count('rendition'),
      metadata: count('metadata'),
    }).toEqual({ thumbnail: 3, rendition: 1, metadata: 1 });
    expect(kinds.filter((k) => !FAN_OUT_KINDS.includes(k))).toEqual([]);
    for (const branch of manifest.branches) {
      expect(branch.status).toBe('SUCCEEDED');
      expect(branch.artifacts.length).toBeGreaterThan(0);
    }
    const dir = mkdtempDir();
    for (const branch of manifest.branches) {
      for (const artifact of branch.artifacts) {
        const bytes = await artifactBytes(artifact.key);
        expect(bytes.length).toBe(artifact.bytes);
        if (branch.kind === 'thumbnail') {
          expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]); // JPEG SOI
        }
        // A rendition's MP4; its HLS files are checked by hls.e2e.ts.
        if (branch.kind === 'rendition' && artifact.key.includes('/renditions/')) {
          const file = join(dir, 'rendition.mp4');
          writeFileSync(file, bytes);
          const probe = await ffprobe(file);
          const video = probe.streams.find((s) => s.codec_type === 'video');
          expect(video).toMatchObject({ codec_name: 'h264', height: 360 });
          expect(
            probe.streams.some((s) => s.codec_type === 'audio' && s.codec_name === 'aac')
          ).toBe(true);
        }
        if (branch.kind === 'metadata') {
          const doc = JSON.parse(bytes.toString('utf8'));
          expect(doc).toMatchObject({ videoId, summary: { width: 640, height: 360 } });
          // The binaries that ran are the layer's build (the one the synth picked).
          expect(doc.tools).toEqual(LAYER_BUILD.versions);
        }
      }
    }
    const exec = await execution(videoId);
    expect(exec.status).toBe('SUCCEEDED');
    // The cost estimate: priced with this stack's sizes, one line per function that ran,
    // and as many transitions as the execution entered states (no retry in a happy run).
    const costOf = Object.fromEntries(manifest.costBreakdown.lambda.map((l) => [l.function, l]));
    expect(Object.keys(costOf).sort()).toEqual(
      ['aggregate', 'plan', 'probe', ...new Set(kinds)].sort()
    );
    expect(costOf.probe).toMatchObject({ invocations: 1, unmeasured: 0, memoryMiB: 1024 });
    expect(costOf.thumbnail).toMatchObject({ invocations: 3, unmeasured: 0, memoryMiB: 1024 });
    expect(costOf.rendition).toMatchObject({ invocations: 1, unmeasured: 0, memoryMiB: 2048 });
    for (const line of manifest.costBreakdown.lambda) expect(line.gbSeconds).toBeGreaterThan(0);
    expect(manifest.costBreakdown.stateTransitions.count).toBe(
      await statesEntered(exec.executionArn!)
    );
    expect(manifest.estimatedCostUsd).toBeGreaterThan(0);
    const audit = await poll(
      'audit record',
      () => getText(out.OutputBucketName, auditKey(videoId)),
      30_000
    );
    expect(JSON.parse(audit.toString('utf8'))).toMatchObject({ videoId, key: source.key });
    observations.happy = {
      status: manifest.status,
      branches: summarize(manifest),
      execution: exec.status,
    };
  });

  testCase(
    'one branch failing: PARTIAL, with the other branches kept and an alert sent',
    240_000,
    async () => {
      // Prepare: a thumbnail requested past the end of a 3 s clip cannot succeed.
      const clip = await makeClip({ seconds: 3, width: 320, height: 240 });
      // Act
      const { videoId } = await upload(clip, 'partial.mp4', { 'thumbnail-times': '1,30' });
      const manifest = await waitForManifest(videoId);
      // Assess
      expect(manifest.status).toBe('PARTIAL');
      const failed = manifest.branches.filter((b) => b.status === 'FAILED');
      expect(failed.map((b) => b.id)).toEqual(['thumb-at-30s']);
      expect(failed[0].error?.name).toBe('FrameNotFoundError');
      expect(manifest.reason).toContain('thumb-at-30s');
      const kept = manifest.branches.filter((b) => b.status === 'SUCCEEDED');
      expect(kept.length).toBe(manifest.branches.length - 1);
      for (const b of kept) for (const a of b.artifacts) await artifactBytes(a.key);
      const alert = await alertFor(videoId);
      expect(alert.body.status).toBe('PARTIAL');
      expect(alert.attributes?.status?.StringValue).toBe('PARTIAL');
      const exec = await execution(videoId);
      expect(exec.status).toBe('SUCCEEDED');
      observations.partial = {
        status: manifest.status,
        branches: summarize(manifest),
        execution: exec.status,
      };
    }
  );

  for (const bad of [
    {
      name: 'non-video',
      make: () => makeNonVideo(),
      reason: /not a (playable )?video|invalid data|no video stream/i,
    },
    { name: 'empty', make: () => makeEmpty(), reason: /empty/i },
    {
      name: 'truncated',
      make: async () => makeTruncated(await makeClip({ seconds: 3 })),
      reason: /truncated|corrupt|moov|incomplete|partial/i,
    },
  ]) {
    testCase(`bad input (${bad.name}): FAILED with a readable reason`, 240_000, async () => {
      // Prepare
      const file = await bad.make();
      // Act
      const { videoId } = await upload(file, `${bad.name}.mp4`);
      const manifest = await waitForManifest(videoId);
      // Assess
      expect(manifest.status).toBe('FAILED');
      expect(manifest.reason).toMatch(/^InvalidVideoError: /);
      expect(manifest.reason).toMatch(bad.reason);
      const exec = await execution(videoId);
      expect(exec.status).toBe('FAILED');
      expect(exec.cause).toBe(manifest.reason);
      const alert = await alertFor(videoId);
      expect(alert.attributes?.status?.StringValue).toBe('FAILED');
      observations[`failed-${bad.name}`] = {
        status: manifest.status,
        execution: exec.status,
        error: exec.error,
      };
    });
  }

  testCase(
    'VideoPlayable arrives before VideoProcessed (type attributes, timestamps)',
    240_000,
    async () => {
      // Prepare: a queue that receives every event on the VideoProcessed topic (no filter).
      const queue = await aws.sqs.send(
        new CreateQueueCommand({ QueueName: `e2e-processed-${runId}` })
      );
      const queueUrl = queue.QueueUrl!;
      const attrs = await aws.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })
      );
      const queueArn = attrs.Attributes!.QueueArn!;
      await aws.sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: queueUrl,
          Attributes: {
            Policy: JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Principal: { Service: 'sns.amazonaws.com' },
                  Action: 'sqs:SendMessage',
                  Resource: queueArn,
                  Condition: { ArnEquals: { 'aws:SourceArn': out.ProcessedTopicArn } },
                },
              ],
            }),
          },
        })
      );
      const sub = await aws.sns.send(
        new SubscribeCommand({
          TopicArn: out.ProcessedTopicArn,
          Protocol: 'sqs',
          Endpoint: queueArn,
          Attributes: { RawMessageDelivery: 'true' },
        })
      );
      const clip = await makeClip({ seconds: 2, width: 320, height: 240 });
      try {
        // Act
        const { videoId } = await upload(clip, 'playable.mp4');
        const manifest = await waitForManifest(videoId);
        const seen = new Map<
          string,
          {
            body: Record<string, unknown>;
            attrs: Record<string, string | undefined>;
            sentAt: number;
          }
        >();
        await poll(
          `VideoPlayable and VideoProcessed for ${videoId}`,
          async () => {
            const res = await aws.sqs.send(
              new ReceiveMessageCommand({
                QueueUrl: queueUrl,
                MaxNumberOfMessages: 10,
                WaitTimeSeconds: 1,
                MessageAttributeNames: ['All'],
                MessageSystemAttributeNames: ['SentTimestamp'],
              })
            );
            for (const m of res.Messages ?? []) {
              const body = JSON.parse(m.Body ?? '{}');
              const type = m.MessageAttributes?.type?.StringValue;
              if (body.videoId === videoId && type && !seen.has(type)) {
                seen.set(type, {
                  body,
                  attrs: {
                    type,
                    status: m.MessageAttributes?.status?.StringValue,
                  },
                  sentAt: Number(m.Attributes?.SentTimestamp),
                });
              }
            }
            return seen.size === 2 ? true : undefined;
          },
          60_000
        );
        // Assess
        const playable = seen.get('VideoPlayable')!;
        const processed = seen.get('VideoProcessed')!;
        expect(playable.attrs).toEqual({ type: 'VideoPlayable', status: undefined });
        expect(processed.attrs).toEqual({ type: 'VideoProcessed', status: 'COMPLETE' });
        expect(playable.body.branchId).toBe('rendition-240p');
        const playableAt = Date.parse(String(playable.body.playableAt));
        const manifestAt = Date.parse(manifest.createdAt);
        expect(playableAt).toBeLessThanOrEqual(manifestAt);
        expect(playable.sentAt).toBeLessThanOrEqual(processed.sentAt);
        observations.playable = {
          playableBeforeManifest: playableAt <= manifestAt,
          attributes: [playable.attrs, processed.attrs],
        };
      } finally {
        await aws.sns.send(new UnsubscribeCommand({ SubscriptionArn: sub.SubscriptionArn }));
        await aws.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
      }
    }
  );

  testCase('duplicate upload event: one execution, not two', 240_000, async () => {
    // Prepare: a processed upload, then the same S3 notification delivered twice more.
    const clip = await makeClip({ seconds: 2, width: 320, height: 240 });
    const { videoId, source } = await upload(clip, 'duplicate.mp4');
    await waitForManifest(videoId);
    const auditReceivedAt = async () => {
      const body = await getText(out.OutputBucketName, auditKey(videoId));
      return body ? (JSON.parse(body.toString('utf8')).receivedAt as string) : undefined;
    };
    const firstAudit = await poll('audit record', auditReceivedAt, 30_000);
    const head = await aws.s3.send(
      new HeadObjectCommand({ Bucket: source.bucket, Key: source.key })
    );
    const event = s3Event(
      source.bucket,
      source.key,
      head.ContentLength ?? 0,
      source.etag,
      source.versionId
    );
    // Act
    for (let i = 0; i < 2; i++) {
      await aws.sns.send(
        new PublishCommand({ TopicArn: out.UploadTopicArn, Message: JSON.stringify(event) })
      );
    }
    // The re-published events did reach the fan-out (the audit consumer, subscribed to the
    // same topic, rewrote its record), so "one execution" is not just "nothing delivered";
    // then the starter, fed by the same publishes, has consumed them once its queue is empty.
    await poll(
      'the duplicate events to reach the audit consumer',
      async () => (await auditReceivedAt()) !== firstAudit,
      30_000
    );
    await waitForQueueToDrain(out.StartWorkflowQueueUrl);
    // Assess
    const executions = await listExecutionsNamed(videoId);
    expect(executions).toHaveLength(1);
    expect(await dlqContains(out.StartWorkflowDeadLetterQueueUrl, videoId)).toBe(false);
    observations.duplicate = { executions: executions.length };
  });

  testCase(
    'poison message: moved to the DLQ at once, intact, with the reason',
    240_000,
    async () => {
      // Prepare: a body that can never become an upload (the starter allows 100 receives
      // for backpressure, so retrying a poison that often would take hours).
      const marker = `poison-${runId}`;
      const body = `{"Records": "${marker}"`;

      // Act
      await aws.sqs.send(
        new SendMessageCommand({ QueueUrl: out.StartWorkflowQueueUrl, MessageBody: body })
      );
      const dead = await poll(
        'poison message in the DLQ',
        async () => (await dlqMessage(out.StartWorkflowDeadLetterQueueUrl, marker)) ?? undefined,
        120_000
      );

      // Assess: the body arrived intact, with why it was dead-lettered; no workflow started.
      expect(dead.Body).toBe(body);
      expect(dead.MessageAttributes?.['error-name']?.StringValue).toBe('InvalidEventError');
      expect(dead.MessageAttributes?.['error-message']?.StringValue).toMatch(
        /^SQS body is not JSON/
      );
      await waitForQueueToDrain(out.StartWorkflowQueueUrl);
      observations.poison = {
        inDlq: true,
        errorName: dead.MessageAttributes?.['error-name']?.StringValue,
      };
    }
  );

  // ---- helpers that need the clients -----------------------------------------------------------
  /** Waits until the queue holds no message, visible or in flight (the starter deleted each). */
  const waitForQueueToDrain = async (queueUrl: string) => {
    await poll(
      'the starter queue to drain',
      async () => {
        const res = await aws.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
            ],
          })
        );
        const a = res.Attributes ?? {};
        const pending =
          Number(a.ApproximateNumberOfMessages ?? 0) +
          Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
        return pending === 0;
      },
      60_000
    );
  };

  const listExecutionsNamed = async (name: string) => {
    const found: string[] = [];
    let nextToken: string | undefined;
    do {
      const res = await aws.sfn.send(
        new ListExecutionsCommand({
          stateMachineArn: out.StateMachineArn,
          nextToken,
          maxResults: 1000,
        })
      );
      for (const e of res.executions ?? []) if (e.name === name) found.push(e.executionArn ?? '');
      nextToken = res.nextToken;
    } while (nextToken);
    return found;
  };

  /** Looks at (without consuming) the DLQ for a message whose body contains `needle`. */
  const dlqMessage = async (queueUrl: string, needle: string) => {
    const res = await aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 0,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        MessageAttributeNames: ['All'],
      })
    );
    return res.Messages?.find((m) => m.Body?.includes(needle));
  };
  const dlqContains = async (queueUrl: string, needle: string) =>
    Boolean(await dlqMessage(queueUrl, needle));
});

const summarize = (manifest: Manifest) =>
  Object.fromEntries(manifest.branches.map((b) => [b.id, b.status]));

const mkdtempDir = () => {
  const dir = join(tmpdir(), `e2e-artifacts-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

/** The S3 notification S3 itself would publish for this object (keys are URL-encoded, '+' for spaces). */
const s3Event = (bucket: string, key: string, size: number, etag?: string, versionId?: string) => ({
  Records: [
    {
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: process.env.AWS_REGION ?? 'us-east-1',
      eventTime: new Date().toISOString(),
      eventName: 'ObjectCreated:Put',
      s3: {
        s3SchemaVersion: '1.0',
        bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` },
        object: {
          key: encodeURIComponent(key).replaceAll('%2F', '/').replaceAll('%20', '+'),
          size,
          eTag: etag,
          ...(versionId ? { versionId } : {}),
          sequencer: '0055AED6DCD90281E5',
        },
      },
    },
  ],
});
