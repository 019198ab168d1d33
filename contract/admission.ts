import * as z from 'zod/mini';
import { OUTPUT_PREFIX } from './layout.js';
import { TenantSchema } from './tenant.js';

/**
 * Admission of uploads into the workflow (lambdas/start-workflow/admission.ts):
 * the running bound, the per-tenant quota and the per-tenant rate limit, all
 * decided against one lease ledger in S3 written with conditional writes.
 */

/**
 * What the starter does with an upload over a limit (the running bound, its
 * tenant's quota or its tenant's rate limit). `block`: it waits in the starter
 * queue with a growing backoff (never lost; after the queue's maxReceiveCount it
 * reaches the DLQ). `reject`: it ends at once with a FAILED manifest whose reason
 * is `rejected: over <limit>` and a VideoProcessed FAILED event, like any other
 * upload that cannot be processed.
 */
export const UPLOAD_OVERFLOW_POLICIES = ['block', 'reject'] as const;
export const UploadOverflowPolicySchema = z.enum(UPLOAD_OVERFLOW_POLICIES);
export type UploadOverflowPolicy = z.infer<typeof UploadOverflowPolicySchema>;

/** The prefix every rejection reason starts with (the manifest's `reason`). */
export const REJECTED_REASON_PREFIX = 'rejected: over ';

/**
 * Uploads started per minute per tenant (the stack prop `tenantRateLimits`, the
 * starter's TENANT_RATE_LIMITS env), each a token bucket holding at most one
 * minute's worth, so a tenant may start its whole minute at once and then one
 * every 60/rate seconds. Same shape as TenantQuotas.
 */
export const TenantRateLimitsSchema = z.object({
  /** Starts per minute of every tenant not listed in `tenants` (`default` included). */
  default: z.int().check(z.positive()),
  tenants: z.optional(z.record(TenantSchema, z.int().check(z.positive()))),
});
export type TenantRateLimits = z.infer<typeof TenantRateLimitsSchema>;

/** What is wrong with `limits`, as a sentence, or undefined (the stack validates its prop with it). */
export const tenantRateLimitsProblem = (limits: unknown): string | undefined => {
  const parsed = TenantRateLimitsSchema.safeParse(limits);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0];
  return `${issue?.path.join('.') || '(root)'}: ${issue?.message}`;
};

export const rateLimitOf = (limits: TenantRateLimits, tenant: string): number =>
  limits.tenants?.[tenant] ?? limits.default;

/**
 * The lease ledger: internal (`_` like every internal folder under outputs/,
 * contract/layout.ts isVideoFolder), so no video listing sees it.
 */
export const ADMISSION_LEDGER_KEY = `${OUTPUT_PREFIX}_admission/ledger.json`;

/** One admitted upload: a slot of the bound and of its tenant's quota until released or expired. */
export const LeaseSchema = z.object({
  tenant: z.string(),
  /** Epoch ms. */
  grantedAt: z.number(),
  /** Epoch ms: a lease whose release was lost stops counting here. */
  expiresAt: z.number(),
});
export type Lease = z.infer<typeof LeaseSchema>;

/** A tenant's token bucket: the tokens it held at `at` (epoch ms). Absent means full. */
export const TokenBucketSchema = z.object({ tokens: z.number(), at: z.number() });
export type TokenBucket = z.infer<typeof TokenBucketSchema>;

export const LedgerSchema = z.object({
  version: z.literal(1),
  /** By videoId (the execution name). */
  leases: z.record(z.string(), LeaseSchema),
  /** By tenant, only tenants that spent tokens not yet refilled. */
  buckets: z.record(z.string(), TokenBucketSchema),
});
export type Ledger = z.infer<typeof LedgerSchema>;

export const emptyLedger = (): Ledger => ({ version: 1, leases: {}, buckets: {} });
