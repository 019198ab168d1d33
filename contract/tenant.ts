import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { InvalidEventError } from './errors.js';
import { UPLOAD_PREFIX } from './layout.js';
import { slugify } from './slug.js';

/**
 * Tenants. The tenant of an upload is the first path segment after `uploads/`
 * (`uploads/<tenant>/…`); a key directly under `uploads/` belongs to
 * {@link DEFAULT_TENANT}. It is carried in the workflow input and every
 * branch's input, written in the manifest, put on every log line, and it is a
 * metric dimension (through {@link tenantDimension}, so cardinality stays bounded).
 */
export const DEFAULT_TENANT = 'default';
/** The metric dimension value of every tenant that is not configured by name. */
export const OTHER_TENANT_DIMENSION = 'other';

/**
 * What a tenant segment may be: lowercase letters, digits and single hyphens,
 * 1–20 characters. Narrow on purpose: it becomes a metric dimension value and
 * the prefix of the Step Functions execution name (≤ 80 characters in all, see
 * video-id.ts), where `--` separates it from the rest, so it may not contain `--`.
 */
export const TENANT_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const TENANT_MAX_LENGTH = 20;

/** A tenant name: the first path segment after `uploads/`, or `default`. */
export const TenantSchema = z
  .string()
  .check(z.regex(TENANT_PATTERN), z.maxLength(TENANT_MAX_LENGTH));

/** Why `name` is not a valid tenant, or undefined when it is. */
export const tenantProblem = (name: string): string | undefined => {
  if (name.length === 0) return 'it is empty';
  if (name.length > TENANT_MAX_LENGTH)
    return `it has ${name.length} characters, more than ${TENANT_MAX_LENGTH}`;
  if (!TENANT_PATTERN.test(name))
    return 'only lowercase letters, digits and single inner hyphens are allowed';
  return undefined;
};

/**
 * The tenant a folder name under `uploads/` stands for. Every folder maps to a
 * valid tenant, so no upload is refused for its folder name (every upload ends
 * with a manifest): the name is folded like a slug (`Acme Corp` → `acme-corp`,
 * `Été` → `ete`), cut to 20 characters, and a name with nothing left to fold
 * (`日本`, `__`) becomes `t-` + 8 hex digits of its hash, stable per name.
 * Folding merges names that differ only in case, punctuation or beyond the 20th
 * character: they are one tenant, with one quota (README, Tenants).
 */
export const tenantOfFolder = (folder: string): string => {
  const slug = slugify(folder, TENANT_MAX_LENGTH);
  return slug || `t-${createHash('sha256').update(folder).digest('hex').slice(0, 8)}`;
};

/**
 * The tenant an upload key belongs to: its first folder under `uploads/`
 * (tenantOfFolder), or `default` for a key directly under `uploads/`. Only a key
 * outside `uploads/`, which the bucket notification never sends, is bad input.
 */
export const tenantOfKey = (key: string): string => {
  if (!key.startsWith(UPLOAD_PREFIX)) {
    throw new InvalidEventError(
      `${JSON.stringify(key)} is not under ${UPLOAD_PREFIX}: it belongs to no tenant`
    );
  }
  const rest = key.slice(UPLOAD_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash === -1) return DEFAULT_TENANT;
  return tenantOfFolder(rest.slice(0, slash));
};

/**
 * The tenant as a metric dimension value: a configured tenant by name, any
 * other as `other`, so a stream of new folders cannot create unbounded metric
 * series (each series is billed). `default` is always kept by name.
 */
export const tenantDimension = (tenant: string, configured: readonly string[]): string =>
  tenant === DEFAULT_TENANT || configured.includes(tenant) ? tenant : OTHER_TENANT_DIMENSION;

/**
 * Per-tenant quotas on concurrently RUNNING workflows (the stack prop
 * `tenantQuotas`, the starter's TENANT_QUOTAS env; enforced in
 * lambdas/start-workflow/tenant-quota.ts).
 */
export const TenantQuotasSchema = z.object({
  /** The quota of every tenant not listed in `tenants` (`default` included). */
  default: z.int().check(z.positive()),
  tenants: z.optional(z.record(TenantSchema, z.int().check(z.positive()))),
});
export type TenantQuotas = z.infer<typeof TenantQuotasSchema>;

/** What is wrong with `quotas`, as a sentence, or undefined (the stack validates its prop with it). */
export const tenantQuotasProblem = (quotas: unknown): string | undefined => {
  const parsed = TenantQuotasSchema.safeParse(quotas);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0];
  return `${issue?.path.join('.') || '(root)'}: ${issue?.message}`;
};

export const quotaOf = (quotas: TenantQuotas, tenant: string): number =>
  quotas.tenants?.[tenant] ?? quotas.default;
