import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../lambdas/plan/handler.js';
import {
  buildPlan,
  DEFAULT_PLAN_CONFIG,
  planConfigFromEnv,
  renditionHeightsFor,
} from '../../lambdas/plan/logic.js';
import { InvalidVideoError } from '../../lambdas/shared/errors.js';
import { planKey } from '../../lambdas/shared/keys.js';
import { s3 } from '../../lambdas/shared/s3.js';
import { PlanSchema } from '../../lambdas/shared/schemas.js';
import { lambdaContextFactory, probeFactory, sourceFactory } from '../helpers/factories.js';

const idsOf = (kind: string, plan: ReturnType<typeof buildPlan>) =>
  plan.tasks.filter((t) => t.kind === kind).map((t) => t.id);

describe('buildPlan', () => {
  it('caps renditions at the source height: a 480p source gets only 360p', () => {
    // Prepare
    const probe = probeFactory({ width: 854, height: 480 });

    // Act
    const plan = buildPlan(probe);

    // Assess
    expect(idsOf('rendition', plan)).toEqual(['rendition-360p']);
  });

  it('keeps every configured height that fits a 1080p source', () => {
    // Prepare
    const probe = probeFactory({ width: 1920, height: 1080 });

    // Act
    const plan = buildPlan(probe);

    // Assess
    expect(idsOf('rendition', plan)).toEqual(['rendition-360p', 'rendition-720p']);
  });

  it.each([
    { height: 240, expected: 240 },
    { height: 241, expected: 240 },
    { height: 1, expected: 2 },
  ])(
    'gives a tiny $height-line source one rendition at $expected lines',
    ({ height, expected }) => {
      // Prepare
      const probe = probeFactory({ width: 320, height });

      // Act
      const plan = buildPlan(probe);

      // Assess
      expect(plan.tasks.filter((t) => t.kind === 'rendition')).toEqual([
        { id: `rendition-${expected}p`, kind: 'rendition', height: expected },
      ]);
    }
  );

  it('spaces thumbnails evenly at (i+1)/(n+1) of the duration', () => {
    // Prepare
    const probe = probeFactory({ durationSec: 10 });

    // Act
    const plan = buildPlan(probe, { ...DEFAULT_PLAN_CONFIG, thumbnailCount: 4 });

    // Assess
    expect(plan.tasks.filter((t) => t.kind === 'thumbnail')).toEqual([
      { id: 'thumb-01', kind: 'thumbnail', atSec: 2, width: 320 },
      { id: 'thumb-02', kind: 'thumbnail', atSec: 4, width: 320 },
      { id: 'thumb-03', kind: 'thumbnail', atSec: 6, width: 320 },
      { id: 'thumb-04', kind: 'thumbnail', atSec: 8, width: 320 },
    ]);
  });

  it('adds requested times as thumb-at-<ms>, even past the end, without duplicates', () => {
    // Prepare
    const probe = probeFactory({ durationSec: 3, requestedThumbnailTimes: [1, 2.5, 2.5, 99] });

    // Act
    const plan = buildPlan(probe);

    // Assess
    expect(idsOf('thumbnail', plan)).toEqual([
      'thumb-01',
      'thumb-02',
      'thumb-03',
      'thumb-at-1000',
      'thumb-at-2500',
      'thumb-at-99000',
    ]);
  });

  it('always plans exactly one metadata task and a schema-valid plan', () => {
    // Prepare
    const probe = probeFactory();

    // Act
    const plan = buildPlan(probe);

    // Assess
    expect(idsOf('metadata', plan)).toEqual(['metadata']);
    expect(PlanSchema.safeParse(plan).success).toBe(true);
  });

  it('enforces MAX_TASKS with InvalidVideoError', () => {
    // Prepare
    const times = Array.from({ length: 20 }, (_, i) => i / 10);
    const probe = probeFactory({ requestedThumbnailTimes: times });

    // Act
    const act = () => buildPlan(probe, { ...DEFAULT_PLAN_CONFIG, maxTasks: 10 });

    // Assess
    expect(act).toThrow(InvalidVideoError);
    expect(act).toThrow(/25 tasks, more than the limit of 10/);
  });

  it('is pure: the same probe gives the same plan', () => {
    // Prepare
    const probe = probeFactory({ requestedThumbnailTimes: [1.2345] });

    // Act
    const [a, b] = [buildPlan(probe), buildPlan(probe)];

    // Assess
    expect(a).toEqual(b);
  });
});

describe('renditionHeightsFor', () => {
  it('sorts, dedupes and evens out configured heights', () => {
    // Prepare
    const configured = [721, 360, 720, 360];

    // Act
    const heights = renditionHeightsFor(1080, configured);

    // Assess
    expect(heights).toEqual([360, 720]);
  });
});

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
      maxTasks: 1000,
    });
  });

  it('reads every variable', () => {
    // Prepare
    const env = {
      THUMBNAIL_COUNT: '5',
      THUMBNAIL_WIDTH: '160',
      RENDITION_HEIGHTS: '240, 480,1080',
      MAX_TASKS: '50',
    };

    // Act
    const config = planConfigFromEnv(env);

    // Assess
    expect(config).toEqual({
      thumbnailCount: 5,
      thumbnailWidth: 160,
      renditionHeights: [240, 480, 1080],
      maxTasks: 50,
    });
  });

  it('fails loudly on a misconfigured value', () => {
    // Prepare
    const env = { RENDITION_HEIGHTS: '360,big' };

    // Act
    const act = () => planConfigFromEnv(env);

    // Assess
    expect(act).toThrow(/Invalid configuration/);
  });
});

describe('plan handler', () => {
  const s3Mock = mockClient(s3);

  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(PutObjectCommand).resolves({});
    vi.stubEnv('OUTPUT_BUCKET', 'output-bucket');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('returns the plan and writes it to S3 for progress displays', async () => {
    // Prepare
    vi.stubEnv('THUMBNAIL_COUNT', '2');
    const event = { videoId: 'clip-1', source: sourceFactory(), probe: probeFactory() };

    // Act
    const plan = await handler(event, lambdaContextFactory());

    // Assess
    expect(plan.tasks).toHaveLength(4);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'output-bucket',
      Key: planKey('clip-1'),
    });
    const written = JSON.parse(String(s3Mock.commandCalls(PutObjectCommand)[0].args[0].input.Body));
    expect(written).toEqual({ videoId: 'clip-1', ...plan });
  });

  it('rejects input without a probe', async () => {
    // Prepare
    const event = { videoId: 'clip-1', source: sourceFactory() };

    // Act
    const result = handler(event, lambdaContextFactory());

    // Assess
    await expect(result).rejects.toMatchObject({ name: 'InvalidEventError' });
  });
});
