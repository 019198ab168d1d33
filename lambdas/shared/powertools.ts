import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

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
export const tracer = new Tracer({ serviceName });

/** Tags every log line of the current invocation with the video it belongs to. */
export const correlate = (videoId: string): void => {
  logger.appendKeys({ videoId });
  logger.setCorrelationId(videoId);
  tracer.putAnnotation('videoId', videoId);
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
