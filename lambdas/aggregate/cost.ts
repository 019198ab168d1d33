import type {
  Architecture,
  CostBreakdown,
  CostProfile,
  FunctionSizing,
  LambdaCost,
} from '../../contract/index.js';
import { attemptStates, SEGMENT_KIND, segmentStates } from '../../kinds/index.js';
import { PRICES, PRICES_AS_OF, PRICES_REGION, type Prices } from './prices.js';

/**
 * The cost model behind a manifest's `estimatedCostUsd`: pure, so the
 * aggregator, the CLI and the tests all compute the same figure from the same
 * inputs. Lambda compute is priced from measured durations (rounded up to the
 * millisecond, as Lambda bills) and the memory and architecture the stack
 * configured (passed to the aggregator as COST_PROFILE, never guessed);
 * transitions and requests are counted from what the video did. What is not
 * counted is listed in the README ("Cost per video").
 */

/** One Lambda invocation a video caused; `durationMs` null when nobody measured it. */
export interface Invocation {
  function: string;
  durationMs: number | null;
}

/** Everything a video used that has a price. */
export interface Usage {
  invocations: readonly Invocation[];
  stateTransitions: number;
  sqsRequests: number;
  snsPublishes: number;
  s3Puts: number;
  s3Gets: number;
}

/** Keeps the JSON readable without losing anything a per-video figure could show. */
const usd = (n: number): number => Number(n.toFixed(10));

const gbSecondPrice = (architecture: Architecture, prices: Prices): number =>
  architecture === 'arm64' ? prices.lambda.gbSecondArm : prices.lambda.gbSecondX86;

const sizingInProfile = (
  profile: CostProfile | undefined,
  fn: string
): FunctionSizing | undefined => {
  if (!profile) return undefined;
  if (fn === 'probe' || fn === 'plan' || fn === 'aggregate') return profile[fn];
  return Object.hasOwn(profile.kinds, fn) ? profile.kinds[fn] : undefined;
};

/**
 * Pure: prices a video's usage. One Lambda line per function, in first-invocation
 * order. A function the profile does not know (or no profile) gets its requests
 * priced and its compute reported as null memory: visible, never guessed.
 */
export const estimateCost = (
  usage: Usage,
  profile: CostProfile | undefined,
  prices: Prices = PRICES
): { estimatedCostUsd: number; costBreakdown: CostBreakdown } => {
  const byFunction = new Map<string, Invocation[]>();
  for (const inv of usage.invocations) {
    byFunction.set(inv.function, [...(byFunction.get(inv.function) ?? []), inv]);
  }
  const lambda: LambdaCost[] = [...byFunction].map(([fn, invocations]) => {
    const sizing = sizingInProfile(profile, fn);
    const measured = invocations.filter((i) => i.durationMs !== null);
    // Lambda bills duration rounded up to the next millisecond.
    const billedMs = measured.reduce((sum, i) => sum + Math.ceil(i.durationMs ?? 0), 0);
    const gbSeconds = sizing ? (sizing.memoryMiB / 1024) * (billedMs / 1000) : 0;
    return {
      function: fn,
      memoryMiB: sizing?.memoryMiB ?? null,
      architecture: sizing?.architecture ?? null,
      invocations: invocations.length,
      unmeasured: invocations.length - measured.length,
      billedMs,
      gbSeconds: Number(gbSeconds.toFixed(6)),
      computeUsd: sizing ? usd(gbSeconds * gbSecondPrice(sizing.architecture, prices)) : 0,
    };
  });
  const line = (count: number, unit: number) => ({ count, usd: usd(count * unit) });
  const costBreakdown: CostBreakdown = {
    currency: 'USD',
    region: PRICES_REGION,
    pricesAsOf: PRICES_AS_OF,
    lambda,
    stateTransitions: line(usage.stateTransitions, prices.stepFunctions.stateTransition),
    requests: {
      lambda: line(usage.invocations.length, prices.lambda.request),
      sqs: line(usage.sqsRequests, prices.sqs.request),
      sns: line(usage.snsPublishes, prices.sns.publish),
      s3Put: line(usage.s3Puts, prices.s3.put),
      s3Get: line(usage.s3Gets, prices.s3.get),
    },
  };
  const requests = Object.values(costBreakdown.requests).reduce((sum, r) => sum + r.usd, 0);
  const compute = lambda.reduce((sum, l) => sum + l.computeUsd, 0);
  return {
    estimatedCostUsd: usd(compute + costBreakdown.stateTransitions.usd + requests),
    costBreakdown,
  };
};

/** One attempt of a branch, as the manifest reports it (the fields the usage count reads). */
export interface ResultUsage {
  kind: string;
  durationMs: number | null;
  finishedAt: string | null;
  artifacts: readonly unknown[];
  error: { name: string } | null;
}

/** What the aggregator knows about how far a video's workflow got. */
export interface VideoRun {
  /** The probe always runs; null when it failed or reported no duration. */
  probeDurationMs: number | null;
  /** Undefined when Plan never ran (the probe failed); null when it ran unmeasured. */
  planDurationMs?: number | null;
  /** True when the FanOut Map was entered (a plan exists). */
  fannedOut: boolean;
  /**
   * True when the graph has the video stack's `SegmentsNeeded` Choice before the
   * FanOut (MapFanOutFanIn `preFanOut`), entered by every planned video.
   */
  segmentsChoice?: boolean;
  /**
   * True when the FanOut and the Segments map run as one `Wave` (parallel mode of the
   * video stack, MapFanOutFanIn `preFanOut.deferredPath`): + Wave and SegmentsDone; when
   * the FanOut delivered its refs, + Joins and two states per planned branch (JoinRouteBranch,
   * and Deferred in the FanOut for a segmented rendition or NoJoin in the Joins for the
   * others; a join's attempt states replace the FanOut's one for one).
   */
  wave?: boolean;
  /**
   * The items the `Segments` Distributed Map ran (the plan's `segments.count`),
   * each with the duration its record gives (null when it left none: not priced).
   * Each is one child execution with one Run state and one Lambda invocation.
   */
  segments?: readonly (number | null)[];
  /** Segment records the aggregator read to price them (the items file included). */
  segmentRecordsRead?: number;
  /** Planned branches with the fallbacks that ran; empty when the Map failed as a whole. */
  chains: ReadonlyArray<{ results: readonly ResultUsage[]; succeeded: boolean }>;
  /** Whether a rendition was delivered into the playlist, so a VideoPlayable event was published. */
  playable: boolean;
  /** Branch records the aggregator read. */
  resultsRead: number;
  aggregateDurationMs: number;
}

/** Consumers of the upload topic (the starter and the audit writer). */
const UPLOAD_CONSUMERS = 2;
/** A kind no worker handles: a Pass state, no Lambda. */
const UNKNOWN_KIND = 'UnknownBranchKind';

/**
 * Pure: counts what a video used. State transitions follow the shape
 * MapFanOutFanIn synthesizes: ApplyPolicy, Probe, Plan, FanOut, Aggregate,
 * Decide and Done/Failed; per planned branch RouteBranch and the states each
 * attempt passes through (kinds/states.ts: its Run state; a fallback's
 * Parallel, Run and FellBack), and one failure Pass when the chain did not
 * deliver; per segmented video the Segments map and one Run per segment. Retries are transitions too but leave no
 * trace here, so the count is a lower bound. Requests of the ingest path
 * (S3 → SNS → two SQS consumers) are counted at batch size 1, an upper bound.
 */
export const videoUsage = (run: VideoRun): Usage => {
  const invocations: Invocation[] = [{ function: 'probe', durationMs: run.probeDurationMs }];
  let transitions = 2; // ApplyPolicy, Probe
  if (run.planDurationMs !== undefined) {
    invocations.push({ function: 'plan', durationMs: run.planDurationMs });
    transitions += 1;
  }
  if (run.fannedOut) transitions += 1;
  let artifacts = 0;
  let records = 0;
  let branchRuns = 0;
  if (run.fannedOut && run.segmentsChoice) transitions += 1; // SegmentsNeeded
  if (run.fannedOut && run.wave) {
    transitions += 2; // Wave, SegmentsDone
    if (run.chains.length > 0) transitions += 1 + 2 * run.chains.length;
  }
  const segmentDurations = run.segments ?? [];
  const segments = segmentDurations.length;
  if (segments > 0) {
    transitions += segmentStates(SEGMENT_KIND, segments).length;
    for (const durationMs of segmentDurations)
      invocations.push({ function: SEGMENT_KIND, durationMs });
    branchRuns += segments; // each segment reads its part of the source
    artifacts += segments + 1; // the segment files and the items file
    records += segments;
  }
  for (const chain of run.chains) {
    transitions += 1; // RouteBranch
    chain.results.forEach((attempt, i) => {
      if (attempt.error?.name === UNKNOWN_KIND) {
        transitions += 1;
        return;
      }
      invocations.push({ function: attempt.kind, durationMs: attempt.durationMs });
      branchRuns += 1;
      transitions += attemptStates(attempt.kind, chain.results[i - 1]?.kind).length;
      artifacts += attempt.artifacts.length;
      if (attempt.finishedAt !== null) records += 1;
    });
    const ranAWorker = chain.results.some((e) => e.error?.name !== UNKNOWN_KIND);
    if (!chain.succeeded && ranAWorker) transitions += 1; // chainFailedState: one Pass
  }
  invocations.push({ function: 'aggregate', durationMs: run.aggregateDurationMs });
  transitions += 3; // Aggregate, Decide, Done or Failed
  return {
    invocations,
    stateTransitions: transitions,
    // Per consumer: SNS's SendMessage, the poller's ReceiveMessage and DeleteMessage.
    sqsRequests: UPLOAD_CONSUMERS * 3,
    // VideoUploaded (S3's), VideoProcessed, and VideoPlayable when a rendition was delivered.
    snsPublishes: 2 + (run.playable ? 1 : 0),
    // The upload, artifacts, branch results, manifest, audit record, current pointer.
    s3Puts: 1 + artifacts + records + 3,
    // Probe and every worker read the source (one GET each; range reads add more),
    // the aggregator reads records, the audit writer HEADs, the starter reads the pointer.
    s3Gets: 1 + branchRuns + run.resultsRead + (run.segmentRecordsRead ?? 0) + 2,
  };
};
