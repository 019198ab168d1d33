import Table from 'cli-table3';
import {
  type Branch,
  type Manifest,
  type ManifestBranch,
  outputPrefix,
} from '../../contract/index.js';
import type { LiveBranch } from './history.js';

/** Pure text rendering: everything here is a function of its arguments. */

/** Every screen is laid out for this width; wider terminals get the same output. */
export const SCREEN_WIDTH = 80;

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

export const truncate = (s: string, max: number): string =>
  s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;

/**
 * Wraps text to `width`, breaking after a space, `-`, `/` or `:` when one is near,
 * else mid-word; keeps every character, so ids and keys stay copyable.
 */
export const wrapText = (text: string, width: number): string => {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    let rest = line;
    while (rest.length > width) {
      const window = rest.slice(0, width);
      const at = Math.max(
        window.lastIndexOf(' '),
        window.lastIndexOf('-'),
        window.lastIndexOf('/')
      );
      const cut = at >= width / 2 ? at + 1 : width;
      out.push(rest.slice(0, cut).trimEnd());
      rest = rest.slice(cut).trimStart();
    }
    out.push(rest);
  }
  return out.join('\n');
};

/** Cut a wrapped cell to `maxLines`, marking the cut. */
const clampLines = (text: string, maxLines: number): string => {
  const lines = text.split('\n');
  if (lines.length <= maxLines) return text;
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = `${kept[maxLines - 1].slice(0, -1)}…`;
  return kept.join('\n');
};

const plainStyle = {
  head: [] as string[],
  border: [] as string[],
  'padding-left': 1,
  'padding-right': 1,
};

interface Column {
  head: string;
  /** Content width; the last flexible column takes what is left of the screen. */
  width: number | 'rest';
  cell: (r: BranchRow) => string;
  maxLines?: number;
}

/**
 * A bordered table at most {@link SCREEN_WIDTH} wide: fixed columns are sized
 * to their content up to their cap, the `rest` column takes what is left.
 * Cells wrap rather than truncate, so ids and keys stay whole.
 */
const renderTable = (columns: readonly Column[], rows: readonly BranchRow[]): string => {
  const sized = columns.map((c) =>
    c.width === 'rest'
      ? c
      : {
          ...c,
          width: Math.min(c.width, Math.max(c.head.length, ...rows.map((r) => c.cell(r).length))),
        }
  );
  // Every column has 1+1 padding and one border; plus the closing border.
  const used = sized.reduce((n, c) => n + (c.width === 'rest' ? 0 : (c.width as number)) + 3, 1);
  const restWidth = Math.max(12, SCREEN_WIDTH - used);
  const widths = sized.map((c) => (c.width === 'rest' ? restWidth : (c.width as number)));
  const cells = rows.map((r) =>
    sized.map((c, i) => {
      const text = wrapText(c.cell(r), widths[i]);
      return c.maxLines ? clampLines(text, c.maxLines) : text;
    })
  );
  const table = new Table({
    head: sized.map((c) => c.head),
    colWidths: widths.map((w) => w + 2),
    style: plainStyle,
  });
  table.push(...cells);
  return withRowRules(table.toString(), cells);
};

/**
 * Rules between rows only when some row spans several lines; otherwise one
 * line per row. cli-table3 draws the header rule with the same characters, so
 * the row rules are dropped from its output rather than configured away.
 */
const withRowRules = (table: string, cells: readonly string[][]): string => {
  if (cells.some((row) => row.some((c) => c.includes('\n')))) return table;
  let seenHeaderRule = false;
  return table
    .split('\n')
    .filter((line) => {
      if (!line.startsWith('├')) return true;
      if (seenHeaderRule) return false;
      seenHeaderRule = true;
      return true;
    })
    .join('\n');
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

/** `status`: every branch with its kind, state, time and outputs (or error). */
export const renderBranchTable = (rows: readonly BranchRow[]): string =>
  renderTable(
    [
      { head: 'branch', width: 20, cell: (r) => r.id },
      { head: 'kind', width: 9, cell: (r) => r.kind },
      { head: 'status', width: 9, cell: (r) => `${MARK[r.status]} ${WORD[r.status]}` },
      { head: 'time', width: 10, cell: (r) => formatDuration(r.durationMs) },
      { head: 'artifacts / error', width: 'rest', cell: outcomeCell, maxLines: 6 },
    ],
    rows
  );

/**
 * The `upload --watch` summary under the live view: only what the live view
 * did not show (durations and artifacts from the manifest, full errors).
 */
export const renderSummaryTable = (rows: readonly BranchRow[]): string =>
  renderTable(
    [
      { head: 'branch', width: 20, cell: (r) => r.id },
      { head: 'time', width: 10, cell: (r) => formatDuration(r.durationMs) },
      { head: 'artifacts / error', width: 'rest', cell: outcomeCell, maxLines: 6 },
    ],
    rows
  );

export const countRows = (rows: readonly BranchRow[]) => ({
  total: rows.length,
  succeeded: rows.filter((r) => r.status === 'succeeded').length,
  failed: rows.filter((r) => r.status === 'failed').length,
  running: rows.filter((r) => r.status === 'running').length,
  pending: rows.filter((r) => r.status === 'pending').length,
});

/** `COMPLETE (3/3 branches succeeded)` / `PARTIAL (2/3 ...): reason`, wrapped to the screen. */
export const renderManifestStatus = (m: Manifest): string => {
  const f = m.fanOut;
  const extra = [
    f.fellBack ? `${f.fellBack} fell back` : '',
    f.timedOut ? `${f.timedOut} timed out` : '',
    f.skipped ? `${f.skipped} skipped` : '',
  ].filter(Boolean);
  const counts = `${m.counts.succeeded}/${m.counts.total} branches succeeded${extra.length ? `; ${extra.join(', ')}` : ''}`;
  return wrapText(
    `manifest: ${m.status} (${counts})${m.reason ? ` — ${m.reason}` : ''}`,
    SCREEN_WIDTH
  );
};

/** Small enough figures to need their significant digits, not cents. */
export const formatUsd = (usd: number): string =>
  usd === 0 ? '$0' : usd >= 0.01 ? `$${usd.toFixed(2)}` : `$${usd.toPrecision(3)}`;

/**
 * `cost: $0.000467 estimated (us-east-1 list prices of …)` and where it went:
 * Lambda per function, state transitions, requests. Printed after each run.
 */
export const renderCost = (m: Manifest): string => {
  const c = m.costBreakdown;
  const requests = Object.values(c.requests).reduce((sum, r) => sum + r.usd, 0);
  const lambda = c.lambda.map((l) => {
    const sizing = l.memoryMiB === null ? 'unpriced' : `${l.memoryMiB} MiB ${l.architecture}`;
    const unmeasured = l.unmeasured ? `, ${l.unmeasured} unmeasured` : '';
    return wrapText(
      `  λ ${l.function} ×${l.invocations}: ${l.gbSeconds} GB-s (${sizing}${unmeasured}) ${formatUsd(l.computeUsd)}`,
      SCREEN_WIDTH
    );
  });
  return [
    wrapText(
      `cost: ${formatUsd(m.estimatedCostUsd)} estimated (${c.region} list prices of ${c.pricesAsOf}; ` +
        'no data transfer, storage or logs)',
      SCREEN_WIDTH
    ),
    ...lambda,
    wrapText(
      `  ${c.stateTransitions.count} state transitions ${formatUsd(c.stateTransitions.usd)}; ` +
        `requests ${formatUsd(requests)} (Lambda ${c.requests.lambda.count}, SQS ${c.requests.sqs.count}, ` +
        `SNS ${c.requests.sns.count}, S3 PUT ${c.requests.s3Put.count}, GET ${c.requests.s3Get.count})`,
      SCREEN_WIDTH
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
 * `execution: FAILED (Error: message)` with the detail cut to `max` characters
 * inside the parentheses, so a cut never loses the closing one.
 */
const executionLine = (e: ExecutionState, max: number): string => {
  const head = `execution: ${e.status}`;
  const detail = [e.error, e.cause ? causeMessage(e.cause) : undefined].filter(Boolean).join(': ');
  return detail ? `${head} (${truncate(detail, Math.max(1, max))})` : head;
};

export const renderExecution = (e: ExecutionState): string => {
  if (e.status === 'NOT_FOUND') return 'execution: not started yet';
  return wrapText(executionLine(e, 200), SCREEN_WIDTH);
};

/** The execution as one line of at most `width` characters (the live view's first line). */
export const executionSummaryLine = (e: ExecutionState, width: number): string => {
  if (e.status === 'NOT_FOUND') return truncate('execution: not started yet', width);
  // `execution: STATUS (` and `)` take their own room; the detail gets the rest.
  return truncate(executionLine(e, width - `execution: ${e.status} ()`.length), width);
};

const progressCounts = (rows: readonly BranchRow[]): string => {
  const c = countRows(rows);
  return `${c.succeeded} succeeded, ${c.failed} failed, ${c.running} running, ${c.pending} pending of ${c.total}`;
};

/** `status`: execution, branch table, manifest status (or progress counts). */
export const renderReport = (p: Progress, outputBucket: string): string => {
  const rows = rowsOf(p);
  const lines = [wrapText(`video: ${p.videoId}`, SCREEN_WIDTH), renderExecution(p.execution)];
  if (p.manifest) {
    lines.push(wrapText(`outputs: s3://${outputBucket}/${outputPrefix(p.videoId)}`, SCREEN_WIDTH));
  }
  if (rows.length > 0) lines.push(renderBranchTable(rows));
  if (p.manifest) {
    lines.push(renderManifestStatus(p.manifest), renderCost(p.manifest));
  } else {
    lines.push(
      p.plan ? `no manifest yet: ${progressCounts(rows)}` : 'no manifest yet, no plan yet'
    );
  }
  return lines.join('\n');
};

/**
 * `upload --watch` after the live view: where the outputs are, the summary
 * table and the manifest status. Nothing when there is no manifest (the
 * caller reports why).
 */
export const renderWatchSummary = (p: Progress, outputBucket: string): string => {
  if (!p.manifest) return '';
  const rows = rowsOf(p);
  const lines = [
    wrapText(`outputs: s3://${outputBucket}/${outputPrefix(p.videoId)}`, SCREEN_WIDTH),
  ];
  if (rows.length > 0) lines.push(renderSummaryTable(rows));
  lines.push(renderManifestStatus(p.manifest), renderCost(p.manifest));
  return lines.join('\n');
};

// ---- live view -------------------------------------------------------------

export interface LiveEntry {
  key: string;
  text: string;
}

/**
 * The live view as stable keyed lines (no clock in them), so an append-only
 * renderer can print exactly the lines that changed. Each fits in `width`.
 */
export const liveEntries = (p: Progress, width = SCREEN_WIDTH): LiveEntry[] => {
  const entries: LiveEntry[] = [
    { key: 'execution', text: executionSummaryLine(p.execution, width) },
  ];
  const rows = rowsOf(p);
  if (!p.plan && !p.manifest) {
    entries.push({ key: 'plan', text: 'plan: waiting for the plan…' });
  } else if (rows.length === 0) {
    entries.push({ key: 'plan', text: 'plan: none (no branch ran)' });
  } else {
    entries.push({ key: 'plan', text: `plan: ${rows.length} branches` });
  }
  const idWidth = Math.min(24, Math.max(0, ...rows.map((r) => r.id.length)));
  const kindWidth = Math.min(10, Math.max(0, ...rows.map((r) => r.kind.length)));
  const detailWidth = Math.min(12, Math.max(0, ...rows.map((r) => r.detail.length)));
  for (const r of rows) {
    const cells = [
      `  ${MARK[r.status]} ${truncate(r.id, idWidth).padEnd(idWidth)}`,
      truncate(r.kind, kindWidth).padEnd(kindWidth),
      ...(detailWidth > 0 ? [truncate(r.detail, detailWidth).padEnd(detailWidth)] : []),
      r.status === 'failed' && r.errorName ? `failed  ${r.errorName}` : r.status,
    ];
    entries.push({ key: `branch:${r.id}`, text: truncate(cells.join('  '), width) });
    const seg = p.segments?.get(r.id);
    const planned = p.plan?.find((b) => b.id === r.id);
    if (seg && planned) {
      entries.push({
        key: `segments:${r.id}`,
        text: truncate(`      ${segmentLine(planned, seg)}`, width),
      });
    }
  }
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
 * One TTY frame: a header with the clock and counts, then the entries, cut to
 * the terminal so in-place rewriting never scrolls (scrolling breaks cursor-up).
 */
export const ttyFrame = (p: Progress, columns: number, rows: number): string[] => {
  const c = countRows(rowsOf(p));
  const header = `${p.videoId}  ${formatDuration(p.elapsedMs)}  ${c.succeeded} ok, ${c.failed} failed, ${c.running} running, ${c.pending} pending`;
  let lines = [header, ...liveEntries(p).map((e) => e.text)];
  const maxLines = Math.max(3, rows - 1);
  if (lines.length > maxLines) {
    const hidden = lines.length - (maxLines - 1);
    lines = [...lines.slice(0, maxLines - 1), `  … ${hidden} more lines`];
  }
  const width = Math.max(20, Math.min(columns, SCREEN_WIDTH + 1) - 1);
  return lines.map((l) => truncate(l, width));
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

export const renderListTable = (rows: readonly ListRow[]): string => {
  const status = Math.max(6, ...rows.map((r) => r.status.length));
  const ok = Math.max(2, ...rows.map((r) => r.branches.length));
  const created = Math.max(13, ...rows.map((r) => shortTime(r.created).length));
  const idWidth = Math.max(12, SCREEN_WIDTH - (status + ok + created) - 4 * 3 - 1);
  const cells = rows.map((r) => [
    wrapText(r.videoId, idWidth),
    r.status,
    r.branches,
    shortTime(r.created),
  ]);
  const table = new Table({
    head: ['videoId', 'status', 'ok', 'created (UTC)'],
    colWidths: [idWidth, status, ok, created].map((w) => w + 2),
    style: plainStyle,
  });
  table.push(...cells);
  return withRowRules(table.toString(), cells);
};
