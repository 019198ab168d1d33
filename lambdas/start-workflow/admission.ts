import {
  type Lease,
  type Ledger,
  quotaOf,
  REJECTED_REASON_PREFIX,
  rateLimitOf,
  type TenantQuotas,
  type TenantRateLimits,
  type TokenBucket,
} from '../../contract/index.js';

/**
 * Admission, pure: every decision here is a function of the ledger, the
 * request, the limits and the clock; ledger.ts does the S3 read and the
 * conditional write around it.
 *
 * Why a ledger and not ListExecutions: the listing is eventually consistent,
 * so concurrent starters each saw the same free slots and the bound was
 * overshot (10 allowed, 18 seen RUNNING). A lease taken by a conditional
 * write (If-Match on the ledger's ETag) before StartExecution is exact: two
 * starters cannot both take the last slot, because the second write fails
 * with 412 and is decided again on the new ledger.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 *
 * A lease ends three ways: released when its execution ends (the status-change
 * rule, lambdas/verdict-keeper/handler.ts), reconciled when the execution is
 * no longer RUNNING in ListExecutions past a grace period (a lost release), or
 * expired (`expiresAt`, past the longest an execution may run), so a lost
 * release never wedges the pipeline.
 */

/** The limit an upload is over, as the rejection reason names it. */
export type OverLimit = 'over-bound' | 'over-tenant-quota' | 'over-rate-limit';

export interface AdmissionLimits {
  readonly bound?: number | undefined;
  readonly quotas?: TenantQuotas | undefined;
  readonly rates?: TenantRateLimits | undefined;
  /** How long a lease lasts without a release (ms). */
  readonly leaseMs: number;
}

export type AdmissionDecision =
  | {
      readonly verdict: 'start';
      /** False when the upload already held a lease (a retried message). */
      readonly fresh: boolean;
    }
  | {
      readonly verdict: OverLimit;
      /** The limit in words: `running bound 10`, `tenant quota 3 (acme)`, `rate limit 6/min (acme)`. */
      readonly limit: string;
      /** For a rate limit: when the next token is due (ms from now). */
      readonly retryAfterMs?: number;
    };

const MINUTE_MS = 60_000;

/**
 * A tenant's bucket refilled up to `now`: `perMinute` tokens a minute, at
 * most `perMinute` held. A bucket never seen is full. A clock behind the
 * bucket's (another starter's clock) refills nothing and never moves `at` back.
 */
export const refill = (
  bucket: TokenBucket | undefined,
  perMinute: number,
  now: number
): TokenBucket => {
  if (!bucket) return { tokens: perMinute, at: now };
  const elapsed = Math.max(0, now - bucket.at);
  return {
    tokens: Math.min(perMinute, bucket.tokens + (elapsed * perMinute) / MINUTE_MS),
    at: Math.max(bucket.at, now),
  };
};

/** Takes one token, or says when the next one is due. */
export const takeToken = (
  bucket: TokenBucket | undefined,
  perMinute: number,
  now: number
):
  | { readonly ok: true; readonly bucket: TokenBucket }
  | { readonly ok: false; readonly bucket: TokenBucket; readonly waitMs: number } => {
  const filled = refill(bucket, perMinute, now);
  if (filled.tokens >= 1) return { ok: true, bucket: { ...filled, tokens: filled.tokens - 1 } };
  return {
    ok: false,
    bucket: filled,
    waitMs: Math.ceil(((1 - filled.tokens) * MINUTE_MS) / perMinute),
  };
};

/** The ledger without leases expired at `now`, and without buckets that are full again. */
export const prune = (ledger: Ledger, now: number, rates?: TenantRateLimits): Ledger => {
  const leases: Record<string, Lease> = {};
  for (const [videoId, lease] of Object.entries(ledger.leases)) {
    if (lease.expiresAt > now) leases[videoId] = lease;
  }
  const buckets: Record<string, TokenBucket> = {};
  for (const [tenant, bucket] of Object.entries(ledger.buckets)) {
    const perMinute = rates ? rateLimitOf(rates, tenant) : 0;
    if (perMinute > 0 && refill(bucket, perMinute, now).tokens < perMinute) {
      buckets[tenant] = bucket;
    }
  }
  return { version: 1, leases, buckets };
};

/**
 * Decides one upload. On `start` with `fresh`, `ledger` holds its new lease
 * (and its tenant's spent token); the caller writes it back conditionally.
 * The global bound is checked first (it protects the account), the tenant's
 * quota second and its rate last, so a token is spent only on a start.
 */
export const admit = (
  current: Ledger,
  request: { readonly videoId: string; readonly tenant: string },
  limits: AdmissionLimits,
  now: number
): { readonly decision: AdmissionDecision; readonly ledger: Ledger } => {
  const ledger = prune(current, now, limits.rates);
  const { videoId, tenant } = request;
  if (ledger.leases[videoId]) return { decision: { verdict: 'start', fresh: false }, ledger };
  const leases = Object.values(ledger.leases);
  if (limits.bound !== undefined && leases.length >= limits.bound) {
    return {
      decision: { verdict: 'over-bound', limit: `running bound ${limits.bound}` },
      ledger,
    };
  }
  if (limits.quotas) {
    const quota = quotaOf(limits.quotas, tenant);
    if (leases.filter((l) => l.tenant === tenant).length >= quota) {
      return {
        decision: { verdict: 'over-tenant-quota', limit: `tenant quota ${quota} (${tenant})` },
        ledger,
      };
    }
  }
  let buckets = ledger.buckets;
  if (limits.rates) {
    const perMinute = rateLimitOf(limits.rates, tenant);
    const token = takeToken(ledger.buckets[tenant], perMinute, now);
    if (!token.ok) {
      return {
        decision: {
          verdict: 'over-rate-limit',
          limit: `rate limit ${perMinute}/min (${tenant})`,
          retryAfterMs: token.waitMs,
        },
        ledger,
      };
    }
    buckets = { ...buckets, [tenant]: token.bucket };
  }
  return {
    decision: { verdict: 'start', fresh: true },
    ledger: {
      version: 1,
      leases: {
        ...ledger.leases,
        [videoId]: { tenant, grantedAt: now, expiresAt: now + limits.leaseMs },
      },
      buckets,
    },
  };
};

/** The ledger without `videoId`'s lease; `released` false when it held none. */
export const release = (
  ledger: Ledger,
  videoId: string
): { readonly ledger: Ledger; readonly released: boolean } => {
  if (!ledger.leases[videoId]) return { ledger, released: false };
  const { [videoId]: _gone, ...leases } = ledger.leases;
  return { ledger: { ...ledger, leases }, released: true };
};

/**
 * Releases the leases whose execution is not RUNNING (a release that never
 * arrived). `running` is a ListExecutions(RUNNING) listing asked for at
 * `listedAt`, eventually consistent, so a lease granted later than `graceMs`
 * before it is kept: its execution may have started after the listing, or not
 * be listed yet.
 */
export const reconcile = (
  ledger: Ledger,
  running: ReadonlySet<string>,
  listedAt: number,
  graceMs: number
): { readonly ledger: Ledger; readonly released: readonly string[] } => {
  const leases: Record<string, Lease> = {};
  const released: string[] = [];
  for (const [videoId, lease] of Object.entries(ledger.leases)) {
    if (running.has(videoId) || listedAt - lease.grantedAt < graceMs) leases[videoId] = lease;
    else released.push(videoId);
  }
  return { ledger: { ...ledger, leases }, released };
};

/** The rejection reason written in the manifest. */
export const rejectionReason = (limit: string): string => `${REJECTED_REASON_PREFIX}${limit}`;
