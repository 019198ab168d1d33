/**
 * The JSONPaths the state machine reads and writes. The construct and the
 * stack build the ASL from these; the schemas in schemas.ts use the same
 * field names (a test checks the two agree on the synthesized definition).
 */
export const STATE_PATHS = {
  /** Prepare step results. */
  probe: '$.probe',
  plan: '$.plan',
  /** The segment items file (SegmentItemsRef); absent when no rendition is segmented. */
  segments: '$.plan.segments',
  /** The array the Map fans out over. */
  branches: '$.plan.branches',
  /** The fan-out policy (contract/policy.ts), written by the first state. */
  policy: '$.policy',
  /** Where the Map puts the BranchRefs. */
  results: '$.results',
  /** The Wave's output (parallel mode with segments): the FanOut's refs and, under it, the Joins map's. */
  wave: '$.wave',
  joins: '$.wave.joins',
  /** Inside one iteration: present on a segmented rendition, whose join the Joins map runs. */
  deferred: '$.branch.segmentation',
  /** Where a Catch puts `{Error, Cause}` before the aggregator. */
  failure: '$.failure',
  /** Where the Aggregate state's Catch puts the aggregator's own `{Error, Cause}`. */
  aggregateFailure: '$.aggregateFailure',
  /** Inside one iteration (BranchInput). */
  branchId: '$.branch.id',
  branchKind: '$.branch.kind',
  /** The aggregator's output (AggregateOutput). */
  status: '$.status',
  reason: '$.reason',
} as const;

/** The Map's ItemSelector: builds a BranchInput from the state and the current item. */
export const BRANCH_ITEM_SELECTOR = {
  'videoId.$': '$.videoId',
  'tenant.$': '$.tenant',
  'source.$': '$.source',
  'probe.$': STATE_PATHS.probe,
  'branch.$': '$$.Map.Item.Value',
} as const;

/** `rendition` → `Rendition`, `audio-track` → `AudioTrack`: kinds in state names and construct ids. */
export const pascalCase = (kind: string): string =>
  kind.replace(/(^|-)([a-z])/g, (_m, _sep, c: string) => c.toUpperCase());

/** State names that appear in execution history, alarms and the CLI's live view. */
export const STATE_NAMES = {
  probe: 'Probe',
  plan: 'Plan',
  fanOut: 'FanOut',
  routeBranch: 'RouteBranch',
  unknownBranchKind: 'UnknownBranchKind',
  branchFailed: 'BranchFailed',
  aggregate: 'Aggregate',
  /** The Pass that packs the aggregator's caught error into one cause. */
  aggregateFailure: 'AggregateFailure',
  /** The Fail state of an aggregator that failed past its retries (error AGGREGATE_FAILED_ERROR). */
  aggregateFailed: 'AggregateFailed',
  applyPolicy: 'ApplyPolicy',
  /** The Distributed Map that encodes the segments of long renditions before the FanOut. */
  segments: 'Segments',
  /**
   * The Parallel that runs the FanOut and the Segments map together (parallel mode
   * with deferred branches): thumbnails and metadata do not wait for the segments.
   */
  wave: 'Wave',
  /** The Pass that ends the Wave's Segments branch, whether the map ran, was skipped or failed. */
  segmentsDone: 'SegmentsDone',
  /** The inline Map after the Wave that runs the deferred branches (the joins of segmented renditions). */
  joins: 'Joins',
  /** The Pass by which the FanOut leaves a deferred branch to the Joins map. */
  deferred: 'Deferred',
  /** The Pass by which the Joins map passes over a branch the FanOut ran. */
  noJoin: 'NoJoin',
  /** Prefix of the Joins map's copies of the branch states (`JoinRunRendition`…): state names are unique per machine. */
  joinPrefix: 'Join',
  /** The Parallel that runs a fallback kind in place of its failed or timed-out origin. */
  fallback: (fallbackKind: string): string => `FallBackTo${pascalCase(fallbackKind)}`,
  /** The Pass that reports an origin together with its fallback's ref. */
  fellBack: (kind: string): string => `FellBack${pascalCase(kind)}`,
  fallbackFailed: (fallbackKind: string): string => `FallbackFailed${pascalCase(fallbackKind)}`,
  /** The task state that runs branches of one kind. */
  runBranch: (kind: string): string => `Run${pascalCase(kind)}`,
  /** The Pass that reports a fire-and-forget branch as SENT once its worker is invoked (Event). */
  sent: (kind: string): string => `Sent${pascalCase(kind)}`,
} as const;
