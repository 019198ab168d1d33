import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod/mini';
import {
  type AggregateInput,
  type AggregateOutput,
  type Branch,
  type BranchRef,
  type BranchResult,
  BranchResultSchema,
  type BranchRole,
  branchRecordKey,
  branchRole,
  type CostProfile,
  type FanOutCounts,
  type FanOutPolicy,
  fallbackOf,
  MANIFEST_SCHEMA_VERSION,
  type Manifest,
  type ManifestBranch,
  ManifestBranchSchema,
  ManifestSchema,
  METRIC_DIMENSIONS,
  METRIC_NAMES,
  manifestKey,
  PROCESSED_EVENT_ATTRIBUTES,
  PROCESSED_EVENT_TYPES,
  type RedriveRequest,
  redriveExecutionName,
  SourceChangedError,
  type VideoProcessedEvent,
  type VideoStatus,
} from '../../contract/index.js';
import { mapLimit } from '../../shared/concurrency.js';
import { logger, metrics } from '../shared/powertools.js';
import { getJsonIfExists, putJson } from '../shared/s3.js';
import { publishEvent } from '../shared/sns.js';
import { emitTenantMetric, metricTenant } from '../shared/tenant-metrics.js';
import { estimateCost, videoUsage } from './cost.js';

/** Parallel S3 reads of branch records; enough to be fast, few enough not to trip SlowDown. */
export const READ_CONCURRENCY = 16;
const REASON_LIMIT = 1000;
const SOURCE_CHANGED = new SourceChangedError('').name;

const truncate = (s: string, max: number): string =>
  s.length > max ? `${s.slice(0, max - 1)}…` : s;

/**
 * Turns a Catch payload into "<Error>: <message>". Lambda errors arrive with a
 * JSON Cause (`{"errorType","errorMessage","trace"}`); Step Functions' own
 * errors (States.Timeout, Sandbox.Timedout) may carry plain text or nothing.
 */
export const failureReason = (failure: { Error: string; Cause?: string }): string => {
  let message = failure.Cause?.trim() ?? '';
  if (message.startsWith('{')) {
    try {
      const cause = JSON.parse(message) as { errorMessage?: unknown };
      if (typeof cause.errorMessage === 'string') message = cause.errorMessage;
    } catch {
      // Not JSON after all: keep the text as it is.
    }
  }
  return truncate(message ? `${failure.Error}: ${message}` : failure.Error, REASON_LIMIT);
};

/** What the aggregator found in S3 for one branch id. */
export type RecordLookup = BranchResult | 'missing' | 'unreadable';

/** The policy when the state carries none (executions of an older definition): the pre-policy behaviour. */
export const LEGACY_POLICY: FanOutPolicy = {
  mode: 'parallel',
  await: 'all',
  kinds: {},
  maxInFlight: 10,
};

export const TIMED_OUT_MESSAGE = 'ran past its policy timeout; a late result is ignored';

/**
 * One attempt (a planned branch or a fallback) as the manifest reports it.
 * The worker's record is the source of truth when present (it is written last,
 * after the artifacts), except after a timeout: the state's `States.Timeout`
 * is final, so a late run that records SUCCEEDED cannot resurrect the branch
 * (its fallback stands in for it, under its own id and keys).
 */
const attemptEntry = (
  id: string,
  kind: string,
  role: BranchRole,
  fallbackFor: string | null,
  ref: BranchRef | undefined,
  found: RecordLookup
): ManifestBranch => {
  const base = { id, kind, role, fallbackFor };
  if (ref?.error === 'States.Timeout') {
    return {
      ...base,
      status: 'TIMED_OUT',
      artifacts: [],
      error: { name: 'States.Timeout', message: TIMED_OUT_MESSAGE },
      durationMs: null,
      finishedAt: null,
    };
  }
  if (typeof found === 'object' && found.id === id) return { ...found, ...base };
  if (ref?.status === 'SENT') {
    // Dispatched asynchronously and not awaited: no record yet is the normal case. The worker
    // writes it later, under the branch's own key, and the manifest is not rewritten for it.
    return {
      ...base,
      status: 'SENT',
      artifacts: [],
      error: null,
      durationMs: null,
      finishedAt: null,
    };
  }
  const errorName =
    ref?.status === 'FAILED' ? (ref.error ?? 'BranchFailed') : 'BranchResultMissing';
  const message =
    found === 'unreadable'
      ? 'branch record is unreadable'
      : 'no branch record: the worker timed out or crashed before recording a result';
  return {
    ...base,
    status: 'FAILED',
    artifacts: [],
    error: { name: errorName, message },
    durationMs: null,
    finishedAt: null,
  };
};

/** One planned branch with the fallbacks that ran for it, and whether the chain delivered. */
export interface SettledChain {
  readonly branch: Branch;
  readonly role: BranchRole;
  readonly entries: ManifestBranch[];
  readonly succeeded: boolean;
}

export const roleOf = (branch: Branch, policy: FanOutPolicy): BranchRole =>
  branchRole(branch, policy);

/** Every branch id whose record the aggregator must read: planned ones and the fallbacks that ran. */
export const recordIds = (branches: Branch[], refs: BranchRef[]): string[] => {
  const ids = branches.map((b) => b.id);
  for (let ref of refs) {
    while (ref.fallback) {
      ids.push(ref.fallback.id);
      ref = ref.fallback;
    }
  }
  return ids;
};

/**
 * Pure: the manifest's account of each planned branch, in plan order, each
 * followed by its fallback chain. Fire-and-forget branches are SENT whatever
 * they did (their error, if any, is still reported). A branch the sequence
 * never ran (its ref says SKIPPED) is SKIPPED with the reason.
 */
export const settleBranches = (
  branches: Branch[],
  refs: ReadonlyMap<string, BranchRef>,
  records: ReadonlyMap<string, RecordLookup>,
  policy: FanOutPolicy
): SettledChain[] =>
  branches.map((branch) => {
    const role = roleOf(branch, policy);
    const ref = refs.get(branch.id);
    const entries: ManifestBranch[] = [];
    if (ref?.status === 'SKIPPED') {
      entries.push({
        id: branch.id,
        kind: branch.kind,
        role,
        fallbackFor: null,
        status: 'SKIPPED',
        artifacts: [],
        error: { name: 'Skipped', message: ref.error ?? 'the sequence stopped before this branch' },
        durationMs: null,
        finishedAt: null,
      });
      return { branch, role, entries, succeeded: false };
    }
    const first = attemptEntry(
      branch.id,
      branch.kind,
      role,
      null,
      ref,
      records.get(branch.id) ?? 'missing'
    );
    // From the plan, not the record: a segmented rendition that failed or timed out still says how it was cut.
    const cut = (branch as { segmentation?: { count: number; lengthSec: number } }).segmentation;
    entries.push(
      cut ? { ...first, segmentation: { count: cut.count, lengthSec: cut.lengthSec } } : first
    );
    let origin = branch;
    let at = ref;
    while (at?.fallback) {
      const kind = fallbackOf(policy, origin.kind) ?? 'unknown';
      const fb = at.fallback;
      entries.push(attemptEntry(fb.id, kind, role, origin.id, fb, records.get(fb.id) ?? 'missing'));
      origin = { id: fb.id, kind };
      at = fb;
    }
    const succeeded = entries.some((e) => e.status === 'SUCCEEDED');
    if (role === 'fire-and-forget') {
      for (const e of entries) if (e.status !== 'SKIPPED') e.status = 'SENT';
    }
    return { branch, role, entries, succeeded };
  });

const describeFailure = (chain: SettledChain): string => {
  const last = chain.entries[chain.entries.length - 1];
  const via = chain.entries.length > 1 ? ` and its fallback ${last?.id}` : '';
  const error = last?.error ?? { name: last?.status ?? 'Error', message: '' };
  return `${chain.branch.id}${via} (${error.name}: ${error.message})`;
};

/**
 * Pure: the video's status under the policy's `await`.
 * - all: any awaited chain that did not deliver makes PARTIAL; none delivered: FAILED.
 * - primary: the primary chain decides (COMPLETE, or PARTIAL when a secondary
 *   did not deliver); a primary that did not deliver: FAILED.
 * - none: COMPLETE once dispatched; outcomes are reported, not judged.
 * Fire-and-forget chains never decide.
 */
export const decideStatus = (
  chains: SettledChain[],
  policy: FanOutPolicy = LEGACY_POLICY
): { status: VideoStatus; reason: string | null } => {
  if (chains.length === 0) return { status: 'FAILED', reason: 'no branches were planned' };
  if (policy.await === 'none') return { status: 'COMPLETE', reason: null };
  const awaited = chains.filter((c) => c.role !== 'fire-and-forget');
  const failed = awaited.filter((c) => !c.succeeded);
  const list = failed.map(describeFailure).join('; ');
  const summary = `${failed.length} of ${awaited.length} branches failed: ${list}`;
  if (policy.await === 'primary') {
    const primary = awaited.filter((c) => c.role === 'primary');
    const primaryFailed = primary.filter((c) => !c.succeeded);
    if (primary.length === 0) {
      return { status: 'FAILED', reason: 'no primary branch was planned' };
    }
    if (primaryFailed.length > 0) {
      return {
        status: 'FAILED',
        reason: truncate(
          `primary failed: ${primaryFailed.map(describeFailure).join('; ')}; ${summary}`,
          REASON_LIMIT
        ),
      };
    }
    if (failed.length === 0) return { status: 'COMPLETE', reason: null };
    return { status: 'PARTIAL', reason: truncate(summary, REASON_LIMIT) };
  }
  if (failed.length === 0) return { status: 'COMPLETE', reason: null };
  return {
    status: failed.length === awaited.length ? 'FAILED' : 'PARTIAL',
    reason: truncate(summary, REASON_LIMIT),
  };
};

/**
 * Pure: a branch that found the source changed under it (SourceChangedError:
 * its pinned read met other bytes, or none) makes the whole video FAILED,
 * whatever the policy says of that branch: the other branches' outputs may
 * describe either object, so none of them is this upload's.
 */
export const sourceChange = (
  chains: SettledChain[]
): { status: VideoStatus; reason: string } | undefined => {
  for (const chain of chains) {
    const hit = chain.entries.find((e) => e.error?.name === SOURCE_CHANGED);
    if (hit) {
      return {
        status: 'FAILED',
        reason: truncate(`${SOURCE_CHANGED}: ${hit.error?.message ?? ''}`, REASON_LIMIT),
      };
    }
  }
  return undefined;
};

/** Pure: the manifest's `fanOut` counts over every attempt (fallbacks included). */
export const fanOutCounts = (entries: ManifestBranch[]): FanOutCounts => ({
  sent: entries.filter((e) => e.status !== 'SKIPPED').length,
  succeeded: entries.filter((e) => e.status === 'SUCCEEDED').length,
  failed: entries.filter((e) => e.status === 'FAILED').length,
  timedOut: entries.filter((e) => e.status === 'TIMED_OUT').length,
  fellBack: entries.filter((e) => e.fallbackFor !== null).length,
  skipped: entries.filter((e) => e.status === 'SKIPPED').length,
});

/**
 * Pure: a manifest's branch entries back into chains (a planned entry, then
 * the fallbacks that ran for it), as a redrive keeps them. A fire-and-forget
 * entry was rewritten SENT, so it counts as delivered when it has no error.
 */
export const chainsFromManifest = (entries: ManifestBranch[]): SettledChain[] => {
  const chains: SettledChain[] = [];
  for (const entry of entries) {
    const last = chains[chains.length - 1];
    if (entry.fallbackFor !== null && last) {
      last.entries.push(entry);
      continue;
    }
    const branch: Branch = {
      id: entry.id,
      kind: entry.kind,
      ...(entry.role === 'secondary' ? { role: 'secondary' as const } : {}),
    };
    chains.push({ branch, role: entry.role, entries: [entry], succeeded: false });
  }
  return chains.map((c) => ({
    ...c,
    succeeded: c.entries.some(
      (e) => e.status === 'SUCCEEDED' || (e.status === 'SENT' && e.error === null)
    ),
  }));
};

/**
 * Pure: a redrive's chains. The previous manifest's chains keep their order
 * and entries; each redriven one is replaced by its new run.
 */
export const mergeRedriven = (
  previous: SettledChain[],
  redriven: SettledChain[]
): SettledChain[] => {
  const byId = new Map(redriven.map((c) => [c.branch.id, c]));
  const merged = previous.map((c) => byId.get(c.branch.id) ?? c);
  for (const c of redriven) if (!previous.some((p) => p.branch.id === c.branch.id)) merged.push(c);
  return merged;
};

/** Only the part of a previous manifest a redrive keeps: any schema version with `branches`. */
const PreviousManifestSchema = z.object({ branches: z.array(ManifestBranchSchema) });

/** The previous manifest's chains, for a redrive that names branches; undefined otherwise. */
const previousChains = async (
  bucket: string,
  videoId: string,
  redrive: RedriveRequest | undefined
): Promise<SettledChain[] | undefined> => {
  if (!redrive || redrive.branches === null) return undefined;
  const raw = await getJsonIfExists<unknown>(bucket, manifestKey(videoId));
  const parsed = PreviousManifestSchema.safeParse(raw);
  if (!parsed.success) {
    logger.warn(
      'Redrive without a readable previous manifest: only the redriven branches are listed',
      {
        redrive,
      }
    );
    return undefined;
  }
  return chainsFromManifest(parsed.data.branches);
};

const readRecord = async (bucket: string, videoId: string, id: string): Promise<RecordLookup> => {
  const raw = await getJsonIfExists<unknown>(bucket, branchRecordKey(videoId, id));
  if (raw === undefined) return 'missing';
  const parsed = BranchResultSchema.safeParse(raw);
  return parsed.success ? parsed.data : 'unreadable';
};

const stopwatch = (): (() => number) => {
  const started = performance.now();
  return () => performance.now() - started;
};

export interface AggregateOptions {
  outputBucket: string;
  topicArn: string;
  /** Memory and architecture of each function, from the stack; undefined: compute is not priced. */
  costProfile?: CostProfile;
  now?: () => Date;
  /** Milliseconds since the task started, for the aggregator's own share of the cost. */
  elapsedMs?: () => number;
}

/** Fan-in: one manifest and one event per video, whatever path reached here. */
export const aggregate = async (
  input: AggregateInput,
  {
    outputBucket,
    topicArn,
    costProfile,
    now = () => new Date(),
    elapsedMs = stopwatch(),
  }: AggregateOptions
): Promise<AggregateOutput> => {
  const { videoId, tenant, source } = input;
  let recordsRead = 0;
  const policy = input.policy ?? LEGACY_POLICY;
  let chains: SettledChain[] = [];
  let status: VideoStatus;
  let reason: string | null;

  const previous = await previousChains(outputBucket, videoId, input.redrive);
  if (input.failure) {
    status = 'FAILED';
    reason = failureReason(input.failure);
    // A redrive that failed before its fan-out still lists what the video has.
    chains = previous ?? [];
  } else if (!input.plan) {
    status = 'FAILED';
    reason = 'no plan: the workflow reached the aggregator without planning';
  } else {
    const refList = input.results ?? [];
    const ids = recordIds(input.plan.branches, refList);
    recordsRead = ids.length;
    const found = await mapLimit(ids, READ_CONCURRENCY, (id) =>
      readRecord(outputBucket, videoId, id)
    );
    const records = new Map(ids.map((id, i) => [id, found[i] ?? 'missing']));
    const refs = new Map(refList.map((r) => [r.id, r]));
    chains = settleBranches(input.plan.branches, refs, records, policy);
    if (previous) chains = mergeRedriven(previous, chains);
    ({ status, reason } = decideStatus(chains, policy));
    const changed = sourceChange(chains);
    if (changed) ({ status, reason } = changed);
  }

  const branches = chains.flatMap((c) => c.entries);
  const succeeded = chains.filter((c) => c.succeeded).length;
  // The aggregator's own share stops here: the manifest PUT and the publish are not in it.
  const cost = estimateCost(
    videoUsage({
      probeDurationMs: input.probe?.taskDurationMs ?? null,
      // Plan ran when the probe succeeded (it then either planned or failed).
      planDurationMs: input.plan
        ? (input.plan.taskDurationMs ?? null)
        : input.probe
          ? null
          : undefined,
      fannedOut: input.plan !== undefined,
      // The video stack's graph (MapFanOutFanIn preFanOut) has the SegmentsNeeded Choice.
      segmentsChoice: true,
      segments: input.plan?.segments?.count ?? 0,
      chains,
      playable: chains.some((c) => c.role === 'primary' && c.succeeded),
      recordsRead,
      aggregateDurationMs: elapsedMs(),
    }),
    costProfile
  );
  const manifest = ManifestSchema.parse({
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    videoId,
    tenant,
    source,
    status,
    reason,
    warnings: input.plan?.warnings ?? [],
    probe: input.probe ?? null,
    policy: input.plan ? { mode: policy.mode, await: policy.await } : null,
    branches,
    counts: { total: chains.length, succeeded, failed: chains.length - succeeded },
    fanOut: fanOutCounts(branches),
    estimatedCostUsd: cost.estimatedCostUsd,
    costBreakdown: cost.costBreakdown,
    createdAt: now().toISOString(),
    redrive: input.redrive
      ? {
          ...input.redrive,
          executionName: redriveExecutionName(videoId, input.redrive.attempt),
        }
      : null,
    // The aggregator's verdict is the workflow's own: no ending to record.
    ending: null,
    execution: null,
  } satisfies Manifest);

  const key = manifestKey(videoId);
  // Manifest before event: a subscriber reacting to the event must find it.
  await putJson(outputBucket, key, manifest);

  const event: VideoProcessedEvent = {
    videoId,
    status,
    reason,
    source,
    manifest: { bucket: outputBucket, key },
  };
  // A retried aggregator publishes again with the same videoId; subscribers dedupe on it.
  await publishEvent(
    topicArn,
    event,
    {
      [PROCESSED_EVENT_ATTRIBUTES.status]: status,
      [PROCESSED_EVENT_ATTRIBUTES.type]: PROCESSED_EVENT_TYPES.processed,
    },
    `Publish ${videoId}`,
    tenant
  );

  const metricName =
    status === 'COMPLETE'
      ? METRIC_NAMES.videosCompleted
      : status === 'PARTIAL'
        ? METRIC_NAMES.videosPartial
        : METRIC_NAMES.videosFailed;
  // Once overall (the CLI's verdict totals, the alarms) and once per tenant (the dashboard).
  metrics.addMetric(metricName, MetricUnit.Count, 1);
  emitTenantMetric(metricName, MetricUnit.Count, 1, tenant);
  emitFanOutMetrics(branches, tenant);
  const latencyMs = uploadToManifestMs(input.uploadedAt, manifest.createdAt);
  if (latencyMs !== undefined) {
    emitTenantMetric(METRIC_NAMES.uploadToManifest, MetricUnit.Milliseconds, latencyMs, tenant);
  } else {
    logger.warn('Upload → manifest latency not measured: no usable upload time', {
      uploadedAt: input.uploadedAt ?? null,
    });
  }
  logger.info('Video aggregated', { status, reason, counts: manifest.counts, manifestKey: key });
  return { videoId, status, reason, manifestKey: key };
};

/**
 * Milliseconds from the upload's S3 event time to the manifest write, or
 * undefined when the upload time is absent (an execution started by hand) or
 * unreadable; a clock skew that would make it negative counts as 0.
 */
export const uploadToManifestMs = (
  uploadedAt: string | undefined,
  manifestWrittenAt: string
): number | undefined => {
  const start = uploadedAt ? Date.parse(uploadedAt) : Number.NaN;
  const end = Date.parse(manifestWrittenAt);
  if (!Number.isFinite(start) || !Number.isFinite(end)) return undefined;
  return Math.max(0, end - start);
};

/**
 * The fanOut counts per branch kind and tenant as EMF metrics (`FanOut<Count>`
 * with the dimensions `kind` and `tenant`): one metric set per kind, flushed here, since Powertools
 * keeps one dimension set per flush. Zeros are emitted too, so a dashboard's
 * ratio never divides by a missing point.
 */
export const emitFanOutMetrics = (entries: ManifestBranch[], tenant: string): void => {
  const kinds = [...new Set(entries.map((e) => e.kind))];
  for (const kind of kinds) {
    const counts = fanOutCounts(entries.filter((e) => e.kind === kind));
    const single = metrics.singleMetric();
    // Default dimensions, not addDimension: a single metric publishes (and clears its
    // dimensions) at each addMetric, so only the first count would carry the kind.
    single.setDefaultDimensions({
      [METRIC_DIMENSIONS.kind]: kind,
      [METRIC_DIMENSIONS.tenant]: metricTenant(tenant),
    });
    for (const [name, value] of Object.entries(counts)) {
      single.addMetric(`FanOut${name[0]?.toUpperCase()}${name.slice(1)}`, MetricUnit.Count, value);
    }
  }
};
