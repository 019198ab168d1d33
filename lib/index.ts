/**
 * The package entry point: the constructs, their props types, the nag pack and
 * the stack, for use in other CDK apps.
 */
export {
  applyNagPacks,
  cdkJsonContext,
  createPipelineApp,
  type PipelineAppOptions,
} from './app.js';
export {
  SECURE_BUCKET_DEFAULTS,
  SECURE_DLQ_DEFAULTS,
  SECURE_FUNCTION_DEFAULTS,
  SECURE_QUEUE_DEFAULTS,
  SECURE_STATE_MACHINE_DEFAULTS,
  SECURE_TOPIC_DEFAULTS,
} from './constructs/defaults.js';
export { FfmpegLayer, type FfmpegLayerProps } from './constructs/ffmpeg-layer.js';
export {
  type BranchFunction,
  MAX_INLINE_MAP_CONCURRENCY,
  MapFanOutFanIn,
  type MapFanOutFanInProps,
  type PrepareStep,
  THROTTLE_ERROR,
  type ThrottleRetryProps,
} from './constructs/map-fan-out-fan-in.js';
export {
  type MergePropsOptions,
  mergeProps,
  SECURE_DEFAULT_OVERRIDDEN,
} from './constructs/merge-props.js';
export {
  PipelineAlarms,
  type PipelineAlarmsProps,
  type WatchedFunction,
  type WatchedQueue,
} from './constructs/pipeline-alarms.js';
export { PipelineDashboard, type PipelineDashboardProps } from './constructs/pipeline-dashboard.js';
export { PipelineFunction, type PipelineFunctionProps } from './constructs/pipeline-function.js';
export {
  MIN_MAX_RECEIVE_COUNT,
  QueueWithDeadLetter,
  type QueueWithDeadLetterProps,
} from './constructs/queue-with-dead-letter.js';
export {
  OverflowPolicy,
  QueueWorker,
  type QueueWorkerProps,
  VISIBILITY_TIMEOUT_FACTOR,
} from './constructs/queue-worker.js';
export {
  type QueueSubscriptionOptions,
  TopicFanOut,
  type TopicFanOutProps,
} from './constructs/topic-fan-out.js';
export { FAN_OUT_RULES, FanOutChecks } from './nag/fan-out-checks.js';
export {
  STARTER_MAX_RECEIVE_COUNT,
  VideoPipelineStack,
  type VideoPipelineStackProps,
} from './stacks/video-pipeline-stack.js';
