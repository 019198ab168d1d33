import 'aws-sdk-client-mock-vitest/extend';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Manifest, videoIdFor } from '../../contract/index.js';
import type { Progress } from '../src/branch-rows.js';
import { type Context, runUpload } from '../src/commands.js';
import { type ListRow, renderListTable } from '../src/list-screen.js';
import { ttyFrame } from '../src/live-screen.js';
import { buildProgram } from '../src/main.js';
import { type MetricsView, renderMetricsView } from '../src/metrics.js';
import { runRedriveVideo } from '../src/redrive-video.js';
import { renderReport, renderWatchSummary } from '../src/status-screen.js';
import {
  brokenTokens,
  captureOut,
  FakeBucket,
  FakeExecution,
  failed,
  keys,
  linesWiderThan,
  manifestFrom,
  planOf,
  stripAnsi,
  succeeded,
  VIDEO_ID,
} from './helpers.js';

/**
 * Every screen at 80 and 132 columns, from realistic worst cases: long bucket
 * names, slugs, keys and errors. Each must fit its width, keep words and
 * statuses whole, and indent the lines that continue a wrapped one.
 */

const WIDTHS = [80, 132] as const;
const UPLOAD_BUCKET = 'videopipeline-uploadbucket1a2b3c4d-9x8y7z6w5v4u';
const OUTPUT_BUCKET = 'videopipeline-outputbucket5e6f7a8b-1q2w3e4r5t6y';
const STATE_MACHINE_ARN =
  'arn:aws:states:eu-west-1:123456789012:stateMachine:VideoPipelineWorkflow7C3A2B1D-x9Y8z7W6v5U4';
const slug = 'a-very-long-holiday-video-file-name-2026-0123456789abcdef';

/** A PARTIAL manifest with a primary, its fallback, a timed-out branch and long keys and errors. */
const busyManifest = (videoId = slug): Manifest => {
  const base = manifestFrom(videoId, [
    succeeded('thumb-01', 'thumbnail', `outputs/${videoId}/thumbnails/thumb-01.jpg`),
    succeeded(
      'rendition-720p',
      'rendition',
      `outputs/${videoId}/renditions/720p-with-a-long-descriptive-suffix.mp4`
    ),
    failed(
      'rendition-1080p',
      'rendition',
      'ffmpeg exited 1: Error while decoding stream #0:0: Invalid data found when processing input'
    ),
    failed('thumb-at-999s', 'thumbnail', 'no frame at 999s'),
  ]);
  return {
    ...base,
    reason: 'rendition-1080p failed (ffmpeg exited 1) and thumb-at-999s timed out after 30s',
    branches: base.branches.map((b) =>
      b.id === 'rendition-1080p'
        ? { ...b, role: 'primary' as const }
        : b.id === 'rendition-720p'
          ? { ...b, fallbackFor: 'rendition-1080p' }
          : b.id === 'thumb-at-999s'
            ? { ...b, status: 'TIMED_OUT' as const }
            : b
    ),
    fanOut: { ...base.fanOut, fellBack: 1, timedOut: 1 },
  };
};

const plan = planOf('thumb-01', 'rendition-720p', 'rendition-1080p', 'thumb-at-999s');
const done: Progress = {
  videoId: slug,
  execution: { status: 'SUCCEEDED' },
  plan,
  live: new Map(),
  manifest: busyManifest(),
  elapsedMs: 0,
};

/** Lines that continue a wrapped message (not a table, not a top-level label) but are not indented. */
const unindented = (text: string, labels: RegExp): string[] =>
  stripAnsi(text)
    .split('\n')
    .filter((l) => l !== '' && !/^[┌│├└]/.test(l) && !labels.test(l) && !l.startsWith(' '));

/** Whole words (and roles) that a screen must never cut. */
const STATUSES = ['COMPLETE', 'PARTIAL', 'FAILED', 'primary', 'fallback'];

describe.each(WIDTHS)('at %i columns', (width) => {
  it('`status` fits, keeps statuses and words whole, and indents continuations', () => {
    // Act
    const report = renderReport(done, OUTPUT_BUCKET, width);

    // Assess
    expect(linesWiderThan(report, width)).toEqual([]);
    expect(report).toMatch(/│ ✗ failed +│/);
    expect(report).toMatch(/│ ⧗ timed out +│/);
    expect(report).toMatch(/\nmanifest: PARTIAL \(/);
    expect(unindented(report, /^(video|execution|outputs|manifest|cost):/)).toEqual([]);
    const reason = busyManifest().reason ?? '';
    expect(brokenTokens(reason, report, width - 2)).toEqual([]);
  });

  it('the `upload --watch` live frame keeps roles and statuses whole', () => {
    // Act
    const frame = ttyFrame(done, width, 40).join('\n');

    // Assess: one column short of the terminal.
    expect(linesWiderThan(frame, width - 1)).toEqual([]);
    expect(frame).toMatch(/✗ rendition-1080p +rendition +1080p · primary +failed/);
    expect(frame).toContain('720p · fallback for');
    expect(frame).toMatch(/succeeded\n/);
    for (const word of ['primary', 'fallback', 'succeeded', 'timed-out']) {
      expect(frame).toMatch(new RegExp(`\\b${word}\\b`));
    }
  });

  it('the `upload --watch` summary fits and keeps keys whole where they fit', () => {
    // Act
    const summary = renderWatchSummary(done, OUTPUT_BUCKET, width);

    // Assess
    expect(linesWiderThan(summary, width)).toEqual([]);
    expect(unindented(summary, /^(outputs|manifest|cost):/)).toEqual([]);
    expect(summary.replace(/[\s│]+/g, '')).toContain(
      'renditions/720p-with-a-long-descriptive-suffix.mp4'
    );
    expect(summary).toMatch(/\ncost: \$/);
  });

  it('`list` fits and never wraps a status', () => {
    // Prepare
    const rows: ListRow[] = [
      { videoId: slug, status: 'PARTIAL', branches: '3/4', created: '2026-12-07T04:00:00.000Z' },
      { videoId: `${slug}-redrive-2`, status: 'NO MANIFEST', branches: '-', created: '-' },
      {
        videoId: VIDEO_ID,
        status: 'COMPLETE',
        branches: '4/4',
        created: '2026-12-07T03:00:00.000Z',
      },
    ];

    // Act
    const table = renderListTable(rows, width);

    // Assess
    expect(linesWiderThan(table, width)).toEqual([]);
    expect(table).toMatch(/│ NO MANIFEST │/);
    expect(table).toMatch(/│ PARTIAL +│ 3\/4 │ 2026-12-07 04:00 +│/);
    const firstColumn = table
      .split('\n')
      .map((l) => l.split('│')[1]?.trim() ?? '')
      .join('');
    expect(firstColumn).toContain(`${slug}-redrive-2`);
  });

  it('`metrics` fits, numbers and verdicts whole', () => {
    // Prepare
    const view: MetricsView = {
      byKindAndTenant: ['metadata', 'rendition', 'thumbnail', 'waveform-preview'].flatMap((kind) =>
        ['default', 'tenant-with-a-long-name-0042'].map((tenant) => ({
          kind,
          tenant,
          emitted: 1234,
          succeeded: 1200,
          failed: 30,
          timedOut: 4,
          durationP50Ms: 83_000,
          durationP95Ms: 3_725_000,
        }))
      ),
      byTenant: [
        {
          tenant: 'tenant-with-a-long-name-0042',
          manifests: 1234,
          latencyP50Ms: 83_000,
          latencyP95Ms: 125_000,
          latencyMaxMs: 3_725_000,
          heldBack: 17,
        },
      ],
      videos: { complete: 1200, partial: 30, failed: 4 },
      verdictsWritten: { complete: 1210, partial: 31, failed: 4 },
      records: 98_765,
      dropped: 1000,
    };

    // Act
    const text = renderMetricsView(view, width);

    // Assess
    expect(linesWiderThan(text, width)).toEqual([]);
    expect(text).toMatch(/│ 1234 │ 1200 │ 30 +│ 4 +│ 1m 23s │ 1h 02m 05s │/);
    for (const word of STATUSES.slice(0, 3)) expect(text).toContain(word);
    expect(
      unindented(text, /^(Videos:|Verdicts written:|Branches per|Per tenant:|\d+ EMF|warning:)/)
    ).toEqual([]);
  });

  it('help fits and keeps its words whole', async () => {
    // Prepare
    let out = '';
    const program = buildProgram();
    const quiet = (cmd: Command) => {
      cmd.exitOverride().configureOutput({
        writeOut: (s) => {
          out += s;
        },
        getOutHelpWidth: () => width,
      });
      for (const sub of cmd.commands) quiet(sub);
    };
    quiet(program);

    // Act
    for (const path of [[], ['upload'], ['metrics'], ['redrive', 'dlq']]) {
      await program
        .parseAsync(['node', 'video-pipeline', ...path, '--help'])
        .catch(() => undefined);
    }

    // Assess
    expect(linesWiderThan(out, width)).toEqual([]);
    expect(out).toContain('Exit codes:');
    const description =
      "branches per kind and tenant, upload → manifest latency and backpressure, from the local runtime's EMF records (the dashboard's figures)";
    expect(brokenTokens(description, out, 20)).toEqual([]);
  });
});

describe('`upload --watch` end to end, and `redrive video`', () => {
  const s3Mock = mockClient(S3Client);
  const sfnMock = mockClient(SFNClient);
  let dir: string;
  let bucket: FakeBucket;
  let execution: FakeExecution;

  const contextAt = (columns: number): Context & { out: ReturnType<typeof captureOut> } => ({
    outputs: {
      stackName: 'VideoPipeline',
      file: '/dev/null',
      uploadBucket: UPLOAD_BUCKET,
      outputBucket: OUTPUT_BUCKET,
      stateMachineArn: STATE_MACHINE_ARN,
    },
    clients: {
      s3: new S3Client({ region: 'eu-west-1' }),
      sfn: new SFNClient({ region: 'eu-west-1' }),
      sqs: new SQSClient({ region: 'eu-west-1' }),
      endpoint: undefined,
    },
    // Not a TTY: the fixed 80-column layout, whatever the terminal says.
    out: captureOut(false, columns),
    err: captureOut(false, columns),
  });

  beforeEach(async () => {
    s3Mock.reset();
    sfnMock.reset();
    bucket = new FakeBucket();
    bucket.install(s3Mock);
    execution = new FakeExecution();
    execution.install(sfnMock);
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    dir = await mkdtemp(join(tmpdir(), 'cli-screens-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints a whole run within 80 columns when not a TTY, with URLs broken at path characters', async () => {
    // Prepare
    const file = join(dir, `${slug}.mp4`);
    await writeFile(file, Buffer.from('\0\0\0\x18ftypmp42', 'latin1'));
    s3Mock.on(PutObjectCommand).resolves({ ETag: '"cafe"', VersionId: 'v7' });
    const key = `uploads/${slug}.mp4`;
    const videoId = videoIdFor({ bucket: UPLOAD_BUCKET, key, versionId: 'v7' });
    const branches = planOf('thumb-01', 'rendition-720p', 'rendition-1080p', 'thumb-at-999s');
    const h = execution.history;
    const steps = [
      () => {
        execution.status = 'RUNNING';
        h.started(videoId).planned(branches, videoId);
      },
      () => {
        for (const [i, b] of branches.entries()) h.branchStarted(b, i, videoId);
      },
      () => h.branchSucceeded(branches[0]!).branchSucceeded(branches[1]!),
      () => h.branchFailed(branches[2]!, 'MediaToolError'),
      () =>
        bucket.put(keys.manifest(videoId), {
          ...busyManifest(videoId),
          createdAt: new Date().toISOString(),
        }),
    ];
    let t = 0;
    const ctx = contextAt(132);

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
    expect(code).toBe(2);
    expect(linesWiderThan(out, 80)).toEqual([]);
    // Every line that ends inside an S3 URL or ARN ends at a path character.
    const lines = out.split('\n');
    lines.forEach((line, i) => {
      const next = lines[i + 1] ?? '';
      if (/(s3:\/\/|arn:)\S*$/.test(line) && /^ {2,}\S/.test(next) && !/^ *[[┌│]/.test(next)) {
        expect(line).toMatch(/[/\-.:_]$/);
      }
    });
    expect(out).toMatch(/✗ rendition-1080p +rendition +1080p +failed +MediaToolError/);
    expect(out).toMatch(/\nmanifest: PARTIAL \(/);
    expect(
      unindented(out, /^(uploading|videoId|execution|object|manifest|outputs|cost|\[)/)
    ).toEqual([]);
    if (process.env.CLI_SCREEN_DUMP) process.stdout.write(`\n${out}\n`);
  });

  it('`redrive video` wraps its path message with an indent', async () => {
    // Prepare
    const arn = `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${slug}`;
    s3Mock.on(GetObjectCommand).rejects(Object.assign(new Error('no'), { name: 'NoSuchKey' }));
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: arn,
      name: slug,
      status: 'ABORTED',
      input: JSON.stringify({ videoId: slug }),
    });
    sfnMock.on(RedriveExecutionCommand).rejects(
      new SFNServiceException({
        name: 'InternalFailure',
        $fault: 'server',
        $metadata: { httpStatusCode: 501 },
        message: 'not yet emulated',
      })
    );
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: `${arn}-redrive-1` });
    const out = captureOut(false);

    // Act
    await runRedriveVideo(
      { s3: new S3Client({ region: 'eu-west-1' }), sfn: new SFNClient({ region: 'eu-west-1' }) },
      {
        outputBucket: OUTPUT_BUCKET,
        stateMachineArn: STATE_MACHINE_ARN,
        targetName: 'the target at http://127.0.0.1:4566',
      },
      slug,
      out
    );

    // Assess
    const text = out.text();
    expect(text.split('\n').length).toBeGreaterThan(2);
    expect(linesWiderThan(text, 80)).toEqual([]);
    expect(unindented(text, /^path:/)).toEqual([]);
    expect(
      brokenTokens(`${slug}-redrive-1 running every branch: RedriveExecution`, text, 78)
    ).toEqual([]);
  });
});
