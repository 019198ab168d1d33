import type { RowStatus } from './branch-rows.js';
import { type ColumnSpec, NON_TTY_WIDTH } from './layout.js';

/** How single values read on every screen: durations, prices, statuses, causes. */

/**
 * The width a screen is laid out for unless its caller passes the terminal's
 * (layout.ts `screenWidth`): the fixed width of output that is not a terminal.
 */
export const SCREEN_WIDTH = NON_TTY_WIDTH;

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

/** A status's one-character mark, for tables and the live view. */
export const STATUS_MARK: Record<RowStatus, string> = {
  pending: '·',
  running: '▶',
  succeeded: '✓',
  failed: '✗',
  'timed-out': '⧗',
  skipped: '–',
  sent: '→',
};
/** A status's word in tables (`ok`, not `succeeded`). */
export const STATUS_WORD: Record<RowStatus, string> = {
  pending: 'pending',
  running: 'running',
  succeeded: 'ok',
  failed: 'failed',
  'timed-out': 'timed out',
  skipped: 'skipped',
  sent: 'sent',
};

/** Continuation lines of a wrapped message start this far in. */
export const HANG = 2;

/** Statuses, kinds and times never wrap: the ids and artifacts do. */
export const KEEP: ColumnSpec = { keep: true };

/** Small enough figures to need their significant digits, not cents. */
export const formatUsd = (usd: number): string =>
  usd === 0 ? '$0' : usd >= 0.01 ? `$${usd.toFixed(2)}` : `$${usd.toPrecision(3)}`;

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
