/**
 * Where one branch invocation spends its time, split the way the pipeline
 * differs from running the kind on a local file: the tools (ffmpeg/ffprobe,
 * reading the source over HTTP), the uploads, the result record and the
 * early playlist. Published once per branch as EMF metadata (`branchPhases`,
 * with `videoId` and `branchId`): CloudWatch Logs Insights can query it, and
 * no CloudWatch metric is added (metadata is not extracted as a metric, so it
 * costs nothing more than the log line).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */

/** EMF metadata key of the split (bench/end-to-end.ts reads it back). */
export const PHASES_METADATA = 'branchPhases';

export interface BranchPhases {
  /** Signing the source URL (local work, no request). */
  signMs: number;
  /** The kind's run() wall time: its tools plus its own work between them. */
  runMs: number;
  /** Tool processes run by run() and their summed wall time (spawn → exit). */
  toolRuns: number;
  toolMs: number;
  /** Artifact uploads: count, bytes, wall time of all of them. */
  uploads: number;
  uploadBytes: number;
  uploadMs: number;
  /** Writing the SUCCEEDED record. */
  recordMs: number;
  /** The early multivariant playlist, the VideoPlayable claim and publish (variant kinds). */
  playlistMs: number;
  /** Branch start → end of the invocation's work (what the handler spent). */
  totalMs: number;
}

export const emptyPhases = (): BranchPhases => ({
  signMs: 0,
  runMs: 0,
  toolRuns: 0,
  toolMs: 0,
  uploads: 0,
  uploadBytes: 0,
  uploadMs: 0,
  recordMs: 0,
  playlistMs: 0,
  totalMs: 0,
});

type TimedPhase = 'signMs' | 'runMs' | 'uploadMs' | 'recordMs' | 'playlistMs';

/** Times `fn` into `phase` (added, so a phase may be entered twice). */
export const timed = async <T>(
  phases: BranchPhases,
  phase: TimedPhase,
  fn: () => Promise<T>,
  clock: () => number = performance.now.bind(performance)
): Promise<T> => {
  const t = clock();
  try {
    return await fn();
  } finally {
    phases[phase] += clock() - t;
  }
};

/** Whole milliseconds, for the published record. */
export const roundedPhases = (phases: BranchPhases): BranchPhases =>
  Object.fromEntries(
    Object.entries(phases).map(([k, v]) => [k, Math.round(v)])
  ) as unknown as BranchPhases;

/**
 * Pure: reads the split back from one EMF record as it was printed (the
 * metadata is a JSON string), or undefined when the record has none or it is
 * not of this shape.
 */
export const phasesOf = (
  record: Record<string, unknown>
): { videoId: string; branchId: string; phases: BranchPhases } | undefined => {
  const { videoId, branchId } = record;
  const raw = record[PHASES_METADATA];
  if (typeof videoId !== 'string' || typeof branchId !== 'string' || typeof raw !== 'string') {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const phases = emptyPhases();
  for (const key of Object.keys(phases) as (keyof BranchPhases)[]) {
    const v = (parsed as Record<string, unknown>)[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
    phases[key] = v;
  }
  return { videoId, branchId, phases };
};
