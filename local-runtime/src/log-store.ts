import type { Logger } from './logger.js';

/**
 * The function log lines that belong to a trace, kept for `npm run status --
 * <videoId> --trace` (GET /_local/logs): on AWS, X-Ray assembles the trace and
 * CloudWatch Logs keeps the lines; here nothing would. Two kinds of line are kept:
 * - a Powertools JSON line: its time, request id, `xray_trace_id` and `videoId`;
 * - Lambda's REPORT line with its X-Ray fields: the invocation's duration and
 *   trace, ending when the line is written (lambda/runner.ts).
 */

export interface LogRecord {
  /** The function's physical name (the runner's `[<function name>]` prefix). */
  readonly function: string;
  /** ISO time: the line's own `timestamp`, or when the runner wrote it (REPORT). */
  readonly time: string;
  readonly requestId?: string;
  /** The X-Ray trace id (the header's Root). */
  readonly traceId?: string;
  readonly videoId?: string;
  readonly message?: string;
  /** Set on a REPORT line: the invocation's duration. */
  readonly durationMs?: number;
}

export interface LogQuery {
  readonly traceId?: string;
  readonly videoId?: string;
}

/** A bound on memory for long sessions; the oldest records go first. */
export const DEFAULT_LOG_LIMIT = 200_000;

const REPORT =
  /^REPORT RequestId: (\S+)\tDuration: ([\d.]+) ms\tXRAY TraceId: (\S+)\tSegmentId: \S*\tSampled: \w+$/;

/** Pure: the record a runner line yields, or undefined when it belongs to no trace. */
export const logRecordOf = (line: string, now: Date = new Date()): LogRecord | undefined => {
  const m = /^\[([^\]]+)\] (.*)$/s.exec(line);
  if (!m) return undefined;
  const [, fn = '', text = ''] = m;
  const report = REPORT.exec(text.trim());
  if (report) {
    return {
      function: fn,
      time: now.toISOString(),
      requestId: report[1],
      durationMs: Number(report[2]),
      traceId: report[3],
    };
  }
  if (!text.startsWith('{')) return undefined;
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof doc.xray_trace_id !== 'string') return undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    function: fn,
    time: str(doc.timestamp) ?? now.toISOString(),
    requestId: str(doc.function_request_id),
    traceId: doc.xray_trace_id,
    videoId: str(doc.videoId),
    message: str(doc.message),
  };
};

export class LogStore {
  private readonly records: LogRecord[] = [];

  constructor(private readonly limit = DEFAULT_LOG_LIMIT) {}

  offer(line: string): void {
    const record = logRecordOf(line);
    if (!record) return;
    this.records.push(record);
    if (this.records.length > this.limit) this.records.shift();
  }

  /** The records of one trace, or of one video (its lines that name it), oldest first. */
  query({ traceId, videoId }: LogQuery): LogRecord[] {
    return this.records.filter(
      (r) =>
        (traceId === undefined || r.traceId === traceId) &&
        (videoId === undefined || r.videoId === videoId)
    );
  }
}

/** The logger the Lambda runner writes to, with every traced line also stored. */
export const tapLogs = (inner: Logger, store: LogStore): Logger => ({
  ...inner,
  info: (m) => {
    store.offer(m);
    inner.info(m);
  },
  debug: (m) => {
    store.offer(m);
    inner.debug(m);
  },
});
