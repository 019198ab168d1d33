import type { HistoryEvent, HistoryEventType } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { timelineFromHistory } from '../src/timeline.js';

// ---- factories: AWS history event shapes, one second apart ----------------------

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000);
let nextId = 1;
const event = (
  type: HistoryEventType,
  s: number,
  extra: Partial<HistoryEvent> = {}
): HistoryEvent => ({
  id: nextId++,
  type,
  timestamp: at(s),
  ...extra,
});
const entered = (name: string, s: number, input: unknown = {}) =>
  event('TaskStateEntered', s, {
    stateEnteredEventDetails: { name, input: JSON.stringify(input) },
  });
const exited = (name: string, s: number, output: unknown = {}) =>
  event('TaskStateExited', s, {
    stateExitedEventDetails: { name, output: JSON.stringify(output) },
  });
const plan = (s: number, branches: Array<{ id: string; kind: string }>) =>
  exited('Plan', s, { plan: { branches } });
const iso = (s: number) => at(s).toISOString();

/** The execution started, Probe ran from 0 s to 1 s, and Plan was entered at 1 s. */
const probedThenPlanning = () => [
  event('ExecutionStarted', 0),
  entered('Probe', 0),
  exited('Probe', 1),
  entered('Plan', 1),
];
/** Then Plan listed a thumbnail and a rendition at 2 s, and both branches started. */
const twoBranchesStarted = () => [
  ...probedThenPlanning(),
  plan(2, [
    { id: 'thumb-01', kind: 'thumbnail' },
    { id: 'rendition-360p', kind: 'rendition' },
  ]),
  entered('RunThumbnail', 2, { branch: { id: 'thumb-01', kind: 'thumbnail' } }),
  entered('RunRendition', 2, { branch: { id: 'rendition-360p', kind: 'rendition' } }),
];

describe('timelineFromHistory', () => {
  it('draws Probe, Plan, each planned branch and Aggregate with their times', () => {
    // Prepare
    const history = [
      ...twoBranchesStarted(),
      exited('RunThumbnail', 4, { id: 'thumb-01', status: 'SUCCEEDED' }),
      exited('BranchFailed', 6, { id: 'rendition-360p', status: 'FAILED', error: 'FfmpegError' }),
      entered('Aggregate', 6),
      exited('Aggregate', 7),
      event('ExecutionSucceeded', 7),
    ];

    // Act
    const t = timelineFromHistory(history);

    // Assess
    expect(t.start).toBe(iso(0));
    expect(t.end).toBe(iso(7));
    expect(t.bars).toEqual([
      { label: 'Probe', group: 'step', status: 'succeeded', start: iso(0), end: iso(1) },
      { label: 'Plan', group: 'step', status: 'succeeded', start: iso(1), end: iso(2) },
      {
        label: 'thumb-01',
        group: 'branch',
        kind: 'thumbnail',
        status: 'succeeded',
        start: iso(2),
        end: iso(4),
      },
      {
        label: 'rendition-360p',
        group: 'branch',
        kind: 'rendition',
        status: 'failed',
        start: iso(2),
        end: iso(6),
        error: 'FfmpegError',
      },
      { label: 'Aggregate', group: 'step', status: 'succeeded', start: iso(6), end: iso(7) },
    ]);
  });

  it('shows a run in progress: running bars have no end, later steps are pending', () => {
    // Prepare
    const history = [
      ...probedThenPlanning(),
      plan(2, [{ id: 'thumb-01', kind: 'thumbnail' }]),
      entered('RunThumbnail', 2, { branch: { id: 'thumb-01', kind: 'thumbnail' } }),
    ];

    // Act
    const t = timelineFromHistory(history);

    // Assess
    expect(t.end).toBeUndefined();
    expect(t.bars.map((b) => [b.label, b.status, b.end])).toEqual([
      ['Probe', 'succeeded', iso(1)],
      ['Plan', 'succeeded', iso(2)],
      ['thumb-01', 'running', undefined],
      ['Aggregate', 'pending', undefined],
    ]);
  });

  it('marks a step failed when a Catch moved on without it exiting (AWS does not exit it)', () => {
    // Prepare: Probe's error was caught and the workflow went straight to Aggregate.
    const history = [
      event('ExecutionStarted', 0),
      entered('Probe', 0),
      event('TaskFailed', 1),
      entered('Aggregate', 1),
      exited('Aggregate', 2),
      event('ExecutionSucceeded', 2),
    ];

    // Act
    const t = timelineFromHistory(history);

    // Assess
    expect(t.bars).toEqual([
      { label: 'Probe', group: 'step', status: 'failed', start: iso(0), end: iso(1) },
      { label: 'Plan', group: 'step', status: 'skipped' },
      { label: 'Aggregate', group: 'step', status: 'succeeded', start: iso(1), end: iso(2) },
    ]);
  });

  it('marks a step failed when it exits with the error its Catch put at $.failure (aws-local-stepfunctions)', () => {
    // Prepare
    const history = [
      event('ExecutionStarted', 0),
      entered('Probe', 0, { videoId: 'v' }),
      exited('Probe', 1, { videoId: 'v', failure: { Error: 'InvalidVideoError' } }),
      entered('Aggregate', 1, { videoId: 'v', failure: { Error: 'InvalidVideoError' } }),
      exited('Aggregate', 2, { videoId: 'v', failure: { Error: 'InvalidVideoError' } }),
      event('ExecutionFailed', 2),
    ];

    // Act
    const t = timelineFromHistory(history);

    // Assess: Aggregate received the failure, it did not fail.
    expect(t.bars.map((b) => [b.label, b.status])).toEqual([
      ['Probe', 'failed'],
      ['Plan', 'skipped'],
      ['Aggregate', 'succeeded'],
    ]);
  });

  it('is empty before the execution exists', () => {
    expect(timelineFromHistory([])).toEqual({
      bars: [
        { label: 'Probe', group: 'step', status: 'pending' },
        { label: 'Plan', group: 'step', status: 'pending' },
        { label: 'Aggregate', group: 'step', status: 'pending' },
      ],
    });
  });
});

describe('the Segments row', () => {
  it('is drawn between Plan and the branches, running, with its Map Run, while long renditions encode', () => {
    // Prepare
    const mapRunArn = 'arn:aws:states:eu-west-1:123456789012:mapRun:Video/Segments:abc';
    const history = [
      ...probedThenPlanning(),
      plan(2, [{ id: 'rendition-720p', kind: 'rendition' }]),
      entered('Segments', 2),
      event('MapRunStarted', 3, { mapRunStartedEventDetails: { mapRunArn } }),
    ];

    // Act
    const t = timelineFromHistory(history);

    // Assess
    expect(t.bars.map((b) => [b.label, b.status])).toEqual([
      ['Probe', 'succeeded'],
      ['Plan', 'succeeded'],
      ['Segments', 'running'],
      ['rendition-720p', 'pending'],
      ['Aggregate', 'pending'],
    ]);
    expect(t.segmentsMapRunArn).toBe(mapRunArn);
  });

  it('stays running in the Wave while the FanOut runs the thumbnail beside it, and a deferred join shows as its rendition', () => {
    // Prepare: parallel mode: the FanOut entered after the Segments map, the thumbnail done
    // while the segments encode; then the Joins map joins the rendition.
    const mapRunArn = 'arn:aws:states:eu-west-1:123456789012:mapRun:Video/Segments:abc';
    const branches = [
      { id: 'thumb-01', kind: 'thumbnail' },
      { id: 'rendition-720p', kind: 'rendition' },
    ];
    const running = [
      event('ExecutionStarted', 0),
      entered('Probe', 0),
      exited('Probe', 1),
      entered('Plan', 1),
      plan(2, branches),
      entered('Wave', 2),
      entered('SegmentsNeeded', 2),
      entered('Segments', 2),
      event('MapRunStarted', 3, { mapRunStartedEventDetails: { mapRunArn } }),
      entered('FanOut', 3),
      entered('RunThumbnail', 3, { branch: branches[0] }),
      exited('RunThumbnail', 4, { id: 'thumb-01', status: 'SUCCEEDED' }),
      exited('FanOut', 4),
    ];
    const joined = [
      ...running,
      exited('Segments', 9),
      entered('SegmentsDone', 9),
      entered('Joins', 10),
      entered('JoinRunRendition', 10, { branch: branches[1] }),
      exited('JoinRunRendition', 12, { id: 'rendition-720p', status: 'SUCCEEDED' }),
    ];

    // Act
    const during = timelineFromHistory(running);
    const after = timelineFromHistory(joined);

    // Assess
    expect(during.bars.map((b) => [b.label, b.status])).toEqual([
      ['Probe', 'succeeded'],
      ['Plan', 'succeeded'],
      ['Segments', 'running'],
      ['thumb-01', 'succeeded'],
      ['rendition-720p', 'pending'],
      ['Aggregate', 'pending'],
    ]);
    expect(during.segmentsMapRunArn).toBe(mapRunArn);
    expect(after.bars.find((b) => b.label === 'Segments')).toMatchObject({
      status: 'succeeded',
      end: iso(9),
    });
    expect(after.bars.find((b) => b.label === 'rendition-720p')).toMatchObject({
      status: 'succeeded',
      start: iso(10),
      end: iso(12),
    });
  });

  it('is absent from a run that never entered the Segments map', () => {
    // Prepare
    const history = [...probedThenPlanning(), plan(2, [{ id: 'thumb-01', kind: 'thumbnail' }])];

    // Act
    const t = timelineFromHistory(history);

    // Assess
    expect(t.bars.map((b) => b.label)).toEqual(['Probe', 'Plan', 'thumb-01', 'Aggregate']);
    expect(t.segmentsMapRunArn).toBeUndefined();
  });

  it('ends a branch still running when the execution was stopped, failed at the stop', () => {
    // Prepare: the rendition was encoding when StopExecution ended the run.
    const history = [
      ...twoBranchesStarted(),
      exited('RunThumbnail', 3, { id: 'thumb-01', status: 'SUCCEEDED' }),
      event('ExecutionAborted', 5),
    ];

    // Act
    const t = timelineFromHistory(history);

    // Assess: not drawn running forever; the thumbnail that finished keeps its result.
    expect(t.bars.find((b) => b.label === 'rendition-360p')).toEqual({
      label: 'rendition-360p',
      group: 'branch',
      kind: 'rendition',
      status: 'failed',
      start: iso(2),
      end: iso(5),
      error: 'cut off: ExecutionAborted',
    });
    expect(t.bars.find((b) => b.label === 'thumb-01')?.status).toBe('succeeded');
    expect(t.bars.find((b) => b.label === 'Aggregate')?.status).toBe('skipped');
  });
});
