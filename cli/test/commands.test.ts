import 'aws-sdk-client-mock-vitest/extend';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeMapRunCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { currentPointerKey, redriveExecutionName, videoIdFor } from '../../contract/index.js';
import { describeError } from '../src/aws.js';
import {
  type Context,
  EXIT_IN_PROGRESS,
  runList,
  runMetrics,
  runStatus,
  runUpload,
} from '../src/commands.js';
import {
  captureOut,
  FakeBucket,
  FakeExecution,
  failed,
  fakeClients,
  fakeOutputs,
  keys,
  linesWiderThan,
  manifestFrom,
  OUTPUT_BUCKET,
  planOf,
  STATE_MACHINE_ARN,
  succeeded,
  UPLOAD_BUCKET,
  unwrap,
  VIDEO_ID,
} from './helpers.js';

const s3Mock = mockClient(S3Client);
const sfnMock = mockClient(SFNClient);

const makeContext = (): Context & {
  out: ReturnType<typeof captureOut>;
  err: ReturnType<typeof captureOut>;
} => ({
  outputs: fakeOutputs(),
  clients: fakeClients(),
  out: captureOut(false),
  err: captureOut(false),
});

let bucket: FakeBucket;
let execution: FakeExecution;
beforeEach(() => {
  s3Mock.reset();
  sfnMock.reset();
  bucket = new FakeBucket();
  bucket.install(s3Mock);
  execution = new FakeExecution();
  execution.install(sfnMock);
  sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
});

describe('upload --watch', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-cmd-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('warns about a non-video, uploads it anyway, and exits 1 on its FAILED manifest', async () => {
    // Prepare
    const file = join(dir, 'notes.txt');
    await writeFile(file, 'not a video');
    s3Mock.on(PutObjectCommand).resolves({ ETag: '"feed"' });
    const videoId = videoIdFor({ bucket: UPLOAD_BUCKET, key: 'uploads/notes.txt', etag: 'feed' });
    const ctx = makeContext();
    let t = 0;
    const sleep = async (ms: number) => {
      t += ms;
      execution.status = 'FAILED';
      bucket.put(
        keys.manifest(videoId),
        manifestFrom(videoId, [], {
          status: 'FAILED',
          reason: 'InvalidVideoError: not a readable video file',
          createdAt: new Date().toISOString(),
        })
      );
    };

    // Act
    const code = await runUpload(ctx, file, { watch: true, timeoutSec: 60, now: () => t, sleep });

    // Assess
    expect(unwrap(ctx.err.text())).toContain(
      `warning: ${file} does not look like a video (extension .txt is not a video extension; its first bytes match no known video container); uploading anyway`
    );
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: UPLOAD_BUCKET,
      Key: 'uploads/notes.txt',
    });
    expect(ctx.out.text()).toContain(`videoId:   ${videoId} (also the execution name)`);
    expect(ctx.out.text()).toContain('plan: none (no branch ran)');
    expect(unwrap(ctx.out.text())).toContain(
      'manifest: FAILED (0/0 branches succeeded) — InvalidVideoError: not a readable video file'
    );
    expect(code).toBe(1);
  });

  it('notes when the manifest predates the upload (identical re-upload, same videoId)', async () => {
    // Prepare
    const file = join(dir, 'again.mp4');
    await writeFile(file, Buffer.from('\0\0\0\x18ftypmp42', 'latin1'));
    s3Mock.on(PutObjectCommand).resolves({ ETag: '"same"' });
    const videoId = videoIdFor({ bucket: UPLOAD_BUCKET, key: 'uploads/again.mp4', etag: 'same' });
    const ok = succeeded('metadata', 'metadata', `outputs/${videoId}/metadata.json`);
    bucket.put(
      keys.manifest(videoId),
      manifestFrom(videoId, [ok], { createdAt: '2025-01-01T00:00:00.000Z' })
    );
    execution.status = 'SUCCEEDED';
    const ctx = makeContext();

    // Act
    const code = await runUpload(ctx, file, { watch: true, timeoutSec: 60 });

    // Assess
    expect(ctx.err.text()).toContain(
      'note: this manifest is from 2025-01-01T00:00:00.000Z, before this upload'
    );
    expect(code).toBe(0);
  });

  it('follows branches to a PARTIAL manifest, exits 2, and fits 80 columns', async () => {
    // Prepare
    const file = join(dir, 'clip.mp4');
    await writeFile(file, Buffer.from('\0\0\0\x18ftypmp42', 'latin1'));
    s3Mock.on(PutObjectCommand).resolves({ ETag: '"cafe"', VersionId: 'v7' });
    const videoId = videoIdFor({ bucket: UPLOAD_BUCKET, key: 'uploads/clip.mp4', versionId: 'v7' });
    const [thumb, rendition] = planOf('thumb-01', 'rendition-360p');
    const ok = succeeded('thumb-01', 'thumbnail', `outputs/${videoId}/thumbnails/thumb-01.jpg`);
    const bad = failed('rendition-360p', 'rendition', 'ffmpeg exited 1');
    const h = execution.history;
    const steps = [
      () => {
        execution.status = 'RUNNING';
        h.started(videoId).planned([thumb, rendition], videoId);
      },
      () => h.branchStarted(thumb, 0, videoId).branchStarted(rendition, 1, videoId),
      () => h.branchSucceeded(thumb),
      () => h.branchFailed(rendition, 'MediaToolError'),
      () =>
        bucket.put(
          keys.manifest(videoId),
          manifestFrom(videoId, [ok, bad], { createdAt: new Date().toISOString() })
        ),
    ];
    let t = 0;
    const ctx = makeContext();

    // Act
    const code = await runUpload(ctx, file, {
      watch: true,
      timeoutSec: 60,
      now: () => t,
      sleep: async (ms) => {
        t += ms;
        steps.shift()?.();
      },
    });

    // Assess
    const out = ctx.out.text();
    expect(ctx.err.text()).toBe('');
    expect(linesWiderThan(out, 80)).toEqual([]);
    expect(out).toContain('execution: not started yet');
    expect(out).toMatch(/· thumb-01 +thumbnail +at 2\.5s +pending/);
    expect(out).toMatch(/▶ rendition-360p +rendition +360p +running/);
    expect(out).toMatch(/✓ thumb-01 +thumbnail +at 2\.5s +succeeded/);
    expect(out.match(/✗ rendition-360p +rendition +360p +failed +MediaToolError\n/g)).toHaveLength(
      1
    );
    // The summary adds the manifest's durations, artifacts and full errors once.
    expect(out).toMatch(/│ thumb-01 +│ 1\.5s +│ thumbnails\/thumb-01\.jpg +│/);
    expect(out).toMatch(/│ rendition-360p +│ 800ms +│ MediaToolError: ffmpeg exited 1 +│/);
    expect(out.match(/manifest: PARTIAL \(1\/2 branches succeeded\)/g)).toHaveLength(1);
    expect(out).not.toContain('_work/');
    expect(code).toBe(2);
  });

  it('fails with "cannot reach" before any upload progress when the endpoint is down', async () => {
    // Prepare
    const file = join(dir, 'clip.mp4');
    await writeFile(file, Buffer.from('\0\0\0\x18ftypmp42', 'latin1'));
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
    });
    s3Mock.on(HeadBucketCommand).rejects(refused);
    const ctx = makeContext();

    // Act
    const act = runUpload(ctx, file, { watch: true, timeoutSec: 60 });

    // Assess
    await expect(act).rejects.toBe(refused);
    expect(describeError(refused, 'http://127.0.0.1:1')).toBe(
      'cannot reach http://127.0.0.1:1: is `npm run local` running?'
    );
    expect(s3Mock).not.toHaveReceivedCommand(PutObjectCommand);
    expect(ctx.out.text()).not.toContain('uploading');
  });

  it('exits 1 with a message when the manifest does not appear in time', async () => {
    // Prepare
    const file = join(dir, 'clip.webm');
    await writeFile(file, Buffer.from([0x1a, 0x45, 0xdf, 0xa3]));
    s3Mock.on(PutObjectCommand).resolves({ ETag: '"1"' });
    let t = 0;
    const ctx = makeContext();

    // Act
    const code = await runUpload(ctx, file, {
      watch: true,
      timeoutSec: 10,
      now: () => t,
      sleep: async (ms) => {
        t += ms;
      },
    });

    // Assess
    expect(ctx.err.text()).toMatch(/^error: timed out after 10\.0s waiting for the manifest/m);
    expect(code).toBe(1);
  });

  it('returns 0 right after the upload without --watch', async () => {
    // Prepare
    const file = join(dir, 'clip.avi');
    await writeFile(file, Buffer.from('RIFF\0\0\0\0AVI ', 'latin1'));
    s3Mock.on(PutObjectCommand).resolves({ ETag: '"2"' });
    const ctx = makeContext();

    // Act
    const code = await runUpload(ctx, file, { timeoutSec: 60, thumbnailTimes: '3' });

    // Assess
    expect(code).toBe(0);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Metadata: { 'thumbnail-times': '3' },
    });
    expect(sfnMock.calls()).toHaveLength(0);
  });
});

describe('status', () => {
  it('resolves an uploads/ key through its current.json pointer', async () => {
    // Prepare: the pointer of uploads/clip.mp4 names VIDEO_ID.
    execution.status = 'SUCCEEDED';
    const ok = succeeded('thumb-01', 'thumbnail', `outputs/${VIDEO_ID}/thumbnails/thumb-01.jpg`);
    bucket.put(keys.manifest(), manifestFrom(VIDEO_ID, [ok]));
    bucket.put(currentPointerKey(UPLOAD_BUCKET, 'uploads/clip.mp4'), {
      bucket: UPLOAD_BUCKET,
      key: 'uploads/clip.mp4',
      videoId: VIDEO_ID,
      sequencer: '0055AED6DCD90281E5',
      eventTime: '2026-11-22T10:00:00.000Z',
      updatedAt: '2026-11-22T10:00:01.000Z',
    });
    const ctx = makeContext();
    // Act
    const code = await runStatus(ctx, 'uploads/clip.mp4');
    // Assess
    expect(ctx.out.text()).toContain(`outputs: s3://${OUTPUT_BUCKET}/outputs/${VIDEO_ID}/`);
    expect(code).toBe(0);
  });

  it('says so when an uploads/ key has no pointer', async () => {
    const ctx = makeContext();
    await expect(runStatus(ctx, 'uploads/never.mp4')).rejects.toThrow(
      `no upload started for s3://${UPLOAD_BUCKET}/uploads/never.mp4`
    );
  });

  it('renders the manifest and exits by its status', async () => {
    // Prepare
    execution.status = 'SUCCEEDED';
    const ok = succeeded('thumb-01', 'thumbnail', `outputs/${VIDEO_ID}/thumbnails/thumb-01.jpg`);
    bucket.put(keys.manifest(), manifestFrom(VIDEO_ID, [ok]));
    const ctx = makeContext();

    // Act
    const code = await runStatus(ctx, VIDEO_ID);

    // Assess
    const out = ctx.out.text();
    expect(linesWiderThan(out, 80)).toEqual([]);
    expect(out).toContain('execution: SUCCEEDED');
    expect(out).toContain(`outputs: s3://${OUTPUT_BUCKET}/outputs/${VIDEO_ID}/`);
    expect(out).toMatch(/│ thumb-01 +│ thumbnail +│ ✓ ok +│ 1\.5s +│ thumbnails\/thumb-01\.jpg +│/);
    expect(ctx.out.text()).toContain('manifest: COMPLETE (1/1 branches succeeded)');
    expect(code).toBe(0);
  });

  it('shows a snapshot from the execution history while in progress', async () => {
    // Prepare
    execution.status = 'RUNNING';
    const [thumb, rendition, meta] = planOf('thumb-01', 'rendition-360p', 'metadata');
    execution.history.started().planned([thumb, rendition, meta]);
    execution.history
      .branchStarted(thumb)
      .branchStarted(rendition)
      .branchFailed(rendition, 'MediaToolError');
    const ctx = makeContext();

    // Act
    const code = await runStatus(ctx, VIDEO_ID);

    // Assess
    const out = ctx.out.text();
    expect(linesWiderThan(out, 80)).toEqual([]);
    expect(out).toMatch(/│ thumb-01 +│ thumbnail +│ ▶ running +│/);
    expect(out).toMatch(/│ rendition-360p +│ rendition +│ ✗ failed +│ .* │ MediaToolError +│/);
    expect(out).toContain('no manifest yet: 0 succeeded, 1 failed, 1 running, 1 pending of 3');
    expect(code).toBe(EXIT_IN_PROGRESS);
  });

  it('--watch follows a segmented video live: segments done and queued, the audio parts, the join, then the manifest', async () => {
    // Prepare: one 720p rendition in 4 segments plus 2 audio parts; 2 segments and a part stored so far
    execution.status = 'RUNNING';
    const segmentation = {
      count: 4,
      lengthSec: 4,
      framesPerSegment: 100,
      gopFrames: 50,
      frameRate: 25,
    };
    const r720 = { id: 'rendition-720p', kind: 'rendition', height: 720, segmentation };
    const mapRunArn = 'arn:aws:states:eu-west-1:123456789012:mapRun:Video/Segments:1a2b';
    execution.history.started().planned([r720], VIDEO_ID, undefined, 6).mapRunStarted(mapRunArn);
    sfnMock.on(DescribeMapRunCommand).resolves({ status: 'RUNNING', itemCounts: {} } as never);
    const segment = (i: number) => `outputs/${VIDEO_ID}/_work/segments/rendition-720p/000${i}.mp4`;
    bucket.put(segment(0), '');
    bucket.put(segment(1), '');
    bucket.put(`outputs/${VIDEO_ID}/_work/segments/audio-parts/0000.m4a`, '');
    const ctx = makeContext();
    let t = 0;
    // The next poll finds every segment, the audio, and the manifest.
    const sleep = async (ms: number) => {
      t += ms;
      bucket.put(segment(2), '');
      bucket.put(segment(3), '');
      bucket.put(`outputs/${VIDEO_ID}/_work/segments/audio.m4a`, '');
      execution.status = 'SUCCEEDED';
      const mp4 = `outputs/${VIDEO_ID}/renditions/720p.mp4`;
      bucket.put(
        keys.manifest(),
        manifestFrom(VIDEO_ID, [succeeded('rendition-720p', 'rendition', mp4)])
      );
    };

    // Act
    const code = await runStatus(ctx, VIDEO_ID, { timeoutSec: 60, now: () => t, sleep });

    // Assess
    const out = ctx.out.text();
    expect(out).toContain('720p: 2/4 segments done, 2 queued · join waiting');
    expect(out).toContain('audio 1/2 parts · queued');
    expect(out).toContain('manifest: COMPLETE');
    expect(code).toBe(0);
  });

  it('fails clearly for an unknown videoId', async () => {
    // Prepare
    const ctx = makeContext();

    // Act
    const act = runStatus(ctx, 'nope-0000000000000000');

    // Assess
    await expect(act).rejects.toThrow('no such video: nope-0000000000000000');
  });
});

describe('list', () => {
  it('does not list the per-key pointers under outputs/by-key/ as a video', async () => {
    // Prepare
    bucket.put(
      keys.manifest('only-1'),
      manifestFrom('only-1', [succeeded('thumb-01', 'thumbnail', 'k')])
    );
    bucket.put(currentPointerKey(UPLOAD_BUCKET, 'uploads/clip.mp4'), { videoId: 'only-1' });
    const ctx = makeContext();
    // Act
    await runList(ctx, 10);
    // Assess
    expect(ctx.out.text()).toContain('only-1');
    expect(ctx.out.text()).not.toContain('by-key');
  });

  it('merges manifests and running executions, newest first, up to the limit', async () => {
    // Prepare
    const ok = succeeded('thumb-01', 'thumbnail', 'k');
    bucket.put(
      keys.manifest('old-1'),
      manifestFrom('old-1', [ok], { createdAt: '2025-01-01T00:00:00.000Z' })
    );
    bucket.put(
      keys.manifest('new-2'),
      manifestFrom('new-2', [ok, failed('rendition-360p', 'rendition', 'x')], {
        createdAt: '2025-03-01T00:00:00.000Z',
      })
    );
    sfnMock.on(ListExecutionsCommand).resolves({
      executions: [
        {
          name: 'busy-3',
          executionArn: 'arn:e:busy-3',
          stateMachineArn: STATE_MACHINE_ARN,
          status: 'RUNNING',
          startDate: new Date('2025-04-01T00:00:00.000Z'),
        },
        {
          name: 'fresh-4',
          executionArn: 'arn:e:fresh-4',
          stateMachineArn: STATE_MACHINE_ARN,
          status: 'RUNNING',
          startDate: new Date('2025-02-01T00:00:00.000Z'),
        },
      ],
    });
    const ctx = makeContext();

    // Act
    const code = await runList(ctx, 3);

    // Assess
    const rows = ctx.out
      .text()
      .split('\n')
      .map((l) =>
        l
          .split('│')
          .map((c) => c.trim())
          .filter(Boolean)
      )
      .filter((cells) => cells.length === 4)
      .slice(1);
    expect(rows).toEqual([
      ['busy-3', 'RUNNING', '-', '2025-04-01 00:00'],
      ['new-2', 'PARTIAL', '1/2', '2025-03-01 00:00'],
      ['fresh-4', 'RUNNING', '-', '2025-02-01 00:00'],
    ]);
    expect(linesWiderThan(ctx.out.text(), 80)).toEqual([]);
    expect(sfnMock).toHaveReceivedCommandWith(ListExecutionsCommand, {
      stateMachineArn: STATE_MACHINE_ARN,
      statusFilter: 'RUNNING',
    });
    expect(code).toBe(0);
  });
});

/** The table's data rows as cells (the header row dropped). */
const listRows = (text: string): string[][] =>
  text
    .split('\n')
    .map((l) =>
      l
        .split('│')
        .map((c) => c.trim())
        .filter(Boolean)
    )
    .filter((cells) => cells.length === 4)
    .slice(1);

describe('list: only videos', () => {
  it('does not list the internal _segment-runs/ and _work/ folders as videos', async () => {
    // Prepare: what the segment Distributed Map's ResultWriter writes, beside one video.
    bucket.put(
      keys.manifest(VIDEO_ID),
      manifestFrom(VIDEO_ID, [succeeded('thumb-01', 'thumbnail', 'k')])
    );
    bucket.put('outputs/_segment-runs/0a1b2c3d/manifest.json', {
      DestinationBucket: OUTPUT_BUCKET,
    });
    bucket.put('outputs/_segment-runs/0a1b2c3d/SUCCEEDED_0.json', []);
    bucket.put('outputs/_work/stray.json', {});
    const ctx = makeContext();

    // Act
    await runList(ctx, 10);

    // Assess
    expect(listRows(ctx.out.text()).map((r) => r[0])).toEqual([VIDEO_ID]);
    expect(ctx.out.text()).not.toContain('_segment');
  });

  it('shows a running redrive as its video, not as another video', async () => {
    // Prepare: the video's PARTIAL manifest, and its first redrive running.
    bucket.put(
      keys.manifest(VIDEO_ID),
      manifestFrom(VIDEO_ID, [
        succeeded('thumb-01', 'thumbnail', 'k'),
        failed('rendition-360p', 'rendition', 'x'),
      ])
    );
    sfnMock.on(ListExecutionsCommand).resolves({
      executions: [
        {
          name: redriveExecutionName(VIDEO_ID, 1),
          executionArn: `arn:e:${redriveExecutionName(VIDEO_ID, 1)}`,
          stateMachineArn: STATE_MACHINE_ARN,
          status: 'RUNNING',
          startDate: new Date('2025-04-01T00:00:00.000Z'),
        },
      ],
    });
    const ctx = makeContext();

    // Act
    await runList(ctx, 10);

    // Assess
    expect(listRows(ctx.out.text())).toEqual([[VIDEO_ID, 'PARTIAL', '1/2', '2025-01-01 00:00']]);
  });
});

describe('metrics', () => {
  /** One aggregator EMF record: a verdict metric, as Powertools prints it. */
  const verdictRecord = (name: 'VideosCompleted' | 'VideosPartial' | 'VideosFailed') => ({
    function: 'VideoPipeline-Aggregate',
    record: {
      _aws: {
        Timestamp: 0,
        CloudWatchMetrics: [
          {
            Namespace: 'FanOutFanIn',
            Dimensions: [['service']],
            Metrics: [{ Name: name, Unit: 'Count' }],
          },
        ],
      },
      service: 'video-pipeline',
      [name]: 1,
    },
  });
  const serve = (records: unknown[]) =>
    (async () => new Response(JSON.stringify({ records, dropped: 0 }))) as unknown as typeof fetch;

  it.each([
    [
      'still PARTIAL after two redrives',
      'PARTIAL',
      ['VideosPartial', 'VideosPartial', 'VideosPartial'],
      '0 COMPLETE, 1 PARTIAL, 0 FAILED',
      '0 COMPLETE, 3 PARTIAL, 0 FAILED',
    ],
    [
      'COMPLETE after its redrive',
      'COMPLETE',
      ['VideosPartial', 'VideosCompleted'],
      '1 COMPLETE, 0 PARTIAL, 0 FAILED',
      '1 COMPLETE, 1 PARTIAL, 0 FAILED',
    ],
  ] as const)(
    'counts a video %s once, with its latest verdict, as list does',
    async (_what, latest, written, videos, verdicts) => {
      // Prepare: the manifest the last run wrote; one verdict record per run (original + redrives).
      const results =
        latest === 'COMPLETE'
          ? [succeeded('thumb-01', 'thumbnail', 'k')]
          : [succeeded('thumb-01', 'thumbnail', 'k'), failed('rendition-360p', 'rendition', 'x')];
      bucket.put(keys.manifest(VIDEO_ID), manifestFrom(VIDEO_ID, results));
      const ctx = makeContext();

      // Act
      const code = await runMetrics(
        ctx,
        'http://127.0.0.1:4599',
        {},
        serve(written.map(verdictRecord))
      );
      await runList(ctx, 10);

      // Assess
      const text = ctx.out.text();
      expect(code).toBe(0);
      expect(text).toContain(`Videos: ${videos} (latest verdict of each video)`);
      expect(text).toContain(`Verdicts written: ${verdicts} (redrives included)`);
      expect(listRows(text).map((r) => r[1])).toEqual([latest]);
    }
  );
});
