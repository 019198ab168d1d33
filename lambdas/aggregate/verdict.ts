import {
  type AggregateInput,
  type Branch,
  type BranchRef,
  type BranchResult,
  type BranchRole,
  branchRole,
  type FanOutCounts,
  type FanOutPolicy,
  fallbackOf,
  MANIFEST_SCHEMA_VERSION,
  type Manifest,
  type ManifestBranch,
  ManifestSchema,
  redriveExecutionName,
  SourceChangedError,
  type VideoStatus,
} from '../../contract/index.js';
import type { estimateCost } from './cost.js';

/**
 * The fan-in's verdict, pure: from what the state carried and the branch
 * results the aggregator read, each branch's account, the video's status and
 * reason, and the manifest. logic.ts does the reading, writing and publishing.
 */

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
export type ResultLookup = BranchResult | 'missing' | 'unreadable';

/** The policy when the state carries none (executions of an older definition): the pre-policy behaviour. */
export const LEGACY_POLICY: FanOutPolicy = {
  mode: 'parallel',
  await: 'all',
  kinds: {},
  maxInFlight: 10,
};

export const TIMED_OUT_MESSAGE = 'ran past its policy timeout; a late result is ignored';

/**
 * The result of one run (a planned branch or a fallback) as the manifest reports it.
 * The branch function's result is the source of truth when present (it is written last,
 * after the artifacts), except after a timeout: the state's `States.Timeout`
 * is final, so a late run that records SUCCEEDED cannot resurrect the branch
 * (its fallback stands in for it, under its own id and keys).
 */
const reportedResult = (
  id: string,
  kind: string,
  role: BranchRole,
  fallbackFor: string | null,
  ref: BranchRef | undefined,
  found: ResultLookup
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
      ? 'branch result is unreadable'
      : 'no branch result: the worker timed out or crashed before recording a result';
  return {
    ...base,
    status: 'FAILED',
    artifacts: [],
    error: { name: errorName, message },
    durationMs: null,
    finishedAt: null,
  };
};

/** One planned branch with the results of its run and of the fallbacks that ran for it, and whether one delivered. */
export interface SettledBranch {
  readonly branch: Branch;
  readonly role: BranchRole;
  readonly results: ManifestBranch[];
  readonly succeeded: boolean;
}

export const roleOf = (branch: Branch, policy: FanOutPolicy): BranchRole =>
  branchRole(branch, policy);

/** Every branch id whose result the aggregator must read: planned ones and the fallbacks that ran. */
export const resultIds = (branches: Branch[], refs: BranchRef[]): string[] => {
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
  found: ReadonlyMap<string, ResultLookup>,
  policy: FanOutPolicy
): SettledBranch[] =>
  branches.map((branch) => {
    const role = roleOf(branch, policy);
    const ref = refs.get(branch.id);
    const results: ManifestBranch[] = [];
    if (ref?.status === 'SKIPPED') {
      results.push({
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
      return { branch, role, results, succeeded: false };
    }
    const first = reportedResult(
      branch.id,
      branch.kind,
      role,
      null,
      ref,
      found.get(branch.id) ?? 'missing'
    );
    // From the plan, not the record: a segmented rendition that failed or timed out still says how it was cut.
    const cut = (branch as { segmentation?: { count: number; lengthSec: number } }).segmentation;
    results.push(
      cut ? { ...first, segmentation: { count: cut.count, lengthSec: cut.lengthSec } } : first
    );
    let origin = branch;
    let at = ref;
    while (at?.fallback) {
      const kind = fallbackOf(policy, origin.kind) ?? 'unknown';
      const fb = at.fallback;
      results.push(reportedResult(fb.id, kind, role, origin.id, fb, found.get(fb.id) ?? 'missing'));
      origin = { id: fb.id, kind };
      at = fb;
    }
    const succeeded = results.some((e) => e.status === 'SUCCEEDED');
    if (role === 'fire-and-forget') {
      for (const e of results) if (e.status !== 'SKIPPED') e.status = 'SENT';
    }
    return { branch, role, results, succeeded };
  });

const describeFailure = (chain: SettledBranch): string => {
  const last = chain.results[chain.results.length - 1];
  const via = chain.results.length > 1 ? ` and its fallback ${last?.id}` : '';
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
  chains: SettledBranch[],
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
  chains: SettledBranch[]
): { status: VideoStatus; reason: string } | undefined => {
  for (const chain of chains) {
    const hit = chain.results.find((e) => e.error?.name === SOURCE_CHANGED);
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
export const fanOutCounts = (results: ManifestBranch[]): FanOutCounts => ({
  sent: results.filter((e) => e.status !== 'SKIPPED').length,
  succeeded: results.filter((e) => e.status === 'SUCCEEDED').length,
  failed: results.filter((e) => e.status === 'FAILED').length,
  timedOut: results.filter((e) => e.status === 'TIMED_OUT').length,
  fellBack: results.filter((e) => e.fallbackFor !== null).length,
  skipped: results.filter((e) => e.status === 'SKIPPED').length,
});

/**
 * Pure: a manifest's branch results back into settled branches (a planned branch's result, then
 * the fallbacks that ran for it), as a redrive keeps them. A fire-and-forget
 * result was rewritten SENT, so it counts as delivered when it has no error.
 */
export const settledFromManifest = (results: ManifestBranch[]): SettledBranch[] => {
  const chains: SettledBranch[] = [];
  for (const result of results) {
    const last = chains[chains.length - 1];
    if (result.fallbackFor !== null && last) {
      last.results.push(result);
      continue;
    }
    const branch: Branch = {
      id: result.id,
      kind: result.kind,
      ...(result.role === 'secondary' ? { role: 'secondary' as const } : {}),
    };
    chains.push({ branch, role: result.role, results: [result], succeeded: false });
  }
  return chains.map((c) => ({
    ...c,
    succeeded: c.results.some(
      (e) => e.status === 'SUCCEEDED' || (e.status === 'SENT' && e.error === null)
    ),
  }));
};

/**
 * Pure: a redrive's chains. The previous manifest's chains keep their order
 * and results; each redriven one is replaced by its new run.
 */
export const mergeRedriven = (
  previous: SettledBranch[],
  redriven: SettledBranch[]
): SettledBranch[] => {
  const byId = new Map(redriven.map((c) => [c.branch.id, c]));
  const merged = previous.map((c) => byId.get(c.branch.id) ?? c);
  for (const c of redriven) if (!previous.some((p) => p.branch.id === c.branch.id)) merged.push(c);
  return merged;
};

/** The verdict on one video: its settled chains, status and reason. */
export interface Verdict {
  readonly chains: SettledBranch[];
  readonly status: VideoStatus;
  readonly reason: string | null;
}

/**
 * Pure: the results the aggregator must read for this state; none when the
 * fan-out never ran (a caught failure, or no plan).
 */
export const resultIdsToRead = (input: AggregateInput): string[] =>
  input.failure || !input.plan ? [] : resultIds(input.plan.branches, branchRefs(input));

/**
 * Pure: one ref per planned branch. In the Wave shape the FanOut reports a
 * segmented rendition SKIPPED (deferred) and the Joins map, which passes over
 * every other branch, has its real ref; the plan says which branch is which.
 * A Joins map that never ran leaves the FanOut's ref (its failure is `$.failure`).
 */
export const branchRefs = (input: AggregateInput): BranchRef[] => {
  if (!input.wave) return input.results ?? [];
  const deferred = new Set(
    (input.plan?.branches ?? [])
      .filter((b) => 'segmentation' in b && b.segmentation !== undefined)
      .map((b) => b.id)
  );
  const joined = new Map(
    (input.wave.joins ?? []).filter((r) => deferred.has(r.id)).map((r) => [r.id, r])
  );
  return input.wave.fanOut.map((r) => joined.get(r.id) ?? r);
};

/**
 * Pure: the verdict from the state, the results read (by id; one not read is
 * missing) and, for a redrive that names branches, the previous manifest's chains.
 */
export const judge = (
  input: AggregateInput,
  found: ReadonlyMap<string, ResultLookup>,
  previous: SettledBranch[] | undefined
): Verdict => {
  if (input.failure) {
    // A redrive that failed before its fan-out still lists what the video has.
    return { chains: previous ?? [], status: 'FAILED', reason: failureReason(input.failure) };
  }
  if (!input.plan) {
    return {
      chains: [],
      status: 'FAILED',
      reason: 'no plan: the workflow reached the aggregator without planning',
    };
  }
  const policy = input.policy ?? LEGACY_POLICY;
  const refs = new Map(branchRefs(input).map((r) => [r.id, r]));
  let chains = settleBranches(input.plan.branches, refs, found, policy);
  if (previous) chains = mergeRedriven(previous, chains);
  return { chains, ...(sourceChange(chains) ?? decideStatus(chains, policy)) };
};

/** Pure: the manifest for a verdict, with its cost and the time it is written. */
export const manifestOf = (
  input: AggregateInput,
  verdict: Verdict,
  cost: ReturnType<typeof estimateCost>,
  createdAt: Date,
  hls: Manifest['hls'] = null
): Manifest => {
  const { videoId, tenant, source } = input;
  const policy = input.policy ?? LEGACY_POLICY;
  const { chains, status, reason } = verdict;
  const branches = chains.flatMap((c) => c.results);
  const succeeded = chains.filter((c) => c.succeeded).length;
  return ManifestSchema.parse({
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
    hls,
    createdAt: createdAt.toISOString(),
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
};
