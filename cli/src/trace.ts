import { CliError } from './config.js';

/**
 * `status <videoId> --trace`: one video's trace from the function logs. The
 * local runtime keeps the traced log lines (GET /_local/logs): Powertools lines
 * carry `xray_trace_id` (the invocation's `_X_AMZN_TRACE_ID` Root) and Lambda's
 * REPORT line carries the invocation's duration and trace. On AWS the same
 * trace is in X-Ray (the state machine and every function trace actively).
 */

/** A log record as GET /_local/logs answers it (local-runtime/src/log-store.ts). */
export interface TraceLogRecord {
  function: string;
  time: string;
  requestId?: string;
  traceId?: string;
  videoId?: string;
  message?: string;
  durationMs?: number;
}

export interface Span {
  function: string;
  requestId: string;
  /** Epoch ms. */
  start: number;
  end: number;
}

/** `VideoPipeline-ThumbnailBranch576AB4E7` → `ThumbnailBranch`. */
const shortName = (name: string): string =>
  name.replace(/^[^-]+-/, '').replace(/[0-9A-F]{8}$/, '') || name;

/** Pure: the trace ids a video's lines carry (one when tracing joins the whole video). */
export const traceIdsOf = (records: readonly TraceLogRecord[]): string[] => [
  ...new Set(records.map((r) => r.traceId).filter((t): t is string => t !== undefined)),
];

/**
 * Pure: one span per Lambda invocation of the trace. It ends at its REPORT line
 * and starts its duration before; without a REPORT (still running, or the line
 * was lost) the span runs from its first to its last log line.
 */
export const spansOf = (records: readonly TraceLogRecord[]): Span[] => {
  const byRequest = new Map<string, TraceLogRecord[]>();
  for (const r of records) {
    if (!r.requestId) continue;
    byRequest.set(r.requestId, [...(byRequest.get(r.requestId) ?? []), r]);
  }
  const spans: Span[] = [];
  for (const [requestId, lines] of byRequest) {
    const times = lines.map((l) => Date.parse(l.time)).filter(Number.isFinite);
    const report = lines.find((l) => l.durationMs !== undefined);
    const end = report ? Date.parse(report.time) : Math.max(...times);
    const start = report ? Math.min(end - (report.durationMs ?? 0), ...times) : Math.min(...times);
    spans.push({ function: lines[0]!.function, requestId, start, end });
  }
  return spans.sort((a, b) => a.start - b.start || a.end - b.end);
};

/** Pure: the spans as a waterfall, offsets from the trace's first start. */
export const renderTrace = (traceId: string, spans: readonly Span[]): string => {
  if (spans.length === 0) return `trace ${traceId}: no spans`;
  const t0 = spans[0]!.start;
  const last = Math.max(...spans.map((s) => s.end));
  const ms = (v: number) => `${Math.round(v)} ms`.padStart(9);
  const lines = spans.map(
    (s) =>
      `${ms(s.start - t0)} ${ms(s.end - s.start)}  ${shortName(s.function).padEnd(24)} ${s.requestId}`
  );
  return [
    `trace ${traceId}: ${spans.length} spans over ${Math.round(last - t0)} ms`,
    `${'start'.padStart(9)} ${'duration'.padStart(9)}  ${'function'.padEnd(24)} request`,
    ...lines,
  ].join('\n');
};

const fetchLogs = async (
  endpoint: string,
  query: Record<string, string>,
  fetchFn: typeof fetch
): Promise<TraceLogRecord[]> => {
  const url = new URL('/_local/logs', endpoint);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const res = await fetchFn(url);
  if (res.status === 404) {
    throw new CliError(
      `${endpoint} has no /_local/logs: it is not the local runtime; on AWS open the video's ` +
        'trace in X-Ray (the execution and every function trace actively)'
    );
  }
  if (!res.ok) throw new CliError(`GET ${url} answered ${res.status}`);
  const body = (await res.json()) as { records?: unknown };
  if (!Array.isArray(body.records)) throw new CliError(`GET ${url} returned no records array`);
  return body.records as TraceLogRecord[];
};

/** The video's trace(s) as text: its lines name the trace, the trace's lines give the spans. */
export const videoTrace = async (
  endpoint: string | undefined,
  videoId: string,
  fetchFn: typeof fetch = fetch
): Promise<string> => {
  if (!endpoint) {
    throw new CliError(
      '--trace reads the log lines the local runtime keeps and no local endpoint is configured; ' +
        "on AWS open the video's trace in X-Ray"
    );
  }
  const traceIds = traceIdsOf(await fetchLogs(endpoint, { videoId }, fetchFn));
  if (traceIds.length === 0) return `no traced log lines for ${videoId}`;
  const parts: string[] = [];
  for (const traceId of traceIds) {
    parts.push(renderTrace(traceId, spansOf(await fetchLogs(endpoint, { traceId }, fetchFn))));
  }
  return parts.join('\n\n');
};
