import {
  type Branch,
  type Manifest,
  type ManifestBranch,
  outputPrefix,
} from '../../contract/index.js';
import type { LiveBranch } from './history.js';
import { alignColumns, boxTable, type ColumnSpec, clip, NON_TTY_WIDTH, wrap } from './layout.js';

/** Pure text rendering: everything here is a function of its arguments. */

/**
 * The width a screen is laid out for unless its caller passes the terminal's
 * (layout.ts `screenWidth`): the fixed width of output that is not a terminal.
 */
export const SCREEN_WIDTH = NON_TTY_WIDTH;

export type RowStatus =
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'timed-out'
  | 'skipped'
  | 'sent';

export interface BranchRow {
  id: string;
  kind: string;
  /** What the branch makes, from its plan parameters (`at 2.5s`, `720p`), when known. */
  detail: string;
  status: RowStatus;
  durationMs: number | null;
  /** Keys relative to the video's output prefix. */
  artifacts: string[];
  /** `Name: message` from the manifest; only the name from the history. */
  error: string | null;
  /** The error's name alone, which both sources have: the live view shows it. */
  errorName: string | null;
}

/** What DescribeExecution said, or NOT_FOUND while the starter has not started it yet. */
export interface ExecutionState {
  status: string;
  error?: string;
  cause?: string;
}

/** Everything known about one video at one moment. */
export interface Progress {
  videoId: string;
  execution: ExecutionState;
  /** Planned branches, from the Plan state's output in the execution history. */
  plan?: readonly Branch[];
  /** Branches the history shows as started or finished, by id. */
  live: ReadonlyMap<string, LiveBranch>;
  manifest?: Manifest;
  elapsedMs: number;
  /**
   * Segments encoded so far per segmented rendition branch (by id), from the
   * segment files in S3; one line per rendition, never one per segment.
   */
  segments?: ReadonlyMap<string, SegmentProgress>;
}

export interface SegmentProgress {
  done: number;
  total: number;
}

/** `720p: 23/60 segments`: the live view's line for one segmented rendition. */
export const segmentLine = (branch: Branch, progress: SegmentProgress): string => {
  const height = (branch as { height?: number }).height;
  return `${height ? `${height}p` : branch.id}: ${progress.done}/${progress.total} segments`;
};

const errorText = (e: { name: string; message: string } | null): string | null =>
  e ? `${e.name}: ${e.message}` : null;

const relativeTo = (videoId: string, key: string): string =>
  key.startsWith(outputPrefix(videoId)) ? key.slice(outputPrefix(videoId).length) : key;

/** `83` → `1m 23s`, `2.5` → `2.5s`: a time in the video, for a thumbnail's label. */
const videoTime = (sec: number): string => {
  if (sec < 60) return `${Number(sec.toFixed(3))}s`;
  const m = Math.floor(sec / 60);
  return `${m}m ${String(Math.round(sec - m * 60)).padStart(2, '0')}s`;
};

/**
 * A few words on what a branch makes, from the parameters its kind planned.
 * Only for kinds whose parameters are known here; others get none.
 */
export const branchDetail = (branch: Branch | undefined): string => {
  if (!branch) return '';
  if (branch.kind === 'thumbnail' && typeof branch.atSec === 'number') {
    return `at ${videoTime(branch.atSec)}`;
  }
  if (branch.kind === 'rendition' && typeof branch.height === 'number') {
    return `${branch.height}p`;
  }
  return '';
};

const ROW_STATUS: Record<ManifestBranch['status'], RowStatus> = {
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  TIMED_OUT: 'timed-out',
  SKIPPED: 'skipped',
  SENT: 'sent',
};

/** The policy's view of a branch: its role unless secondary, and which branch a fallback replaced. */
export const policyDetail = (b: Pick<ManifestBranch, 'role' | 'fallbackFor'>): string =>
  [b.role === 'secondary' ? '' : b.role, b.fallbackFor ? `fallback for ${b.fallbackFor}` : '']
    .filter(Boolean)
    .join(', ');

export const rowsFromManifest = (manifest: Manifest, plan?: readonly Branch[]): BranchRow[] =>
  manifest.branches.map((b) => ({
    id: b.id,
    kind: b.kind,
    detail: [branchDetail(plan?.find((p) => p.id === b.id)), policyDetail(b)]
      .filter(Boolean)
      .join(' · '),
    status: ROW_STATUS[b.status],
    durationMs: b.durationMs,
    artifacts: b.artifacts.map((a) => relativeTo(manifest.videoId, a.key)),
    error: errorText(b.error),
    errorName: b.error?.name ?? null,
  }));

const elapsedOf = (b: LiveBranch | undefined): number | null =>
  b?.enteredAt && b.exitedAt ? b.exitedAt.getTime() - b.enteredAt.getTime() : null;

/** One row per planned branch (pending until the history shows it), plus any unplanned ones. */
export const rowsFromHistory = (
  plan: readonly Branch[] | undefined,
  live: ReadonlyMap<string, LiveBranch>
): BranchRow[] => {
  const rows: BranchRow[] = [];
  const seen = new Set<string>();
  const row = (id: string, kind: string, b: Branch | undefined): BranchRow => {
    const l = live.get(id);
    return {
      id,
      kind,
      detail: branchDetail(b),
      status: l?.status ?? 'pending',
      durationMs: elapsedOf(l),
      artifacts: [],
      error: l?.error ?? null,
      errorName: l?.error ?? null,
    };
  };
  for (const b of plan ?? []) {
    seen.add(b.id);
    rows.push(row(b.id, b.kind, b));
  }
  for (const id of live.keys()) if (!seen.has(id)) rows.push(row(id, '?', undefined));
  return rows;
};

/** The rows to show: the manifest's when it exists, else the plan and history. */
export const rowsOf = (p: Pick<Progress, 'plan' | 'live' | 'manifest'>): BranchRow[] =>
  p.manifest ? rowsFromManifest(p.manifest, p.plan) : rowsFromHistory(p.plan, p.live);

export const formatDuration = (ms: number | null | undefined): string => {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalSec = Math.round(ms / 1000);
  const h = Math.floor(totalSec / 3600);
  const m = Math.floor((totalSec % 3600) / 60);
  const s = String(totalSec % 60).padStart(2, '0');
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m ${s}s` : `${m}m ${s}s`;
};

const MARK: Record<RowStatus, string> = {
  pending: '·',
  running: '▶',
  succeeded: '✓',
  failed: '✗',
  'timed-out': '⧗',
  skipped: '–',
  sent: '→',
};
const WORD: Record<RowStatus, string> = {
  pending: 'pending',
  running: 'running',
  succeeded: 'ok',
  failed: 'failed',
  'timed-out': 'timed out',
  skipped: 'skipped',
  sent: 'sent',
};

const outcomeCell = (r: BranchRow): string =>
  r.status === 'failed' || r.status === 'timed-out' || r.status === 'skipped'
    ? (r.error ?? `${WORD[r.status]} (no error recorded)`)
    : r.artifacts.join('\n') || '-';

/** A cell that wraps, cut after this many lines so one long error cannot flood the screen. */
const OUTCOME: ColumnSpec = { maxLines: 6 };
/** Statuses, kinds and times never wrap: the ids and artifacts do. */
const KEEP: ColumnSpec = { keep: true };

/** `status`: every branch with its kind, state, time and outputs (or error). */
export const renderBranchTable = (rows: readonly BranchRow[], width = SCREEN_WIDTH): string =>
  boxTable(
    ['branch', 'kind', 'status', 'time', 'artifacts / error'],
    rows.map((r) => [
      r.id,
      r.kind,
      `${MARK[r.status]} ${WORD[r.status]}`,
      formatDuration(r.durationMs),
      outcomeCell(r),
    ]),
    width,
    [{}, KEEP, KEEP, KEEP, OUTCOME]
  );

/**
 * The `upload --watch` summary under the live view: only what the live view
 * did not show (durations and artifacts from the manifest, full errors).
 */
export const renderSummaryTable = (rows: readonly BranchRow[], width = SCREEN_WIDTH): string =>
  boxTable(
    ['branch', 'time', 'artifacts / error'],
    rows.map((r) => [r.id, formatDuration(r.durationMs), outcomeCell(r)]),
    width,
    [{}, KEEP, OUTCOME]
  );

export const countRows = (rows: readonly BranchRow[]) => ({
  total: rows.length,
  succeeded: rows.filter((r) => r.status === 'succeeded').length,
  failed: rows.filter((r) => r.status === 'failed').length,
  running: rows.filter((r) => r.status === 'running').length,
  pending: rows.filter((r) => r.status === 'pending').length,
});

/** Continuation lines of a wrapped message start this far in. */
const HANG = 2;

/** `COMPLETE (3/3 branches succeeded)` / `PARTIAL (2/3 ...): reason`, wrapped to the screen. */
export const renderManifestStatus = (m: Manifest, width = SCREEN_WIDTH): string => {
  const f = m.fanOut;
  const extra = [
    f.fellBack ? `${f.fellBack} fell back` : '',
    f.timedOut ? `${f.timedOut} timed out` : '',
    f.skipped ? `${f.skipped} skipped` : '',
  ].filter(Boolean);
  const counts = `${m.counts.succeeded}/${m.counts.total} branches succeeded${extra.length ? `; ${extra.join(', ')}` : ''}`;
  return wrap(`manifest: ${m.status} (${counts})${m.reason ? ` — ${m.reason}` : ''}`, width, HANG);
};

/** Small enough figures to need their significant digits, not cents. */
export const formatUsd = (usd: number): string =>
  usd === 0 ? '$0' : usd >= 0.01 ? `$${usd.toFixed(2)}` : `$${usd.toPrecision(3)}`;

/**
 * `cost: $0.000467 estimated (us-east-1 list prices of …)` and where it went:
 * Lambda per function, state transitions, requests. Printed after each run.
 * The detail lines are indented by 2 and continue at 4.
 */
export const renderCost = (m: Manifest, width = SCREEN_WIDTH): string => {
  const c = m.costBreakdown;
  const requests = Object.values(c.requests).reduce((sum, r) => sum + r.usd, 0);
  const lambda = c.lambda.map((l) => {
    const sizing = l.memoryMiB === null ? 'unpriced' : `${l.memoryMiB} MiB ${l.architecture}`;
    const unmeasured = l.unmeasured ? `, ${l.unmeasured} unmeasured` : '';
    return wrap(
      `  λ ${l.function} ×${l.invocations}: ${l.gbSeconds} GB-s (${sizing}${unmeasured}) ${formatUsd(l.computeUsd)}`,
      width,
      2 * HANG
    );
  });
  return [
    wrap(
      `cost: ${formatUsd(m.estimatedCostUsd)} estimated (${c.region} list prices of ${c.pricesAsOf}; ` +
        'no data transfer, storage or logs)',
      width,
      HANG
    ),
    ...lambda,
    wrap(
      `  ${c.stateTransitions.count} state transitions ${formatUsd(c.stateTransitions.usd)}; ` +
        `requests ${formatUsd(requests)} (Lambda ${c.requests.lambda.count}, SQS ${c.requests.sqs.count}, ` +
        `SNS ${c.requests.sns.count}, S3 PUT ${c.requests.s3Put.count}, GET ${c.requests.s3Get.count})`,
      width,
      2 * HANG
    ),
  ].join('\n');
};

/** A Lambda task's cause is its error as JSON: the message is what a reader needs. */
export const causeMessage = (cause: string): string => {
  if (!cause.trim().startsWith('{')) return cause;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
};

/**
 * `execution: FAILED (Error: message)`, wrapped with a hanging indent; the
 * detail is cut (at a space) to `max` characters inside the parentheses, so a
 * cut never loses the closing one.
 */
export const renderExecution = (e: ExecutionState, width = SCREEN_WIDTH, max = 200): string => {
  if (e.status === 'NOT_FOUND') return 'execution: not started yet';
  const head = `execution: ${e.status}`;
  const detail = [e.error, e.cause ? causeMessage(e.cause) : undefined].filter(Boolean).join(': ');
  return wrap(detail ? `${head} (${clip(detail, Math.max(1, max))})` : head, width, HANG);
};

const progressCounts = (rows: readonly BranchRow[]): string => {
  const c = countRows(rows);
  return `${c.succeeded} succeeded, ${c.failed} failed, ${c.running} running, ${c.pending} pending of ${c.total}`;
};

const outputsLine = (p: Progress, outputBucket: string, width: number): string =>
  [
    wrap(`outputs: s3://${outputBucket}/${outputPrefix(p.videoId)}`, width, HANG),
    // What a player opens: the HLS multivariant playlist (its media playlists are relative to it).
    ...(p.manifest?.hls
      ? [wrap(`hls: s3://${outputBucket}/${p.manifest.hls.multivariantPlaylist}`, width, HANG)]
      : []),
  ].join('\n');

/** `status`: execution, branch table, manifest status (or progress counts). */
export const renderReport = (p: Progress, outputBucket: string, width = SCREEN_WIDTH): string => {
  const rows = rowsOf(p);
  const lines = [wrap(`video: ${p.videoId}`, width, HANG), renderExecution(p.execution, width)];
  if (p.manifest) lines.push(outputsLine(p, outputBucket, width));
  if (rows.length > 0) lines.push(renderBranchTable(rows, width));
  if (p.manifest) {
    lines.push(renderManifestStatus(p.manifest, width), renderCost(p.manifest, width));
  } else {
    lines.push(
      p.plan
        ? wrap(`no manifest yet: ${progressCounts(rows)}`, width, HANG)
        : 'no manifest yet, no plan yet'
    );
  }
  return lines.join('\n');
};

/**
 * `upload --watch` after the live view: where the outputs are, the summary
 * table and the manifest status. Nothing when there is no manifest (the
 * caller reports why).
 */
export const renderWatchSummary = (
  p: Progress,
  outputBucket: string,
  width = SCREEN_WIDTH
): string => {
  if (!p.manifest) return '';
  const rows = rowsOf(p);
  const lines = [outputsLine(p, outputBucket, width)];
  if (rows.length > 0) lines.push(renderSummaryTable(rows, width));
  lines.push(renderManifestStatus(p.manifest, width), renderCost(p.manifest, width));
  return lines.join('\n');
};

// ---- live view -------------------------------------------------------------

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
      `${MARK[r.status]} ${r.id}`,
      r.kind,
      r.detail,
      r.status === 'failed' && r.errorName ? `${r.status}  ${r.errorName}` : r.status,
    ]),
    width,
    liveColumns(rows),
    '  '
  );
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

// ---- list ------------------------------------------------------------------

export interface ListRow {
  videoId: string;
  status: string;
  /** `ok/total`, or `-` while running. */
  branches: string;
  /** ISO time, or `-`. */
  created: string;
}

/** `2025-01-02T03:04:05.678Z` → `2025-01-02 03:04` (UTC, said in the header). */
const shortTime = (iso: string): string =>
  /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(iso) ? iso.slice(0, 16).replace('T', ' ') : iso;

export const renderListTable = (rows: readonly ListRow[], width = SCREEN_WIDTH): string =>
  boxTable(
    ['videoId', 'status', 'ok', 'created (UTC)'],
    rows.map((r) => [r.videoId, r.status, r.branches, shortTime(r.created)]),
    width,
    [{}, KEEP, KEEP, KEEP]
  );
