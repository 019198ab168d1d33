import '../helpers/env.js';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PublishCommand } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type EmfEntry,
  fetchEmfRecords,
  latestVerdicts,
  metricsView,
  percentile,
  renderMetricsView,
} from '../../cli/src/metrics.js';
import type { AggregateInput, Branch, BranchResult } from '../../contract/index.js';
import { aggregate } from '../../lambdas/aggregate/logic.js';
import { runBranch } from '../../lambdas/run-branch/logic.js';
import { metrics } from '../../lambdas/shared/powertools.js';
import { s3 } from '../../lambdas/shared/s3.js';
import { sns } from '../../lambdas/shared/sns.js';
import { StartBudget } from '../../lambdas/start-workflow/backpressure.js';
import { budgetGate, handleUploadMessage } from '../../lambdas/start-workflow/logic.js';
import { EmfStore } from '../../local-runtime/src/emf-store.js';
import {
  branchInputFactory,
  branchResultFactory,
  jsonBody,
  probeFactory,
  s3ErrorFactory,
  snsRawS3Message,
  sourceFactory,
} from '../helpers/factories.js';

/**
 * The CLI's `metrics` view over EMF records that the functions' own code
 * produced: the aggregator, a branch worker and the starter run here with
 * mocked AWS clients, and every record Powertools would print is captured
 * as the local runtime stores it (`[<function>] <json>` through EmfStore).
 */

const s3Mock = mockClient(s3);
const snsMock = mockClient(sns);
const BUCKET = 'output-bucket';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:video-processed';

const BRANCHES: Branch[] = [
  { id: 'thumb-01', kind: 'thumbnail', atSec: 1, width: 320 },
  { id: 'thumb-at-99s', kind: 'thumbnail', atSec: 99, width: 320 },
  { id: 'rendition-360p', kind: 'rendition', height: 360 },
  { id: 'metadata', kind: 'metadata' },
];

/**
 * Captures what publishStoredMetrics would print, from the shared instance and
 * from every singleMetric() it hands out (tests run with metrics disabled, so
 * Powertools itself prints nothing).
 */
const captureEmf = (fnName: string, store: EmfStore) => {
  const capture = (m: Metrics) =>
    vi.spyOn(m, 'publishStoredMetrics').mockImplementation(() => {
      if (m.hasStoredMetrics()) store.offer(`[${fnName}] ${JSON.stringify(m.serializeMetrics())}`);
      m.clearMetrics();
      m.clearDimensions();
      m.clearMetadata();
      return m;
    });
  capture(metrics);
  const single = metrics.singleMetric.bind(metrics);
  vi.spyOn(metrics, 'singleMetric').mockImplementation(() => {
    const m = single();
    capture(m);
    return m;
  });
};

/** Branch records in S3 by id: thumb-at-99s FAILED, the others SUCCEEDED. */
const serveRecords = (videoId: string) => {
  const records: Record<string, BranchResult> = Object.fromEntries(
    BRANCHES.map((b) => [
      b.id,
      b.id === 'thumb-at-99s'
        ? branchResultFactory(b, {
            status: 'FAILED',
            artifacts: [],
            error: { name: 'FrameNotFoundError', message: 'no frame at 99s' },
          })
        : branchResultFactory(b),
    ])
  );
  s3Mock.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    const id = Object.keys(records).find(
      (i) => input.Key === `outputs/${videoId}/_work/branches/${i}.json`
    );
    if (!id) throw s3ErrorFactory('NoSuchKey', 404);
    return { Body: jsonBody(records[id]) };
  });
};

const aggregateInput = (tenant: string, videoId: string): AggregateInput => ({
  videoId,
  tenant,
  source: sourceFactory({ key: `uploads/${tenant}/clip.mp4` }),
  uploadedAt: '2026-11-22T10:00:00.000Z',
  probe: probeFactory(),
  plan: { branches: BRANCHES },
  results: BRANCHES.map((b) =>
    b.id === 'thumb-at-99s'
      ? { id: b.id, status: 'FAILED' as const, error: 'FrameNotFoundError' }
      : { id: b.id, status: 'SUCCEEDED' as const }
  ),
});

describe('metrics view over the functions’ EMF records', () => {
  beforeEach(() => {
    s3Mock.reset();
    snsMock.reset();
    s3Mock.on(PutObjectCommand).resolves({});
    // The starter and a failing branch verify the source: S3 holds the object the event names.
    s3Mock.on(HeadObjectCommand).resolves({ ETag: '"d41d8cd98f00b204e9800998ecf8427e"' });
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    vi.stubEnv('METRIC_TENANTS', 'acme');
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('counts branches per kind and tenant, latency and backpressure per tenant, videos by status', async () => {
    // Prepare
    const store = new EmfStore();
    captureEmf('VideoPipeline-Aggregate1A2B3C4D', store);
    serveRecords('acme--clip-1');

    // Act: two videos of acme (5 and 2 minutes after upload), one of an unconfigured tenant,
    // one rendition failing in its worker, one upload held back by backpressure.
    await aggregate(aggregateInput('acme', 'acme--clip-1'), {
      outputBucket: BUCKET,
      topicArn: TOPIC,
      now: () => new Date('2026-11-22T10:05:00.000Z'),
    });
    serveRecords('acme--clip-2');
    await aggregate(aggregateInput('acme', 'acme--clip-2'), {
      outputBucket: BUCKET,
      topicArn: TOPIC,
      now: () => new Date('2026-11-22T10:02:00.000Z'),
    });
    serveRecords('zeta--clip-3');
    await aggregate(aggregateInput('zeta', 'zeta--clip-3'), {
      outputBucket: BUCKET,
      topicArn: TOPIC,
      now: () => new Date('2026-11-22T10:00:01.500Z'),
    });
    metrics.publishStoredMetrics(); // the aggregate handler's flush
    await runBranch(
      branchInputFactory(
        { id: 'rendition-360p', kind: 'rendition', height: 360 },
        { tenant: 'acme' }
      ),
      {
        outputBucket: BUCKET,
        timeBudget: () => 0, // the kind refuses to start: a fast, real failure
        sourceUrl: async () => 'http://127.0.0.1:9/never-read.mp4',
      }
    ).catch(() => undefined);
    metrics.publishStoredMetrics(); // the branch handler's flush
    const held = await handleUploadMessage(
      snsRawS3Message([{ key: 'uploads/zeta/waiting.mp4' }]),
      {
        stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Workflow',
        uploadBucket: 'upload-bucket',
      },
      budgetGate(
        new StartBudget({ bound: 1 }, async () => ({ total: 1, byTenant: new Map([['zeta', 1]]) }))
      )
    ).catch((e: Error) => e.name);
    const { records, dropped } = store.snapshot();

    // Act
    const view = metricsView(records, dropped);

    // Assess
    expect(held).toBe('WorkflowsAtCapacity');
    expect(view.verdictsWritten).toEqual({ complete: 0, partial: 3, failed: 0 });
    expect(view.byKindAndTenant).toEqual([
      {
        kind: 'metadata',
        tenant: 'acme',
        emitted: 2,
        succeeded: 2,
        failed: 0,
        timedOut: 0,
        durationP50Ms: undefined,
        durationP95Ms: undefined,
      },
      {
        kind: 'metadata',
        tenant: 'other',
        emitted: 1,
        succeeded: 1,
        failed: 0,
        timedOut: 0,
        durationP50Ms: undefined,
        durationP95Ms: undefined,
      },
      {
        kind: 'rendition',
        tenant: 'acme',
        emitted: 2,
        succeeded: 2,
        failed: 0,
        timedOut: 0,
        durationP50Ms: expect.any(Number),
        durationP95Ms: expect.any(Number),
      },
      {
        kind: 'rendition',
        tenant: 'other',
        emitted: 1,
        succeeded: 1,
        failed: 0,
        timedOut: 0,
        durationP50Ms: undefined,
        durationP95Ms: undefined,
      },
      {
        kind: 'thumbnail',
        tenant: 'acme',
        emitted: 4,
        succeeded: 2,
        failed: 2,
        timedOut: 0,
        durationP50Ms: undefined,
        durationP95Ms: undefined,
      },
      {
        kind: 'thumbnail',
        tenant: 'other',
        emitted: 2,
        succeeded: 1,
        failed: 1,
        timedOut: 0,
        durationP50Ms: undefined,
        durationP95Ms: undefined,
      },
    ]);
    expect(view.byTenant).toEqual([
      {
        tenant: 'acme',
        manifests: 2,
        latencyP50Ms: 120_000,
        latencyP95Ms: 300_000,
        latencyMaxMs: 300_000,
        heldBack: 0,
      },
      {
        tenant: 'other',
        manifests: 1,
        latencyP50Ms: 1_500,
        latencyP95Ms: 1_500,
        latencyMaxMs: 1_500,
        heldBack: 1,
      },
    ]);
    expect(view.dropped).toBe(0);
    // Videos by status per tenant too (the overall totals above come from the plain points)
    const partialByTenant = records
      .map((e) => e.record as Record<string, unknown>)
      .filter((r) => r.VideosPartial !== undefined && r.tenant !== undefined)
      .map((r) => [r.tenant, r.VideosPartial]);
    expect(partialByTenant.sort()).toEqual([
      ['acme', 1],
      ['acme', 1],
      ['other', 1],
    ]);
  });

  it('renders the tables with every kind/tenant row and the latency per tenant', () => {
    // Prepare
    const record = (fields: Record<string, unknown>, dims: string[], names: string[]) => ({
      function: 'fn',
      record: {
        _aws: {
          Timestamp: 0,
          CloudWatchMetrics: [
            {
              Namespace: 'FanOutFanIn',
              Dimensions: [dims],
              Metrics: names.map((Name) => ({ Name, Unit: 'Count' })),
            },
          ],
        },
        service: 'video-pipeline',
        ...fields,
      },
    });
    const entries: EmfEntry[] = [
      record(
        { kind: 'thumbnail', tenant: 'acme', FanOutSent: 3, FanOutSucceeded: 2, FanOutFailed: 1 },
        ['service', 'kind', 'tenant'],
        ['FanOutSent', 'FanOutSucceeded', 'FanOutFailed']
      ),
      record(
        { tenant: 'acme', UploadToManifestMs: 42_000 },
        ['service', 'tenant'],
        ['UploadToManifestMs']
      ),
    ];

    // Act
    const text = renderMetricsView(metricsView(entries, 3));

    // Assess
    expect(text).toMatch(/thumbnail\s*│\s*acme\s*│\s*3\s*│\s*2\s*│\s*1\s*│\s*0\s*│/);
    expect(text).toMatch(/acme\s*│\s*1\s*│\s*42\.0s\s*│\s*42\.0s\s*│\s*42\.0s\s*│\s*0\s*│/);
    expect(text.split('\n').filter((line) => line.length > 80)).toEqual([]);
    expect(text).toContain('the runtime evicted 3 older records');
  });

  it('reads each dimension set of a record separately, and ignores other namespaces', () => {
    // Prepare
    const entries: EmfEntry[] = [
      {
        function: 'fn',
        record: {
          _aws: {
            Timestamp: 0,
            CloudWatchMetrics: [
              {
                Namespace: 'FanOutFanIn',
                Dimensions: [['service'], ['service', 'tenant']],
                Metrics: [{ Name: 'UploadsHeldBack', Unit: 'Count' }],
              },
              {
                Namespace: 'SomethingElse',
                Dimensions: [['service', 'tenant']],
                Metrics: [{ Name: 'UploadsHeldBack', Unit: 'Count' }],
              },
            ],
          },
          service: 'video-pipeline',
          tenant: 'acme',
          UploadsHeldBack: [1, 1],
        },
      },
    ];

    // Act
    const view = metricsView(entries);

    // Assess: counted once under {service, tenant}; the other namespace is not ours.
    expect(view.byTenant).toEqual([
      {
        tenant: 'acme',
        manifests: 0,
        latencyP50Ms: undefined,
        latencyP95Ms: undefined,
        latencyMaxMs: undefined,
        heldBack: 2,
      },
    ]);
  });

  it.each([
    [[], 50, undefined],
    [[7], 95, 7],
    [[1, 2, 3, 4], 50, 2],
    [[1, 2, 3, 4], 95, 4],
  ])('percentile(%j, %i) is %s (nearest rank)', (values, p, expected) => {
    // Act / Assess
    expect(percentile(values, p)).toBe(expected);
  });
});

describe('latestVerdicts', () => {
  const ID = 'clip-0123456789abcdef';

  it('counts a video and its redrive executions once, with the newest verdict', () => {
    // Act
    const counts = latestVerdicts([
      { videoId: ID, status: 'PARTIAL', created: '2026-11-22T10:00:00.000Z' },
      { videoId: `${ID}-redrive-2`, status: 'COMPLETE', created: '2026-11-22T10:09:00.000Z' },
      { videoId: `${ID}-redrive-1`, status: 'PARTIAL', created: '2026-11-22T10:05:00.000Z' },
      { videoId: 'other-fedcba9876543210', status: 'FAILED', created: '2026-11-22T10:01:00.000Z' },
    ]);

    // Assess
    expect(counts).toEqual({ complete: 1, partial: 0, failed: 1 });
  });

  it('does not take a file named like a redrive for a redrive of another video', () => {
    // Act: `take-redrive-2.mp4` is its own video (its id still ends in 16 hex digits).
    const counts = latestVerdicts([
      { videoId: 'take-0123456789abcdef', status: 'PARTIAL', created: '2026-11-22T10:00:00.000Z' },
      {
        videoId: 'take-redrive-2-fedcba9876543210',
        status: 'COMPLETE',
        created: '2026-11-22T10:01:00.000Z',
      },
    ]);

    // Assess
    expect(counts).toEqual({ complete: 1, partial: 1, failed: 0 });
  });

  it('leaves RUNNING and NO MANIFEST rows out of the verdicts', () => {
    // Act
    const counts = latestVerdicts([
      { videoId: ID, status: 'RUNNING', created: '2026-11-22T10:00:00.000Z' },
      { videoId: 'late-fedcba9876543210', status: 'NO MANIFEST', created: '-' },
    ]);

    // Assess
    expect(counts).toEqual({ complete: 0, partial: 0, failed: 0 });
  });
});

describe('fetchEmfRecords', () => {
  it('says where the figures are when the endpoint is not the local runtime', async () => {
    // Prepare
    const notFound = (async () => new Response('{}', { status: 404 })) as typeof fetch;

    // Act
    const [none, localstack] = await Promise.all([
      fetchEmfRecords(undefined).catch((e: Error) => e.message),
      fetchEmfRecords('http://127.0.0.1:4566', notFound).catch((e: Error) => e.message),
    ]);

    // Assess
    expect(none).toMatch(/no local endpoint is configured; on AWS CloudWatch extracts/);
    expect(localstack).toMatch(/^http:\/\/127\.0\.0\.1:4566 has no \/_local\/metrics/);
  });
});

describe('EmfStore', () => {
  it('keeps only EMF lines, and counts what it evicts when full', () => {
    // Prepare
    const store = new EmfStore(2);
    const emf = (n: number) =>
      `[fn] ${JSON.stringify({ _aws: { Timestamp: n, CloudWatchMetrics: [] }, n })}`;

    // Act
    const kept = [
      store.offer('[fn] {"level":"INFO","message":"Branch succeeded"}'),
      store.offer('[fn] not json'),
      store.offer(emf(1)),
      store.offer(emf(2)),
      store.offer(emf(3)),
    ];

    // Assess
    expect(kept).toEqual([false, false, true, true, true]);
    const { records, dropped } = store.snapshot();
    expect(records.map((r) => r.record.n)).toEqual([2, 3]);
    expect(records[0]?.function).toBe('fn');
    expect(dropped).toBe(1);
  });
});
