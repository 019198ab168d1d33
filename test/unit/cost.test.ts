import { describe, expect, it } from 'vitest';
import type { CostProfile } from '../../contract/index.js';
import {
  estimateCost,
  type ResultUsage,
  type Usage,
  type VideoRun,
  videoUsage,
} from '../../lambdas/aggregate/cost.js';
import { costProfileFromEnv } from '../../lambdas/aggregate/cost-profile.js';

/** Every expected figure below is worked out by hand from the 2026 us-east-1 list prices. */
const X86_GB_S = 0.0000166667;
const ARM_GB_S = 0.0000133334;

const profileFactory = (overrides: Partial<CostProfile> = {}): CostProfile => ({
  probe: { memoryMiB: 1024, architecture: 'x86_64' },
  plan: { memoryMiB: 256, architecture: 'arm64' },
  aggregate: { memoryMiB: 512, architecture: 'arm64' },
  kinds: {
    thumbnail: { memoryMiB: 1024, architecture: 'x86_64' },
    rendition: { memoryMiB: 2048, architecture: 'x86_64' },
    'rendition-fallback': { memoryMiB: 2048, architecture: 'x86_64' },
  },
  ...overrides,
});

const usageFactory = (overrides: Partial<Usage> = {}): Usage => ({
  invocations: [],
  stateTransitions: 0,
  sqsRequests: 0,
  snsPublishes: 0,
  s3Puts: 0,
  s3Gets: 0,
  ...overrides,
});

describe('estimateCost: Lambda compute', () => {
  it.each([
    {
      name: '1 GiB x86 for exactly 1 s is 1 GB-s at the x86 price',
      invocations: [{ function: 'probe', durationMs: 1000 }],
      expected: { billedMs: 1000, gbSeconds: 1, computeUsd: X86_GB_S, unmeasured: 0 },
    },
    {
      name: 'arm64 at 256 MiB rounds each duration up to the millisecond (120.2 → 121, 79.9 → 80)',
      invocations: [
        { function: 'plan', durationMs: 120.2 },
        { function: 'plan', durationMs: 79.9 },
      ],
      // 0.25 GiB × 0.201 s = 0.05025 GB-s; × 0.0000133334 = 0.00000067000335
      expected: { billedMs: 201, gbSeconds: 0.05025, computeUsd: 0.00000067, unmeasured: 0 },
    },
    {
      name: 'a 2 GiB rendition of 30.5 s',
      invocations: [{ function: 'rendition', durationMs: 30_500 }],
      // 2 × 30.5 = 61 GB-s; × 0.0000166667 = 0.0010166687
      expected: { billedMs: 30_500, gbSeconds: 61, computeUsd: 0.0010166687, unmeasured: 0 },
    },
    {
      name: 'an unmeasured invocation (timed out) adds no compute but is reported',
      invocations: [
        { function: 'rendition', durationMs: 500 },
        { function: 'rendition', durationMs: null },
      ],
      // 2 × 0.5 = 1 GB-s
      expected: { billedMs: 500, gbSeconds: 1, computeUsd: X86_GB_S, unmeasured: 1 },
    },
  ])('$name', ({ invocations, expected }) => {
    // Prepare
    const usage = usageFactory({ invocations });

    // Act
    const { costBreakdown } = estimateCost(usage, profileFactory());

    // Assess
    expect(costBreakdown.lambda).toHaveLength(1);
    const [line] = costBreakdown.lambda;
    expect(line?.invocations).toBe(invocations.length);
    expect(line?.billedMs).toBe(expected.billedMs);
    expect(line?.gbSeconds).toBeCloseTo(expected.gbSeconds, 6);
    expect(line?.computeUsd).toBeCloseTo(expected.computeUsd, 10);
    expect(line?.unmeasured).toBe(expected.unmeasured);
  });

  it('prices arm64 below x86 for the same GB-s', () => {
    // Prepare: 512 MiB for 2 s = 1 GB-s, once per architecture
    const usage = usageFactory({
      invocations: [
        { function: 'aggregate', durationMs: 2000 },
        { function: 'thumbnail', durationMs: 1000 },
      ],
    });
    const profile = profileFactory({ aggregate: { memoryMiB: 512, architecture: 'arm64' } });

    // Act
    const { costBreakdown } = estimateCost(usage, profile);

    // Assess: one line per function, in invocation order
    expect(costBreakdown.lambda.map((l) => [l.function, l.architecture, l.computeUsd])).toEqual([
      ['aggregate', 'arm64', ARM_GB_S],
      ['thumbnail', 'x86_64', X86_GB_S],
    ]);
  });

  it('reports a function the profile does not know with null sizing and no compute', () => {
    // Prepare
    const usage = usageFactory({ invocations: [{ function: 'audio-track', durationMs: 900 }] });

    // Act
    const { costBreakdown, estimatedCostUsd } = estimateCost(usage, profileFactory());

    // Assess: its request is still priced ($0.20 per 1M)
    expect(costBreakdown.lambda).toEqual([
      {
        function: 'audio-track',
        memoryMiB: null,
        architecture: null,
        invocations: 1,
        unmeasured: 0,
        billedMs: 900,
        gbSeconds: 0,
        computeUsd: 0,
      },
    ]);
    expect(estimatedCostUsd).toBeCloseTo(0.0000002, 10);
  });

  it('prices nothing but requests without a profile', () => {
    // Prepare
    const usage = usageFactory({ invocations: [{ function: 'probe', durationMs: 1000 }] });

    // Act
    const { estimatedCostUsd, costBreakdown } = estimateCost(usage, undefined);

    // Assess
    expect(costBreakdown.lambda[0]?.memoryMiB).toBeNull();
    expect(estimatedCostUsd).toBeCloseTo(0.0000002, 10);
  });
});

describe('estimateCost: transitions and requests', () => {
  it('prices each line at its list price and sums everything', () => {
    // Prepare
    const usage = usageFactory({
      invocations: [
        { function: 'probe', durationMs: 1000 },
        { function: 'plan', durationMs: null },
      ],
      stateTransitions: 20,
      sqsRequests: 6,
      snsPublishes: 3,
      s3Puts: 10,
      s3Gets: 10,
    });

    // Act
    const { estimatedCostUsd, costBreakdown } = estimateCost(usage, profileFactory());

    // Assess
    // 20 × $0.025/1000 = 0.0005; 2 × $0.20/1M = 0.0000004; 6 × $0.40/1M = 0.0000024;
    // 3 × $0.50/1M = 0.0000015; 10 × $0.005/1000 = 0.00005; 10 × $0.0004/1000 = 0.000004
    expect(costBreakdown.stateTransitions).toEqual({ count: 20, usd: 0.0005 });
    expect(costBreakdown.requests).toEqual({
      lambda: { count: 2, usd: 0.0000004 },
      sqs: { count: 6, usd: 0.0000024 },
      sns: { count: 3, usd: 0.0000015 },
      s3Put: { count: 10, usd: 0.00005 },
      s3Get: { count: 10, usd: 0.000004 },
    });
    // 0.0005583 in requests and transitions + probe 1 GB-s x86 (0.0000166667) = 0.0005749667
    expect(estimatedCostUsd).toBeCloseTo(0.0005749667, 10);
    expect(costBreakdown).toMatchObject({ currency: 'USD', region: 'us-east-1' });
  });
});

const attempt = (kind: string, overrides: Partial<ResultUsage> = {}): ResultUsage => ({
  kind,
  durationMs: 100,
  finishedAt: '2026-11-29T10:00:00.000Z',
  artifacts: [{}],
  error: null,
  ...overrides,
});
const failedAttempt = (kind: string): ResultUsage =>
  attempt(kind, { artifacts: [], error: { name: 'MediaToolError' } });

const runFactory = (overrides: Partial<VideoRun> = {}): VideoRun => ({
  probeDurationMs: 800,
  planDurationMs: 5,
  fannedOut: true,
  chains: [],
  playable: false,
  resultsRead: 0,
  aggregateDurationMs: 40,
  ...overrides,
});

describe('videoUsage', () => {
  it.each([
    {
      name: 'probe failed: ApplyPolicy, Probe, Aggregate, Decide, Failed',
      run: runFactory({ probeDurationMs: null, planDurationMs: undefined, fannedOut: false }),
      transitions: 5,
      functions: ['probe', 'aggregate'],
    },
    {
      name: 'plan failed: + Plan',
      run: runFactory({ planDurationMs: null, fannedOut: false }),
      transitions: 6,
      functions: ['probe', 'plan', 'aggregate'],
    },
    {
      name: 'one branch that succeeded: + FanOut, RouteBranch, RunThumbnail',
      run: runFactory({ chains: [{ results: [attempt('thumbnail')], succeeded: true }] }),
      transitions: 7 + 2,
      functions: ['probe', 'plan', 'thumbnail', 'aggregate'],
    },
    {
      name: 'one branch that failed without a fallback: + BranchFailed',
      run: runFactory({ chains: [{ results: [failedAttempt('thumbnail')], succeeded: false }] }),
      transitions: 7 + 3,
      functions: ['probe', 'plan', 'thumbnail', 'aggregate'],
    },
    {
      name: 'a rendition saved by its fallback: Route, Run, FallBackTo, RunFallback, FellBack',
      run: runFactory({
        chains: [
          {
            results: [failedAttempt('rendition'), attempt('rendition-fallback')],
            succeeded: true,
          },
        ],
      }),
      transitions: 7 + 5,
      functions: ['probe', 'plan', 'rendition', 'rendition-fallback', 'aggregate'],
    },
    {
      name: 'a rendition whose fallback failed too: + FallbackFailed',
      run: runFactory({
        chains: [
          {
            results: [failedAttempt('rendition'), failedAttempt('rendition-fallback')],
            succeeded: false,
          },
        ],
      }),
      transitions: 7 + 6,
      functions: ['probe', 'plan', 'rendition', 'rendition-fallback', 'aggregate'],
    },
    {
      name: 'a kind no worker handles: RouteBranch and the UnknownBranchKind Pass, no Lambda',
      run: runFactory({
        chains: [
          {
            results: [attempt('audio', { error: { name: 'UnknownBranchKind' }, artifacts: [] })],
            succeeded: false,
          },
        ],
      }),
      transitions: 7 + 2,
      functions: ['probe', 'plan', 'aggregate'],
    },
    {
      name: 'the video stack graph: + SegmentsNeeded before the FanOut',
      run: runFactory({
        segmentsChoice: true,
        chains: [{ results: [attempt('thumbnail')], succeeded: true }],
      }),
      transitions: 7 + 1 + 2,
      functions: ['probe', 'plan', 'thumbnail', 'aggregate'],
    },
    {
      name: 'three segments: + SegmentsNeeded, Segments, one Run per child, one invocation each',
      run: runFactory({
        segmentsChoice: true,
        segments: [1000, 1000, 1000],
        chains: [{ results: [attempt('rendition')], succeeded: true }],
      }),
      transitions: 7 + 1 + 1 + 3 + 2,
      functions: [
        'probe',
        'plan',
        'rendition-segment',
        'rendition-segment',
        'rendition-segment',
        'rendition',
        'aggregate',
      ],
    },
    {
      name: 'one wave: + Wave, SegmentsDone, Joins, and per branch JoinRouteBranch and Deferred or NoJoin',
      run: runFactory({
        segmentsChoice: true,
        wave: true,
        segments: [500, 700],
        chains: [
          { results: [attempt('thumbnail')], succeeded: true },
          { results: [attempt('rendition')], succeeded: true },
        ],
      }),
      transitions: 7 + 1 + (1 + 2) + 2 + 1 + 2 * 2 + 2 * 2,
      functions: [
        'probe',
        'plan',
        'rendition-segment',
        'rendition-segment',
        'thumbnail',
        'rendition',
        'aggregate',
      ],
    },
    {
      name: 'one wave whose FanOut failed: + Wave and SegmentsDone only (the Joins map never ran)',
      run: runFactory({ segmentsChoice: true, wave: true, chains: [] }),
      transitions: 7 + 1 + 2,
      functions: ['probe', 'plan', 'aggregate'],
    },
  ])('$name', ({ run, transitions, functions }) => {
    // Act
    const usage = videoUsage(run);

    // Assess
    expect(usage.stateTransitions).toBe(transitions);
    expect(usage.invocations.map((i) => i.function)).toEqual(functions);
  });

  it("prices each segment item by its record's duration; one without a record is counted, not priced", () => {
    // Prepare: 3 items; the third left no record; the profile's rendition-segment at 2 GiB
    const run = runFactory({
      segmentsChoice: true,
      segments: [1500.2, 2500, null],
      segmentRecordsRead: 4,
      chains: [],
    });

    // Act
    const usage = videoUsage(run);
    const profile = profileFactory();
    const { costBreakdown } = estimateCost(usage, {
      ...profile,
      kinds: { ...profile.kinds, 'rendition-segment': { memoryMiB: 2048, architecture: 'x86_64' } },
    });

    // Assess: billed 1,501 + 2,500 ms (rounded up per invocation) at 2 GiB = 8.002 GB-s.
    // PUT 1 upload + 3 segment files + 1 items file + 3 records + 3 = 11;
    // GET 1 probe + 3 segment reads + 0 branch records + 4 segment records + 2 = 10
    expect(costBreakdown.lambda.find((l) => l.function === 'rendition-segment')).toMatchObject({
      invocations: 3,
      unmeasured: 1,
      billedMs: 4001,
      gbSeconds: 8.002,
    });
    expect(usage).toMatchObject({ s3Puts: 11, s3Gets: 10 });
  });

  it('counts S3, SNS and SQS requests of a video with three branches', () => {
    // Prepare: thumbnail ok (1 artifact), rendition failed (record, no artifact) then its
    // fallback ok (1 artifact); 3 records read; the primary delivered.
    const run = runFactory({
      chains: [
        { results: [attempt('thumbnail')], succeeded: true },
        { results: [failedAttempt('rendition'), attempt('rendition-fallback')], succeeded: true },
      ],
      playable: true,
      resultsRead: 3,
    });

    // Act
    const usage = videoUsage(run);

    // Assess
    // PUT: upload 1 + artifacts 2 + records 3 + manifest, audit, pointer 3 = 9
    // GET: probe 1 + 3 branch runs + 3 records + audit HEAD + pointer = 9
    expect(usage).toMatchObject({
      stateTransitions: 4 + 2 + 5 + 3,
      snsPublishes: 3,
      sqsRequests: 6,
      s3Puts: 9,
      s3Gets: 9,
    });
  });
});

describe('costProfileFromEnv', () => {
  it('parses the profile the stack writes', () => {
    // Prepare
    const profile = profileFactory();

    // Act
    const parsed = costProfileFromEnv(JSON.stringify(profile));

    // Assess
    expect(parsed).toEqual(profile);
  });

  it.each([
    ['absent', undefined],
    ['not JSON', '{memory'],
    ['malformed', JSON.stringify({ probe: { memoryMiB: -1, architecture: 'x86_64' } })],
  ])('leaves compute unpriced when the profile is %s', (_what, raw) => {
    // Act
    const parsed = costProfileFromEnv(raw);

    // Assess
    expect(parsed).toBeUndefined();
  });
});
