/**
 * The CLI's public surface: the client functions the web console (console/)
 * builds on. The console imports only this file; everything else in cli/src
 * is the CLI's own and may change without touching the console (checked by
 * `npm run check:boundaries`).
 */
export {
  type AwsOptions,
  type Clients,
  createClients,
  describeError,
  effectiveEndpoint,
  isNotFound,
  resolveRegion,
  useLocalTestCredentials,
} from './aws.js';
export { collectList, collectMetrics, type VideoListRow } from './commands.js';
export { CliError, isLocalEndpoint, loadStackOutputs, type StackOutputs } from './config.js';
export { formatUsd } from './format.js';
export { progressFromHistory, readHistory } from './history.js';
export {
  formatVerdictCounts,
  type MetricsTable,
  type MetricsView,
  metricsTables,
} from './metrics.js';
export {
  discoverDeadLetterQueues,
  resolveDeadLetterQueue,
  runRedriveDlq,
} from './redrive-dlq.js';
export { runRedriveSpill } from './redrive-spill.js';
export { executionsOf, runRedriveVideo } from './redrive-video.js';
export {
  type MapRunCounts,
  type RenditionSegments,
  readSegmentStage,
  type SegmentStage,
  type StepState,
} from './segment-progress.js';
export {
  checkReachable,
  parseThumbnailTimesOption,
  resolveUploadKey,
  uploadVideo,
} from './upload.js';
export { describeExecution, executionArnFor, readManifest } from './watch.js';
