/**
 * The application metrics (Powertools EMF) as a published contract: the
 * functions emit them, the dashboard construct charts them and the CLI's
 * `metrics` command aggregates the same records on the local runtime. One
 * list, so a renamed metric breaks the build instead of an empty widget.
 */

/** CloudWatch namespace (PipelineFunction sets POWERTOOLS_METRICS_NAMESPACE to it). */
export const METRICS_NAMESPACE = 'FanOutFanIn';
/** Powertools adds `service` to every record; CloudWatch keys a metric by all its dimensions. */
export const METRICS_SERVICE = 'video-pipeline';

/** The functions' env var listing the tenants reported by name (comma-separated). */
export const METRIC_TENANTS_ENV = 'METRIC_TENANTS';

export const METRIC_DIMENSIONS = {
  /** A branch kind (thumbnail, rendition, …): bounded by the registry. */
  kind: 'kind',
  /** A configured tenant by name, any other as `other`: bounded by the configuration. */
  tenant: 'tenant',
  service: 'service',
  /**
   * The input a count is about: a queue by its construct's name (overflow metrics), or
   * `uploads` for the starter's rejections. Bounded by the stack.
   */
  input: 'input',
} as const;

/** The starter's input dimension value: the upload events it admits. */
export const STARTER_INPUT = 'uploads';

/** Per branch kind (and tenant), emitted by the aggregator from the manifest's branches. */
export const BRANCH_OUTCOME_METRICS = {
  /** Branches started (emitted by the fan-out), fallbacks included. */
  emitted: 'FanOutSent',
  succeeded: 'FanOutSucceeded',
  failed: 'FanOutFailed',
  timedOut: 'FanOutTimedOut',
  fellBack: 'FanOutFellBack',
  skipped: 'FanOutSkipped',
} as const;

export const METRIC_NAMES = {
  ...BRANCH_OUTCOME_METRICS,
  /** Per kind (and tenant), from the branch worker: the kind's own run time. */
  branchDuration: 'BranchDurationMs',
  /** Per tenant, from the aggregator: the upload's S3 event time → the manifest write. */
  uploadToManifest: 'UploadToManifestMs',
  /** Per tenant, from the starter: an upload left in the queue by backpressure. */
  uploadsHeldBack: 'UploadsHeldBack',
  /**
   * Per input and tenant, from the starter with the overflow policy `reject`:
   * uploads ended with a FAILED manifest `rejected: over <limit>`, counted once per batch.
   */
  rejected: 'Rejected',
  /**
   * From the starter: an upload event dropped because S3 does not confirm it
   * (another bucket or prefix, or a version/ETag S3 does not hold); its log
   * line says which. No tenant dimension: the event's key is not trusted.
   */
  uploadEventsRejected: 'UploadEventsRejected',
  /**
   * The in-flight gauge, overall and per tenant: RUNNING executions, from the
   * scheduled gauge function (lambdas/running-gauge) once a minute.
   */
  runningWorkflows: 'RunningWorkflows',
  /** Overall and per tenant (the aggregator; FAILED also from the verdict keeper). */
  videosCompleted: 'VideosCompleted',
  videosPartial: 'VideosPartial',
  videosFailed: 'VideosFailed',
} as const;
