import { DEFAULT_TENANT, tenantDimension } from '../../contract/index.js';

/**
 * Pure: the `RunningWorkflows` gauge's points, per tenant dimension. Tenants
 * outside the configuration fold into `other` (their counts add up, since a
 * gauge point per folded tenant would overwrite, not add). Every configured
 * tenant and `default` get a point, 0 when idle, so a graph reads 0 instead of
 * a gap once the last video of a tenant ends.
 */
export const runningGaugePoints = (
  byTenant: ReadonlyMap<string, number>,
  configured: readonly string[]
): Map<string, number> => {
  const points = new Map<string, number>(
    [DEFAULT_TENANT, ...configured].map((t) => [tenantDimension(t, configured), 0])
  );
  for (const [tenant, count] of byTenant) {
    const dim = tenantDimension(tenant, configured);
    points.set(dim, (points.get(dim) ?? 0) + count);
  }
  return points;
};
