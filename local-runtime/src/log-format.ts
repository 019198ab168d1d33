import type { Logger } from './logger.js';

/**
 * Human-readable function logs for `npm run local` (the default; `--raw-logs`
 * prints the lines as the functions wrote them). The runner hands every line
 * over as `[<function name>] <line>`; Powertools writes JSON lines.
 */

/** Fields every Powertools line carries that say nothing about the run. */
const CONTEXT_FIELDS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'sampling_rate',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'xray_trace_id',
  'correlation_id',
  'videoId',
]);

/**
 * Lines that are noise without X-Ray: Tracer's warning where no segment
 * exists. (Metrics' "No application metrics to publish" is not filtered: the
 * functions no longer flush an empty store, lambdas/shared/powertools.ts.)
 */
const NOISE = [/You cannot annotate the main segment/];

/** `VideoPipeline-ThumbnailBranch576AB4E7` → `ThumbnailBranch`. */
export const shortFunctionName = (name: string): string =>
  name.replace(/^[^-]+-/, '').replace(/[0-9A-F]{8}$/, '') || name;

const time = (iso: unknown): string =>
  typeof iso === 'string' && iso.length >= 23 ? iso.slice(11, 23) : '';

const value = (v: unknown): string => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
};

/**
 * One readable line for a function's log line, or undefined to drop it
 * (metric records, known noise). Non-JSON lines pass through unchanged.
 */
export const formatFunctionLine = (line: string): string | undefined => {
  const m = /^\[([^\]]+)\] (.*)$/s.exec(line);
  if (!m) return line;
  const [, fn = '', text = ''] = m;
  if (NOISE.some((re) => re.test(text))) return undefined;
  let doc: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return line;
    doc = parsed as Record<string, unknown>;
  } catch {
    return `[${shortFunctionName(fn)}] ${text}`;
  }
  // Embedded-metric-format records are for CloudWatch, which is not here.
  if ('_aws' in doc) return undefined;
  const extras = Object.entries(doc)
    .filter(([k]) => !CONTEXT_FIELDS.has(k))
    .map(([k, v]) => `${k}=${value(v)}`);
  const level = typeof doc.level === 'string' && doc.level !== 'INFO' ? `${doc.level} ` : '';
  const video = typeof doc.videoId === 'string' ? ` ${doc.videoId}` : '';
  return [
    `${time(doc.timestamp)} ${shortFunctionName(fn)}${video}: ${level}${value(doc.message ?? '')}`,
    ...extras,
  ].join('  ');
};

/** Wraps a logger so function lines are readable; the runtime's own lines are unchanged. */
export const readableLogger = (inner: Logger): Logger => ({
  ...inner,
  info: (m) => {
    const out = formatFunctionLine(m);
    if (out !== undefined) inner.info(out);
  },
});
