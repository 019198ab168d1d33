import { paginateListExecutions, type SFNClient } from '@aws-sdk/client-sfn';
import {
  quotaOf,
  type TenantQuotas,
  TenantQuotasSchema,
  tenantOfVideoId,
  tenantQuotasProblem,
} from '../../contract/index.js';
import { rethrowClassified } from '../../shared/aws-errors.js';

/**
 * Per-tenant quotas on concurrently RUNNING workflows, so one tenant's burst
 * cannot take every slot of the global bound (MAX_RUNNING_WORKFLOWS).
 *
 * Counting: the execution name is the videoId, and a tenant's videoId starts
 * with `<tenant>--` (contract/video-id.ts), so one ListExecutions(RUNNING)
 * listing yields every tenant's count without a DescribeExecution per
 * execution and without a counter that a missed decrement would leak. Its
 * limits: the listing is paginated (1,000 per page; each page is a call, so
 * 10,000 running executions cost 10 calls per SQS batch) and eventually
 * consistent, so executions started a moment ago may be missing: a quota is
 * soft by at most (starter ESM maxConcurrency × batch size) across concurrent
 * batches; within one batch the budget counts its own starts exactly.
 */

/** Parses the starter's TENANT_QUOTAS env (JSON); undefined when unset (no per-tenant quota). */
export const tenantQuotasFromEnv = (raw: string | undefined): TenantQuotas | undefined => {
  if (raw === undefined || raw === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error(`TENANT_QUOTAS is not JSON: ${raw.slice(0, 80)}`);
  }
  const problem = tenantQuotasProblem(value);
  if (problem) throw new Error(`TENANT_QUOTAS is invalid: ${problem}`);
  return TenantQuotasSchema.parse(value);
};

/** RUNNING executions, in all and per tenant. */
export interface RunningCount {
  readonly total: number;
  readonly byTenant: ReadonlyMap<string, number>;
}

/** Counts execution names per tenant (pure, for the listing below). */
export const countByTenant = (names: readonly string[]): RunningCount => {
  const byTenant = new Map<string, number>();
  for (const name of names) {
    const tenant = tenantOfVideoId(name);
    byTenant.set(tenant, (byTenant.get(tenant) ?? 0) + 1);
  }
  return { total: names.length, byTenant };
};

/** Every RUNNING execution's name, all pages (see the module comment for the cost). */
export const listRunningNames = async (
  sfn: SFNClient,
  stateMachineArn: string
): Promise<string[]> => {
  const names: string[] = [];
  try {
    for await (const page of paginateListExecutions(
      { client: sfn, pageSize: 1000 },
      { stateMachineArn, statusFilter: 'RUNNING' }
    )) {
      for (const e of page.executions ?? []) if (e.name) names.push(e.name);
    }
  } catch (err) {
    return rethrowClassified(err, `ListExecutions ${stateMachineArn}`);
  }
  return names;
};

/** RUNNING executions per tenant, from the names above. */
export const countRunningByTenant = async (
  sfn: SFNClient,
  stateMachineArn: string
): Promise<RunningCount> => countByTenant(await listRunningNames(sfn, stateMachineArn));

export type StartDecision = 'start' | 'over-bound' | 'over-tenant-quota';

/**
 * May one more upload of `tenant` start? Pure: from the counted RUNNING
 * executions plus what this batch already started. The global bound is
 * checked first (it protects the account); the tenant's quota second.
 */
export const decideStart = (args: {
  readonly tenant: string;
  readonly running: RunningCount;
  readonly startedInBatch: RunningCount;
  readonly bound?: number | undefined;
  readonly quotas?: TenantQuotas | undefined;
}): StartDecision => {
  const { tenant, running, startedInBatch, bound, quotas } = args;
  if (bound !== undefined && running.total + startedInBatch.total >= bound) return 'over-bound';
  if (quotas) {
    const mine = (running.byTenant.get(tenant) ?? 0) + (startedInBatch.byTenant.get(tenant) ?? 0);
    if (mine >= quotaOf(quotas, tenant)) return 'over-tenant-quota';
  }
  return 'start';
};
