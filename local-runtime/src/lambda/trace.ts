import { randomBytes } from 'node:crypto';

/**
 * X-Ray trace headers as Lambda and Step Functions pass them
 * (`Root=1-<8 hex epoch seconds>-<24 hex>;Parent=<16 hex>;Sampled=1`).
 * Lambda sets `_X_AMZN_TRACE_ID` to the invocation's header and changes it with
 * each invocation; a traced state machine hands its execution's trace to each
 * task, so the whole execution is one trace.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
 * https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-xray-tracing.html
 */

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** A new trace's id: version 1, the start in epoch seconds (8 hex), 96 random bits. */
export const newTraceId = (now = Date.now()): string =>
  `1-${Math.floor(now / 1000)
    .toString(16)
    .padStart(8, '0')}-${hex(12)}`;

/** The Root of a header, or undefined when it has none. */
export const traceRoot = (header: string | undefined): string | undefined =>
  header ? /(?:^|;)\s*Root=([^;]+)/.exec(header)?.[1] : undefined;

/**
 * The header of one invocation within `parent`'s trace: the same Root (and
 * sampling), a new Parent (this hop's segment). Without a parent a new trace starts.
 */
export const childTraceHeader = (parent?: string): string => {
  const root = traceRoot(parent) ?? newTraceId();
  const sampled = parent ? /(?:^|;)\s*Sampled=([01?])/.exec(parent)?.[1] : undefined;
  return `Root=${root};Parent=${hex(8)};Sampled=${sampled ?? '1'}`;
};

/** The REPORT line's X-Ray fields for a traced invocation (Lambda's log format). */
export const reportTraceFields = (header: string): string => {
  const parent = /(?:^|;)\s*Parent=([^;]+)/.exec(header)?.[1] ?? '';
  const sampled = /(?:^|;)\s*Sampled=1/.test(header);
  return `XRAY TraceId: ${traceRoot(header)}\tSegmentId: ${parent}\tSampled: ${sampled}`;
};
