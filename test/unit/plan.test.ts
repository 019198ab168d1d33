import '../helpers/env.js';
import 'aws-sdk-client-mock-vitest/extend';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readThumbnailTimes, thumbnailTimeWarnings } from '../../contract/index.js';
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
      maxExtraThumbnails: 20,
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
      MAX_EXTRA_THUMBNAILS: '4',
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
      maxExtraThumbnails: 4,
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
    {
      env: { MAX_EXTRA_THUMBNAILS: '-1' },
      message: 'MAX_EXTRA_THUMBNAILS: expected an integer >= 0',
    },
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
    // Prepare: 10 min at 25 fps with audio, one 360p rendition, 30 s segments → 20 audio parts +
    // 20 segments
    vi.stubEnv('OUTPUT_BUCKET', 'out-bucket');
    vi.stubEnv('RENDITION_HEIGHTS', '360');
    s3Mock.on(PutObjectCommand).resolves({});
    const handler = await importHandler();
    const event = {
      videoId: 'long-1',
      tenant: 'default',
      source: sourceFactory(),
      probe: probeFactory({ durationSec: 600, frameRate: 25, audioCodec: 'aac' }),
    };

    // Act
    const plan = await handler(event, lambdaContextFactory());

    // Assess
    expect(plan.segments).toEqual({ key: 'outputs/long-1/_work/segments/items.json', count: 40 });
    const puts = s3Mock.commandCalls(PutObjectCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0]!.args[0].input).toMatchObject({
      Bucket: 'out-bucket',
      Key: 'outputs/long-1/_work/segments/items.json',
    });
    const items = JSON.parse(String(puts[0]!.args[0].input.Body)) as Array<Record<string, unknown>>;
    expect(items).toHaveLength(40);
    // The audio parts first (every join waits for their join). 30 s at 48 kHz is 1406.25 AAC
    // frames, rounded up to whole 3-frame units: 1407 frames = 1,440,768 samples per part;
    // 600 s = 28,800,000 samples = 19 parts + a tail of 1,425,408 (over half a part): 20 parts.
    expect(items[0]).toEqual({
      id: 'audio-p0000',
      kind: 'rendition-segment',
      track: 'audio',
      part: 0,
      parts: 20,
      sampleRate: 48000,
      startSample: 0,
      endSample: 1440768,
    });
    expect(items[19]).toEqual({
      id: 'audio-p0019',
      kind: 'rendition-segment',
      track: 'audio',
      part: 19,
      parts: 20,
      sampleRate: 48000,
      startSample: 27374592,
      endSample: null,
    });
    expect(items[20]).toMatchObject({
      id: 'rendition-360p-s0000',
      kind: 'rendition-segment',
      track: 'video',
      rendition: 'rendition-360p',
      index: 0,
      segmentation: { count: 20, lengthSec: 30, framesPerSegment: 750 },
    });
    expect(plan.branches.find((b) => b.id === 'rendition-360p')).toMatchObject({
      segmentation: { count: 20, lengthSec: 30 },
    });
  });

  it('writes no audio item for a silent long source: its joins have no audio to copy', async () => {
    // Prepare
    vi.stubEnv('OUTPUT_BUCKET', 'out-bucket');
    vi.stubEnv('RENDITION_HEIGHTS', '360');
    s3Mock.on(PutObjectCommand).resolves({});
    const handler = await importHandler();
    const event = {
      videoId: 'long-2',
      tenant: 'default',
      source: sourceFactory(),
      probe: probeFactory({ durationSec: 600, frameRate: 25, audioCodec: null }),
    };

    // Act
    const plan = await handler(event, lambdaContextFactory());

    // Assess
    expect(plan.segments?.count).toBe(20);
    const items = JSON.parse(
      String(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input.Body)
    ) as Array<Record<string, unknown>>;
    expect(items.every((i) => i.track === 'video')).toBe(true);
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

describe('plan: bounded fan-out from thumbnail-times, with warnings', () => {
  const s3Mock = mockClient(S3Client);
  const importHandler = async () => {
    vi.resetModules();
    return (await import('../../lambdas/plan/handler.js')).handler;
  };
  /** A 2 KB thumbnail-times value: 339 valid times and one entry that is not a time. */
  const amplifying = [
    ...Array.from({ length: 339 }, (_, i) => String(i + 0.5)),
    '<script>alert(1)</script>',
  ].join(',');

  beforeEach(() => {
    s3Mock.reset();
    vi.stubEnv('THUMBNAIL_COUNT', '3');
    vi.stubEnv('RENDITION_HEIGHTS', '360');
    vi.stubEnv('MAX_EXTRA_THUMBNAILS', '20');
  });
  afterEach(() => vi.unstubAllEnvs());

  it('plans at most 20 requested thumbnails and lists the rest and the invalid entry as warnings', async () => {
    // Prepare: what the probe hands over for that metadata (bounded, with the count it ignored).
    const source = sourceFactory();
    s3Mock
      .on(HeadObjectCommand)
      .resolves({ ETag: `"${source.etag}"`, Metadata: { 'thumbnail-times': amplifying } });
    const handler = await importHandler();
    const probe = probeFactory({
      durationSec: 100,
      requestedThumbnailTimes: Array.from({ length: 20 }, (_, i) => i + 0.5),
      thumbnailTimesIgnored: 320,
    });
    // Act
    const plan = await handler(
      { videoId: 'amp-1', tenant: 'default', source, probe },
      lambdaContextFactory()
    );
    // Assess: 3 even + 20 requested thumbnails; the other kinds plan their own branches.
    expect(plan.branches.filter((b) => b.id.startsWith('thumb-at-'))).toHaveLength(20);
    expect(plan.branches.filter((b) => b.kind === 'thumbnail')).toHaveLength(23);
    expect(plan.warnings).toHaveLength(2);
    expect(plan.warnings?.[0]).toContain('ignored 1 entry that is not a time in seconds');
    expect(plan.warnings?.[0]).toContain('<script>alert(1)</script>');
    expect(plan.warnings?.[1]).toContain('ignored 319 times beyond the limit of 20');
    expect(plan.warnings?.[1]).toMatch(
      /^thumbnail-times: ignored 319 times beyond the limit of 20 extra thumbnails: 20\.5, 21\.5, /
    );
    // The metadata was re-read pinned to the object the workflow started on.
    expect(s3Mock).toHaveReceivedCommandWith(HeadObjectCommand, {
      Key: source.key,
      VersionId: source.versionId,
      IfMatch: `"${source.etag}"`,
    });
  });

  it('holds the line itself when a probe hands over more times than the limit', async () => {
    // Prepare: an older probe result without the bound.
    const source = sourceFactory();
    const times = Array.from({ length: 50 }, (_, i) => i + 1);
    s3Mock
      .on(HeadObjectCommand)
      .resolves({ ETag: `"${source.etag}"`, Metadata: { 'thumbnail-times': times.join(',') } });
    const handler = await importHandler();
    // Act
    const plan = await handler(
      {
        videoId: 'amp-2',
        tenant: 'default',
        source,
        probe: probeFactory({ durationSec: 60, requestedThumbnailTimes: times }),
      },
      lambdaContextFactory()
    );
    // Assess
    expect(plan.branches.filter((b) => b.id.startsWith('thumb-at-'))).toHaveLength(20);
    expect(plan.warnings).toEqual([
      `thumbnail-times: ignored 30 times beyond the limit of 20 extra thumbnails: ${times.slice(20).join(', ')}`,
    ]);
  });

  it("lists what it chose for an unusual source, before the uploader's thumbnail warnings, reading nothing", async () => {
    // Prepare: a probe of a variable-frame-rate source with three audio tracks, the second default
    const handler = await importHandler();
    const probe = probeFactory({
      frameRate: 30,
      variableFrameRate: 29.4,
      audioTracks: 3,
      audioTrack: 1,
    });

    // Act
    const plan = await handler(
      { videoId: 'odd-1', tenant: 'default', source: sourceFactory(), probe },
      lambdaContextFactory()
    );

    // Assess
    expect(plan.warnings).toEqual([
      'the source has 3 audio tracks; the outputs carry track 2 (marked default) only',
      'the source has a variable frame rate (29.4 fps on average); the outputs are converted to a constant 30 fps',
    ]);
    expect(s3Mock).not.toHaveReceivedCommand(HeadObjectCommand);
  });

  it('reads nothing and warns nothing when nothing was ignored', async () => {
    const handler = await importHandler();
    const plan = await handler(
      {
        videoId: 'ok-1',
        tenant: 'default',
        source: sourceFactory(),
        probe: probeFactory({ requestedThumbnailTimes: [1, 2] }),
      },
      lambdaContextFactory()
    );
    expect(plan).not.toHaveProperty('warnings');
    expect(s3Mock).not.toHaveReceivedCommand(HeadObjectCommand);
  });

  it('fails SourceChangedError when the metadata it re-reads belongs to other bytes', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ETag: '"0123456789abcdef0123456789abcdef"' });
    const handler = await importHandler();
    const result = handler(
      {
        videoId: 'moved-1',
        tenant: 'default',
        source: sourceFactory(),
        probe: probeFactory({ requestedThumbnailTimes: [1], thumbnailTimesIgnored: 1 }),
      },
      lambdaContextFactory()
    );
    await expect(result).rejects.toMatchObject({ name: 'SourceChangedError' });
  });
});

describe('readThumbnailTimes and thumbnailTimeWarnings (contract/metadata.ts)', () => {
  it.each([
    { raw: undefined, times: [], invalid: [], beyondLimit: [] },
    { raw: '1,2,3', times: [1, 2], invalid: [], beyondLimit: [3] },
    { raw: '1,1,2,2,3,3', times: [1, 2], invalid: [], beyondLimit: [3] },
    { raw: ' 1 , -1, x,,2', times: [1, 2], invalid: ['-1', 'x', ''], beyondLimit: [] },
  ])('limit 2: "$raw"', ({ raw, times, invalid, beyondLimit }) => {
    expect(readThumbnailTimes(raw, 2)).toEqual({ times, invalid, beyondLimit });
  });

  it('quotes each invalid entry, cut to 40 characters, and keeps every warning under 1,000', () => {
    // Prepare
    const long = 'x'.repeat(100);
    const raw = [long, ...Array.from({ length: 400 }, (_, i) => String(i))].join(',');
    // Act
    const warnings = thumbnailTimeWarnings(readThumbnailTimes(raw, 20), 20);
    // Assess
    expect(warnings[0]).toBe(
      `thumbnail-times: ignored 1 entry that is not a time in seconds: "${'x'.repeat(39)}…"`
    );
    expect(warnings[1]).toMatch(
      /^thumbnail-times: ignored 380 times beyond the limit of 20 extra thumbnails: 20, 21, /
    );
    expect(warnings[1]!.length).toBeLessThanOrEqual(1000);
  });

  it('warns nothing for a request within the limit', () => {
    expect(thumbnailTimeWarnings(readThumbnailTimes('1,2.5', 20), 20)).toEqual([]);
  });
});

describe('plan order (sequential mode runs the branches in it)', () => {
  it('puts the thumbnails first, then the renditions, then the metadata, whatever order kinds are registered in', () => {
    // Prepare: a 10 s 1080p source with audio.
    const probe = probeFactory({ width: 1920, height: 1080, durationSec: 10 });

    // Act
    const { branches } = planBranches(probe, planConfigFromEnv({}));

    // Assess: the published order of kinds (docs/policies.md, sequential mode).
    expect([...new Set(branches.map((b) => b.kind))]).toEqual([
      'thumbnail',
      'rendition',
      'metadata',
    ]);
  });
});
