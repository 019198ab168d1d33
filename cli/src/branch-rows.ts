import {
  type Branch,
  type Manifest,
  type ManifestBranch,
  outputPrefix,
} from '../../contract/index.js';
import type { LiveBranch } from './history.js';
import type { MapRunCounts, RenditionSegments, StepState } from './segment-progress.js';

/**
 * The row model every screen draws: one row per branch, built from the
 * manifest when it exists, else from the plan and the execution history.
 * Pure: everything here is a function of its arguments.
 */

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
   * Per segmented rendition branch (by id): segments done (their files in S3),
   * running and failed (the Map Run's child executions), queued, and the join
   * (segment-progress.ts); one line per rendition, never one per segment.
   */
  segments?: ReadonlyMap<string, SegmentProgress>;
  /** The audio of a segmented video (its parts, then their join); absent when there is none. */
  audio?: StepState;
  /** Its parts stored, of planned (segment-progress.ts); absent when unknown. */
  audioParts?: { done: number; total: number };
  /** The Segments Map Run's items (DescribeMapRun itemCounts), once it started. */
  segmentItems?: MapRunCounts['items'];
}

export type SegmentProgress = Pick<RenditionSegments, 'done' | 'total'> &
  Partial<Pick<RenditionSegments, 'running' | 'queued' | 'failed' | 'join'>>;

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

export const countRows = (rows: readonly BranchRow[]) => ({
  total: rows.length,
  succeeded: rows.filter((r) => r.status === 'succeeded').length,
  failed: rows.filter((r) => r.status === 'failed').length,
  running: rows.filter((r) => r.status === 'running').length,
  pending: rows.filter((r) => r.status === 'pending').length,
});
