import type { Branch } from '../../contract/index.js';
import {
  type BranchRow,
  countRows,
  type Progress,
  rowsOf,
  type SegmentProgress,
} from './branch-rows.js';
import { formatDuration, HANG, KEEP, SCREEN_WIDTH, STATUS_MARK } from './format.js';
import { alignColumns, type ColumnSpec, wrap } from './layout.js';
import type { StepState } from './segment-progress.js';
import { renderExecution } from './status-screen.js';

/** The live view of `upload --watch` / `watch`: keyed entries for a non-TTY, frames for a TTY. */

/**
 * `720p: 23/60 segments done, 2 running, 35 queued · join waiting`: the live
 * view's line for one segmented rendition (the zero counts left out).
 */
export const segmentLine = (branch: Branch, progress: SegmentProgress): string => {
  const height = (branch as { height?: number }).height;
  const counts = [
    progress.running ? `${progress.running} running` : '',
    progress.queued ? `${progress.queued} queued` : '',
    progress.failed ? `${progress.failed} failed` : '',
  ].filter(Boolean);
  return (
    `${height ? `${height}p` : branch.id}: ${progress.done}/${progress.total} segments done` +
    (counts.length > 0 ? `, ${counts.join(', ')}` : '') +
    (progress.join ? ` · join ${progress.join}` : '')
  );
};

/** `audio 3/4 parts · running`: the audio's parts stored, then its state (the join's once all are). */
export const audioLine = (state: StepState, parts?: { done: number; total: number }): string =>
  parts ? `audio ${parts.done}/${parts.total} parts · ${state}` : `audio: ${state}`;

export interface LiveEntry {
  key: string;
  /** One or more lines (continuations indented), each at most the width. */
  text: string;
}

/**
 * The live view's branch columns: id, kind, detail, and the status with the
 * error name after it. The detail and the error name wrap, never the id or
 * the status (the last column is at least as wide as the longest status).
 */
const liveColumns = (rows: readonly BranchRow[]): ColumnSpec[] => [
  KEEP,
  KEEP,
  {},
  { min: Math.max(0, ...rows.map((r) => r.status.length)), maxLines: 3 },
];

/**
 * The live view as stable keyed entries (no clock in them), so an append-only
 * renderer can print exactly the entries that changed. Every line fits in `width`.
 */
export const liveEntries = (p: Progress, width = SCREEN_WIDTH): LiveEntry[] => {
  // The live view gives the execution's detail about two lines; `status` shows all of it.
  const entries: LiveEntry[] = [
    { key: 'execution', text: renderExecution(p.execution, width, 2 * width - 30) },
  ];
  const rows = rowsOf(p);
  if (!p.plan && !p.manifest) {
    entries.push({ key: 'plan', text: 'plan: waiting for the plan…' });
  } else if (rows.length === 0) {
    entries.push({ key: 'plan', text: 'plan: none (no branch ran)' });
  } else {
    entries.push({ key: 'plan', text: `plan: ${rows.length} branches` });
  }
  const lines = alignColumns(
    rows.map((r) => [
      `${STATUS_MARK[r.status]} ${r.id}`,
      r.kind,
      r.detail,
      r.status === 'failed' && r.errorName ? `${r.status}  ${r.errorName}` : r.status,
    ]),
    width,
    liveColumns(rows),
    '  '
  );
  if (p.segmentItems && !p.manifest) {
    const i = p.segmentItems;
    entries.push({
      key: 'segments:map-run',
      text: wrap(
        `segments map run: ${i.succeeded}/${i.total} items done, ${i.running} running, ${i.pending} pending` +
          (i.failed ? `, ${i.failed} failed` : ''),
        width,
        2
      ),
    });
  }
  // The audio is shared by every segmented rendition: one line above them.
  if (p.audio && !p.manifest) {
    entries.push({ key: 'segments:audio', text: wrap(audioLine(p.audio, p.audioParts), width, 2) });
  }
  rows.forEach((r, i) => {
    entries.push({ key: `branch:${r.id}`, text: lines[i] ?? '' });
    const seg = p.segments?.get(r.id);
    const planned = p.plan?.find((b) => b.id === r.id);
    if (seg && planned) {
      entries.push({
        key: `segments:${r.id}`,
        text: wrap(`      ${segmentLine(planned, seg)}`, width, 8),
      });
    }
  });
  return entries;
};

/** Lines an append-only (non-TTY) renderer prints: new or changed entries. Updates `printed`. */
export const appendOnlyChanges = (
  printed: Map<string, string>,
  entries: readonly LiveEntry[]
): string[] => {
  const out: string[] = [];
  for (const e of entries) {
    if (printed.get(e.key) === e.text) continue;
    printed.set(e.key, e.text);
    out.push(e.text);
  }
  return out;
};

/**
 * One TTY frame: a header with the clock and counts, then the entries, laid
 * out for the terminal's width (one column short: a line that fills the last
 * column leaves the cursor there, which breaks cursor-up rewriting) and cut to
 * its height so in-place rewriting never scrolls.
 */
export const ttyFrame = (p: Progress, columns: number, rows: number): string[] => {
  const width = Math.max(20, columns - 1);
  const c = countRows(rowsOf(p));
  const header = wrap(
    `${p.videoId}  ${formatDuration(p.elapsedMs)}  ${c.succeeded} ok, ${c.failed} failed, ${c.running} running, ${c.pending} pending`,
    width,
    HANG
  );
  let lines = [header, ...liveEntries(p, width).map((e) => e.text)].flatMap((t) => t.split('\n'));
  const maxLines = Math.max(3, rows - 1);
  if (lines.length > maxLines) {
    const hidden = lines.length - (maxLines - 1);
    lines = [...lines.slice(0, maxLines - 1), `  … ${hidden} more lines`];
  }
  return lines;
};
