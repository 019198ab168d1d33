import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  FakeBucket,
  failed,
  fakeClients,
  fakeOutputs,
  keys,
  manifestFrom,
  OUTPUT_BUCKET,
  STATE_MACHINE_ARN,
  succeeded,
  VIDEO_ID,
} from '../../cli/test/helpers.js';
import { listVideos, metricsPage, queueUrlsOf, type Target } from '../src/data.js';
import { checkArtifactKey } from '../src/keys.js';

describe('checkArtifactKey', () => {
  it.each([
    'outputs/clip-1a2b/thumbnails/thumb-01.jpg',
    'outputs/clip-1a2b/renditions/360p.mp4',
    'outputs/clip-1a2b/manifest.json',
  ])('lets the browser read the published artifact %s', (key) => {
    expect(checkArtifactKey(key)).toBe(key);
  });

  it.each([
    ['the workflow internals', 'outputs/clip-1a2b/_work/plan.json'],
    ['the segment map results', 'outputs/_segment-runs/0a1b2c3d/SUCCEEDED_0.json'],
    ['the upload bucket layout', 'uploads/clip.mp4'],
    ['a path escape', 'outputs/clip-1a2b/../../audit/x.json'],
    ['an empty key', ''],
  ])('refuses %s', (_what, key) => {
    expect(() => checkArtifactKey(key)).toThrow('not a published artifact');
  });
});

describe('queueUrlsOf', () => {
  it('takes every *QueueUrl output of the stack, and nothing else', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'console-outputs-'));
    const file = join(dir, 'outputs.json');
    writeFileSync(
      file,
      JSON.stringify({
        VideoPipeline: {
          UploadBucketName: 'up',
          StartWorkflowQueueUrl: 'http://127.0.0.1:4566/000000000000/start',
          StartWorkflowDeadLetterQueueUrl: 'http://127.0.0.1:4566/000000000000/start-dlq',
        },
        Other: { AQueueUrl: 'http://127.0.0.1:4566/000000000000/other' },
      })
    );

    // Act
    const queues = queueUrlsOf(file, 'VideoPipeline');

    // Assess
    expect(queues).toEqual({
      StartWorkflowQueueUrl: 'http://127.0.0.1:4566/000000000000/start',
      StartWorkflowDeadLetterQueueUrl: 'http://127.0.0.1:4566/000000000000/start-dlq',
    });
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('listVideos', () => {
  it('lists the videos, not the internal _segment-runs/ folder beside them', async () => {
    // Prepare
    const s3Mock = mockClient(S3Client);
    const sfnMock = mockClient(SFNClient);
    const bucket = new FakeBucket();
    bucket.install(s3Mock);
    bucket.put(
      keys.manifest(VIDEO_ID),
      manifestFrom(VIDEO_ID, [succeeded('thumb-01', 'thumbnail', 'k')])
    );
    bucket.put('outputs/_segment-runs/0a1b2c3d/manifest.json', {
      DestinationBucket: OUTPUT_BUCKET,
    });
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    const target: Target = {
      outputs: fakeOutputs(),
      clients: fakeClients(),
      sqs: new SQSClient({ region: 'eu-west-1' }),
      queues: {},
    };

    // Act
    const { videos: rows } = await listVideos(target, 20);

    // Assess
    expect(rows.map((r) => [r.videoId, r.status])).toEqual([[VIDEO_ID, 'COMPLETE']]);
    s3Mock.restore();
    sfnMock.restore();
  });
});

describe('tenant, cost and metrics', () => {
  const targetOf = (endpoint?: string): Target => ({
    outputs: fakeOutputs(),
    clients: fakeClients({ endpoint }),
    sqs: new SQSClient({ region: 'eu-west-1' }),
    queues: {},
  });
  const ACME = 'acme-0123456789abcdef';
  const RUNNING = 'clip-fedcba9876543210';

  /** Two manifests of two tenants, and a running video with no manifest yet. */
  const stage = () => {
    const s3Mock = mockClient(S3Client);
    const sfnMock = mockClient(SFNClient);
    const bucket = new FakeBucket();
    bucket.install(s3Mock);
    bucket.put(
      keys.manifest(VIDEO_ID),
      manifestFrom(VIDEO_ID, [succeeded('thumb-01', 'thumbnail', 'k')], {
        estimatedCostUsd: 0.000467,
        createdAt: '2025-01-01T00:00:03.000Z',
      })
    );
    bucket.put(
      keys.manifest(ACME),
      manifestFrom(ACME, [failed('thumb-01', 'thumbnail', 'x')], {
        tenant: 'acme',
        estimatedCostUsd: 0.0123,
        createdAt: '2025-01-01T00:00:02.000Z',
      })
    );
    sfnMock.on(ListExecutionsCommand, { statusFilter: 'RUNNING' }).resolves({
      executions: [
        {
          name: RUNNING,
          executionArn: `${STATE_MACHINE_ARN}:${RUNNING}`,
          stateMachineArn: STATE_MACHINE_ARN,
          status: 'RUNNING',
          startDate: new Date('2025-01-01T00:00:04.000Z'),
        },
      ],
    });
    sfnMock.on(ListExecutionsCommand, { maxResults: 100 }).resolves({ executions: [] });
    return () => {
      s3Mock.restore();
      sfnMock.restore();
    };
  };

  it("lists each video's tenant and cost from its manifest, none for a video without one", async () => {
    // Prepare
    const restore = stage();

    // Act
    const list = await listVideos(targetOf(), 20);

    // Assess: the cost as the CLI prints it; the running video has neither.
    expect(list.videos.map((r) => [r.videoId, r.status, r.tenant, r.cost])).toEqual([
      [RUNNING, 'RUNNING', undefined, undefined],
      [VIDEO_ID, 'COMPLETE', 'default', '$0.000467'],
      [ACME, 'FAILED', 'acme', '$0.01'],
    ]);
    expect(list.tenants).toEqual(['acme', 'default']);
    restore();
  });

  it("filters by tenant, keeping every tenant as the filter's choices", async () => {
    // Prepare
    const restore = stage();

    // Act
    const list = await listVideos(targetOf(), 20, 'acme');

    // Assess
    expect(list.videos.map((r) => r.videoId)).toEqual([ACME]);
    expect(list.tenants).toEqual(['acme', 'default']);
    expect(list.tenant).toBe('acme');
    restore();
  });

  it.each([
    ['an upper-case name', 'Acme', 'only lowercase letters'],
    ['a path', '../x', 'only lowercase letters'],
    ['a name over 20 characters', 'a'.repeat(21), 'more than 20'],
  ])('refuses %s as a tenant filter with the reason', async (_what, tenant, reason) => {
    // Prepare
    const { checkTenantFilter } = await import('../src/data.js');

    // Act / Assess: a CliError, which the server answers with 400
    expect(() => checkTenantFilter(tenant)).toThrow(reason);
  });

  it('shows the figures `metrics` prints: per kind and tenant, videos counted from their manifests', async () => {
    // Prepare: one branch outcome record of kind thumbnail for tenant acme, and the manifests.
    const restore = stage();
    const record = {
      function: 'VideoPipeline-Aggregate',
      record: {
        _aws: {
          Timestamp: 0,
          CloudWatchMetrics: [
            {
              Namespace: 'FanOutFanIn',
              Dimensions: [['service', 'kind', 'tenant']],
              Metrics: [
                { Name: 'FanOutSent', Unit: 'Count' },
                { Name: 'FanOutFailed', Unit: 'Count' },
              ],
            },
          ],
        },
        service: 'video-pipeline',
        kind: 'thumbnail',
        tenant: 'acme',
        FanOutSent: 3,
        FanOutFailed: 1,
      },
    };
    const asked: string[] = [];
    const fetchFn = (async (url: URL) => {
      asked.push(String(url));
      return new Response(JSON.stringify({ records: [record], dropped: 0 }));
    }) as unknown as typeof fetch;

    // Act
    const page = await metricsPage(targetOf('http://127.0.0.1:4599'), fetchFn);

    // Assess
    expect(asked).toEqual(['http://127.0.0.1:4599/_local/metrics']);
    expect(page.videos).toBe('1 COMPLETE, 0 PARTIAL, 1 FAILED');
    expect(page.byKindAndTenant.head).toEqual([
      'kind',
      'tenant',
      'sent',
      'ok',
      'failed',
      'timed out',
      'p50',
      'p95',
    ]);
    expect(page.byKindAndTenant.rows).toEqual([
      ['thumbnail', 'acme', '3', '0', '1', '0', '-', '-'],
    ]);
    expect(page.records).toBe(1);
    restore();
  });

  it('says where the figures are when the target is not the local runtime', async () => {
    // Prepare: AWS (no endpoint)
    const restore = stage();

    // Act / Assess
    await expect(metricsPage(targetOf(undefined))).rejects.toThrow(/dashboard/);
    restore();
  });
});
