import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PublishCommand, SNSServiceException } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type {
  AggregateInput,
  Branch,
  BranchRef,
  BranchResult,
  Manifest,
} from '../../contract/index.js';
import { handler } from '../../lambdas/aggregate/handler.js';
import { aggregate, READ_CONCURRENCY } from '../../lambdas/aggregate/logic.js';
import { failureReason } from '../../lambdas/aggregate/verdict.js';
import { metrics } from '../../lambdas/shared/powertools.js';
import { s3 } from '../../lambdas/shared/s3.js';
import { sns } from '../../lambdas/shared/sns.js';
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
const MANIFEST_KEY = 'outputs/clip-0123456789abcdef/manifest.json';
const options = {
  outputBucket: BUCKET,
  topicArn: TOPIC,
  now: () => new Date('2026-11-22T10:05:00Z'),
};

const s3Mock = mockClient(s3);
const snsMock = mockClient(sns);

const BRANCHES: Branch[] = [
  { id: 'thumb-01', kind: 'thumbnail', atSec: 1, width: 320 },
  { id: 'thumb-at-99s', kind: 'thumbnail', atSec: 99, width: 320 },
  { id: 'rendition-360p', kind: 'rendition', height: 360 },
  { id: 'metadata', kind: 'metadata' },
];

const stateFactory = (
  results: BranchRef[],
  overrides: Partial<AggregateInput> = {}
): AggregateInput => ({
  videoId: VIDEO_ID,
  tenant: 'acme',
  source: sourceFactory({ key: 'uploads/acme/clip.mp4' }),
  probe: probeFactory(),
  plan: { branches: BRANCHES },
  results,
  ...overrides,
});

const succeededRefs = (): BranchRef[] => BRANCHES.map((b) => ({ id: b.id, status: 'SUCCEEDED' }));
const failedRef = (refs: BranchRef[], id: string, error: string): BranchRef[] =>
  refs.map((r) => (r.id === id ? { ...r, status: 'FAILED', error } : r));

/** The worker's record of one branch: an internal path under _work/. */
const recordKey = (id: string) => `outputs/${VIDEO_ID}/_work/branches/${id}.json`;

/** Serves branch results by id; absent ones are NoSuchKey, as S3 answers. */
const serveRecords = (records: Record<string, unknown>) => {
  s3Mock.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    const id = Object.keys(records).find((i) => input.Key === recordKey(i));
    if (!id) throw s3ErrorFactory('NoSuchKey', 404);
    return { Body: jsonBody(records[id]) };
  });
};

const allSucceeded = (): Record<string, BranchResult> =>
  Object.fromEntries(BRANCHES.map((b) => [b.id, branchResultFactory(b)]));

const frameNotFound = (): BranchResult =>
  branchResultFactory(BRANCHES[1], {
    status: 'FAILED',
    artifacts: [],
    error: { name: 'FrameNotFoundError', message: 'no frame at 99s (video is 3.0s long)' },
  });

const writtenManifest = (): Manifest =>
  JSON.parse(
    String(
      s3Mock.commandCalls(PutObjectCommand).find((c) => c.args[0].input.Key === MANIFEST_KEY)
        ?.args[0].input.Body
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

  it('writes the final multivariant playlist, marked ladder=final, before the manifest', async () => {
    // Prepare: the rendition delivered its HLS package (a silent source: no audio needed).
    const packageKey = `outputs/${VIDEO_ID}/_work/hls/rendition-360p.json`;
    const records: Record<string, BranchResult> = {
      ...allSucceeded(),
      'rendition-360p': branchResultFactory(BRANCHES[2], {
        artifacts: [{ key: packageKey, contentType: 'application/json', bytes: 200 }],
      }),
    };
    s3Mock.on(GetObjectCommand).callsFake((input: { Key: string }) => {
      if (input.Key === packageKey) {
        return {
          Body: jsonBody({
            video: {
              playlist: `outputs/${VIDEO_ID}/hls/360p/index.m3u8`,
              peakBitRate: 500_000,
              averageBitRate: 400_000,
              codecs: 'avc1.64001e',
              durationSec: 3,
              width: 640,
              height: 360,
              frameRate: 25,
            },
          }),
        };
      }
      const id = Object.keys(records).find((i) => input.Key === recordKey(i));
      if (!id) throw s3ErrorFactory('NoSuchKey', 404);
      return { Body: jsonBody(records[id]) };
    });

    // Act
    await aggregate(
      stateFactory(succeededRefs(), { probe: probeFactory({ audioCodec: null }) }),
      options
    );

    // Assess: an early writer (a late rendition) never replaces a version marked final.
    const puts = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    const playlistAt = puts.findIndex((p) => p.Key === `outputs/${VIDEO_ID}/hls/index.m3u8`);
    expect(playlistAt).toBeGreaterThanOrEqual(0);
    expect(puts[playlistAt]?.Metadata).toEqual({ ladder: 'final' });
    expect(String(puts[playlistAt]?.Body)).toContain('360p/index.m3u8');
    expect(playlistAt).toBeLessThan(puts.findIndex((p) => p.Key === MANIFEST_KEY));
  });

  it('writes a manifest whose published field names are exactly those of schemaVersion 7', async () => {
    // Prepare
    serveRecords(allSucceeded());

    // Act
    await aggregate(stateFactory(succeededRefs()), options);

    // Assess
    const manifest = writtenManifest();
    expect(Object.keys(manifest).sort()).toEqual(
      [
        'schemaVersion',
        'videoId',
        'tenant',
        'source',
        'status',
        'reason',
        'warnings',
        'probe',
        'policy',
        'branches',
        'counts',
        'fanOut',
        'hls',
        'estimatedCostUsd',
        'costBreakdown',
        'createdAt',
        'redrive',
        'ending',
        'execution',
      ].sort()
    );
    expect(manifest.schemaVersion).toBe(7);
    expect(manifest.tenant).toBe('acme');
    expect(Object.keys(manifest.costBreakdown).sort()).toEqual(
      ['currency', 'region', 'pricesAsOf', 'lambda', 'stateTransitions', 'requests'].sort()
    );
    expect(Object.keys(manifest.costBreakdown.requests).sort()).toEqual(
      ['lambda', 'sqs', 'sns', 's3Put', 's3Get'].sort()
    );
    for (const line of manifest.costBreakdown.lambda) {
      expect(Object.keys(line).sort()).toEqual(
        [
          'function',
          'memoryMiB',
          'architecture',
          'invocations',
          'unmeasured',
          'billedMs',
          'gbSeconds',
          'computeUsd',
        ].sort()
      );
    }
    expect(manifest.redrive).toBeNull();
    for (const branch of manifest.branches) {
      expect(Object.keys(branch).sort()).toEqual(
        [
          'id',
          'kind',
          'role',
          'fallbackFor',
          'status',
          'artifacts',
          'error',
          'durationMs',
          'finishedAt',
        ].sort()
      );
    }
    expect(Object.keys(manifest.counts).sort()).toEqual(['failed', 'succeeded', 'total']);
    expect(Object.keys(manifest.fanOut).sort()).toEqual(
      ['sent', 'succeeded', 'failed', 'timedOut', 'fellBack', 'skipped'].sort()
    );
  });

  it("records a segmented rendition's segmentation (count, lengthSec) from the plan, under its branch", async () => {
    // Prepare
    const segmentation = {
      count: 20,
      lengthSec: 30,
      framesPerSegment: 750,
      gopFrames: 50,
      frameRate: 25,
    };
    const branches = BRANCHES.map((b) => (b.id === 'rendition-360p' ? { ...b, segmentation } : b));
    serveRecords(allSucceeded());

    // Act
    await aggregate(stateFactory(succeededRefs(), { plan: { branches } }), options);

    // Assess
    const byId = Object.fromEntries(writtenManifest().branches.map((b) => [b.id, b]));
    expect(byId['rendition-360p']?.segmentation).toEqual({ count: 20, lengthSec: 30 });
    expect(Object.keys(byId['rendition-360p']!).sort()).toEqual(
      [
        'id',
        'kind',
        'role',
        'fallbackFor',
        'status',
        'artifacts',
        'error',
        'durationMs',
        'finishedAt',
        'segmentation',
      ].sort()
    );
    expect(byId['thumb-01']).not.toHaveProperty('segmentation');
  });

  describe('the Wave shape: FanOut refs with the segmented renditions deferred, and the Joins refs', () => {
    const segmentation = {
      count: 20,
      lengthSec: 30,
      framesPerSegment: 750,
      gopFrames: 50,
      frameRate: 25,
    };
    const branches = BRANCHES.map((b) => (b.id === 'rendition-360p' ? { ...b, segmentation } : b));
    /** What the FanOut returns: the segmented rendition SKIPPED (the Deferred Pass), the rest run. */
    const fanOut = (): BranchRef[] =>
      succeededRefs().map((r) => (r.id === 'rendition-360p' ? { id: r.id, status: 'SKIPPED' } : r));
    /** What the Joins map returns: the join's ref, and SKIPPED (NoJoin) for every other branch. */
    const joins = (join: BranchRef): BranchRef[] =>
      BRANCHES.map((b) => (b.id === join.id ? join : { id: b.id, status: 'SKIPPED' }));

    it("takes a deferred rendition's ref from the Joins and every other from the FanOut", async () => {
      // Prepare
      serveRecords(allSucceeded());
      const state = stateFactory([], {
        plan: { branches },
        results: undefined,
        wave: { fanOut: fanOut(), joins: joins({ id: 'rendition-360p', status: 'SUCCEEDED' }) },
      });

      // Act
      const out = await aggregate(state, options);

      // Assess
      expect(out.status).toBe('COMPLETE');
      expect(writtenManifest().branches.map((b) => [b.id, b.status])).toEqual(
        BRANCHES.map((b) => [b.id, 'SUCCEEDED'])
      );
    });

    it("reports a failed join with its fallback, as the FanOut's branch would have", async () => {
      // Prepare: the join timed out and its fallback delivered
      const fallbackId = 'rendition-360p-fallback';
      const fallbackBranch = {
        id: fallbackId,
        kind: 'rendition-fallback',
        height: 360,
        origin: BRANCHES[2],
      } as unknown as Branch;
      const { 'rendition-360p': _timedOut, ...others } = allSucceeded();
      serveRecords({ ...others, [fallbackId]: branchResultFactory(fallbackBranch) });
      const join: BranchRef = {
        id: 'rendition-360p',
        status: 'FAILED',
        error: 'States.Timeout',
        fallback: { id: fallbackId, status: 'SUCCEEDED' },
      };
      const state = stateFactory([], {
        plan: { branches },
        results: undefined,
        policy: {
          mode: 'parallel',
          await: 'all',
          maxInFlight: 10,
          kinds: { 'rendition-fallback': { fallbackFor: 'rendition' } },
        },
        wave: { fanOut: fanOut(), joins: joins(join) },
      });

      // Act
      await aggregate(state, options);

      // Assess
      const byId = Object.fromEntries(writtenManifest().branches.map((b) => [b.id, b]));
      expect(byId['rendition-360p']?.status).toBe('TIMED_OUT');
      expect(byId[fallbackId]).toMatchObject({
        status: 'SUCCEEDED',
        fallbackFor: 'rendition-360p',
      });
    });

    it('never takes a Joins ref for a branch the FanOut ran (NoJoin is not an outcome)', async () => {
      // Prepare: the Joins map passed over the thumbnail (SKIPPED), which the FanOut ran and failed
      serveRecords({ ...allSucceeded(), 'thumb-at-99s': frameNotFound() });
      const state = stateFactory([], {
        plan: { branches },
        results: undefined,
        wave: {
          fanOut: failedRef(fanOut(), 'thumb-at-99s', 'FrameNotFoundError'),
          joins: joins({ id: 'rendition-360p', status: 'SUCCEEDED' }),
        },
      });

      // Act
      const out = await aggregate(state, options);

      // Assess
      expect(out.status).toBe('PARTIAL');
      const byId = Object.fromEntries(writtenManifest().branches.map((b) => [b.id, b]));
      expect(byId['thumb-at-99s']?.status).toBe('FAILED');
    });
  });

  it('is COMPLETE when every branch succeeded, passing each worker record through', async () => {
    // Prepare
    const records = allSucceeded();
    serveRecords(records);
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    const out = await aggregate(stateFactory(succeededRefs()), options);

    // Assess
    expect(out).toEqual({
      videoId: VIDEO_ID,
      status: 'COMPLETE',
      reason: null,
      manifestKey: MANIFEST_KEY,
    });
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: MANIFEST_KEY,
      ContentType: 'application/json',
    });
    const manifest = writtenManifest();
    expect(manifest).toMatchObject({
      schemaVersion: 7,
      videoId: VIDEO_ID,
      tenant: 'acme',
      source: sourceFactory({ key: 'uploads/acme/clip.mp4' }),
      status: 'COMPLETE',
      reason: null,
      probe: probeFactory(),
      counts: { total: 4, succeeded: 4, failed: 0 },
      createdAt: '2026-11-22T10:05:00.000Z',
    });
    expect(manifest.branches).toEqual(
      BRANCHES.map((b) => ({ ...records[b.id], role: 'secondary', fallbackFor: null }))
    );
    expect(addMetric).toHaveBeenCalledWith('VideosCompleted', 'Count', 1);
  });

  it("prices the video from the measured durations and the stack's profile", async () => {
    // Prepare: probe 800 ms, plan 4 ms, four branches of 120 ms each, aggregator 50 ms
    serveRecords(allSucceeded());
    const state = stateFactory(succeededRefs(), {
      probe: probeFactory({ taskDurationMs: 800 }),
      plan: { branches: BRANCHES, taskDurationMs: 4 },
    });
    const costProfile = {
      probe: { memoryMiB: 1024, architecture: 'x86_64' as const },
      plan: { memoryMiB: 256, architecture: 'arm64' as const },
      aggregate: { memoryMiB: 512, architecture: 'arm64' as const },
      kinds: {
        thumbnail: { memoryMiB: 1024, architecture: 'x86_64' as const },
        rendition: { memoryMiB: 2048, architecture: 'x86_64' as const },
        metadata: { memoryMiB: 512, architecture: 'x86_64' as const },
      },
    };

    // Act
    await aggregate(state, { ...options, costProfile, elapsedMs: () => 50 });

    // Assess: worked out by hand at $0.0000166667 (x86) / $0.0000133334 (arm64) per GB-s
    const { costBreakdown, estimatedCostUsd } = writtenManifest();
    expect(
      costBreakdown.lambda.map((l) => [l.function, l.invocations, l.gbSeconds, l.computeUsd])
    ).toEqual([
      ['probe', 1, 0.8, 0.0000133334], // 1 GiB × 0.8 s
      ['plan', 1, 0.001, 0.0000000133], // 0.25 GiB × 0.004 s
      ['thumbnail', 2, 0.24, 0.000004], // 1 GiB × 0.12 s × 2
      ['rendition', 1, 0.24, 0.000004], // 2 GiB × 0.12 s
      ['metadata', 1, 0.06, 0.000001], // 0.5 GiB × 0.12 s
      ['aggregate', 1, 0.025, 0.0000003333], // 0.5 GiB × 0.05 s
    ]);
    // ApplyPolicy, Probe, Plan, SegmentsNeeded, FanOut + 4 × (RouteBranch, Run…)
    // + Aggregate, Decide, Done
    expect(costBreakdown.stateTransitions).toEqual({ count: 16, usd: 0.0004 });
    expect(costBreakdown.requests.lambda).toEqual({ count: 7, usd: 0.0000014 });
    // compute 0.00002268 + transitions 0.0004 + Lambda 0.0000014 + SQS 0.0000024
    // + SNS 0.000001 + S3 PUT 12 × 0.000005 + S3 GET 12 × 0.0000004 = 0.00049228
    // (the GETs include the rendition's HLS package, read by key whether or not it exists)
    expect(estimatedCostUsd).toBeCloseTo(0.00049228, 10);
  });

  it("prices the Segments map's items from their records: measured ones billed, a missing one counted", async () => {
    // Prepare: the plan's items file lists 3 items; two left records (3,000.4 and 2,000 ms), one none
    const itemsKey = `outputs/${VIDEO_ID}/_work/segments/items.json`;
    const items = ['audio-p0000', 'rendition-360p-s0000', 'rendition-360p-s0001'].map((id) => ({
      id,
    }));
    const records: Record<string, unknown> = {
      ...allSucceeded(),
      'audio-p0000': { ...branchResultFactory(BRANCHES[2]), id: 'audio-p0000', durationMs: 3000.4 },
      'rendition-360p-s0000': {
        ...branchResultFactory(BRANCHES[2]),
        id: 'rendition-360p-s0000',
        durationMs: 2000,
      },
    };
    s3Mock.on(GetObjectCommand).callsFake((input: { Key: string }) => {
      if (input.Key === itemsKey) return { Body: jsonBody(items) };
      const id = Object.keys(records).find((i) => input.Key === recordKey(i));
      if (!id) throw s3ErrorFactory('NoSuchKey', 404);
      return { Body: jsonBody(records[id]) };
    });
    const state = stateFactory(succeededRefs(), {
      plan: { branches: BRANCHES, segments: { key: itemsKey, count: 3 } },
    });
    const costProfile = {
      probe: { memoryMiB: 1024, architecture: 'x86_64' as const },
      plan: { memoryMiB: 256, architecture: 'arm64' as const },
      aggregate: { memoryMiB: 512, architecture: 'arm64' as const },
      kinds: { 'rendition-segment': { memoryMiB: 2048, architecture: 'x86_64' as const } },
    };

    // Act
    await aggregate(state, { ...options, costProfile });

    // Assess: 3,001 + 2,000 ms billed at 2 GiB = 10.002 GB-s; the third counted, unmeasured
    const line = writtenManifest().costBreakdown.lambda.find(
      (l) => l.function === 'rendition-segment'
    );
    expect(line).toMatchObject({
      invocations: 3,
      unmeasured: 1,
      billedMs: 5001,
      gbSeconds: 10.002,
    });
    // The items file and each item's record were read.
    const read = s3Mock.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key);
    expect(read).toEqual(expect.arrayContaining([itemsKey, ...items.map((i) => recordKey(i.id))]));
  });

  it('is PARTIAL when one branch failed, and keeps the other branches artifacts', async () => {
    // Prepare
    serveRecords({ ...allSucceeded(), 'thumb-at-99s': frameNotFound() });
    const refs = failedRef(succeededRefs(), 'thumb-at-99s', 'FrameNotFoundError');

    // Act
    const out = await aggregate(stateFactory(refs), options);

    // Assess
    expect(out.status).toBe('PARTIAL');
    expect(out.reason).toBe(
      '1 of 4 branches failed: thumb-at-99s (FrameNotFoundError: no frame at 99s (video is 3.0s long))'
    );
    const manifest = writtenManifest();
    expect(manifest).toMatchObject({ status: 'PARTIAL', reason: out.reason });
    expect(manifest.counts).toEqual({ total: 4, succeeded: 3, failed: 1 });
    const ok = manifest.branches.filter((b) => b.status === 'SUCCEEDED');
    expect(ok.map((b) => b.id)).toEqual(['thumb-01', 'rendition-360p', 'metadata']);
    expect(ok.map((b) => b.artifacts.length)).toEqual([1, 1, 1]);
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
    expect(writtenManifest()).toMatchObject({
      status: 'FAILED',
      reason: 'InvalidVideoError: truncated or corrupt video (partial file)',
      probe: null,
      branches: [],
      counts: { total: 0, succeeded: 0, failed: 0 },
    });
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
    // Act
    const reason = failureReason(failure);

    // Assess
    expect(reason).toBe(expected);
  });

  it('bounds a failure reason at 1000 characters, marked with an ellipsis', () => {
    // Prepare
    const failure = { Error: 'States.Runtime', Cause: 'x'.repeat(5000) };

    // Act
    const reason = failureReason(failure);

    // Assess
    expect(reason).toHaveLength(1000);
    expect(reason.startsWith('States.Runtime: xxx')).toBe(true);
    expect(reason.endsWith('…')).toBe(true);
  });

  it('is FAILED when every branch failed', async () => {
    // Prepare
    serveRecords(
      Object.fromEntries(
        BRANCHES.map((b) => [
          b.id,
          branchResultFactory(b, {
            status: 'FAILED',
            artifacts: [],
            error: { name: 'MediaToolError', message: 'ffmpeg exited 1' },
          }),
        ])
      )
    );
    const refs = BRANCHES.map((b) => ({
      id: b.id,
      status: 'FAILED' as const,
      error: 'MediaToolError',
    }));
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    const out = await aggregate(stateFactory(refs), options);

    // Assess
    expect(out.status).toBe('FAILED');
    expect(out.reason).toMatch(
      /^4 of 4 branches failed: thumb-01 \(MediaToolError: ffmpeg exited 1\)/
    );
    expect(writtenManifest().counts).toEqual({ total: 4, succeeded: 0, failed: 4 });
    expect(addMetric).toHaveBeenCalledWith('VideosFailed', 'Count', 1);
  });

  it('is FAILED when there is no plan and no failure', async () => {
    // Prepare
    const state = stateFactory([], { plan: undefined });

    // Act
    const out = await aggregate(state, options);

    // Assess
    expect(out.status).toBe('FAILED');
    expect(out.reason).toBe('no plan: the workflow reached the aggregator without planning');
  });

  it('reports a branch that ran past its timeout as TIMED_OUT, ignoring its late record', async () => {
    // Prepare
    // The late run finished after the timeout and recorded SUCCEEDED.
    serveRecords(allSucceeded());
    const refs = failedRef(succeededRefs(), 'rendition-360p', 'States.Timeout');

    // Act
    const out = await aggregate(stateFactory(refs), options);

    // Assess
    expect(out.status).toBe('PARTIAL');
    const branch = writtenManifest().branches.find((b) => b.id === 'rendition-360p');
    expect(branch).toEqual({
      id: 'rendition-360p',
      kind: 'rendition',
      role: 'secondary',
      fallbackFor: null,
      status: 'TIMED_OUT',
      artifacts: [],
      error: {
        name: 'States.Timeout',
        message: 'ran past its policy timeout; a late result is ignored',
      },
      durationMs: null,
      finishedAt: null,
    });
  });

  it('reports BranchResultMissing when neither a record nor a failed ref explains a branch', async () => {
    // Prepare
    const records = allSucceeded();
    delete records.metadata;
    serveRecords(records);

    // Act
    await aggregate(stateFactory(succeededRefs()), options);

    // Assess
    const branch = writtenManifest().branches.find((b) => b.id === 'metadata');
    expect(branch).toMatchObject({ status: 'FAILED', error: { name: 'BranchResultMissing' } });
  });

  it('marks a branch FAILED when its record is unreadable, instead of failing the video', async () => {
    // Prepare
    serveRecords({ ...allSucceeded(), metadata: { id: 'metadata', status: 'DONE' } });

    // Act
    const out = await aggregate(stateFactory(succeededRefs()), options);

    // Assess
    expect(out.status).toBe('PARTIAL');
    const branch = writtenManifest().branches.find((b) => b.id === 'metadata');
    expect(branch).toMatchObject({
      status: 'FAILED',
      error: { name: 'BranchResultMissing', message: 'branch result is unreadable' },
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

  it('publishes a VideoProcessed event with a status message attribute', async () => {
    // Prepare
    serveRecords({ ...allSucceeded(), 'thumb-at-99s': frameNotFound() });

    // Act
    await aggregate(stateFactory(succeededRefs()), options);

    // Assess
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      // The tenant as the fair-queue group of every subscribed standard queue.
      MessageGroupId: 'acme',
      MessageAttributes: {
        status: { DataType: 'String', StringValue: 'PARTIAL' },
        type: { DataType: 'String', StringValue: 'VideoProcessed' },
      },
    });
    const message = JSON.parse(snsMock.commandCalls(PublishCommand)[0].args[0].input.Message ?? '');
    expect(message).toEqual({
      videoId: VIDEO_ID,
      status: 'PARTIAL',
      reason:
        '1 of 4 branches failed: thumb-at-99s (FrameNotFoundError: no frame at 99s (video is 3.0s long))',
      source: sourceFactory({ key: 'uploads/acme/clip.mp4' }),
      manifest: { bucket: BUCKET, key: MANIFEST_KEY },
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

  it('reads at most READ_CONCURRENCY branch results at a time, and reaches that limit', async () => {
    // Prepare
    const branches: Branch[] = Array.from({ length: READ_CONCURRENCY * 3 + 1 }, (_, i) => ({
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
      // Yield to the event loop so the other reads can start: no wall-clock wait.
      await new Promise(setImmediate);
      inFlight--;
      const id = input.Key.split('/').pop()?.replace('.json', '') ?? '';
      return { Body: jsonBody(branchResultFactory(branches.find((b) => b.id === id)!)) };
    });

    // Act
    const out = await aggregate(stateFactory([], { plan: { branches } }), options);

    // Assess
    expect(out.status).toBe('COMPLETE');
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, branches.length);
    expect(peak).toBe(READ_CONCURRENCY);
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
    const invalid = handler({ videoId: VIDEO_ID }, lambdaContextFactory());

    // Assess
    expect(out.status).toBe('COMPLETE');
    await expect(invalid).rejects.toMatchObject({
      name: 'InvalidEventError',
      message: expect.stringContaining('source'),
    });
  });
});

describe('aggregate: warnings and a source that changed', () => {
  beforeEach(() => {
    s3Mock.reset();
    snsMock.reset();
    s3Mock.on(PutObjectCommand).resolves({});
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
  });

  it("lists the plan's warnings in the manifest and stays COMPLETE when every planned branch succeeded", async () => {
    // Prepare
    const warnings = [
      'thumbnail-times: ignored 1 entry that is not a time in seconds: "<script>"',
      'thumbnail-times: ignored 2 times beyond the limit of 20 extra thumbnails: 21, 22',
    ];
    serveRecords(allSucceeded());
    // Act
    const out = await aggregate(
      stateFactory(succeededRefs(), { plan: { branches: BRANCHES, warnings } }),
      options
    );
    // Assess
    expect(out.status).toBe('COMPLETE');
    const manifest = writtenManifest();
    expect(manifest.status).toBe('COMPLETE');
    expect(manifest.warnings).toEqual(warnings);
  });

  it('writes an empty warnings list when the plan had none', async () => {
    serveRecords(allSucceeded());
    await aggregate(stateFactory(succeededRefs()), options);
    expect(writtenManifest().warnings).toEqual([]);
  });

  it('ends FAILED "source changed while processing" when any branch met other bytes, even a secondary one', async () => {
    // Prepare: the metadata branch (secondary under the primary policy) found the source changed.
    const records = allSucceeded();
    records.metadata = branchResultFactory(BRANCHES[3], {
      status: 'FAILED',
      artifacts: [],
      error: {
        name: 'SourceChangedError',
        message:
          'source changed while processing: s3://upload-bucket/uploads/acme/clip.mp4 no longer has ETag d41d8cd98f00b204e9800998ecf8427e',
      },
    });
    serveRecords(records);
    const refs = failedRef(succeededRefs(), 'metadata', 'SourceChangedError');
    // Act
    const out = await aggregate(
      stateFactory(refs, {
        policy: {
          mode: 'parallel',
          await: 'primary',
          kinds: { rendition: { role: 'primary' } },
          maxInFlight: 10,
        },
      }),
      options
    );
    // Assess
    expect(out.status).toBe('FAILED');
    expect(out.reason).toMatch(/^SourceChangedError: source changed while processing: /);
    expect(writtenManifest().status).toBe('FAILED');
  });
});
