import { KEEP, SCREEN_WIDTH } from './format.js';
import { boxTable } from './layout.js';

/** The `list` screen: one row per recent video. */

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
