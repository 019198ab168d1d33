/**
 * Pure parts of bench (a): the spread of repeated runs, the per-pair ratio of interleaved
 * pipeline and direct runs, and one warm pipeline run broken into hops from the timestamps
 * the runtime already keeps (its traced log lines and the execution history). No I/O here,
 * so test/unit/bench-end-to-end.test.ts checks it on literal inputs.
 */

export interface Spread {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Median (mean of the middle two for an even count), min and max. */
export const spreadOf = (values: readonly number[]): Spread => {
  if (values.length === 0) throw new Error('spreadOf needs at least one value');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { n: sorted.length, median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
};

/**
 * pipeline_i / direct_i for runs taken in turns: each pipeline run is compared with the direct
 * run just before it, so a machine that slows down for a while slows both sides of a pair.
 */
export const pairRatios = (direct: readonly number[], pipeline: readonly number[]): number[] => {
  if (direct.length !== pipeline.length) {
    throw new Error(`pairRatios: ${direct.length} direct runs vs ${pipeline.length} pipeline runs`);
  }
  return direct.map((d, i) => {
    if (!(d > 0)) throw new Error(`pairRatios: direct run ${i} took ${d} ms`);
    return pipeline[i]! / d;
  });
};

/** The fields of a GetExecutionHistory event this needs (the SDK's HistoryEvent fits). */
export interface HistoryEventLike {
  readonly type?: string;
  readonly timestamp?: Date | number;
  readonly stateEnteredEventDetails?: { readonly name?: string };
  readonly stateExitedEventDetails?: { readonly name?: string };
}

/** A record as GET /_local/logs answers it (local-runtime/src/log-store.ts). */
export interface LogRecordLike {
  readonly function: string;
  readonly time: string;
  readonly requestId?: string;
  readonly traceId?: string;
  readonly videoId?: string;
  readonly message?: string;
  readonly durationMs?: number;
}

export interface HopInput {
  readonly videoId: string;
  /** Epoch ms (bench clock = runtime clock: one machine, Date.now()). */
  readonly putDoneAt: number;
  readonly manifestSeenAt: number;
  /** The manifest's createdAt (ISO), written by the aggregator just before its PUT. */
  readonly manifestCreatedAt?: string;
  readonly history: readonly HistoryEventLike[];
  readonly logs: readonly LogRecordLike[];
  /** Names the starter function in the log records' `function` (its physical name). */
  readonly starterFunction?: RegExp;
}

/** The moments of one run, in pipeline order; null where the source did not have it. */
export const HOP_POINTS = [
  'putDone',
  'starterInvoked',
  'executionStarted',
  'probeEntered',
  'probeExited',
  'planEntered',
  'planExited',
  'firstBranchStart',
  'lastBranchEnd',
  'aggregateEntered',
  'aggregateExited',
  'manifestSeen',
] as const;
export type HopPoint = (typeof HOP_POINTS)[number];

/** One label per gap between consecutive points (HOP_POINTS[i] → HOP_POINTS[i + 1]). */
export const HOP_LABELS = [
  'upload PUT done → starter invoked (S3 event, SNS, SQS, ESM)',
  'starter invoked → ExecutionStarted',
  'ExecutionStarted → Probe entered',
  'Probe (entered → exited)',
  'Probe exited → Plan entered',
  'Plan (entered → exited)',
  'Plan exited → first branch start',
  'branches (first start → last end)',
  'last branch end → Aggregate entered',
  'Aggregate (entered → exited)',
  'Aggregate exited → manifest seen by the poll',
] as const;

export interface Hops {
  readonly points: Record<HopPoint, number | null>;
  /** Milliseconds per HOP_LABELS entry; null when either end is unknown. */
  readonly hops: Record<string, number | null>;
  /** Manifest createdAt → seen by the bench's poll (the poll's own delay, plus the PUT). */
  readonly manifestCreatedToSeenMs: number | null;
  readonly totalMs: number;
}

const epoch = (t: Date | number | undefined): number | null =>
  t === undefined ? null : t instanceof Date ? t.getTime() : t;

/** Branch task states are Run<Kind> (contract STATE_NAMES.runBranch). */
const BRANCH_STATE = /^Run[A-Z]/;

/**
 * Pure: the run's hop times. The starter's start is its REPORT line's time minus the
 * invocation's duration (as `status --trace` draws spans); states come from the history.
 */
export const hopsOf = (input: HopInput): Hops => {
  const starter = input.starterFunction ?? /StartWorkflow/;
  const startedLine = input.logs.find(
    (r) => starter.test(r.function) && r.videoId === input.videoId && r.requestId !== undefined
  );
  let starterInvoked: number | null = null;
  if (startedLine) {
    const lines = input.logs.filter((r) => r.requestId === startedLine.requestId);
    const report = lines.find((r) => r.durationMs !== undefined);
    const times = lines.map((r) => Date.parse(r.time)).filter(Number.isFinite);
    starterInvoked = report
      ? Math.min(Date.parse(report.time) - report.durationMs!, ...times)
      : Math.min(...times);
  }
  const first = (pred: (e: HistoryEventLike) => boolean): number | null => {
    const times = input.history
      .filter(pred)
      .map((e) => epoch(e.timestamp))
      .filter((t): t is number => t !== null);
    return times.length === 0 ? null : Math.min(...times);
  };
  const last = (pred: (e: HistoryEventLike) => boolean): number | null => {
    const times = input.history
      .filter(pred)
      .map((e) => epoch(e.timestamp))
      .filter((t): t is number => t !== null);
    return times.length === 0 ? null : Math.max(...times);
  };
  const entered = (test: (name: string) => boolean) => (e: HistoryEventLike) =>
    e.stateEnteredEventDetails?.name !== undefined && test(e.stateEnteredEventDetails.name);
  const exited = (test: (name: string) => boolean) => (e: HistoryEventLike) =>
    e.stateExitedEventDetails?.name !== undefined && test(e.stateExitedEventDetails.name);
  const named = (n: string) => (name: string) => name === n;
  const isBranch = (name: string) => BRANCH_STATE.test(name);

  const points: Record<HopPoint, number | null> = {
    putDone: input.putDoneAt,
    starterInvoked,
    executionStarted: first((e) => e.type === 'ExecutionStarted'),
    probeEntered: first(entered(named('Probe'))),
    probeExited: last(exited(named('Probe'))),
    planEntered: first(entered(named('Plan'))),
    planExited: last(exited(named('Plan'))),
    firstBranchStart: first(entered(isBranch)),
    lastBranchEnd: last(exited(isBranch)),
    aggregateEntered: first(entered(named('Aggregate'))),
    aggregateExited: last(exited(named('Aggregate'))),
    manifestSeen: input.manifestSeenAt,
  };
  const hops: Record<string, number | null> = {};
  HOP_LABELS.forEach((label, i) => {
    const from = points[HOP_POINTS[i]!];
    const to = points[HOP_POINTS[i + 1]!];
    hops[label] = from === null || to === null ? null : to - from;
  });
  const created =
    input.manifestCreatedAt === undefined ? Number.NaN : Date.parse(input.manifestCreatedAt);
  return {
    points,
    hops,
    manifestCreatedToSeenMs: Number.isFinite(created) ? input.manifestSeenAt - created : null,
    totalMs: input.manifestSeenAt - input.putDoneAt,
  };
};

/** Per hop label, the spread over runs (runs where the hop is unknown are left out). */
export const hopSpreads = (runs: readonly Hops[]): Record<string, Spread | null> => {
  const out: Record<string, Spread | null> = {};
  for (const label of [...HOP_LABELS, 'manifest createdAt → seen by the poll']) {
    const values = runs
      .map((r) =>
        label === 'manifest createdAt → seen by the poll'
          ? r.manifestCreatedToSeenMs
          : r.hops[label]
      )
      .filter((v): v is number => v !== null && v !== undefined);
    out[label] = values.length === 0 ? null : spreadOf(values);
  }
  return out;
};
