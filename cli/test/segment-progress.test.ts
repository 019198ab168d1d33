import 'aws-sdk-client-mock-vitest/extend';
import { S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Branch } from '../../contract/index.js';
import { joinState, readSegmentStage, segmentStage } from '../src/segment-progress.js';
import { FakeBucket, HistoryFactory, OUTPUT_BUCKET, VIDEO_ID } from './helpers.js';

const s3Mock = mockClient(S3Client);
const sfnMock = mockClient(SFNClient);
const clients = () => ({
  s3: new S3Client({ region: 'eu-west-1' }),
  sfn: new SFNClient({ region: 'eu-west-1' }),
});

const MAP_RUN = 'arn:aws:states:eu-west-1:123456789012:mapRun:Video/Segments:1a2b';
const segmentation = {
  count: 4,
  lengthSec: 4,
  framesPerSegment: 100,
  gopFrames: 50,
  frameRate: 25,
};
const r360: Branch = { id: 'rendition-360p', kind: 'rendition', height: 360, segmentation };
const r720: Branch = { id: 'rendition-720p', kind: 'rendition', height: 720, segmentation };
const segmentFile = (rendition: string, i: number) =>
  `outputs/${VIDEO_ID}/_work/segments/${rendition}/${String(i).padStart(4, '0')}.mp4`;

/** A child execution's input: the item, as BRANCH_ITEM_SELECTOR hands it over. */
const childInput = (branch: Record<string, unknown>) =>
  JSON.stringify({ videoId: VIDEO_ID, branch });

describe('readSegmentStage: the Map Run, its children and the segment files, per rendition', () => {
  const bucket = new FakeBucket();
  /** Children by status, each with its input. */
  let children: Record<string, { arn: string; input: string }[]>;

  beforeEach(() => {
    s3Mock.reset();
    sfnMock.reset();
    bucket.objects.clear();
    bucket.install(s3Mock);
    children = {};
    sfnMock.on(DescribeMapRunCommand).resolves({
      status: 'RUNNING',
      itemCounts: {
        total: 9,
        succeeded: 4,
        failed: 1,
        timedOut: 0,
        aborted: 0,
        running: 2,
        pending: 2,
        resultsWritten: 0,
      },
    } as never);
    sfnMock.on(ListExecutionsCommand).callsFake(async (input: { statusFilter?: string }) => ({
      executions: (children[input.statusFilter ?? ''] ?? []).map((c) => ({
        executionArn: c.arn,
      })),
    }));
    sfnMock.on(DescribeExecutionCommand).callsFake(async (input: { executionArn: string }) => ({
      input: Object.values(children)
        .flat()
        .find((c) => c.arn === input.executionArn)?.input,
    }));
  });

  it('counts done from the files, running and failed from the children, the rest queued; the audio item and joins too', async () => {
    // Prepare: 2 renditions × 4 segments + the audio item = 9 items. 360p: 3 stored, 1 running;
    // 720p: 1 stored, 1 running (the 2nd child running is 720p's), 1 failed, 1 queued; audio stored.
    const events = new HistoryFactory()
      .started()
      .planned([r360, r720], VIDEO_ID, undefined, 9)
      .mapRunStarted(MAP_RUN).events;
    for (const i of [0, 1, 2]) bucket.put(segmentFile('rendition-360p', i), '');
    bucket.put(segmentFile('rendition-720p', 0), '');
    bucket.put(`outputs/${VIDEO_ID}/_work/segments/audio.m4a`, '');
    children = {
      RUNNING: [
        {
          arn: 'c1',
          input: childInput({
            id: 'rendition-360p-s0003',
            rendition: 'rendition-360p',
            track: 'video',
            index: 3,
          }),
        },
        {
          arn: 'c2',
          input: childInput({
            id: 'rendition-720p-s0001',
            rendition: 'rendition-720p',
            track: 'video',
            index: 1,
          }),
        },
      ],
      FAILED: [
        {
          arn: 'c3',
          input: childInput({
            id: 'rendition-720p-s0002',
            rendition: 'rendition-720p',
            track: 'video',
            index: 2,
          }),
        },
      ],
    };

    // Act
    const stage = await readSegmentStage(clients(), OUTPUT_BUCKET, VIDEO_ID, events);

    // Assess
    expect(stage?.renditions).toEqual([
      {
        id: 'rendition-360p',
        height: 360,
        total: 4,
        done: 3,
        running: 1,
        failed: 0,
        queued: 0,
        join: 'waiting',
      },
      {
        id: 'rendition-720p',
        height: 720,
        total: 4,
        done: 1,
        running: 1,
        failed: 1,
        queued: 1,
        join: 'waiting',
      },
    ]);
    expect(stage?.audio).toBe('done');
    expect(stage?.childExecutions).toBe('listed');
    expect(stage?.mapRuns).toEqual([
      {
        mapRunArn: MAP_RUN,
        status: 'RUNNING',
        items: { total: 9, succeeded: 4, failed: 1, running: 2, pending: 2 },
      },
    ]);
    // Only the running and failed children were described: never one call per segment.
    expect(sfnMock).toHaveReceivedCommandTimes(DescribeExecutionCommand, 3);
  });

  it('describes each child once per watch: a second poll with the same cache asks only about new ones', async () => {
    // Prepare
    const events = new HistoryFactory()
      .started()
      .planned([r720], VIDEO_ID, undefined, 5)
      .mapRunStarted(MAP_RUN).events;
    const item = (i: number) =>
      childInput({
        id: `rendition-720p-s000${i}`,
        rendition: 'rendition-720p',
        track: 'video',
        index: i,
      });
    children = {
      RUNNING: [
        { arn: 'c1', input: item(0) },
        { arn: 'c2', input: item(1) },
      ],
    };
    const cache = new Map();
    await readSegmentStage(clients(), OUTPUT_BUCKET, VIDEO_ID, events, cache);
    children = {
      RUNNING: [
        { arn: 'c2', input: item(1) },
        { arn: 'c3', input: item(2) },
      ],
    };

    // Act
    const second = await readSegmentStage(clients(), OUTPUT_BUCKET, VIDEO_ID, events, cache);

    // Assess: c1, c2, then only c3
    expect(sfnMock).toHaveReceivedCommandTimes(DescribeExecutionCommand, 3);
    expect(second?.renditions[0]).toMatchObject({ running: 2, queued: 2 });
  });

  it('counts the audio parts stored of those planned, running while a part runs, done once joined', async () => {
    // Prepare: 2 renditions × 4 segments + 3 audio parts = 11 items; parts 0 and 2 stored, 1 running.
    const events = new HistoryFactory()
      .started()
      .planned([r360, r720], VIDEO_ID, undefined, 11)
      .mapRunStarted(MAP_RUN).events;
    bucket.put(`outputs/${VIDEO_ID}/_work/segments/audio-parts/0000.m4a`, '');
    bucket.put(`outputs/${VIDEO_ID}/_work/segments/audio-parts/0002.m4a`, '');
    const part = { id: 'audio-p0001', track: 'audio', part: 1, parts: 3 };
    children = { RUNNING: [{ arn: 'a1', input: childInput(part) }], FAILED: [] };

    // Act
    const running = await readSegmentStage(clients(), OUTPUT_BUCKET, VIDEO_ID, events);
    bucket.put(`outputs/${VIDEO_ID}/_work/segments/audio-parts/0001.m4a`, '');
    children = { RUNNING: [], FAILED: [] };
    const joining = await readSegmentStage(clients(), OUTPUT_BUCKET, VIDEO_ID, events);
    bucket.put(`outputs/${VIDEO_ID}/_work/segments/audio.m4a`, '');
    const joined = await readSegmentStage(clients(), OUTPUT_BUCKET, VIDEO_ID, events);

    // Assess
    expect([running?.audio, running?.audioParts]).toEqual(['running', { done: 2, total: 3 }]);
    expect([joining?.audio, joining?.audioParts]).toEqual(['queued', { done: 3, total: 3 }]);
    expect([joined?.audio, joined?.audioParts]).toEqual(['done', { done: 3, total: 3 }]);
    expect(running?.renditions.map((r) => r.queued)).toEqual([4, 4]);
  });

  it('says queued for every segment before the Map Run starts, and the audio item queued', async () => {
    // Prepare: planned, the Map Run not started yet
    const events = new HistoryFactory().started().planned([r720], VIDEO_ID, undefined, 5).events;

    // Act
    const stage = await readSegmentStage(clients(), OUTPUT_BUCKET, VIDEO_ID, events);

    // Assess
    expect(stage?.renditions).toEqual([
      {
        id: 'rendition-720p',
        height: 720,
        total: 4,
        done: 0,
        running: 0,
        failed: 0,
        queued: 4,
        join: 'waiting',
      },
    ]);
    expect(stage?.audio).toBe('queued');
    expect(stage?.mapRuns).toEqual([]);
    expect(sfnMock).not.toHaveReceivedCommand(ListExecutionsCommand);
  });

  it("falls back to the files and the Map Run's counts when the target cannot list its children", async () => {
    // Prepare: ListExecutions by Map Run refused (as LocalStack's provider has done without a machine ARN)
    const events = new HistoryFactory()
      .started()
      .planned([r720], VIDEO_ID, undefined, 5)
      .mapRunStarted(MAP_RUN).events;
    bucket.put(segmentFile('rendition-720p', 0), '');
    sfnMock.on(ListExecutionsCommand).rejects(new Error('expected string or bytes-like object'));

    // Act
    const stage = await readSegmentStage(clients(), OUTPUT_BUCKET, VIDEO_ID, events);

    // Assess
    expect(stage?.childExecutions).toBe('unavailable');
    expect(stage?.renditions[0]).toMatchObject({ done: 1, running: 0, failed: 0, queued: 3 });
    expect(stage?.mapRuns[0]?.items.running).toBe(2);
  });

  it("counts the Plan's items when the Map Run counts only the items started so far", async () => {
    // Prepare: 5 items planned (4 segments + audio); the Map Run reports the 2 it started (LocalStack 4.14.0)
    const events = new HistoryFactory()
      .started()
      .planned([r720], VIDEO_ID, undefined, 5)
      .mapRunStarted(MAP_RUN).events;
    sfnMock.on(DescribeMapRunCommand).resolves({
      status: 'RUNNING',
      itemCounts: { total: 2, succeeded: 0, failed: 0, running: 2, pending: 0 },
    } as never);

    // Act
    const stage = await readSegmentStage(clients(), OUTPUT_BUCKET, VIDEO_ID, events);

    // Assess
    expect(stage?.mapRuns[0]?.items).toEqual({
      total: 5,
      succeeded: 0,
      failed: 0,
      running: 2,
      pending: 3,
    });
  });

  it('has no audio step for a silent source, and nothing at all for a plan without segments', async () => {
    // Prepare
    const silent = new HistoryFactory().started().planned([r720], VIDEO_ID, undefined, 4).events;
    const short = new HistoryFactory()
      .started()
      .planned([{ id: 'rendition-720p', kind: 'rendition', height: 720 }]).events;

    // Act
    const silentStage = await readSegmentStage(clients(), OUTPUT_BUCKET, VIDEO_ID, silent);
    const shortStage = await readSegmentStage(clients(), OUTPUT_BUCKET, VIDEO_ID, short);

    // Assess
    expect(silentStage?.audio).toBeNull();
    expect(shortStage).toBeUndefined();
  });
});

describe('segmentStage and joinState (pure)', () => {
  it('counts a retried segment once: a stored file outweighs a failed child for the same rendition', () => {
    // Act
    const stage = segmentStage({
      renditions: [{ id: 'rendition-720p', total: 2 }],
      stored: new Map([['rendition-720p', 2]]),
      children: { running: [], failed: [{ rendition: 'rendition-720p', audio: false }] },
      live: new Map(),
      mapRuns: [],
      audio: { planned: false, stored: false },
    });

    // Assess
    expect(stage.renditions[0]).toMatchObject({ done: 2, failed: 0, queued: 0, join: 'queued' });
  });

  it('follows the rendition branch through the join: running, done, failed', () => {
    // Prepare
    const all = { total: 3, done: 3 };

    // Act / Assess
    expect(joinState(undefined, { total: 3, done: 1 })).toBe('waiting');
    expect(joinState(undefined, all)).toBe('queued');
    expect(joinState({ id: 'r', status: 'running' }, all)).toBe('running');
    expect(joinState({ id: 'r', status: 'succeeded' }, all)).toBe('done');
    expect(joinState({ id: 'r', status: 'failed' }, all)).toBe('failed');
    expect(joinState({ id: 'r', status: 'timed-out' }, all)).toBe('failed');
  });
});
