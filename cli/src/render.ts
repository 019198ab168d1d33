import Table from 'cli-table3';
import type { BranchResult, Manifest, Plan } from '../../lambdas/shared/schemas.js';

/** Pure text rendering: everything here is a function of its arguments. */

export type BranchStatus = 'pending' | 'succeeded' | 'failed';

export interface BranchRow {
  name: string;
  kind: string;
  status: BranchStatus;
  durationMs: number | null;
  artifacts: string[];
  error: string | null;
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
  plan?: Plan;
  results: ReadonlyMap<string, BranchResult>;
  manifest?: Manifest;
  elapsedMs: number;
}

const errorText = (e: { name: string; message: string } | null): string | null =>
  e ? `${e.name}: ${e.message}` : null;

const lower = (s: 'SUCCEEDED' | 'FAILED'): BranchStatus =>
  s === 'SUCCEEDED' ? 'succeeded' : 'failed';

export const rowsFromManifest = (manifest: Manifest): BranchRow[] =>
  manifest.branches.map((b) => ({
    name: b.name,
    kind: b.kind,
    status: lower(b.status),
    durationMs: b.durationMs,
    artifacts: b.artifacts.map((a) => a.key),
    error: errorText(b.error),
  }));

const rowFromResult = (r: BranchResult): BranchRow => ({
  name: r.taskId,
  kind: r.kind,
  status: lower(r.status),
  durationMs: r.durationMs,
  artifacts: r.artifacts.map((a) => a.key),
  error: errorText(r.error),
});

/** One row per planned task (pending until its result exists), plus any unplanned results. */
export const rowsFromProgress = (
  plan: Plan | undefined,
  results: ReadonlyMap<string, BranchResult>
): BranchRow[] => {
  const rows: BranchRow[] = [];
  const seen = new Set<string>();
  for (const task of plan?.tasks ?? []) {
    seen.add(task.id);
    const r = results.get(task.id);
    rows.push(
      r
        ? rowFromResult(r)
        : {
            name: task.id,
            kind: task.kind,
            status: 'pending',
            durationMs: null,
            artifacts: [],
            error: null,
          }
    );
  }
  for (const [id, r] of results) if (!seen.has(id)) rows.push(rowFromResult(r));
  return rows;
};

/** The rows to show: the manifest's when it exists, else the live plan + results. */
export const rowsOf = (p: Pick<Progress, 'plan' | 'results' | 'manifest'>): BranchRow[] =>
  p.manifest ? rowsFromManifest(p.manifest) : rowsFromProgress(p.plan, p.results);

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

const truncate = (s: string, max: number): string =>
  s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;

const plainStyle = { head: [] as string[], border: [] as string[] };

export const renderBranchTable = (rows: readonly BranchRow[]): string => {
  const table = new Table({
    head: ['branch', 'kind', 'status', 'duration', 'artifacts', 'error'],
    style: plainStyle,
  });
  for (const r of rows) {
    table.push([
      r.name,
      r.kind,
      r.status,
      formatDuration(r.durationMs),
      r.artifacts.join('\n') || '-',
      r.error ? truncate(r.error, 100) : '-',
    ]);
  }
  return table.toString();
};

export const countRows = (rows: readonly BranchRow[]) => ({
  total: rows.length,
  succeeded: rows.filter((r) => r.status === 'succeeded').length,
  failed: rows.filter((r) => r.status === 'failed').length,
  pending: rows.filter((r) => r.status === 'pending').length,
});

/** `COMPLETE (3/3 branches succeeded)` / `PARTIAL (2/3 ...): reason`. */
export const renderManifestStatus = (m: Manifest): string => {
  const counts = `${m.counts.succeeded}/${m.counts.total} branches succeeded`;
  return `manifest: ${m.status} (${counts})${m.reason ? ` — ${m.reason}` : ''}`;
};

export const renderExecution = (e: ExecutionState): string => {
  if (e.status === 'NOT_FOUND') return 'execution: not started yet';
  const detail = [e.error, e.cause ? truncate(e.cause, 160) : undefined].filter(Boolean);
  return `execution: ${e.status}${detail.length ? ` (${detail.join(': ')})` : ''}`;
};

/** Full report: execution, branch table, manifest status (or progress counts). */
export const renderReport = (p: Progress): string => {
  const rows = rowsOf(p);
  const lines = [`video: ${p.videoId}`, renderExecution(p.execution)];
  if (rows.length > 0) lines.push(renderBranchTable(rows));
  if (p.manifest) {
    lines.push(renderManifestStatus(p.manifest));
  } else {
    const c = countRows(rows);
    lines.push(
      p.plan
        ? `no manifest yet: ${c.succeeded} succeeded, ${c.failed} failed, ${c.pending} pending of ${c.total}`
        : 'no manifest yet, no plan yet'
    );
  }
  return lines.join('\n');
};

// ---- live view -------------------------------------------------------------

export interface LiveEntry {
  key: string;
  text: string;
}

const MARK: Record<BranchStatus, string> = { pending: '·', succeeded: '✓', failed: '✗' };

/**
 * The live view as stable keyed lines (no clock in them), so an append-only
 * renderer can print exactly the lines that changed.
 */
export const liveEntries = (p: Progress): LiveEntry[] => {
  const entries: LiveEntry[] = [{ key: 'execution', text: renderExecution(p.execution) }];
  const rows = rowsOf(p);
  if (!p.plan && !p.manifest) {
    entries.push({ key: 'plan', text: 'plan: waiting for the plan…' });
  } else if (rows.length === 0) {
    entries.push({ key: 'plan', text: 'plan: none (no branch ran)' });
  } else {
    entries.push({ key: 'plan', text: `plan: ${rows.length} branches` });
  }
  const nameWidth = Math.min(40, Math.max(0, ...rows.map((r) => r.name.length)));
  const kindWidth = Math.max(0, ...rows.map((r) => r.kind.length));
  for (const r of rows) {
    const detail =
      r.status === 'failed'
        ? `  ${truncate(r.error ?? '', 120)}`
        : r.status === 'succeeded'
          ? `  ${formatDuration(r.durationMs)}`
          : '';
    entries.push({
      key: `branch:${r.name}`,
      text: `  ${MARK[r.status]} ${r.name.padEnd(nameWidth)}  ${r.kind.padEnd(kindWidth)}  ${r.status}${detail}`,
    });
  }
  if (p.manifest) entries.push({ key: 'manifest', text: renderManifestStatus(p.manifest) });
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
  const header = `${p.videoId}  ${formatDuration(p.elapsedMs)}  ${c.succeeded} ok, ${c.failed} failed, ${c.pending} pending`;
  let lines = [header, ...liveEntries(p).map((e) => e.text)];
  const maxLines = Math.max(3, rows - 1);
  if (lines.length > maxLines) {
    const hidden = lines.length - (maxLines - 1);
    lines = [...lines.slice(0, maxLines - 1), `  … ${hidden} more lines`];
  }
  const width = Math.max(20, columns - 1);
  return lines.map((l) => truncate(l, width));
};

// ---- list ------------------------------------------------------------------

export interface ListRow {
  videoId: string;
  status: string;
  branches: string;
  created: string;
}

export const renderListTable = (rows: readonly ListRow[]): string => {
  const table = new Table({
    head: ['videoId', 'status', 'branches ok/total', 'created'],
    style: plainStyle,
  });
  for (const r of rows) table.push([r.videoId, r.status, r.branches, r.created]);
  return table.toString();
};
