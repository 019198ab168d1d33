import { describe, expect, it } from 'vitest';
import {
  AGGREGATE_TASK_LABEL,
  HOP_LABELS,
  hopSpreads,
  hopsOf,
  pairRatios,
  spreadOf,
} from '../../bench/end-to-end-stats.js';

describe('spreadOf', () => {
  it('gives the middle value of an odd count, with min and max', () => {
    // Prepare / Act
    const s = spreadOf([30, 10, 20]);
    // Assess
    expect(s).toEqual({ n: 3, median: 20, min: 10, max: 30 });
  });

  it('gives the mean of the middle two of an even count', () => {
    expect(spreadOf([4, 1, 3, 2])).toEqual({ n: 4, median: 2.5, min: 1, max: 4 });
  });

  it('refuses an empty list', () => {
    expect(() => spreadOf([])).toThrow(/at least one/);
  });
});

describe('pairRatios', () => {
  it('divides each pipeline run by the direct run of its pair', () => {
    expect(pairRatios([1000, 2000], [1100, 1800])).toEqual([1.1, 0.9]);
  });

  it('refuses pairs that do not line up, or a direct run of zero', () => {
    expect(() => pairRatios([1000], [1000, 1000])).toThrow(/1 direct runs vs 2 pipeline runs/);
    expect(() => pairRatios([0], [1000])).toThrow(/direct run 0 took 0 ms/);
  });
});

describe('hopsOf', () => {
  // Prepare: one run on a literal clock (epoch ms 1_000_000 onwards).
  const t0 = 1_000_000;
  const at = (ms: number) => new Date(t0 + ms);
  const iso = (ms: number) => at(ms).toISOString();
  const history = [
    { type: 'ExecutionStarted', timestamp: at(300) },
    { type: 'TaskStateEntered', timestamp: at(310), stateEnteredEventDetails: { name: 'Probe' } },
    { type: 'TaskStateExited', timestamp: at(500), stateExitedEventDetails: { name: 'Probe' } },
    { type: 'TaskStateEntered', timestamp: at(505), stateEnteredEventDetails: { name: 'Plan' } },
    { type: 'TaskStateExited', timestamp: at(540), stateExitedEventDetails: { name: 'Plan' } },
    { type: 'MapStateEntered', timestamp: at(541), stateEnteredEventDetails: { name: 'FanOut' } },
    {
      type: 'ChoiceStateEntered',
      timestamp: at(542),
      stateEnteredEventDetails: { name: 'RouteBranch' },
    },
    {
      type: 'TaskStateEntered',
      timestamp: at(560),
      stateEnteredEventDetails: { name: 'RunThumbnail' },
    },
    {
      type: 'TaskStateEntered',
      timestamp: at(550),
      stateEnteredEventDetails: { name: 'RunRendition' },
    },
    {
      type: 'TaskStateExited',
      timestamp: at(2550),
      stateExitedEventDetails: { name: 'RunRendition' },
    },
    {
      type: 'TaskStateExited',
      timestamp: at(900),
      stateExitedEventDetails: { name: 'RunThumbnail' },
    },
    { type: 'MapStateExited', timestamp: at(2600), stateExitedEventDetails: { name: 'FanOut' } },
    {
      type: 'TaskStateEntered',
      timestamp: at(2610),
      stateEnteredEventDetails: { name: 'Aggregate' },
    },
    {
      type: 'TaskStateExited',
      timestamp: at(2700),
      stateExitedEventDetails: { name: 'Aggregate' },
    },
    { type: 'ExecutionSucceeded', timestamp: at(2705) },
  ];
  const starterFn = 'VideoPipeline-StartWorkflow9E9AC6CE';
  // As GET /_local/logs answers: the starter (a batch handler) logs no request id.
  const logs = [
    // Another video's starter line, in another trace: not this run's.
    { function: starterFn, time: iso(50), traceId: 't0', videoId: 'other' },
    { function: starterFn, time: iso(60), requestId: 'r0', traceId: 't0', durationMs: 20 },
    {
      function: starterFn,
      time: iso(280),
      traceId: 't1',
      videoId: 'v1',
      message: 'Workflow started',
    },
    // The REPORT line: written when the invocation ends, 90 ms after it began.
    { function: starterFn, time: iso(290), requestId: 'r1', traceId: 't1', durationMs: 90 },
    // The probe's REPORT in the same trace is not the starter's.
    {
      function: 'VideoPipeline-Probe0EC72DDE',
      time: iso(500),
      requestId: 'r2',
      traceId: 't1',
      durationMs: 400,
    },
  ];

  it('takes each point from its source and each hop between consecutive points', () => {
    // Act
    const h = hopsOf({
      videoId: 'v1',
      putDoneAt: t0 + 100,
      manifestSeenAt: t0 + 2720,
      manifestCreatedAt: iso(2690),
      history,
      logs,
    });
    // Assess
    expect(h.points).toEqual({
      putDone: t0 + 100,
      starterInvoked: t0 + 200,
      executionStarted: t0 + 300,
      probeEntered: t0 + 310,
      probeExited: t0 + 500,
      planEntered: t0 + 505,
      planExited: t0 + 540,
      firstBranchStart: t0 + 550,
      lastBranchEnd: t0 + 2550,
      aggregateEntered: t0 + 2610,
      manifestCreated: t0 + 2690,
      manifestSeen: t0 + 2720,
    });
    expect(Object.values(h.hops)).toEqual([100, 100, 10, 190, 5, 35, 10, 2000, 60, 80, 30]);
    expect(Object.keys(h.hops)).toEqual([...HOP_LABELS]);
    expect(h.aggregateExited).toBe(t0 + 2700);
    expect(h.aggregateTaskMs).toBe(90);
    expect(h.totalMs).toBe(2620);
  });

  it("ends the branches at a deferred rendition's join in the Joins map (the Wave shape)", () => {
    // Prepare: the same run, but the segmented rendition is joined after the Wave, at 2,650 ms
    const joined = [
      ...history.slice(0, -3),
      {
        type: 'TaskStateEntered',
        timestamp: at(2602),
        stateEnteredEventDetails: { name: 'JoinRunRendition' },
      },
      {
        type: 'TaskStateExited',
        timestamp: at(2650),
        stateExitedEventDetails: { name: 'JoinRunRendition' },
      },
      ...history.slice(-3),
    ];

    // Act
    const h = hopsOf({
      videoId: 'v1',
      putDoneAt: t0 + 100,
      manifestSeenAt: t0 + 2720,
      manifestCreatedAt: iso(2690),
      history: joined,
      logs,
    });

    // Assess
    expect(h.points.lastBranchEnd).toBe(t0 + 2650);
  });

  it('starts the starter at its first line when its REPORT line is missing', () => {
    const h = hopsOf({
      videoId: 'v1',
      putDoneAt: t0 + 100,
      manifestSeenAt: t0 + 2720,
      history,
      logs: logs.filter((r) => r.durationMs === undefined),
    });
    expect(h.points.starterInvoked).toBe(t0 + 280);
    expect(h.points.manifestCreated).toBeNull();
    expect(h.hops[HOP_LABELS[10]]).toBeNull();
  });

  it('leaves hops unknown where the sources have no point', () => {
    const h = hopsOf({
      videoId: 'v1',
      putDoneAt: t0,
      manifestSeenAt: t0 + 50,
      history: [],
      logs: [],
    });
    expect(h.points.starterInvoked).toBeNull();
    expect(h.hops[HOP_LABELS[0]]).toBeNull();
    expect(h.hops[HOP_LABELS[10]]).toBeNull();
    expect(h.totalMs).toBe(50);
  });

  it('hopSpreads summarises each hop over the runs that know it', () => {
    const known = hopsOf({
      videoId: 'v1',
      putDoneAt: t0 + 100,
      manifestSeenAt: t0 + 2720,
      manifestCreatedAt: iso(2690),
      history,
      logs,
    });
    const slower = hopsOf({
      videoId: 'v1',
      putDoneAt: t0 + 100,
      manifestSeenAt: t0 + 2780,
      manifestCreatedAt: iso(2690),
      history,
      logs,
    });
    const unknown = hopsOf({
      videoId: 'v1',
      putDoneAt: t0,
      manifestSeenAt: t0,
      history: [],
      logs: [],
    });
    const s = hopSpreads([known, slower, unknown]);
    expect(s[HOP_LABELS[10]]).toEqual({ n: 2, median: 60, min: 30, max: 90 });
    expect(s[AGGREGATE_TASK_LABEL]).toEqual({ n: 2, median: 90, min: 90, max: 90 });
    expect(s[HOP_LABELS[0]]).toEqual({ n: 2, median: 100, min: 100, max: 100 });
    expect(s[HOP_LABELS[1]]).toEqual({ n: 2, median: 100, min: 100, max: 100 });
  });
});
