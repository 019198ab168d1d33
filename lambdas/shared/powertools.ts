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
