import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../contract/index.js';
import { type Progress, rowsFromHistory, rowsFromManifest } from '../src/branch-rows.js';
import { formatDuration, formatUsd } from '../src/format.js';
import type { LiveBranch } from '../src/history.js';
import { renderListTable } from '../src/list-screen.js';
import { liveEntries, ttyFrame } from '../src/live-screen.js';
import {
  renderBranchTable,
  renderCost,
  renderExecution,
  renderManifestStatus,
  renderReport,
  renderWatchSummary,
} from '../src/status-screen.js';
import {
  failed,
  linesWiderThan,
  manifestFrom,
  planOf,
  succeeded,
  unwrap,
  VIDEO_ID,
} from './helpers.js';

const BUCKET = 'videopipeline-outputbucket-1a2b3c4d5e6f';
const thumbKey = `outputs/${VIDEO_ID}/thumbnails/thumb-01.jpg`;

/** Table cells per line, so tests read rows regardless of widths. */
const cellsOf = (table: string): string[][] =>
  table.split('\n').map((l) =>
    l
      .split('│')
      .map((c) => c.trim())
      .filter(Boolean)
  );

const live = (...branches: LiveBranch[]): Map<string, LiveBranch> =>
  new Map(branches.map((b) => [b.id, b]));

/** A realistic worst case: long slug, every kind, long errors and keys. */
const longVideoId = 'a-very-long-holiday-video-file-name-2026-0123456789abcdef';
const busyManifest = () =>
  manifestFrom(longVideoId, [
    succeeded('thumb-01', 'thumbnail', `outputs/${longVideoId}/thumbnails/thumb-01.jpg`),
    succeeded(
      'rendition-1080p',
      'rendition',
      `outputs/${longVideoId}/renditions/1080p-with-a-long-descriptive-suffix.mp4`
    ),
    {
      ...failed('thumb-at-999s', 'thumbnail', 'no decodable frame at 999s: the video is 8.0s long'),
      error: {
        name: 'FrameNotFoundError',
        message: `no decodable frame at 999s: the video is 8.0s long. ${'x'.repeat(300)}`,
      },
    },
  ]);

describe('rows', () => {
  it('shows planned branches as pending, running or finished from the history', () => {
    // Prepare
    const plan = planOf('thumb-01', 'rendition-360p', 'metadata');
    const history = live(
      { id: 'thumb-01', status: 'running', enteredAt: new Date(0) },
      {
        id: 'rendition-360p',
        status: 'failed',
        error: 'MediaToolError',
        enteredAt: new Date(1000),
        exitedAt: new Date(4200),
      }
    );

    // Act
    const rows = rowsFromHistory(plan, history);

    // Assess
    expect(rows.map((r) => [r.id, r.detail, r.status, r.durationMs, r.error])).toEqual([
      ['thumb-01', 'at 2.5s', 'running', null, null],
      ['rendition-360p', '360p', 'failed', 3200, 'MediaToolError'],
      ['metadata', '', 'pending', null, null],
    ]);
  });

  it('takes durations and artifacts from the manifest, keys relative to the video', () => {
    // Prepare
    const manifest = manifestFrom(VIDEO_ID, [succeeded('thumb-01', 'thumbnail', thumbKey)]);

    // Act
    const rows = rowsFromManifest(manifest);

    // Assess
    expect(rows).toEqual([
      {
        id: 'thumb-01',
        kind: 'thumbnail',
        detail: '',
        status: 'succeeded',
        durationMs: 1500,
        artifacts: ['thumbnails/thumb-01.jpg'],
        error: null,
        errorName: null,
      },
    ]);
  });
});

describe('the HLS line', () => {
  const progressWith = (hls: Manifest['hls']): Progress => ({
    videoId: VIDEO_ID,
    execution: { status: 'SUCCEEDED' },
    live: new Map(),
    manifest: manifestFrom(VIDEO_ID, [succeeded('thumb-01', 'thumbnail', thumbKey)], { hls }),
    elapsedMs: 0,
  });

  it("prints the multivariant playlist's URL when the video has a ladder, after the outputs", () => {
    // Prepare
    const key = `outputs/${VIDEO_ID}/hls/index.m3u8`;
    const progress = progressWith({ multivariantPlaylist: key, audioPlaylist: null, variants: [] });

    // Act
    const summary = renderWatchSummary(progress, BUCKET);
    const report = renderReport(progress, BUCKET);

    // Assess
    for (const text of [summary, report]) {
      const lines = unwrap(text).split('\n');
      const outputs = lines.findIndex((l) => l.startsWith('outputs: '));
      expect(lines[outputs + 1]).toBe(`hls: s3://${BUCKET}/${key}`);
    }
  });

  it('prints no HLS line when the manifest lists no ladder', () => {
    // Act
    const summary = renderWatchSummary(progressWith(null), BUCKET);

    // Assess
    expect(summary).not.toMatch(/^hls: /m);
  });
});

describe('status screen at 80 columns', () => {
  it('fits a manifest with long keys and errors, keeping every artifact whole', () => {
    // Prepare
    const progress: Progress = {
      videoId: longVideoId,
      execution: { status: 'SUCCEEDED' },
      live: new Map(),
      manifest: busyManifest(),
      elapsedMs: 0,
    };

    // Act
    const report = renderReport(progress, BUCKET);

    // Assess
    expect(linesWiderThan(report, 80)).toEqual([]);
    const flat = cellsOf(report)
      .map((cells) => cells.join(' '))
      .join(' ');
    expect(flat.replace(/\s+/g, '')).toContain(
      'renditions/1080p-with-a-long-descriptive-suffix.mp4'
    );
    expect(unwrap(report)).toContain(`outputs: s3://${BUCKET}/outputs/${longVideoId}/`);
    expect(report).toMatch(/thumb-at-999s +│ thumbnail +│ ✗ failed +│ 800ms +│ FrameNotFoundError/);
    expect(report.split('\n')).toContain(
      'manifest: PARTIAL (2/3 branches succeeded) — 1 of 3 branches failed'
    );
    expect(report).toMatch(/\ncost: \$/);
  });

  it('shows running and pending branches while there is no manifest', () => {
    // Prepare
    const progress: Progress = {
      videoId: VIDEO_ID,
      execution: { status: 'RUNNING' },
      plan: planOf('thumb-01', 'rendition-720p'),
      live: live({ id: 'rendition-720p', status: 'running' }),
      elapsedMs: 0,
    };

    // Act
    const report = renderReport(progress, BUCKET);

    // Assess
    expect(linesWiderThan(report, 80)).toEqual([]);
    expect(cellsOf(report)).toContainEqual(['rendition-720p', 'rendition', '▶ running', '-', '-']);
    expect(cellsOf(report)).toContainEqual(['thumb-01', 'thumbnail', '· pending', '-', '-']);
    expect(report.split('\n').at(-1)).toBe(
      'no manifest yet: 0 succeeded, 0 failed, 1 running, 1 pending of 2'
    );
  });

  it('shows why an execution failed', () => {
    // Prepare
    const progress: Progress = {
      videoId: VIDEO_ID,
      execution: { status: 'FAILED', error: 'States.Runtime', cause: 'boom' },
      live: new Map(),
      elapsedMs: 0,
    };

    // Act
    const report = renderReport(progress, BUCKET);

    // Assess
    expect(report).toContain('execution: FAILED (States.Runtime: boom)');
    expect(report).toContain('no manifest yet, no plan yet');
  });

  /** A probe that rejects the upload: Step Functions' cause is the Lambda's error as JSON. */
  const rejected: Progress = {
    videoId: VIDEO_ID,
    execution: {
      status: 'FAILED',
      error: 'InvalidVideoError',
      cause: JSON.stringify({
        errorType: 'InvalidVideoError',
        errorMessage:
          'not a readable video file (moov atom not found; <input>: Invalid data found when processing input)',
        trace: [
          'InvalidVideoError: not a readable video file',
          '    at probeFile (probe/logic.ts:63:11)',
        ],
      }),
    },
    live: new Map(),
    elapsedMs: 0,
  };

  it('wraps a FAILED reason in the live view under its status, closing every parenthesis', () => {
    // Act
    const [entry] = liveEntries(rejected, 80).map((e) => e.text);

    // Assess
    const lines = entry?.split('\n') ?? [];
    expect(lines[0]).toMatch(/^execution: FAILED \(InvalidVideoError: not a readable video file/);
    expect(lines.slice(1).every((l) => l.startsWith('  '))).toBe(true);
    expect(linesWiderThan(entry ?? '', 80)).toEqual([]);
    expect(unwrap(entry ?? '')).toBe(
      'execution: FAILED (InvalidVideoError: not a readable video file (moov atom not found; <input>: Invalid data found when processing input))'
    );
  });

  it("shows the failed Lambda's error message, not its JSON, closing every parenthesis", () => {
    // Act
    const report = renderReport(rejected, BUCKET);

    // Assess: the wrapped lines, joined where wrap broke them at a space.
    const execution = renderExecution(rejected.execution);
    expect(report).toContain(execution);
    expect(unwrap(execution)).toBe(
      'execution: FAILED (InvalidVideoError: not a readable video file (moov atom not found; <input>: Invalid data found when processing input))'
    );
    expect(report).not.toContain('errorType');
  });
});

describe('upload --watch summary at 80 columns', () => {
  it('adds durations, artifacts and full errors, not the kind and status lines above it', () => {
    // Prepare
    const progress: Progress = {
      videoId: longVideoId,
      execution: { status: 'SUCCEEDED' },
      live: new Map(),
      manifest: busyManifest(),
      elapsedMs: 0,
    };

    // Act
    const summary = renderWatchSummary(progress, BUCKET);

    // Assess
    expect(linesWiderThan(summary, 80)).toEqual([]);
    expect(cellsOf(summary)).toContainEqual(['branch', 'time', 'artifacts / error']);
    expect(cellsOf(summary)).toContainEqual(['thumb-01', '1.5s', 'thumbnails/thumb-01.jpg']);
    expect(summary).not.toContain('execution:');
    expect(summary).not.toContain('thumbnail │');
    // A 300-character error is cut at 6 lines rather than flooding the screen.
    expect(summary).toContain('…');
    expect(summary).toMatch(/\nmanifest: PARTIAL/);
    expect(summary).toMatch(/\ncost: \$/);
  });

  it('prints nothing without a manifest (the caller says why)', () => {
    // Prepare
    const progress: Progress = {
      videoId: VIDEO_ID,
      execution: { status: 'FAILED' },
      live: new Map(),
      elapsedMs: 0,
    };

    // Act
    const summary = renderWatchSummary(progress, BUCKET);

    // Assess
    expect(summary).toBe('');
  });
});

describe('live view at 80 columns', () => {
  it('never grows taller than the terminal, and cuts lines to its width', () => {
    // Prepare
    const ids = Array.from({ length: 50 }, (_, i) => `thumb-${String(i).padStart(2, '0')}`);
    const progress: Progress = {
      videoId: VIDEO_ID,
      execution: { status: 'RUNNING' },
      plan: planOf(...ids),
      live: live({ id: 'thumb-00', status: 'running' }),
      elapsedMs: 65_000,
    };

    // Act
    const frame = ttyFrame(progress, 60, 10);

    // Assess
    expect(frame).toHaveLength(9);
    // The header wraps under itself rather than losing its counts.
    expect(frame.slice(0, 2)).toEqual([
      `${VIDEO_ID}  1m 05s  0 ok, 0 failed, 1 running,`,
      '  49 pending',
    ]);
    expect(frame).toContain('  ▶ thumb-00  thumbnail  at 2.5s  running');
    expect(frame.at(-1)).toBe('  … 46 more lines');
    expect(frame.every((l) => l.length <= 59)).toBe(true);
  });

  it('uses a wide terminal’s width, and wraps a long error under its column at 80', () => {
    // Prepare
    const progress: Progress = {
      videoId: longVideoId,
      execution: { status: 'RUNNING' },
      plan: [{ id: 'thumb-at-999s', kind: 'thumbnail', atSec: 999, width: 320 }],
      live: live({ id: 'thumb-at-999s', status: 'failed', error: `Frame${'NotFound'.repeat(12)}` }),
      elapsedMs: 0,
    };

    // Act
    const wide = ttyFrame(progress, 200, 40);
    const narrow = ttyFrame(progress, 80, 40);

    // Assess: one column short of the terminal (the cursor must not wrap).
    expect(linesWiderThan(wide.join('\n'), 199)).toEqual([]);
    expect(wide).toContain(
      `  ✗ thumb-at-999s  thumbnail  at 16m 39s  failed  Frame${'NotFound'.repeat(12)}`
    );
    expect(linesWiderThan(narrow.join('\n'), 79)).toEqual([]);
    const row = narrow.findIndex((l) => l.startsWith('  ✗ thumb-at-999s'));
    expect(narrow[row]).toMatch(/^ {2}✗ thumb-at-999s {2}thumbnail {2}at 16m 39s {2}failed$/);
    // The error name continues under the status, in its column, cut at three lines.
    const column = narrow[row]?.indexOf('failed') ?? -1;
    const rest = narrow.slice(row + 1, row + 3);
    expect(rest.map((l) => l.slice(0, column).trim())).toEqual(['', '']);
    expect(rest[0]?.trim()).toMatch(/^FrameNotFound/);
    expect(rest[1]).toMatch(/…$/);
  });
});

describe('list screen at 80 columns', () => {
  it('wraps a long videoId inside its cell and keeps every character', () => {
    // Prepare
    const rows = [
      {
        videoId: longVideoId,
        status: 'COMPLETE',
        branches: '10/10',
        created: '2025-01-02T03:04:05.678Z',
      },
      { videoId: 'b-2', status: 'NO MANIFEST', branches: '-', created: '-' },
    ];

    // Act
    const table = renderListTable(rows);

    // Assess
    expect(linesWiderThan(table, 80)).toEqual([]);
    const cells = cellsOf(table);
    expect(cells).toContainEqual(['videoId', 'status', 'ok', 'created (UTC)']);
    expect(cells).toContainEqual(['b-2', 'NO MANIFEST', '-', '-']);
    const firstColumn = table
      .split('\n')
      .filter((l) => l.startsWith('│'))
      .map((l) => l.split('│')[1].trim());
    expect(firstColumn[0]).toBe('videoId');
    expect(firstColumn.at(-1)).toBe('b-2');
    expect(firstColumn.slice(1, -1).join('')).toBe(longVideoId);
    expect(table).toContain('2025-01-02 03:04');
  });
});

describe('cost after a run', () => {
  it("prints the manifest's estimate, each function's share, transitions and requests", () => {
    // Prepare: costBreakdownFactory's figures; requests 0.0000014 + 0.0000024 + 0.000001
    // + 0.00006 + 0.0000044 = 0.0000692
    const manifest = manifestFrom(VIDEO_ID, [succeeded('thumb-01', 'thumbnail', thumbKey)]);

    // Act
    const text = renderCost(manifest);

    // Assess
    expect(linesWiderThan(text, 80)).toEqual([]);
    const flat = text.replace(/\s+/g, ' ');
    expect(flat).toContain(
      'cost: $0.000467 estimated (us-east-1 list prices of 2026-11-29; no data transfer, storage or logs)'
    );
    expect(text.split('\n')).toContain('  λ probe ×1: 0.8 GB-s (1024 MiB x86_64) $0.0000133');
    expect(text.split('\n')).toContain(
      '  λ rendition ×2: 0.24 GB-s (2048 MiB x86_64, 1 unmeasured) $0.00000400'
    );
    expect(flat).toContain(
      '15 state transitions $0.000375; requests $0.0000692 (Lambda 7, SQS 6, SNS 2, S3 PUT 12, GET 11)'
    );
  });

  it.each([
    [0, '$0'],
    [1.5, '$1.50'],
    [0.0123, '$0.01'],
    [0.00046688, '$0.000467'],
  ])('formats %s as %s', (usd, text) => {
    // Act / Assess
    expect(formatUsd(usd)).toBe(text);
  });
});

describe('formatDuration', () => {
  it.each([
    [null, '-'],
    [850, '850ms'],
    [1500, '1.5s'],
    [125_000, '2m 05s'],
    [3_725_000, '1h 02m 05s'],
  ])('formats %s as %s', (ms, expected) => {
    // Prepare
    const input = ms;

    // Act
    const text = formatDuration(input);

    // Assess
    expect(text).toBe(expected);
  });
});

describe('renderBranchTable', () => {
  it('uses one line per branch when no cell wraps, and rules between rows when one does', () => {
    // Prepare
    const short = rowsFromManifest(
      manifestFrom(VIDEO_ID, [
        succeeded('thumb-01', 'thumbnail', thumbKey),
        succeeded('metadata', 'metadata', `outputs/${VIDEO_ID}/metadata.json`),
      ])
    );
    const wrapping = rowsFromManifest(busyManifest());

    // Act
    const compact = renderBranchTable(short);
    const ruled = renderBranchTable(wrapping);

    // Assess
    // Top border, header, header rule, 2 rows, bottom border.
    expect(compact.split('\n')).toHaveLength(6);
    // No wider than its content: short keys leave the rest of the 80 columns empty.
    expect([...(compact.split('\n')[0] ?? '')].length).toBeLessThan(80);
    expect(linesWiderThan(ruled, 80)).toEqual([]);
    expect(ruled.split('\n').filter((l) => l.startsWith('├'))).toHaveLength(3);
  });

  it('has no ANSI colour codes (plain output for pipes and logs)', () => {
    // Prepare
    const rows = rowsFromManifest(
      manifestFrom(VIDEO_ID, [succeeded('thumb-01', 'thumbnail', thumbKey)])
    );

    // Act
    const table = renderBranchTable(rows);

    // Assess
    expect(table).not.toContain('\u001b[');
  });
});

describe('policy in the summary', () => {
  it('shows the primary, a timed-out branch, its fallback and the fanOut extras', () => {
    // Prepare
    const base = manifestFrom(VIDEO_ID, [
      succeeded('rendition-720p-fallback', 'rendition-fallback', 'renditions/fallback/360p.mp4'),
    ]);
    const manifest = {
      ...base,
      branches: [
        {
          ...failed('rendition-720p', 'rendition', 'ran past its policy timeout'),
          status: 'TIMED_OUT' as const,
          role: 'primary' as const,
          fallbackFor: null,
        },
        { ...base.branches[0]!, role: 'primary' as const, fallbackFor: 'rendition-720p' },
      ],
      counts: { total: 1, succeeded: 1, failed: 0 },
      fanOut: { sent: 2, succeeded: 1, failed: 0, timedOut: 1, fellBack: 1, skipped: 0 },
    };

    // Act
    const rows = rowsFromManifest(manifest);
    const status = renderManifestStatus(manifest);

    // Assess
    expect(rows.map((r) => [r.id, r.status, r.detail])).toEqual([
      ['rendition-720p', 'timed-out', 'primary'],
      ['rendition-720p-fallback', 'succeeded', 'primary, fallback for rendition-720p'],
    ]);
    expect(status).toContain('1/1 branches succeeded; 1 fell back, 1 timed out');
  });
});

describe('segment progress in the live view', () => {
  it('shows one "720p: 23/60 segments done, 2 running, 35 queued · join waiting" line per segmented rendition, never one per segment', () => {
    // Prepare
    const segmentation = {
      count: 60,
      lengthSec: 60,
      framesPerSegment: 1500,
      gopFrames: 50,
      frameRate: 25,
    };
    const progress: Progress = {
      videoId: VIDEO_ID,
      execution: { status: 'RUNNING' },
      plan: [
        { id: 'rendition-360p', kind: 'rendition', height: 360, role: 'secondary', segmentation },
        { id: 'rendition-720p', kind: 'rendition', height: 720, segmentation },
        { id: 'metadata', kind: 'metadata' },
      ],
      live: new Map(),
      elapsedMs: 0,
      segments: new Map([
        [
          'rendition-360p',
          { done: 60, total: 60, running: 0, queued: 0, failed: 0, join: 'running' },
        ],
        [
          'rendition-720p',
          { done: 23, total: 60, running: 2, queued: 34, failed: 1, join: 'waiting' },
        ],
      ]),
      // 120 video segments and 60 audio parts, one of them still running.
      audio: 'running',
      audioParts: { done: 59, total: 60 },
      segmentItems: { total: 180, succeeded: 142, failed: 1, running: 3, pending: 34 },
    };

    // Act
    const lines = liveEntries(progress).map((e) => e.text);

    // Assess
    expect(lines.filter((l) => /^ +\d+p: /.test(l))).toEqual([
      '      360p: 60/60 segments done · join running',
      '      720p: 23/60 segments done, 2 running, 34 queued, 1 failed · join waiting',
    ]);
    expect(lines).toContain('audio 59/60 parts · running');
    expect(lines).toContain(
      'segments map run: 142/180 items done, 3 running, 34 pending, 1 failed'
    );
    expect(lines.filter((l) => /-s\d{4}/.test(l))).toEqual([]);
  });
});
