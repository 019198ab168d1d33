import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SFNClient } from '@aws-sdk/client-sfn';
import { METRIC_DIMENSIONS, METRIC_NAMES } from '../../contract/index.js';
import { requireEnv } from '../shared/env.js';
import { flushMetrics, logger, metrics, tracer } from '../shared/powertools.js';
import { configuredTenants } from '../shared/tenant-metrics.js';
import { countRunningByTenant } from '../start-workflow/tenant-quota.js';
import { runningGaugePoints } from './logic.js';

const sfn = tracer.captureAWSv3Client(new SFNClient({}));

/**
 * The in-flight gauge: a scheduled rule (rate(1 minute)) invokes it, and it
 * publishes `RunningWorkflows` overall and per tenant from one paginated
 * ListExecutions(RUNNING) (the starter's own count, tenant from the execution
 * name), so the number is published every minute whether or not uploads arrive.
 * Env: STATE_MACHINE_ARN, METRIC_TENANTS.
 */
export const handler = async (): Promise<{ total: number }> => {
  try {
    const running = await countRunningByTenant(sfn, requireEnv('STATE_MACHINE_ARN'));
    metrics.addMetric(METRIC_NAMES.runningWorkflows, MetricUnit.Count, running.total);
    for (const [tenant, count] of runningGaugePoints(running.byTenant, configuredTenants())) {
      const single = metrics.singleMetric();
      // A default dimension survives the single metric's publish-on-add (see emitTenantMetric).
      single.setDefaultDimensions({ [METRIC_DIMENSIONS.tenant]: tenant });
      single.addMetric(METRIC_NAMES.runningWorkflows, MetricUnit.Count, count);
    }
    logger.info('Running workflows counted', {
      total: running.total,
      byTenant: Object.fromEntries(running.byTenant),
    });
    return { total: running.total };
  } finally {
    flushMetrics();
  }
};
