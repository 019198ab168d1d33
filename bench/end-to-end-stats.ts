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
  'manifestCreated',
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
  'Aggregate entered → manifest createdAt',
  'manifest createdAt → seen by the bench poll',
] as const;

/**
 * Not on the chain: the aggregator writes the manifest, then publishes its events, so its
 * state exits after the manifest can already be read.
 */
export const AGGREGATE_TASK_LABEL = 'Aggregate task (entered → exited, off the chain)';

export interface Hops {
  readonly points: Record<HopPoint, number | null>;
  readonly aggregateExited: number | null;
  /** Milliseconds per HOP_LABELS entry; null when either end is unknown. */
  readonly hops: Record<string, number | null>;
  readonly aggregateTaskMs: number | null;
  /** Upload PUT done → manifest seen. */
  readonly totalMs: number;
}

const epoch = (t: Date | number | undefined): number | null =>
  t === undefined ? null : t instanceof Date ? t.getTime() : t;

/** Branch task states are Run<Kind> (contract STATE_NAMES.runBranch), and JoinRun<Kind> in the Joins map. */
const BRANCH_STATE = /^(Join)?Run[A-Z]/;

/**
 * Pure: the run's hop times. The starter's start is its REPORT line's time minus the
 * invocation's duration (as `status --trace` draws spans); its Powertools lines carry no
 * request id (a batch handler), so its REPORT is the starter's next one in the same trace.
 * States come from the history.
 */
export const hopsOf = (input: HopInput): Hops => {
  const starter = input.starterFunction ?? /StartWorkflow/;
  const startedLine = input.logs.find(
    (r) => starter.test(r.function) && r.videoId === input.videoId
  );
  let starterInvoked: number | null = null;
  if (startedLine) {
    const lineAt = Date.parse(startedLine.time);
    const sameInvocation = (r: LogRecordLike) =>
      startedLine.requestId !== undefined
        ? r.requestId === startedLine.requestId
        : starter.test(r.function) && r.traceId !== undefined && r.traceId === startedLine.traceId;
    const report = input.logs
      .filter(
        (r) => r.durationMs !== undefined && sameInvocation(r) && Date.parse(r.time) >= lineAt
      )
      .sort((a, b) => Date.parse(a.time) - Date.parse(b.time))[0];
    starterInvoked = report
      ? Math.min(Date.parse(report.time) - report.durationMs!, lineAt)
      : lineAt;
  }
  const times = (pred: (e: HistoryEventLike) => boolean): number[] =>
    input.history
      .filter(pred)
      .map((e) => epoch(e.timestamp))
      .filter((t): t is number => t !== null);
  const first = (pred: (e: HistoryEventLike) => boolean): number | null => {
    const t = times(pred);
    return t.length === 0 ? null : Math.min(...t);
  };
  const last = (pred: (e: HistoryEventLike) => boolean): number | null => {
    const t = times(pred);
    return t.length === 0 ? null : Math.max(...t);
  };
  const entered = (test: (name: string) => boolean) => (e: HistoryEventLike) =>
    e.stateEnteredEventDetails?.name !== undefined && test(e.stateEnteredEventDetails.name);
  const exited = (test: (name: string) => boolean) => (e: HistoryEventLike) =>
    e.stateExitedEventDetails?.name !== undefined && test(e.stateExitedEventDetails.name);
  const named = (n: string) => (name: string) => name === n;
  const isBranch = (name: string) => BRANCH_STATE.test(name);
  const created =
    input.manifestCreatedAt === undefined ? Number.NaN : Date.parse(input.manifestCreatedAt);

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
    manifestCreated: Number.isFinite(created) ? created : null,
    manifestSeen: input.manifestSeenAt,
  };
  const hops: Record<string, number | null> = {};
  HOP_LABELS.forEach((label, i) => {
    const from = points[HOP_POINTS[i]!];
    const to = points[HOP_POINTS[i + 1]!];
    hops[label] = from === null || to === null ? null : to - from;
  });
  const aggregateExited = last(exited(named('Aggregate')));
  return {
    points,
    aggregateExited,
    hops,
    aggregateTaskMs:
      aggregateExited === null || points.aggregateEntered === null
        ? null
        : aggregateExited - points.aggregateEntered,
    totalMs: input.manifestSeenAt - input.putDoneAt,
  };
};

/** Per hop label, the spread over runs (runs where the hop is unknown are left out). */
export const hopSpreads = (runs: readonly Hops[]): Record<string, Spread | null> => {
  const out: Record<string, Spread | null> = {};
  for (const label of [...HOP_LABELS, AGGREGATE_TASK_LABEL]) {
    const values = runs
      .map((r) => (label === AGGREGATE_TASK_LABEL ? r.aggregateTaskMs : r.hops[label]))
      .filter((v): v is number => v !== null && v !== undefined);
    out[label] = values.length === 0 ? null : spreadOf(values);
  }
  return out;
};

/** The history fields the per-branch split reads (the SDK's HistoryEvent fits). */
export interface BranchHistoryEventLike extends HistoryEventLike {
  readonly stateEnteredEventDetails?: { readonly name?: string; readonly input?: string };
  readonly stateExitedEventDetails?: { readonly name?: string; readonly output?: string };
}

const jsonField = (text: string | undefined, pick: (doc: unknown) => unknown): string | null => {
  if (text === undefined) return null;
  try {
    const v = pick(JSON.parse(text));
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
};

/**
 * Pure: per branch id, its task state's time (entered → exited) from the
 * history. The entered event's input is the BranchInput (`branch.id`); the
 * exited one's output is the Lambda's BranchRef (`id`). A branch entered more
 * than once (a retry) keeps its first entry and last exit.
 */
export const branchStateTimes = (
  history: readonly BranchHistoryEventLike[]
): Record<string, number> => {
  const entered = new Map<string, number>();
  const exited = new Map<string, number>();
  for (const e of history) {
    const t = epoch(e.timestamp);
    if (t === null) continue;
    const inName = e.stateEnteredEventDetails?.name;
    if (inName !== undefined && BRANCH_STATE.test(inName)) {
      const id = jsonField(
        e.stateEnteredEventDetails?.input,
        (d) => (d as { branch?: { id?: unknown } }).branch?.id
      );
      if (id !== null && !entered.has(id)) entered.set(id, t);
    }
    const outName = e.stateExitedEventDetails?.name;
    if (outName !== undefined && BRANCH_STATE.test(outName)) {
      const id = jsonField(e.stateExitedEventDetails?.output, (d) => (d as { id?: unknown }).id);
      if (id !== null) exited.set(id, Math.max(exited.get(id) ?? t, t));
    }
  }
  const out: Record<string, number> = {};
  for (const [id, from] of entered) {
    const to = exited.get(id);
    if (to !== undefined) out[id] = to - from;
  }
  return out;
};

/** One branch of one run: the direct side's time and the pipeline side's split. */
export interface BranchSplit {
  /** Direct: the kind's run() on the local file, all branches side by side (one run). */
  readonly directRunMs: number | null;
  readonly directToolMs: number | null;
  /**
   * Direct over HTTP: the same run() reading a presigned URL of the runtime's S3 instead of
   * the file, from the bench process (no Lambda, no pipeline): the source's HTTP read alone.
   */
  readonly directHttpRunMs?: number | null;
  /** Pipeline: the branch handler's phases (lambdas/run-branch/phases.ts). */
  readonly phases: Record<string, number> | null;
  /** Pipeline: the task state, entered → exited (dispatch to the function and back included). */
  readonly stateMs: number | null;
}

/**
 * The columns of the per-branch split, in print order. Derived: `otherMs`, the handler's
 * time outside its timed phases (temp directory, logging, metrics), and `outsideHandlerMs`.
 */
export const SPLIT_FIELDS = [
  'directRunMs',
  'directToolMs',
  'directHttpRunMs',
  'runMs',
  'toolMs',
  'toolRuns',
  'signMs',
  'uploads',
  'uploadBytes',
  'uploadMs',
  'recordMs',
  'playlistMs',
  'otherMs',
  'totalMs',
  'stateMs',
  'outsideHandlerMs',
] as const;
export type SplitField = (typeof SPLIT_FIELDS)[number];

/** Pure: one branch's fields as numbers (null where the run did not have them). */
export const splitFields = (s: BranchSplit): Record<SplitField, number | null> => {
  const p = (k: string) => s.phases?.[k] ?? null;
  const total = p('totalMs');
  return {
    directRunMs: s.directRunMs,
    directToolMs: s.directToolMs,
    directHttpRunMs: s.directHttpRunMs ?? null,
    runMs: p('runMs'),
    toolMs: p('toolMs'),
    toolRuns: p('toolRuns'),
    signMs: p('signMs'),
    uploads: p('uploads'),
    uploadBytes: p('uploadBytes'),
    uploadMs: p('uploadMs'),
    recordMs: p('recordMs'),
    playlistMs: p('playlistMs'),
    otherMs:
      total === null
        ? null
        : total -
          ['signMs', 'runMs', 'uploadMs', 'recordMs', 'playlistMs'].reduce(
            (sum, k) => sum + (p(k) ?? 0),
            0
          ),
    totalMs: total,
    stateMs: s.stateMs,
    outsideHandlerMs: s.stateMs === null || total === null ? null : s.stateMs - total,
  };
};

/** Per branch and field, the median over runs (runs without the field are left out). */
export const splitMedians = (
  runs: readonly Record<string, BranchSplit>[]
): Record<string, Record<SplitField, number | null>> => {
  const ids = [...new Set(runs.flatMap((r) => Object.keys(r)))].sort();
  const out: Record<string, Record<SplitField, number | null>> = {};
  for (const id of ids) {
    const rows = runs.flatMap((r) => (r[id] ? [splitFields(r[id])] : []));
    const medians = {} as Record<SplitField, number | null>;
    for (const f of SPLIT_FIELDS) {
      const values = rows.map((r) => r[f]).filter((v): v is number => v !== null);
      medians[f] = values.length === 0 ? null : spreadOf(values).median;
    }
    out[id] = medians;
  }
  return out;
};
