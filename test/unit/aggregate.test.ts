import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PublishCommand, SNSServiceException } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../lambdas/aggregate/handler.js';
import { aggregate, failureReason, sns } from '../../lambdas/aggregate/logic.js';
import { branchResultKey, manifestKey } from '../../lambdas/shared/keys.js';
import { metrics } from '../../lambdas/shared/powertools.js';
import { s3 } from '../../lambdas/shared/s3.js';
import {
  type AggregateInput,
  type BranchRef,
  type BranchResult,
  type BranchTask,
  type Manifest,
  ManifestSchema,
  VideoProcessedEventSchema,
} from '../../lambdas/shared/schemas.js';
import {
  branchResultFactory,
  jsonBody,
  lambdaContextFactory,
  probeFactory,
  s3ErrorFactory,
  sourceFactory,
} from '../helpers/factories.js';

const VIDEO_ID = 'clip-0123456789abcdef';
const BUCKET = 'output-bucket';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:video-processed';
const options = {
  outputBucket: BUCKET,
  topicArn: TOPIC,
  now: () => new Date('2026-11-22T10:05:00Z'),
};

const s3Mock = mockClient(s3);
const snsMock = mockClient(sns);

const TASKS: BranchTask[] = [
  { id: 'thumb-01', kind: 'thumbnail', atSec: 1, width: 320 },
  { id: 'thumb-at-99000', kind: 'thumbnail', atSec: 99, width: 320 },
  { id: 'rendition-360p', kind: 'rendition', height: 360 },
  { id: 'metadata', kind: 'metadata' },
];

const stateFactory = (
  results: BranchRef[],
  overrides: Partial<AggregateInput> = {}
): AggregateInput => ({
  videoId: VIDEO_ID,
  source: sourceFactory(),
  probe: probeFactory(),
  plan: { tasks: TASKS },
  results,
  ...overrides,
});

const succeededRefs = (): BranchRef[] => TASKS.map((t) => ({ taskId: t.id, status: 'SUCCEEDED' }));

/** Serves branch records from a map keyed by taskId; absent ones are NoSuchKey. */
const serveRecords = (records: Record<string, BranchResult>) => {
  s3Mock.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    const taskId = Object.keys(records).find((id) => input.Key === branchResultKey(VIDEO_ID, id));
    if (!taskId) throw s3ErrorFactory('NoSuchKey', 404);
    return { Body: jsonBody(records[taskId]) };
  });
};

const allSucceeded = (): Record<string, BranchResult> =>
  Object.fromEntries(TASKS.map((t) => [t.id, branchResultFactory(t)]));

const frameNotFound = (): BranchResult =>
  branchResultFactory(TASKS[1], {
    status: 'FAILED',
    artifacts: [],
    error: { name: 'FrameNotFoundError', message: 'no frame at 99s (video is 3.0s long)' },
  });

const writtenManifest = (): Manifest =>
  JSON.parse(
    String(
      s3Mock
        .commandCalls(PutObjectCommand)
        .find((c) => c.args[0].input.Key === manifestKey(VIDEO_ID))?.args[0].input.Body
    )
  );

describe('aggregate', () => {
  beforeEach(() => {
    s3Mock.reset();
    snsMock.reset();
    s3Mock.on(PutObjectCommand).resolves({});
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('is COMPLETE when every branch succeeded, with a schema-valid manifest', async () => {
    // Prepare
    serveRecords(allSucceeded());
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    const out = await aggregate(stateFactory(succeededRefs()), options);

    // Assess
    expect(out).toEqual({
      videoId: VIDEO_ID,
      status: 'COMPLETE',
      reason: null,
      manifestKey: manifestKey(VIDEO_ID),
    });
    const manifest = writtenManifest();
    expect(ManifestSchema.safeParse(manifest).success).toBe(true);
    expect(manifest.counts).toEqual({ total: 4, succeeded: 4, failed: 0 });
    expect(manifest.probe).toEqual(probeFactory());
    expect(addMetric).toHaveBeenCalledWith('VideosCompleted', 'Count', 1);
  });

  it('is PARTIAL when one branch failed, and keeps the other branches artifacts', async () => {
    // Prepare
    serveRecords({ ...allSucceeded(), 'thumb-at-99000': frameNotFound() });
    const refs = succeededRefs().map((r) =>
      r.taskId === 'thumb-at-99000'
        ? { ...r, status: 'FAILED' as const, error: 'FrameNotFoundError' }
        : r
    );

    // Act
    const out = await aggregate(stateFactory(refs), options);

    // Assess
    expect(out.status).toBe('PARTIAL');
    expect(out.reason).toBe(
      '1 of 4 branches failed: thumb-at-99000 (FrameNotFoundError: no frame at 99s (video is 3.0s long))'
    );
    const manifest = writtenManifest();
    expect(manifest.counts).toEqual({ total: 4, succeeded: 3, failed: 1 });
    const ok = manifest.branches.filter((b) => b.status === 'SUCCEEDED');
    expect(ok.map((b) => b.name)).toEqual(['thumb-01', 'rendition-360p', 'metadata']);
    expect(ok.every((b) => b.artifacts.length === 1)).toBe(true);
  });

  it('is FAILED with a readable reason extracted from a Lambda Cause', async () => {
    // Prepare
    const failure = {
      Error: 'InvalidVideoError',
      Cause: JSON.stringify({
        errorType: 'InvalidVideoError',
        errorMessage: 'truncated or corrupt video (partial file)',
        trace: ['InvalidVideoError: truncated or corrupt video (partial file)', '    at probeFile'],
      }),
    };

    // Act
    const out = await aggregate(
      stateFactory([], { probe: undefined, plan: undefined, results: undefined, failure }),
      options
    );

    // Assess
    expect(out.status).toBe('FAILED');
    expect(out.reason).toBe('InvalidVideoError: truncated or corrupt video (partial file)');
    const manifest = writtenManifest();
    expect(manifest).toMatchObject({ status: 'FAILED', probe: null, branches: [] });
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, 0);
  });

  it.each([
    {
      description: 'plain-text Cause',
      failure: { Error: 'States.Timeout', Cause: 'Task timed out' },
      expected: 'States.Timeout: Task timed out',
    },
    { description: 'no Cause', failure: { Error: 'States.Runtime' }, expected: 'States.Runtime' },
    {
      description: 'JSON without errorMessage',
      failure: { Error: 'X', Cause: '{"a":1}' },
      expected: 'X: {"a":1}',
    },
    { description: 'broken JSON', failure: { Error: 'X', Cause: '{oops' }, expected: 'X: {oops' },
  ])('formats failure reasons: $description', ({ failure, expected }) => {
    // Prepare
    const input = failure;

    // Act
    const reason = failureReason(input);

    // Assess
    expect(reason).toBe(expected);
  });

  it('is FAILED when every branch failed', async () => {
    // Prepare
    serveRecords(
      Object.fromEntries(
        TASKS.map((t) => [
          t.id,
          branchResultFactory(t, {
            status: 'FAILED',
            artifacts: [],
            error: { name: 'MediaToolError', message: 'ffmpeg exited 1' },
          }),
        ])
      )
    );
    const refs = TASKS.map((t) => ({
      taskId: t.id,
      status: 'FAILED' as const,
      error: 'MediaToolError',
    }));
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    const out = await aggregate(stateFactory(refs), options);

    // Assess
    expect(out.status).toBe('FAILED');
    expect(out.reason).toMatch(/^4 of 4 branches failed: thumb-01 \(MediaToolError/);
    expect(addMetric).toHaveBeenCalledWith('VideosFailed', 'Count', 1);
  });

  it('is FAILED when there is no plan and no failure', async () => {
    // Prepare
    const state = stateFactory([], { plan: undefined });

    // Act
    const out = await aggregate(state, options);

    // Assess
    expect(out.status).toBe('FAILED');
    expect(out.reason).toMatch(/no plan/);
  });

  it('uses the Map ref error name when a timed-out branch left no record', async () => {
    // Prepare
    const records = allSucceeded();
    delete records['rendition-360p'];
    serveRecords(records);
    const refs = succeededRefs().map((r) =>
      r.taskId === 'rendition-360p'
        ? { ...r, status: 'FAILED' as const, error: 'States.Timeout' }
        : r
    );

    // Act
    const out = await aggregate(stateFactory(refs), options);

    // Assess
    expect(out.status).toBe('PARTIAL');
    const branch = writtenManifest().branches.find((b) => b.name === 'rendition-360p');
    expect(branch).toMatchObject({
      status: 'FAILED',
      durationMs: null,
      error: { name: 'States.Timeout', message: expect.stringMatching(/timed out or crashed/) },
    });
  });

  it('writes the manifest before publishing the event', async () => {
    // Prepare
    serveRecords(allSucceeded());
    const order: string[] = [];
    s3Mock.on(PutObjectCommand).callsFake(() => {
      order.push('manifest');
      return {};
    });
    snsMock.on(PublishCommand).callsFake(() => {
      order.push('publish');
      return { MessageId: 'm-1' };
    });

    // Act
    await aggregate(stateFactory(succeededRefs()), options);

    // Assess
    expect(order).toEqual(['manifest', 'publish']);
  });

  it('publishes a VideoProcessedEvent with a status message attribute', async () => {
    // Prepare
    serveRecords({ ...allSucceeded(), 'thumb-at-99000': frameNotFound() });

    // Act
    await aggregate(stateFactory(succeededRefs()), options);

    // Assess
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      MessageAttributes: { status: { DataType: 'String', StringValue: 'PARTIAL' } },
    });
    const message = JSON.parse(snsMock.commandCalls(PublishCommand)[0].args[0].input.Message ?? '');
    expect(VideoProcessedEventSchema.parse(message)).toMatchObject({
      videoId: VIDEO_ID,
      status: 'PARTIAL',
      manifest: { bucket: BUCKET, key: manifestKey(VIDEO_ID) },
    });
  });

  it('does not publish when the manifest write fails', async () => {
    // Prepare
    serveRecords(allSucceeded());
    s3Mock.on(PutObjectCommand).rejects(s3ErrorFactory('InternalError', 500));

    // Act
    const result = aggregate(stateFactory(succeededRefs()), options);

    // Assess
    await expect(result).rejects.toMatchObject({ name: 'TransientServiceError' });
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 0);
  });

  it('turns SNS throttling into TransientServiceError so the retry rewrites the same manifest', async () => {
    // Prepare
    serveRecords(allSucceeded());
    snsMock.on(PublishCommand).rejects(
      new SNSServiceException({
        name: 'ThrottledException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'Rate exceeded',
      })
    );

    // Act
    const result = aggregate(stateFactory(succeededRefs()), options);

    // Assess
    await expect(result).rejects.toMatchObject({ name: 'TransientServiceError' });
  });

  it('reads at most 16 branch records at a time', async () => {
    // Prepare
    const tasks: BranchTask[] = Array.from({ length: 100 }, (_, i) => ({
      id: `thumb-${i}`,
      kind: 'thumbnail',
      atSec: i,
      width: 320,
    }));
    let inFlight = 0;
    let peak = 0;
    s3Mock.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      const id = input.Key.split('/').pop()?.replace('.json', '') ?? '';
      return { Body: jsonBody(branchResultFactory(tasks.find((t) => t.id === id)!)) };
    });

    // Act
    const out = await aggregate(stateFactory([], { plan: { tasks } }), options);

    // Assess
    expect(out.status).toBe('COMPLETE');
    expect(peak).toBe(16);
  });

  it('handler validates the state and reads its environment', async () => {
    // Prepare
    vi.stubEnv('OUTPUT_BUCKET', BUCKET);
    vi.stubEnv('PROCESSED_TOPIC_ARN', TOPIC);
    serveRecords(allSucceeded());

    // Act
    const out = await handler(
      { ...stateFactory(succeededRefs()), extra: 'ignored' },
      lambdaContextFactory()
    );

    // Assess
    expect(out.status).toBe('COMPLETE');
    await expect(handler({ videoId: VIDEO_ID }, lambdaContextFactory())).rejects.toMatchObject({
      name: 'InvalidEventError',
    });
  });
});
