import { describe, expect, it } from 'vitest';
import {
  AGGREGATE_TASK_LABEL,
  branchStateTimes,
  HOP_LABELS,
  hopSpreads,
  hopsOf,
  pairRatios,
  splitMedians,
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

describe('branchStateTimes', () => {
  const at = (ms: number) => new Date(2_000_000 + ms);
  const entered = (name: string, id: string, ms: number) => ({
    type: 'TaskStateEntered',
    timestamp: at(ms),
    stateEnteredEventDetails: { name, input: JSON.stringify({ videoId: 'v', branch: { id } }) },
  });
  const exited = (name: string, id: string, ms: number) => ({
    type: 'TaskStateExited',
    timestamp: at(ms),
    stateExitedEventDetails: { name, output: JSON.stringify({ id, status: 'SUCCEEDED' }) },
  });

  it("times each branch's task state by the branch id in its input and output", () => {
    // Prepare: two branches interleaved, a Probe task (not a branch) and a join in the Joins map
    const history = [
      { type: 'TaskStateEntered', timestamp: at(0), stateEnteredEventDetails: { name: 'Probe' } },
      entered('RunThumbnail', 'thumb-01', 100),
      entered('RunRendition', 'rendition-720p', 110),
      exited('RunThumbnail', 'thumb-01', 400),
      exited('RunRendition', 'rendition-720p', 2110),
      entered('JoinRunRendition', 'rendition-360p', 2200),
      exited('JoinRunRendition', 'rendition-360p', 2250),
    ];

    // Act
    const times = branchStateTimes(history);

    // Assess
    expect(times).toEqual({ 'thumb-01': 300, 'rendition-720p': 2000, 'rendition-360p': 50 });
  });

  it('leaves out a branch that never exited or whose input cannot be read', () => {
    // Prepare
    const history = [
      entered('RunThumbnail', 'thumb-01', 100),
      {
        type: 'TaskStateEntered',
        timestamp: at(5),
        stateEnteredEventDetails: { name: 'RunMetadata', input: 'not json' },
      },
      exited('RunMetadata', 'metadata', 50),
    ];

    // Act / Assess
    expect(branchStateTimes(history)).toEqual({});
  });
});

describe('splitMedians', () => {
  it("takes each field's median over the runs, and the time outside the handler per run", () => {
    // Prepare: three pairs of one branch; the pipeline's phases as the handler publishes them
    const phases = (runMs: number, uploadMs: number, totalMs: number) => ({
      signMs: 0,
      runMs,
      toolRuns: 3,
      toolMs: runMs - 10,
      uploads: 16,
      uploadBytes: 4096,
      uploadMs,
      recordMs: 5,
      playlistMs: 20,
      totalMs,
    });
    const run = (direct: number, p: ReturnType<typeof phases>, stateMs: number) => ({
      'rendition-720p': { directRunMs: direct, directToolMs: direct - 5, phases: p, stateMs },
    });

    // Act
    const medians = splitMedians([
      run(3000, phases(3200, 150, 3400), 3430),
      run(3100, phases(3300, 100, 3450), 3460),
      run(2900, phases(3100, 300, 3300), 3350),
    ]);

    // Assess
    expect(medians['rendition-720p']).toMatchObject({
      directRunMs: 3000,
      runMs: 3200,
      toolMs: 3190,
      uploadMs: 150,
      totalMs: 3400,
      stateMs: 3430,
      // per run: 30, 10, 50
      outsideHandlerMs: 30,
      // per run: 3400 − (3200 + 150 + 5 + 20) = 25; 3450 − 3425 = 25; 3300 − 3425 = −125
      otherMs: 25,
    });
  });

  it('counts a field only over the runs that have it', () => {
    // Prepare: the second run has no pipeline phases for the branch
    const runs = [
      { metadata: { directRunMs: 100, directToolMs: 90, phases: null, stateMs: 120 } },
      { metadata: { directRunMs: 300, directToolMs: 280, phases: null, stateMs: null } },
    ];

    // Act
    const m = splitMedians(runs).metadata;

    // Assess
    expect(m).toMatchObject({
      directRunMs: 200,
      stateMs: 120,
      runMs: null,
      outsideHandlerMs: null,
    });
  });
});
