import { type Manifest, outputPrefix } from '../../contract/index.js';
import {
  type BranchRow,
  countRows,
  type ExecutionState,
  type Progress,
  rowsOf,
} from './branch-rows.js';
import {
  causeMessage,
  formatDuration,
  formatUsd,
  HANG,
  KEEP,
  SCREEN_WIDTH,
  STATUS_MARK,
  STATUS_WORD,
} from './format.js';
import { boxTable, type ColumnSpec, clip, wrap } from './layout.js';

/** The `status` screen and the summary `upload --watch` prints after its live view. */

const outcomeCell = (r: BranchRow): string =>
  r.status === 'failed' || r.status === 'timed-out' || r.status === 'skipped'
    ? (r.error ?? `${STATUS_WORD[r.status]} (no error recorded)`)
    : r.artifacts.join('\n') || '-';

/** A cell that wraps, cut after this many lines so one long error cannot flood the screen. */
const OUTCOME: ColumnSpec = { maxLines: 6 };

/** `status`: every branch with its kind, state, time and outputs (or error). */
export const renderBranchTable = (rows: readonly BranchRow[], width = SCREEN_WIDTH): string =>
  boxTable(
    ['branch', 'kind', 'status', 'time', 'artifacts / error'],
    rows.map((r) => [
      r.id,
      r.kind,
      `${STATUS_MARK[r.status]} ${STATUS_WORD[r.status]}`,
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
