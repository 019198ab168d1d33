import * as z from 'zod/mini';

/**
 * The fan-out policy: how the branches of one video are run and which of them
 * decide its status. The semantics follow the OpenTelemetry Arrow fanout
 * processor (otel-arrow PR #1878): `mode`, `await`, per-kind `role`,
 * `timeoutSeconds` and `fallbackFor`, and a bound on in-flight branches.
 * See docs/policies.md.
 *
 * The construct validates it at synth ({@link policyProblems}), writes it into
 * the execution state (`$.policy`) and builds the state machine from it; the
 * aggregator reads it from the state to decide the video's status. One object,
 * so the two cannot disagree.
 */
export const BRANCH_ROLES = ['primary', 'secondary', 'fire-and-forget'] as const;
export const BranchRoleSchema = z.enum(BRANCH_ROLES);
export type BranchRole = z.infer<typeof BranchRoleSchema>;

export const FAN_OUT_MODES = ['parallel', 'sequential'] as const;
export const AWAIT_MODES = ['all', 'primary', 'none'] as const;

export const KindPolicySchema = z.object({
  /** @default 'secondary' */
  role: z.optional(BranchRoleSchema),
  /**
   * The task's TimeoutSeconds. A timeout is terminal for that branch: its late
   * result is ignored and its fallback (if any) runs.
   */
  timeoutSeconds: z.optional(z.int().check(z.positive())),
  /**
   * This kind is a fallback: it runs only when a branch of the named kind fails
   * or times out, and its outcome replaces the origin's.
   */
  fallbackFor: z.optional(z.string()),
});
export type KindPolicy = z.infer<typeof KindPolicySchema>;

export const FanOutPolicySchema = z.object({
  mode: z.enum(FAN_OUT_MODES),
  await: z.enum(AWAIT_MODES),
  /** Per branch kind. A kind not listed is a secondary with the default timeout. */
  kinds: z.record(z.string(), KindPolicySchema),
  /** Branches of one video running at once (the inline Map's MaxConcurrency; 1 in sequential mode). */
  maxInFlight: z.int().check(z.positive()),
});
export type FanOutPolicy = z.infer<typeof FanOutPolicySchema>;

/**
 * Every rule the policy breaks, each as one sentence naming the kinds involved.
 * Empty when the policy is valid. `kinds` are the kinds that have a worker.
 */
export const policyProblems = (policy: FanOutPolicy, kinds: readonly string[]): string[] => {
  const problems: string[] = [];
  const entries = Object.entries(policy.kinds);
  for (const [kind, p] of entries) {
    if (!kinds.includes(kind)) problems.push(`policy names kind "${kind}", which has no worker`);
    if (p.fallbackFor !== undefined && !kinds.includes(p.fallbackFor)) {
      problems.push(`"${kind}" is a fallback for "${p.fallbackFor}", which has no worker`);
    }
  }
  const primaries = entries.filter(([, p]) => p.role === 'primary').map(([k]) => k);
  if (primaries.length !== 1) {
    problems.push(
      `exactly one kind must have role "primary"; found ${primaries.length}` +
        (primaries.length > 0 ? ` (${primaries.join(', ')})` : '')
    );
  }
  for (const kind of primaries) {
    if (policy.kinds[kind]?.fallbackFor !== undefined) {
      problems.push(
        `the primary "${kind}" cannot be a fallback (fallbackFor "${policy.kinds[kind]?.fallbackFor}")`
      );
    }
  }
  const byOrigin = new Map<string, string[]>();
  for (const [kind, p] of entries) {
    if (p.fallbackFor === undefined) continue;
    byOrigin.set(p.fallbackFor, [...(byOrigin.get(p.fallbackFor) ?? []), kind]);
  }
  for (const [origin, fallbacks] of byOrigin) {
    if (fallbacks.length > 1) {
      problems.push(
        `"${origin}" has ${fallbacks.length} fallbacks (${fallbacks.join(', ')}); at most one is allowed`
      );
    }
  }
  const reported = new Set<string>();
  for (const [start] of entries) {
    const seen: string[] = [];
    let at: string | undefined = start;
    while (at !== undefined && !seen.includes(at)) {
      seen.push(at);
      at = policy.kinds[at]?.fallbackFor;
    }
    if (at !== undefined) {
      const cycle = seen.slice(seen.indexOf(at));
      const key = [...cycle].sort().join(',');
      if (!reported.has(key)) {
        reported.add(key);
        problems.push(`fallback cycle: ${[...cycle, at].join(' → ')}`);
      }
    }
  }
  // A fire-and-forget kind is invoked asynchronously (InvocationType Event): nothing waits for
  // it, so nothing can time it out or notice that it failed and run a fallback.
  for (const [kind, p] of entries) {
    if (policy.await === 'none' || p.role !== 'fire-and-forget') continue;
    if (p.timeoutSeconds !== undefined) {
      problems.push(
        `"${kind}" is fire-and-forget, which nothing waits for, so it cannot have a timeout`
      );
    }
    const fallbacks = byOrigin.get(kind) ?? [];
    if (fallbacks.length > 0) {
      problems.push(
        `"${kind}" is fire-and-forget, which nothing waits for, so it cannot have a fallback (${fallbacks.join(', ')})`
      );
    }
  }
  if (policy.await === 'none') {
    for (const [kind, p] of entries) {
      if (p.fallbackFor !== undefined) {
        problems.push(`await "none" tracks no outcome, so "${kind}" cannot be a fallback`);
      }
      if (p.timeoutSeconds !== undefined) {
        problems.push(`await "none" tracks no outcome, so "${kind}" cannot have a timeout`);
      }
    }
  }
  return problems;
};

/** The fallback kind of an origin kind, if the policy names one. */
export const fallbackOf = (policy: FanOutPolicy, kind: string): string | undefined =>
  Object.entries(policy.kinds).find(([, p]) => p.fallbackFor === kind)?.[0];

/** Id of the branch that stands in for `originId`: its own records and artifacts, never the origin's. */
export const fallbackBranchId = (originId: string): string => `${originId}-fallback`;

/** A branch's role under the policy: `await none` makes every branch fire-and-forget. */
export const branchRole = (
  branch: { kind: string; role?: 'secondary' | undefined },
  policy: FanOutPolicy
): BranchRole => {
  if (policy.await === 'none') return 'fire-and-forget';
  return branch.role ?? policy.kinds[branch.kind]?.role ?? 'secondary';
};

/** The ids a branch and its fallback chain record under, in order. */
export const chainIds = (policy: FanOutPolicy, branch: { id: string; kind: string }): string[] => {
  const ids = [branch.id];
  let kind = fallbackOf(policy, branch.kind);
  const seen = new Set<string>();
  while (kind !== undefined && !seen.has(kind)) {
    seen.add(kind);
    ids.push(fallbackBranchId(ids[ids.length - 1] ?? branch.id));
    kind = fallbackOf(policy, kind);
  }
  return ids;
};
