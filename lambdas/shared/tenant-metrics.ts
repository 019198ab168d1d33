import type { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC_DIMENSIONS, METRIC_TENANTS_ENV, tenantDimension } from '../../contract/index.js';
import { metrics } from './powertools.js';

/**
 * The tenants reported by name in metrics (the stack's METRIC_TENANTS env,
 * comma-separated); every other tenant is `other`, so a stream of new
 * upload folders cannot mint unbounded (billed) metric series.
 */
export const configuredTenants = (raw = process.env[METRIC_TENANTS_ENV]): string[] =>
  (raw ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);

/** The `tenant` dimension value of an upload's tenant. */
export const tenantDimensionOf = (tenant: string): string =>
  tenantDimension(tenant, configuredTenants());

/**
 * One metric with only the tenant dimension (besides `service`), published at
 * once: the invocation's other metrics keep their own dimension set.
 */
export const emitTenantMetric = (
  name: string,
  unit: (typeof MetricUnit)[keyof typeof MetricUnit],
  value: number,
  tenant: string
): void => {
  const single = metrics.singleMetric();
  // A default dimension survives the single metric's publish-on-add (see emitFanOutMetrics).
  single.setDefaultDimensions({ [METRIC_DIMENSIONS.tenant]: tenantDimensionOf(tenant) });
  single.addMetric(name, unit, value);
};
