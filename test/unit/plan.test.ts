import '../helpers/env.js';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { planBranches } from '../../lambdas/branch-kinds/index.js';
import { planConfigFromEnv } from '../../lambdas/plan/logic.js';
import { lambdaContextFactory, probeFactory, sourceFactory } from '../helpers/factories.js';

describe('planConfigFromEnv', () => {
  it('uses the documented defaults', () => {
    // Prepare
    const env = {};

    // Act
    const config = planConfigFromEnv(env);

    // Assess
    expect(config).toEqual({
      thumbnailCount: 3,
      thumbnailWidth: 320,
      renditionHeights: [360, 720],
      maxBranches: 1000,
      segmentThresholdSec: 120,
      segmentLengthSec: 30,
      maxSegments: 120,
      maxSegmentSec: 300,
    });
  });

  it('reads every variable', () => {
    // Prepare
    const env = {
      THUMBNAIL_COUNT: '5',
      THUMBNAIL_WIDTH: '160',
      RENDITION_HEIGHTS: '240, 480,1080',
      MAX_BRANCHES: '50',
      SEGMENT_THRESHOLD_SEC: '8',
      SEGMENT_LENGTH_SEC: '2',
      MAX_SEGMENTS: '60',
      MAX_SEGMENT_SEC: '200',
    };

    // Act
    const config = planConfigFromEnv(env);

    // Assess
    expect(config).toEqual({
      thumbnailCount: 5,
      thumbnailWidth: 160,
      renditionHeights: [240, 480, 1080],
      maxBranches: 50,
      segmentThresholdSec: 8,
      segmentLengthSec: 2,
      maxSegments: 60,
      maxSegmentSec: 200,
    });
  });

  it.each([
    { env: { RENDITION_HEIGHTS: '360,big' }, message: 'RENDITION_HEIGHTS: expected an integer' },
    { env: { THUMBNAIL_COUNT: '-1' }, message: 'THUMBNAIL_COUNT: expected an integer >= 0' },
    { env: { THUMBNAIL_WIDTH: '1.5' }, message: 'THUMBNAIL_WIDTH: expected an integer >= 2' },
    { env: { MAX_BRANCHES: '0' }, message: 'MAX_BRANCHES: expected an integer >= 1' },
    { env: { MAX_SEGMENTS: '1' }, message: 'MAX_SEGMENTS: expected an integer >= 2' },
    { env: { SEGMENT_LENGTH_SEC: '2.5' }, message: 'SEGMENT_LENGTH_SEC: expected an integer >= 1' },
  ])('fails loudly on a misconfigured value: $env', ({ env, message }) => {
    // Act
    const act = () => planConfigFromEnv(env);

    // Assess
    expect(act).toThrow(`Invalid configuration ${message}`);
  });
});

describe('plan handler', () => {
  // Every S3Client instance, including any the handler's imports might create.
  const s3Mock = mockClient(S3Client);
  /** The handler reads its configuration once, at import: import it after setting the env. */
  const importHandler = async () => {
    vi.resetModules();
    return (await import('../../lambdas/plan/handler.js')).handler;
  };

  beforeEach(() => {
    s3Mock.reset();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('returns the plan from the registry without writing anything or needing OUTPUT_BUCKET', async () => {
    // Prepare
    vi.stubEnv('THUMBNAIL_COUNT', '2');
    vi.stubEnv('OUTPUT_BUCKET', '');
    const handler = await importHandler();
    const event = {
      videoId: 'clip-1',
      tenant: 'default',
      source: sourceFactory(),
      probe: probeFactory(),
    };

    // Act
    const plan = await handler(event, lambdaContextFactory());

    // Assess
    expect(plan.branches).toEqual(
      planBranches(event.probe, planConfigFromEnv({ THUMBNAIL_COUNT: '2' })).branches
    );
    expect(plan.branches.filter((b) => b.kind === 'thumbnail').map((b) => b.id)).toEqual([
      'thumb-01',
      'thumb-02',
    ]);
    expect(plan.branches.map((b) => b.id)).toContain('rendition-360p');
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('writes the segment items of a long source to S3 and references them in the plan', async () => {
    // Prepare: 10 min at 25 fps, one 360p rendition, 30 s segments → 20 items
    vi.stubEnv('OUTPUT_BUCKET', 'out-bucket');
    vi.stubEnv('RENDITION_HEIGHTS', '360');
    s3Mock.on(PutObjectCommand).resolves({});
    const handler = await importHandler();
    const event = {
      videoId: 'long-1',
      tenant: 'default',
      source: sourceFactory(),
      probe: probeFactory({ durationSec: 600, frameRate: 25 }),
    };

    // Act
    const plan = await handler(event, lambdaContextFactory());

    // Assess
    expect(plan.segments).toEqual({ key: 'outputs/long-1/_work/segments/items.json', count: 20 });
    const puts = s3Mock.commandCalls(PutObjectCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0]!.args[0].input).toMatchObject({
      Bucket: 'out-bucket',
      Key: 'outputs/long-1/_work/segments/items.json',
    });
    const items = JSON.parse(String(puts[0]!.args[0].input.Body)) as Array<Record<string, unknown>>;
    expect(items).toHaveLength(20);
    expect(items[0]).toMatchObject({
      id: 'rendition-360p-s0000',
      kind: 'rendition-segment',
      rendition: 'rendition-360p',
      index: 0,
      segmentation: { count: 20, lengthSec: 30, framesPerSegment: 750 },
    });
    expect(plan.branches.find((b) => b.id === 'rendition-360p')).toMatchObject({
      segmentation: { count: 20, lengthSec: 30 },
    });
  });

  it('rejects input without a probe with InvalidEventError naming the field', async () => {
    // Prepare
    const handler = await importHandler();
    const event = { videoId: 'clip-1', tenant: 'default', source: sourceFactory() };

    // Act
    const result = handler(event, lambdaContextFactory());

    // Assess
    await expect(result).rejects.toMatchObject({
      name: 'InvalidEventError',
      message: expect.stringContaining('probe'),
    });
  });

  it('refuses to load with a misconfigured environment', async () => {
    // Prepare
    vi.stubEnv('MAX_BRANCHES', 'many');

    // Act
    const loading = importHandler();

    // Assess
    await expect(loading).rejects.toThrow('Invalid configuration MAX_BRANCHES');
  });
});
