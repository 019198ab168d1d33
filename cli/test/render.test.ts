import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  type Progress,
  renderBranchTable,
  renderListTable,
  renderReport,
  rowsFromManifest,
  rowsFromProgress,
  ttyFrame,
} from '../src/render.js';
import { failed, manifestFrom, planOf, succeeded, VIDEO_ID } from './helpers.js';

const thumbKey = `outputs/${VIDEO_ID}/thumbnails/thumb-1.jpg`;

describe('rows', () => {
  it('marks planned tasks without a result as pending', () => {
    // Prepare
    const plan = planOf('thumb-1', 'r-360', 'metadata');
    const results = new Map([['r-360', failed('r-360', 'rendition', 'ffmpeg exited 1')]]);

    // Act
    const rows = rowsFromProgress(plan, results);

    // Assess
    expect(rows.map((r) => [r.name, r.kind, r.status, r.error])).toEqual([
      ['thumb-1', 'thumbnail', 'pending', null],
      ['r-360', 'rendition', 'failed', 'MediaToolError: ffmpeg exited 1'],
      ['metadata', 'metadata', 'pending', null],
    ]);
  });

  it('takes branch rows from the manifest', () => {
    // Prepare
    const manifest = manifestFrom(VIDEO_ID, [succeeded('thumb-1', 'thumbnail', thumbKey)]);

    // Act
    const rows = rowsFromManifest(manifest);

    // Assess
    expect(rows).toEqual([
      {
        name: 'thumb-1',
        kind: 'thumbnail',
        status: 'succeeded',
        durationMs: 1500,
        artifacts: [thumbKey],
        error: null,
      },
    ]);
  });
});

describe('renderBranchTable', () => {
  it('shows branch, kind, status, duration, artifact keys and error', () => {
    // Prepare
    const rows = rowsFromManifest(
      manifestFrom(VIDEO_ID, [
        succeeded('thumb-1', 'thumbnail', thumbKey),
        failed('r-360', 'rendition', 'ffmpeg exited 1'),
      ])
    );

    // Act
    const table = renderBranchTable(rows);

    // Assess
    const lines = table.split('\n').map((l) =>
      l
        .split('│')
        .map((c) => c.trim())
        .filter(Boolean)
    );
    expect(lines).toContainEqual(['branch', 'kind', 'status', 'duration', 'artifacts', 'error']);
    expect(lines).toContainEqual(['thumb-1', 'thumbnail', 'succeeded', '1.5s', thumbKey, '-']);
    expect(lines).toContainEqual([
      'r-360',
      'rendition',
      'failed',
      '800ms',
      '-',
      'MediaToolError: ffmpeg exited 1',
    ]);
    expect(table).not.toContain('\u001b[');
  });
});

describe('renderReport', () => {
  it('ends with the manifest status and reason', () => {
    // Prepare
    const manifest = manifestFrom(VIDEO_ID, [
      succeeded('thumb-1', 'thumbnail', thumbKey),
      failed('r-360', 'rendition', 'ffmpeg exited 1'),
    ]);
    const progress: Progress = {
      videoId: VIDEO_ID,
      execution: { status: 'SUCCEEDED' },
      results: new Map(),
      manifest,
      elapsedMs: 0,
    };

    // Act
    const report = renderReport(progress);

    // Assess
    const lines = report.split('\n');
    expect(lines[0]).toBe(`video: ${VIDEO_ID}`);
    expect(lines[1]).toBe('execution: SUCCEEDED');
    expect(lines.at(-1)).toBe(
      'manifest: PARTIAL (1/2 branches succeeded) — 1 of 2 branches failed'
    );
  });

  it('summarizes progress when there is no manifest yet', () => {
    // Prepare
    const progress: Progress = {
      videoId: VIDEO_ID,
      execution: { status: 'RUNNING' },
      plan: planOf('thumb-1', 'r-360'),
      results: new Map([['thumb-1', succeeded('thumb-1', 'thumbnail', thumbKey)]]),
      elapsedMs: 0,
    };

    // Act
    const report = renderReport(progress);

    // Assess
    expect(report.split('\n').at(-1)).toBe(
      'no manifest yet: 1 succeeded, 0 failed, 1 pending of 2'
    );
  });

  it('shows why an execution failed', () => {
    // Prepare
    const progress: Progress = {
      videoId: VIDEO_ID,
      execution: { status: 'FAILED', error: 'States.Runtime', cause: 'boom' },
      results: new Map(),
      elapsedMs: 0,
    };

    // Act
    const report = renderReport(progress);

    // Assess
    expect(report).toContain('execution: FAILED (States.Runtime: boom)');
    expect(report).toContain('no manifest yet, no plan yet');
  });
});

describe('ttyFrame', () => {
  it('never grows taller than the terminal', () => {
    // Prepare
    const ids = Array.from({ length: 50 }, (_, i) => `thumb-${i}`);
    const progress: Progress = {
      videoId: VIDEO_ID,
      execution: { status: 'RUNNING' },
      plan: planOf(...ids),
      results: new Map(),
      elapsedMs: 65_000,
    };

    // Act
    const frame = ttyFrame(progress, 60, 10);

    // Assess
    expect(frame).toHaveLength(9);
    expect(frame[0]).toBe(`${VIDEO_ID}  1m 05s  0 ok, 0 failed, 50 pending`);
    expect(frame.at(-1)).toBe('  … 45 more lines');
    expect(frame.every((l) => l.length <= 59)).toBe(true);
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

describe('renderListTable', () => {
  it('has one row per video', () => {
    // Prepare
    const rows = [
      { videoId: 'a-1', status: 'COMPLETE', branches: '3/3', created: '2025-01-02T00:00:00.000Z' },
      { videoId: 'b-2', status: 'RUNNING', branches: '-', created: '-' },
    ];

    // Act
    const table = renderListTable(rows);

    // Assess
    const cells = table.split('\n').map((l) =>
      l
        .split('│')
        .map((c) => c.trim())
        .filter(Boolean)
    );
    expect(cells).toContainEqual(['videoId', 'status', 'branches ok/total', 'created']);
    expect(cells).toContainEqual(['a-1', 'COMPLETE', '3/3', '2025-01-02T00:00:00.000Z']);
    expect(cells).toContainEqual(['b-2', 'RUNNING', '-', '-']);
  });
});
