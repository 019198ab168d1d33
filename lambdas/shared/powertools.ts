import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * One logger, metrics and tracer instance per process, configured in one place
 * so every function logs the same shape and publishes to the same namespace.
 * POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE from the construct win.
 */
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'video-pipeline';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({
  serviceName,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'FanOutFanIn',
});

/** What the functions use of Powertools Tracer. */
export type PipelineTracer = Pick<Tracer, 'putAnnotation' | 'captureAWSv3Client'>;

/**
 * Whether this environment turned tracing off with Powertools' own switch,
 * `POWERTOOLS_TRACE_ENABLED=false`, compared case-insensitively as Tracer compares it (the
 * "Tracing enabled" setting of https://docs.powertools.aws.dev/lambda/typescript/latest/features/tracer/).
 */
export const tracingSwitchedOff = (env: NodeJS.ProcessEnv): boolean =>
  env.POWERTOOLS_TRACE_ENABLED?.toLowerCase() === 'false';

/**
 * Tracer is loaded only when tracing may be on. Loading it loads the X-Ray SDK, whose
 * cls-hooked namespace installs an async hook at require time, even when Tracer is then
 * disabled: ~80 ms more Init, and every promise of every invocation costs ~1 µs more
 * (5-8× a bare await). With the switch off, Tracer would return each client as given and
 * ignore each annotation; these two do the same without loading it. Where tracing may be
 * on (Tracing.ACTIVE on AWS), Tracer applies its remaining rules (SAM, Amplify, outside
 * Lambda) itself.
 */
const notTraced: PipelineTracer = {
  putAnnotation: () => undefined,
  captureAWSv3Client: (client) => client,
};

export const tracer: PipelineTracer = tracingSwitchedOff(process.env)
  ? notTraced
  : new (await import('@aws-lambda-powertools/tracer')).Tracer({ serviceName });

/** Tags every log line of the current invocation with the video and tenant it belongs to. */
export const correlate = (videoId: string, tenant: string): void => {
  logger.appendKeys({ videoId, tenant });
  logger.setCorrelationId(videoId);
  tracer.putAnnotation('videoId', videoId);
  tracer.putAnnotation('tenant', tenant);
};

/**
 * Tags the log lines of one SQS record with its upload's tenant (several,
 * comma-separated, in the rare body with uploads of several tenants). Called
 * before the record's own parsing, so it never throws: a body it cannot read
 * gets no tenant, and the real parse reports why. Records of one batch are
 * processed one at a time (processInParallel: false) because the logger's keys
 * are per process, not per promise.
 */
export const correlateRecordTenant = (
  body: string,
  tenantsOf: (body: string) => string[]
): void => {
  logger.removeKeys(['tenant']);
  let tenants: string[] = [];
  try {
    tenants = [...new Set(tenantsOf(body))];
  } catch {
    return;
  }
  if (tenants.length > 0) logger.appendKeys({ tenant: tenants.join(',') });
};

/**
 * Publishes the invocation's metrics, if it stored any. Powertools warns "No
 * application metrics to publish" on an empty flush (a task that emits nothing
 * on this path); skipping the flush avoids the warning at its source. The
 * dimensions and metadata are dropped either way, so none leaks into the next
 * invocation of a warm environment.
 */
export const flushMetrics = (): void => {
  if (metrics.hasStoredMetrics()) {
    metrics.publishStoredMetrics();
    return;
  }
  metrics.clearDimensions();
  metrics.clearMetadata();
};
