import * as path from 'node:path';
import {
  Annotations,
  ArnFormat,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Token,
  Validations,
} from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  ADMISSION_LEDGER_KEY,
  AUDIT_PREFIX,
  BRANCH_ITEM_SELECTOR,
  BY_KEY_PREFIX,
  COST_PROFILE_ENV,
  type CostProfile,
  DEFAULT_MAX_EXTRA_THUMBNAILS,
  EXECUTION_STATUS_CHANGE,
  FALLBACK_INCOMPLETE,
  type FunctionSizing,
  METRIC_TENANTS_ENV,
  OUTPUT_PREFIX,
  pascalCase,
  RETRYABLE_ERROR_NAMES,
  SEGMENT_RUNS_PREFIX,
  STATE_NAMES,
  STATE_PATHS,
  STATES_EVENT_SOURCE,
  type TenantQuotas,
  type TenantRateLimits,
  tenantProblem,
  tenantQuotasProblem,
  tenantRateLimitsProblem,
  UPLOAD_OVERFLOW_POLICIES,
  UPLOAD_PREFIX,
  type UploadOverflowPolicy,
  VERDICT_ENDINGS,
} from '../../contract/index.js';
import {
  DEFAULT_PLAN_CONFIG,
  fallbackInvocationsFor,
  KINDS,
  type KindDescriptor,
  PLAYABLE_KINDS,
  SEGMENT_KIND,
} from '../../kinds/index.js';
import { CHECKOV_SKIPS, skipCheckov } from '../constructs/checkov.js';
import { SECURE_BUCKET_DEFAULTS, SECURE_DLQ_DEFAULTS } from '../constructs/defaults.js';
import { FfmpegLayer } from '../constructs/ffmpeg-layer.js';
import {
  type FanOutPolicyProps,
  MapFanOutFanIn,
  type ThrottleRetryProps,
} from '../constructs/map-fan-out-fan-in.js';
import {
  PipelineAlarms,
  type WatchedFunction,
  type WatchedQueue,
} from '../constructs/pipeline-alarms.js';
import { PipelineDashboard } from '../constructs/pipeline-dashboard.js';
import { PipelineFunction, type PipelineFunctionProps } from '../constructs/pipeline-function.js';
import {
  acknowledgeDeadLetterQueue,
  deadLetterAlarm,
  QueueWithDeadLetter,
} from '../constructs/queue-with-dead-letter.js';
import { OverflowPolicy, type QueueWorker } from '../constructs/queue-worker.js';
import { TopicFanOut } from '../constructs/topic-fan-out.js';
import { PROJECT_ROOT } from '../project-root.js';

/**
 * Items of the Segments Distributed Map at once, by default: with the segment
 * function at 4,096 MB, what the seg bench's model of one hour of 1080p to three
 * rungs needs to end within 30 s (docs/benchmarks.md). A third of Lambda's
 * default account quota of 1,000: two long videos at once still leave room.
 */
export const DEFAULT_SEGMENT_CONCURRENCY = 300;

export interface VideoPipelineStackProps extends StackProps {
  /** Concurrent branches per video in the Map. @default 10 */
  readonly mapMaxConcurrency?: number;
  /** Rendition heights; each is produced only when ≤ the source height. @default [360, 720] */
  readonly renditionHeights?: number[];
  /** Evenly spaced thumbnails per video. @default 3 */
  readonly thumbnailCount?: number;
  /**
   * At most this many extra thumbnails an upload may ask for in its
   * `thumbnail-times` metadata; further times, and invalid entries, are listed
   * in the manifest's `warnings` instead of planned, so one upload's metadata
   * cannot fan out to hundreds of branches. An integer from 0 to
   * MAX_EXTRA_THUMBNAILS_LIMIT, validated at synth.
   * @default 20
   */
  readonly maxExtraThumbnails?: number;
  /** @default - a layer built from the @ffmpeg-installer/@ffprobe-installer packages */
  readonly ffmpegLayer?: lambda.ILayerVersion;
  /**
   * `sequential` runs one branch at a time in plan order, stopping at the
   * first failure that has no successful fallback (docs/policies.md).
   * @default 'parallel'
   */
  readonly fanOutMode?: 'parallel' | 'sequential';
  /**
   * What decides a video's status: `primary` (the main rendition, or its
   * fallback), `all` (every branch), or `none` (every branch fire-and-forget).
   * @default 'primary'
   */
  readonly awaitMode?: 'all' | 'primary' | 'none';
  /**
   * Per-branch timeout of a rendition (the primary kind); past it it counts as
   * TIMED_OUT and its fallback runs.
   * @default - the rendition function's timeout + 30 s
   */
  readonly renditionTimeout?: Duration;
  /**
   * A failed or timed-out rendition falls back to an `ultrafast` encode at
   * half its height (renditions/fallback/<h>p.mp4).
   * @default true (false when awaitMode is 'none', which tracks no outcome)
   */
  readonly renditionFallback?: boolean;
  /**
   * What happens to the buckets on `cdk destroy`. RETAIN keeps videos safe;
   * DESTROY only works on empty buckets (auto-delete needs a custom resource,
   * which LocalStack community skips, so it is not offered).
   * @default RemovalPolicy.RETAIN
   */
  readonly bucketRemovalPolicy?: RemovalPolicy;
  /**
   * Backpressure: at most this many workflows RUNNING at once. Over it the starter
   * leaves uploads in its queue with a growing backoff, so a burst waits instead of
   * failing. With `mapMaxConcurrency` it also bounds the branch Lambdas in flight
   * (at most maxRunningWorkflows × mapMaxConcurrency).
   * @default 10
   */
  readonly maxRunningWorkflows?: number;
  /**
   * Longest backoff of an upload held back by `maxRunningWorkflows`.
   * @default Duration.seconds(120)
   */
  readonly backpressureMaxDelay?: Duration;
  /**
   * Per-tenant quotas on concurrently RUNNING workflows (the tenant is the first
   * path segment after `uploads/`; see contract/tenant.ts), e.g.
   * `{ default: 5, tenants: { acme: 20 } }`. An upload over its tenant's quota
   * waits in the starter queue like one over `maxRunningWorkflows`, which still
   * applies. Validated at synth.
   * @default - no per-tenant quota: only `maxRunningWorkflows` applies
   */
  readonly tenantQuotas?: TenantQuotas;
  /**
   * Per-tenant rate limits: uploads started per minute, as token buckets of one
   * minute's worth (contract/admission.ts), e.g. `{ default: 60, tenants: { acme: 6 } }`.
   * An upload over its tenant's rate is handled by `uploadOverflowPolicy`, like
   * one over `tenantQuotas` or `maxRunningWorkflows`. Validated at synth.
   * @default - no rate limit: only the bound and the quotas apply
   */
  readonly tenantRateLimits?: TenantRateLimits;
  /**
   * What the starter does with an upload over `maxRunningWorkflows`, its tenant's
   * quota or its tenant's rate limit: `block` leaves it in the starter queue with a
   * growing backoff (never lost; the DLQ after the queue's receive limit);
   * `reject` ends it at once with a FAILED manifest, reason `rejected: over <limit>`,
   * and its VideoProcessed FAILED event, and counts it in `Rejected` (input, tenant).
   * @default 'block'
   */
  readonly uploadOverflowPolicy?: UploadOverflowPolicy;
  /**
   * Tenants reported by name in the metrics' `tenant` dimension; any other tenant
   * is reported as `other` (`default` always by name), so a stream of new upload
   * folders cannot create unbounded, billed metric series.
   * @default - the tenants named in `tenantQuotas.tenants`
   */
  readonly metricTenants?: readonly string[];
  /**
   * Reserved concurrency of each branch function: a hard bound that also keeps the
   * branches from starving the rest of the account. Off by default because AWS
   * refuses a reservation that leaves under 100 unreserved, which fails the deploy on
   * new accounts with a low limit; `maxRunningWorkflows` bounds them meanwhile.
   * @default - no reservation
   */
  readonly branchReservedConcurrency?: number;
  /**
   * How long a throttled Lambda step keeps retrying.
   * @default - MapFanOutFanIn's: 2 s, ×2, at most 60 s apart, 25 attempts
   */
  readonly throttleRetry?: ThrottleRetryProps;
  /**
   * The audit queue's overflow policy, `spill` after this age: an upload event that
   * waited longer in the audit queue is moved to the audit DLQ with the reason, not
   * audited in line, and counted as `Spilled` (lambdas/shared/overflow.ts); the DLQ
   * redrive brings it back, and it is then audited.
   * @default Duration.hours(24)
   */
  readonly auditStaleAfter?: Duration;
  /**
   * Sources longer than this get segment-parallel renditions: segments encoded
   * by the `Segments` Distributed Map, then joined without re-encoding by the
   * rendition branch. Shorter sources keep the single run. Whole seconds.
   * @default Duration.seconds(120)
   */
  readonly segmentThreshold?: Duration;
  /**
   * Target segment length, rounded up to whole 2 s GOPs. Whole seconds.
   * @default Duration.seconds(30)
   */
  readonly segmentLength?: Duration;
  /**
   * At most this many segments per rendition; the plan lengthens segments
   * rather than exceed it, and refuses a source whose segments would then take
   * longer than the segment function can encode well within its timeout.
   * @default 120
   */
  readonly maxSegments?: number;
  /**
   * Segments encoded at once (the Distributed Map's MaxConcurrency, across
   * every rendition of one video).
   * @default DEFAULT_SEGMENT_CONCURRENCY (300)
   */
  readonly segmentConcurrency?: number;
  /**
   * The longest one video's workflow may run: the state machine's TimeoutSeconds.
   * Past it the execution ends TIMED_OUT and the verdict keeper writes the video's
   * FAILED manifest (docs/policies.md "Overall deadline"). Whole seconds; one
   * below a single pass through the work is allowed but reported at synth.
   * @default - twice one pass through the longest path at every task timeout
   *   (probe, plan, the segment waves, the fan-out waves with the slowest branch
   *   and its fallback, the aggregator): see `videoTimeoutFor`
   */
  readonly videoTimeout?: Duration;
}

/** The work on one video's longest path, each step at its task timeout (seconds). */
export interface VideoWork {
  readonly probeSeconds: number;
  readonly planSeconds: number;
  /** One segment's task timeout, and how many waves of segmentConcurrency the most segments need. */
  readonly segmentSeconds: number;
  readonly segmentWaves: number;
  /**
   * The slowest planned branch with its fallback (a segmented fallback: every attempt its
   * checkpoint Retry allows), and the waves of mapMaxConcurrency the plan needs.
   */
  readonly branchChainSeconds: number;
  readonly fanOutWaves: number;
  readonly aggregateSeconds: number;
}

/**
 * One pass through the longest path: every task running to its timeout once. Sequential
 * mode runs the segments, then the fan-out; the Wave (parallel mode) runs the fan-out beside
 * the segments and only the joins after them, so the sum stays an upper bound there.
 */
export const videoWorkSeconds = (w: VideoWork): number =>
  w.probeSeconds +
  w.planSeconds +
  w.segmentWaves * w.segmentSeconds +
  w.fanOutWaves * w.branchChainSeconds +
  w.aggregateSeconds;

/**
 * Pure: the default per-video deadline, twice one pass through the longest path,
 * so a video that takes a retry or two on the way still finishes, and one that is
 * stuck ends TIMED_OUT (with its FAILED verdict) within a bounded time.
 */
export const videoTimeoutFor = (w: VideoWork): Duration =>
  Duration.seconds(2 * videoWorkSeconds(w));

/** A segmented fallback resumes at once: it throws FallbackIncomplete only when its time is spent. */
const FALLBACK_RETRY_INTERVAL_SECONDS = 1;

/**
 * The segmented fallback's checkpoint Retry (docs/segments.md): FallbackIncomplete by name,
 * `invocations - 1` retries, a fixed 1 s interval (no backoff: nothing is overloaded, the
 * invocation simply ran out of time). Every other error of the fallback stays terminal as before.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-retrying-after-an-error
 */
export const fallbackRetry = (invocations: number): sfn.RetryProps => ({
  errors: [FALLBACK_INCOMPLETE],
  interval: Duration.seconds(FALLBACK_RETRY_INTERVAL_SECONDS),
  maxAttempts: invocations - 1,
  backoffRate: 1,
});

/**
 * The largest `maxExtraThumbnails` accepted: each extra thumbnail is a branch
 * (a Map iteration and a Lambda invocation) that any uploader can ask for.
 */
export const MAX_EXTRA_THUMBNAILS_LIMIT = 100;

/** The audit writer takes "up to 100 uploads or 5 s": an audit is not urgent, its requests add up. */
export const AUDIT_BATCH_SIZE = 100;
export const AUDIT_BATCHING_WINDOW = Duration.seconds(5);

/** Receives before a held-back upload is dead-lettered: hours of backpressure at the 120 s cap. */
export const STARTER_MAX_RECEIVE_COUNT = 100;

/**
 * An admission lease outlives the longest an execution may run (videoTimeout) by
 * this much, so only a release that was lost (not a long execution) ends by expiry.
 */
export const ADMISSION_LEASE_MARGIN_SECONDS = 600;
/**
 * The policy's per-kind entries from the kinds' descriptors: the primary first,
 * then the others in registry order; the Segments map's kind is not in it.
 * `primaryTimeout` overrides the primary's timeout; fallback kinds are left
 * out when `fallbacks` is false.
 */
const kindPolicies = (
  kinds: readonly KindDescriptor[],
  { primaryTimeout, fallbacks }: { primaryTimeout?: Duration; fallbacks: boolean }
): NonNullable<FanOutPolicyProps['kinds']> => {
  const fanOut = kinds.filter((k) => k.runBy === 'fan-out');
  const primaryFirst = [
    ...fanOut.filter((k) => k.policy.role === 'primary'),
    ...fanOut.filter((k) => k.policy.role !== 'primary'),
  ];
  return Object.fromEntries(
    primaryFirst
      .filter((k) => fallbacks || k.policy.fallbackFor === undefined)
      .map(({ kind, policy: p }) => {
        const timeout =
          p.role === 'primary' && primaryTimeout
            ? primaryTimeout
            : p.timeoutSeconds !== undefined
              ? Duration.seconds(p.timeoutSeconds)
              : undefined;
        return [
          kind,
          {
            ...(p.role !== undefined && { role: p.role }),
            ...(timeout && { timeout }),
            ...(p.fallbackFor !== undefined && { fallbackFor: p.fallbackFor }),
          },
        ];
      })
  );
};

/** A function's memory and architecture as synthesized (Lambda's 128 MiB when unset). */
const synthesizedSizing = (fn: PipelineFunction): FunctionSizing => {
  const cfn = fn.function.node.defaultChild as lambda.CfnFunction;
  const architecture = fn.function.architecture.name;
  if (architecture !== 'x86_64' && architecture !== 'arm64') {
    throw new Error(`${fn.node.path}: no price for architecture ${architecture}`);
  }
  const memoryMiB = cfn.memorySize ?? 128;
  if (typeof memoryMiB !== 'number') {
    throw new Error(`${fn.node.path}: memorySize is a token; the cost profile needs a number`);
  }
  return { memoryMiB, architecture };
};

const lambdaEntry = (name: string) => path.join(PROJECT_ROOT, 'lambdas', name, 'handler.ts');

/**
 * The video pipeline: S3 upload → SNS VideoUploaded → SQS → (workflow starter,
 * upload audit) → Step Functions Probe → Plan → Map(thumbnails, renditions,
 * metadata) → Aggregate → manifest.json + SNS VideoProcessed → alerts queue
 * (FAILED/PARTIAL only). Env-agnostic: no lookups, so `cdk synth` runs offline.
 */
export class VideoPipelineStack extends Stack {
  public readonly uploadBucket: s3.Bucket;
  public readonly outputBucket: s3.Bucket;
  public readonly uploads: TopicFanOut;
  public readonly processed: TopicFanOut;
  public readonly workflow: MapFanOutFanIn;
  public readonly starter: QueueWorker;
  public readonly audit: QueueWorker;
  public readonly alerts: QueueWithDeadLetter;
  public readonly alarms: PipelineAlarms;
  public readonly dashboard: PipelineDashboard;

  constructor(scope: Construct, id: string, props: VideoPipelineStackProps = {}) {
    super(scope, id, props);
    const removalPolicy = props.bucketRemovalPolicy ?? RemovalPolicy.RETAIN;

    // ---- Storage -----------------------------------------------------------
    const accessLogs = new s3.Bucket(this, 'AccessLogsBucket', {
      ...SECURE_BUCKET_DEFAULTS,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy,
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket; logging it into itself would loop.',
    });
    skipCheckov(accessLogs, [
      {
        id: 'CKV_AWS_18',
        comment: 'This is the access-log bucket; logging it into itself would loop.',
      },
    ]);
    this.uploadBucket = new s3.Bucket(this, 'UploadBucket', {
      ...SECURE_BUCKET_DEFAULTS,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'upload-bucket/',
      removalPolicy,
    });
    this.outputBucket = new s3.Bucket(this, 'OutputBucket', {
      ...SECURE_BUCKET_DEFAULTS,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'output-bucket/',
      removalPolicy,
    });

    // ---- Event fan-out: S3 → SNS → SQS → Lambda ----------------------------
    const topicKey = new kms.Key(this, 'TopicKey', {
      enableKeyRotation: true,
      description: 'Encrypts the VideoUploaded and VideoProcessed topics',
    });
    this.uploads = new TopicFanOut(this, 'VideoUploaded', {
      masterKey: topicKey,
      topicProps: { displayName: 'VideoUploaded' },
    });
    this.processed = new TopicFanOut(this, 'VideoProcessed', {
      masterKey: topicKey,
      topicProps: { displayName: 'VideoProcessed' },
    });
    this.declareUploadNotifications();

    const fn = (id: string, name: string, extra: Omit<PipelineFunctionProps, 'entry'> = {}) =>
      new PipelineFunction(this, id, { entry: lambdaEntry(name), ...extra });

    // ---- Workflow fan-out/fan-in: Step Functions ----------------------------
    const ffmpegLayer = props.ffmpegLayer ?? new FfmpegLayer(this, 'Ffmpeg').layer;
    const media = {
      architecture: lambda.Architecture.X86_64, // the static binaries are x86_64
      layers: [ffmpegLayer],
    };
    const maxExtraThumbnails = props.maxExtraThumbnails ?? DEFAULT_MAX_EXTRA_THUMBNAILS;
    if (
      !Token.isUnresolved(maxExtraThumbnails) &&
      (!Number.isInteger(maxExtraThumbnails) ||
        maxExtraThumbnails < 0 ||
        maxExtraThumbnails > MAX_EXTRA_THUMBNAILS_LIMIT)
    ) {
      throw new Error(
        `maxExtraThumbnails must be an integer from 0 to ${MAX_EXTRA_THUMBNAILS_LIMIT}, got ${maxExtraThumbnails}`
      );
    }
    const probe = fn('Probe', 'probe', {
      ...media,
      environment: { MAX_EXTRA_THUMBNAILS: String(maxExtraThumbnails) },
      timeout: Duration.minutes(2),
      memorySize: 1024,
      ephemeralStorageMiB: 4096,
    });
    const plan = fn('Plan', 'plan', {
      environment: {
        THUMBNAIL_COUNT: String(props.thumbnailCount ?? 3),
        MAX_EXTRA_THUMBNAILS: String(maxExtraThumbnails),
        RENDITION_HEIGHTS: (props.renditionHeights ?? [360, 720]).join(','),
        SEGMENT_THRESHOLD_SEC: String(
          props.segmentThreshold?.toSeconds() ?? DEFAULT_PLAN_CONFIG.segmentThresholdSec
        ),
        SEGMENT_LENGTH_SEC: String(
          props.segmentLength?.toSeconds() ?? DEFAULT_PLAN_CONFIG.segmentLengthSec
        ),
        MAX_SEGMENTS: String(props.maxSegments ?? DEFAULT_PLAN_CONFIG.maxSegments),
        // The plan writes the segment items of a long source here.
        OUTPUT_BUCKET: this.outputBucket.bucketName,
      },
    });
    const awaitMode = props.awaitMode ?? 'primary';
    // With await none every branch is fire-and-forget, so Step Functions invokes the branch
    // functions asynchronously: an event that still fails after Lambda's retries goes here
    // instead of being lost (the worker has written its FAILED record by then too).
    const asyncFailures =
      awaitMode === 'none' ? new QueueWithDeadLetter(this, 'BranchAsyncFailures') : undefined;
    // One function per branch kind, each sized by its kind (a thumbnail does not pay for a transcode).
    const branchFns = KINDS.map(({ kind, sizing }) => ({
      kind,
      fn: fn(`${pascalCase(kind)}Branch`, 'run-branch', {
        ...(sizing.usesFfmpeg ? media : {}),
        timeout: Duration.seconds(sizing.timeoutSeconds),
        memorySize: sizing.memoryMiB,
        ephemeralStorageMiB: sizing.ephemeralStorageMiB,
        reservedConcurrentExecutions: props.branchReservedConcurrency,
        environment: {
          OUTPUT_BUCKET: this.outputBucket.bucketName,
          // The rendition kinds write the early playlist and announce VideoPlayable (docs/hls.md).
          ...(PLAYABLE_KINDS.includes(kind) && {
            PLAYABLE_TOPIC_ARN: this.processed.topic.topicArn,
          }),
          // A segment item that completes its rendition joins it at once (docs/segments.md), except
          // in sequential mode, where a rendition runs only in its turn.
          ...(kind === SEGMENT_KIND &&
            props.fanOutMode !== 'sequential' && {
              EARLY_JOIN: 'on',
              ...(props.renditionTimeout && {
                JOIN_TIMEOUT_SEC: String(props.renditionTimeout.toSeconds()),
              }),
            }),
        },
        // The segment kind is invoked synchronously by the Segments map, never as an event.
        ...(asyncFailures &&
          kind !== SEGMENT_KIND && { functionProps: { deadLetterQueue: asyncFailures.queue } }),
      }),
    }));
    const aggregate = fn('Aggregate', 'aggregate', {
      timeout: Duration.minutes(1),
      memorySize: 512,
      environment: {
        OUTPUT_BUCKET: this.outputBucket.bucketName,
        PROCESSED_TOPIC_ARN: this.processed.topic.topicArn,
      },
    });

    // The cost estimate prices each task with the memory and architecture synthesized here.
    const costProfile: CostProfile = {
      probe: synthesizedSizing(probe),
      plan: synthesizedSizing(plan),
      aggregate: synthesizedSizing(aggregate),
      kinds: Object.fromEntries(branchFns.map(({ kind, fn }) => [kind, synthesizedSizing(fn)])),
    };
    aggregate.function.addEnvironment(COST_PROFILE_ENV, JSON.stringify(costProfile));

    const fallback = props.renditionFallback ?? awaitMode !== 'none';
    const policy: FanOutPolicyProps = {
      mode: props.fanOutMode ?? 'parallel',
      await: awaitMode,
      // Each kind's descriptor: the main rendition decides playability (the plan demotes
      // the lower ones), the others are secondaries, the fallback stands in for it.
      kinds: kindPolicies(KINDS, { primaryTimeout: props.renditionTimeout, fallbacks: fallback }),
    };
    const segmentFn = branchFns.find(({ kind }) => kind === SEGMENT_KIND)!.fn;
    const fallbackFn = branchFns.find(({ kind }) => kind === 'rendition-fallback')!.fn;
    // A segmented fallback resumes from its stored segments: enough attempts for the longest
    // source the plan accepts (fallbackInvocationsFor has the arithmetic).
    const fallbackInvocations = fallbackInvocationsFor({
      maxSegments: props.maxSegments ?? DEFAULT_PLAN_CONFIG.maxSegments,
      maxSegmentSec: DEFAULT_PLAN_CONFIG.maxSegmentSec,
      timeoutSec: fallbackFn.function.timeout?.toSeconds() ?? 900,
    });
    const mapMaxConcurrency = props.mapMaxConcurrency ?? (policy.mode === 'sequential' ? 1 : 10);
    const segmentConcurrency = props.segmentConcurrency ?? DEFAULT_SEGMENT_CONCURRENCY;
    const work = this.videoWork({
      probe,
      plan,
      aggregate,
      segmentFn,
      branchFns,
      renditionTimeout: props.renditionTimeout,
      fallback: props.renditionFallback ?? awaitMode !== 'none',
      fallbackInvocations,
      branches: (props.thumbnailCount ?? 3) + (props.renditionHeights ?? [360, 720]).length + 1,
      // Every rendition's segments and the audio parts (one per segment length, at most as
      // many as a rendition's segments): all items of the one Map Run.
      segments:
        ((props.renditionHeights ?? [360, 720]).length + 1) *
        (props.maxSegments ?? DEFAULT_PLAN_CONFIG.maxSegments),
      mapMaxConcurrency,
      segmentConcurrency,
    });
    const videoTimeout = props.videoTimeout ?? videoTimeoutFor(work);
    const timeoutSeconds = videoTimeout.toSeconds();
    if (!Token.isUnresolved(timeoutSeconds) && timeoutSeconds < videoWorkSeconds(work)) {
      Annotations.of(this).addWarningV2(
        'fan-out:VideoTimeoutBelowWork',
        `videoTimeout (${timeoutSeconds} s) is shorter than one pass through a video's longest path ` +
          `(${videoWorkSeconds(work)} s at the task timeouts): slow videos will end TIMED_OUT`
      );
    }
    this.workflow = new MapFanOutFanIn(this, 'Workflow', {
      policy,
      prepare: [
        { name: STATE_NAMES.probe, handler: probe.function, resultPath: STATE_PATHS.probe },
        { name: STATE_NAMES.plan, handler: plan.function, resultPath: STATE_PATHS.plan },
      ],
      // Segments of long renditions, before the FanOut: a 1-hour source needs more
      // than the inline Map's 40 at once, and the join (the rendition branch in the
      // FanOut) can only start once its segments exist (docs/segments.md).
      preFanOut: {
        stateName: STATE_NAMES.segments,
        itemStateName: STATE_NAMES.runBranch(SEGMENT_KIND),
        worker: segmentFn.function,
        itemsRefPath: STATE_PATHS.segments,
        bucket: this.outputBucket,
        resultPrefix: SEGMENT_RUNS_PREFIX,
        itemSelector: BRANCH_ITEM_SELECTOR,
        maxConcurrency: segmentConcurrency,
        // Thumbnails, metadata and the unsegmented renditions run alongside the segments;
        // each segmented rendition's join runs after them, in the Joins map (docs/segments.md).
        deferredPath: STATE_PATHS.deferred,
        deferredKinds: ['rendition'],
      },
      branchSelector: BRANCH_ITEM_SELECTOR,
      branchFunctions: branchFns
        .filter(({ kind }) => kind !== SEGMENT_KIND)
        .map(({ kind, fn }) => ({
          kind,
          handler: fn.function,
          ...(kind === 'rendition-fallback' && { retries: [fallbackRetry(fallbackInvocations)] }),
        })),
      aggregator: aggregate.function,
      maxConcurrency: mapMaxConcurrency,
      executionTimeout: videoTimeout,
      // Runtime.ExitError: the environment died (killed, crashed) before answering; the
      // branch is idempotent, so a fresh environment may simply run it again.
      retryableErrors: [...RETRYABLE_ERROR_NAMES, 'Runtime.ExitError'],
      throttleRetry: props.throttleRetry,
    });

    const maxRunningWorkflows = props.maxRunningWorkflows ?? 10;
    if (!Number.isInteger(maxRunningWorkflows) || maxRunningWorkflows < 1) {
      throw new Error(`maxRunningWorkflows must be a positive integer, got ${maxRunningWorkflows}`);
    }
    const quotaProblem = props.tenantQuotas && tenantQuotasProblem(props.tenantQuotas);
    if (quotaProblem) throw new Error(`tenantQuotas is invalid: ${quotaProblem}`);
    const rateProblem = props.tenantRateLimits && tenantRateLimitsProblem(props.tenantRateLimits);
    if (rateProblem) throw new Error(`tenantRateLimits is invalid: ${rateProblem}`);
    const overflowPolicy = props.uploadOverflowPolicy ?? 'block';
    if (!(UPLOAD_OVERFLOW_POLICIES as readonly string[]).includes(overflowPolicy)) {
      throw new Error(
        `uploadOverflowPolicy must be one of ${UPLOAD_OVERFLOW_POLICIES.join(', ')}, got ${overflowPolicy}`
      );
    }
    const starterFn = fn('StartWorkflow', 'start-workflow', {
      environment: {
        STATE_MACHINE_ARN: this.workflow.stateMachine.stateMachineArn,
        MAX_RUNNING_WORKFLOWS: String(maxRunningWorkflows),
        ...(props.tenantQuotas ? { TENANT_QUOTAS: JSON.stringify(props.tenantQuotas) } : {}),
        ...(props.tenantRateLimits
          ? { TENANT_RATE_LIMITS: JSON.stringify(props.tenantRateLimits) }
          : {}),
        // The exact bound: a lease per running execution in one ledger object
        // (lambdas/start-workflow/admission.ts); a lost release ends with the longest
        // an execution may run.
        ADMISSION_LEDGER_BUCKET: this.outputBucket.bucketName,
        ADMISSION_LEASE_SECONDS: String(timeoutSeconds + ADMISSION_LEASE_MARGIN_SECONDS),
        UPLOAD_OVERFLOW_POLICY: overflowPolicy,
        ...(overflowPolicy === 'reject'
          ? { PROCESSED_TOPIC_ARN: this.processed.topic.topicArn }
          : {}),
        BACKPRESSURE_MAX_SECONDS: String(
          (props.backpressureMaxDelay ?? Duration.seconds(120)).toSeconds()
        ),
        OUTPUT_BUCKET: this.outputBucket.bucketName,
        // The only bucket whose events start work (lambdas/start-workflow/logic.ts verifyUpload).
        UPLOAD_BUCKET: this.uploadBucket.bucketName,
      },
    });
    const auditFn = fn('UploadAudit', 'upload-audit', {
      environment: { AUDIT_BUCKET: this.outputBucket.bucketName },
    });
    // Uploads block: losing one would leave a video without a manifest (README § Backpressure).
    this.starter = this.uploads.addQueueWorker(this, 'StartWorkflowWorker', {
      consumer: starterFn.function,
      maxConcurrency: 5,
      // Backpressure re-receives a held-back upload many times before it may start.
      maxReceiveCount: STARTER_MAX_RECEIVE_COUNT,
      overflow: OverflowPolicy.block(),
      inputName: 'StartWorkflow',
    });
    starterFn.function.addEnvironment('STARTER_QUEUE_URL', this.starter.queue.queueUrl);
    // A late audit is worth less than a fresh one, but it must not be lost: spill, redrive later.
    this.audit = this.uploads.addQueueWorker(this, 'UploadAuditWorker', {
      consumer: auditFn.function,
      batchSize: AUDIT_BATCH_SIZE,
      maxBatchingWindow: AUDIT_BATCHING_WINDOW,
      overflow: OverflowPolicy.spill(props.auditStaleAfter ?? Duration.hours(24)),
      inputName: 'UploadAudit',
    });
    // A body that is not an S3 event goes to the consumer's DLQ at once, with its reason,
    // instead of spending the starter's 100 receives (lambdas/shared/sqs.ts).
    for (const [worker, consumer] of [
      [this.starter, starterFn],
      [this.audit, auditFn],
    ] as const) {
      const dlq = worker.deadLetterQueue;
      if (!dlq) continue;
      consumer.function.addEnvironment('DEAD_LETTER_QUEUE_URL', dlq.queueUrl);
      dlq.grantSendMessages(consumer.role);
    }
    // Both consumers want every upload (subscribed by addQueueWorker); S3 already filters on the uploads/ prefix.

    // Only unhappy outcomes page someone; COMPLETE events stay on the topic for other subscribers.
    this.alerts = new QueueWithDeadLetter(this, 'Alerts', {
      queueProps: { retentionPeriod: Duration.days(14) },
    });
    Validations.of(this.alerts).acknowledge({
      id: 'Annotation::fan-out:SecureDefaultOverridden',
      reason: 'Alerts are read by a person, so they are kept as long as a DLQ keeps messages.',
    });
    this.processed.addQueueSubscription(this.alerts.queue, {
      filterPolicy: {
        status: sns.SubscriptionFilter.stringFilter({ allowlist: ['FAILED', 'PARTIAL'] }),
      },
    });

    // ---- Every ending has a verdict ----------------------------------------
    const { keeper, failures: verdictFailures } = this.declareVerdictKeeper(fn);

    // ---- Dashboard and alarms ------------------------------------------------
    const metricTenants = props.metricTenants ?? Object.keys(props.tenantQuotas?.tenants ?? {});
    for (const tenant of metricTenants) {
      const problem = tenantProblem(tenant);
      if (problem)
        throw new Error(`metricTenants: ${JSON.stringify(tenant)} is invalid: ${problem}`);
    }
    const gauge = this.declareRunningGauge(fn);
    if (metricTenants.length > 0) {
      // The functions that emit per-tenant metrics (contract/metrics.ts, contract/overflow.ts).
      for (const f of [
        ...branchFns.map(({ fn }) => fn),
        aggregate,
        starterFn,
        auditFn,
        keeper,
        gauge,
      ]) {
        f.function.addEnvironment(METRIC_TENANTS_ENV, metricTenants.join(','));
      }
    }
    ({ alarms: this.alarms, dashboard: this.dashboard } = this.declareObservability({
      functions: [
        { label: 'Probe', function: probe.function },
        { label: 'Plan', function: plan.function },
        ...branchFns.map(({ kind, fn }) => ({
          label: `${pascalCase(kind)}Branch`,
          function: fn.function,
        })),
        { label: 'Aggregate', function: aggregate.function },
        { label: 'StartWorkflow', function: starterFn.function },
        { label: 'UploadAudit', function: auditFn.function },
        { label: 'VerdictKeeper', function: keeper.function },
        { label: 'RunningGauge', function: gauge.function },
      ],
      backpressureMaxDelay: props.backpressureMaxDelay ?? Duration.seconds(120),
      asyncFailures,
      verdictFailures,
    }));

    // ---- Least-privilege grants (exact actions, exact prefixes) -------------
    const read = (bucket: s3.IBucket, prefix: string) =>
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [bucket.arnForObjects(`${prefix}*`)],
      });
    const write = (bucket: s3.IBucket, prefix: string) =>
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects(`${prefix}*`)],
      });
    probe.role.addToPolicy(read(this.uploadBucket, UPLOAD_PREFIX));
    plan.role.addToPolicy(write(this.outputBucket, OUTPUT_PREFIX));
    // The plan re-reads the upload's metadata (a HEAD pinned to its version) to list ignored thumbnail-times.
    plan.role.addToPolicy(read(this.uploadBucket, UPLOAD_PREFIX));
    for (const { fn } of branchFns) {
      fn.role.addToPolicy(read(this.uploadBucket, UPLOAD_PREFIX));
      fn.role.addToPolicy(write(this.outputBucket, OUTPUT_PREFIX));
      // Branch records: sequential mode reads the earlier branches', and a playable branch reads
      // its own to tell a publish retry from a first run (emulators do not enforce IAM; AWS does).
      fn.role.addToPolicy(read(this.outputBucket, OUTPUT_PREFIX));
    }
    aggregate.role.addToPolicy(read(this.outputBucket, OUTPUT_PREFIX));
    aggregate.role.addToPolicy(write(this.outputBucket, OUTPUT_PREFIX));
    auditFn.role.addToPolicy(read(this.uploadBucket, UPLOAD_PREFIX));
    auditFn.role.addToPolicy(write(this.outputBucket, AUDIT_PREFIX));
    this.processed.topic.grantPublish(aggregate.role);
    for (const { kind, fn } of branchFns) {
      if (!PLAYABLE_KINDS.includes(kind)) continue;
      this.processed.topic.grantPublish(fn.role);
      // The early playlist lists the video's HLS packages (docs/hls.md), under outputs/ only.
      // https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html#condition-key-bucket-ops-2
      fn.role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [this.outputBucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${OUTPUT_PREFIX}*`] } },
        })
      );
    }
    this.workflow.stateMachine.grantStartExecution(starterFn.role);
    starterFn.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['states:ListExecutions'],
        resources: [this.workflow.stateMachine.stateMachineArn],
      })
    );
    starterFn.role.addToPolicy(read(this.outputBucket, BY_KEY_PREFIX));
    starterFn.role.addToPolicy(write(this.outputBucket, BY_KEY_PREFIX));
    // The admission ledger: one object, read and conditionally written.
    starterFn.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [this.outputBucket.arnForObjects(ADMISSION_LEDGER_KEY)],
      })
    );
    if (overflowPolicy === 'reject') {
      // A rejection writes the video's FAILED manifest (If-None-Match) and announces it.
      starterFn.role.addToPolicy(read(this.outputBucket, OUTPUT_PREFIX));
      starterFn.role.addToPolicy(write(this.outputBucket, OUTPUT_PREFIX));
      this.processed.topic.grantPublish(starterFn.role);
      Validations.of(starterFn.role).acknowledge({
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          'Publishing a rejection to a KMS-encrypted topic needs GenerateDataKey*, scoped to the topic key.',
      });
    }
    // The starter verifies each event with a HEAD of the upload (GetObject/GetObjectVersion).
    // ListBucket, on the upload bucket only, makes a HEAD of a missing key answer 404
    // instead of 403, so "not in S3" is told apart from a missing grant. No s3:prefix
    // condition: a HEAD carries no prefix, so the condition would never match and S3
    // would answer 403 again.
    // https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html#API_HeadObject_Permissions
    starterFn.role.addToPolicy(read(this.uploadBucket, UPLOAD_PREFIX));
    starterFn.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.uploadBucket.bucketArn],
      })
    );

    const objects = (bucket: s3.IBucket, prefix: string) =>
      `Resource::<${this.getLogicalId(bucket.node.defaultChild as s3.CfnBucket)}.Arn>/${prefix}*`;
    const uploads = objects(this.uploadBucket, UPLOAD_PREFIX);
    const outputs = objects(this.outputBucket, OUTPUT_PREFIX);
    this.acknowledgeFindings([
      [probe, [uploads]],
      [plan, [outputs, uploads]],
      ...branchFns.map(({ fn }): [PipelineFunction, string[]] => [fn, [uploads, outputs]]),
      [aggregate, [outputs]],
      [auditFn, [uploads, objects(this.outputBucket, AUDIT_PREFIX)]],
      [
        starterFn,
        [
          objects(this.outputBucket, BY_KEY_PREFIX),
          uploads,
          ...(overflowPolicy === 'reject' ? [outputs] : []),
        ],
      ],
    ]);
    for (const { kind, fn } of branchFns) {
      if (!PLAYABLE_KINDS.includes(kind)) continue;
      Validations.of(fn.role).acknowledge({
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          'Publishing VideoPlayable to a KMS-encrypted topic needs GenerateDataKey*, scoped to the topic key.',
      });
    }
    Validations.of(aggregate.role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Publishing to a KMS-encrypted topic needs GenerateDataKey*, scoped to the topic key.',
    });

    // ---- Outputs (the CLI, the e2e suite and the local runtime read these) --
    const out = (id: string, value: string) => new CfnOutput(this, id, { value });
    out('UploadBucketName', this.uploadBucket.bucketName);
    out('OutputBucketName', this.outputBucket.bucketName);
    out('StateMachineArn', this.workflow.stateMachine.stateMachineArn);
    out('UploadTopicArn', this.uploads.topic.topicArn);
    out('ProcessedTopicArn', this.processed.topic.topicArn);
    out('StartWorkflowQueueUrl', this.starter.queue.queueUrl);
    out('StartWorkflowDeadLetterQueueUrl', this.starter.deadLetterQueue!.queueUrl);
    out('UploadAuditQueueUrl', this.audit.queue.queueUrl);
    out('AlertsQueueUrl', this.alerts.queue.queueUrl);
    // Every DLQ by URL: the console's Queues panel and `redrive dlq` find them in the outputs
    // file, which is their only inventory (the SNS delivery and Lambda DLQs have no source
    // queue whose RedrivePolicy would name them).
    out('UploadAuditDeadLetterQueueUrl', this.audit.deadLetterQueue!.queueUrl);
    out('AlertsDeadLetterQueueUrl', this.alerts.deadLetterQueue.queueUrl);
    out('VerdictDeadLetterQueueUrl', verdictFailures.queueUrl);
    out('VideoUploadedDeliveryDeadLetterQueueUrl', this.uploads.deliveryDeadLetterQueue.queueUrl);
    out(
      'VideoProcessedDeliveryDeadLetterQueueUrl',
      this.processed.deliveryDeadLetterQueue.queueUrl
    );
    if (asyncFailures) {
      out('BranchAsyncFailuresQueueUrl', asyncFailures.queue.queueUrl);
      out('BranchAsyncFailuresDeadLetterQueueUrl', asyncFailures.deadLetterQueue.queueUrl);
    }
    out('AlarmTopicArn', this.alarms.alarmTopic.topicArn);
  }

  /**
   * Every queue's depth and oldest message, every DLQ (SQS redrive and SNS
   * delivery), the state machine and each function's throttles on one
   * dashboard; every alarm (the DLQ and execution alarms the constructs carry,
   * plus the age and throttle alarms made here) notifies one topic.
   */
  private declareObservability(o: {
    functions: WatchedFunction[];
    backpressureMaxDelay: Duration;
    asyncFailures?: QueueWithDeadLetter;
    verdictFailures: sqs.Queue;
  }): { alarms: PipelineAlarms; dashboard: PipelineDashboard } {
    // With await none, failed asynchronous branch events land in asyncFailures.queue: a DLQ in
    // all but name (nothing consumes it), so it is watched and alarmed like one.
    const asyncFailureQueues: WatchedQueue[] = o.asyncFailures
      ? [
          { label: 'BranchAsyncFailures', queue: o.asyncFailures.queue },
          { label: 'BranchAsyncFailuresDLQ', queue: o.asyncFailures.deadLetterQueue },
        ]
      : [];
    const asyncFailureAlarms = o.asyncFailures
      ? [
          deadLetterAlarm(o.asyncFailures, 'FailedEventsAlarm', o.asyncFailures.queue),
          o.asyncFailures.dlqAlarm,
        ]
      : [];
    const deadLetterQueues: WatchedQueue[] = [
      ...asyncFailureQueues,
      // Status-change events the keeper could not be given, or failed on after Lambda's retries.
      { label: 'VerdictDLQ', queue: o.verdictFailures },
      { label: 'StartWorkflowDLQ', queue: this.starter.deadLetterQueue! },
      { label: 'UploadAuditDLQ', queue: this.audit.deadLetterQueue! },
      { label: 'AlertsDLQ', queue: this.alerts.deadLetterQueue },
      { label: 'VideoUploadedDeliveryDLQ', queue: this.uploads.deliveryDeadLetterQueue },
      { label: 'VideoProcessedDeliveryDLQ', queue: this.processed.deliveryDeadLetterQueue },
    ];
    const queues: WatchedQueue[] = [
      {
        label: 'StartWorkflow',
        queue: this.starter.queue,
        // Backpressure holds uploads on purpose; only far beyond its longest backoff is it stuck.
        maxMessageAge: Duration.seconds(Math.max(900, o.backpressureMaxDelay.toSeconds() * 10)),
      },
      { label: 'UploadAudit', queue: this.audit.queue },
      // Alerts are read by a person: a day without reading them is the problem.
      { label: 'Alerts', queue: this.alerts.queue, maxMessageAge: Duration.days(1) },
    ];
    const alarms = new PipelineAlarms(this, 'Alarms', {
      queues,
      functions: o.functions,
      existingAlarms: [
        this.starter.dlqAlarm!,
        this.audit.dlqAlarm!,
        this.alerts.dlqAlarm,
        this.uploads.deliveryDlqAlarm,
        this.processed.deliveryDlqAlarm,
        ...asyncFailureAlarms,
        deadLetterAlarm(this, 'VerdictDeadLetterAlarm', o.verdictFailures),
        ...this.workflow.alarms,
      ],
    });
    const dashboard = new PipelineDashboard(this, 'Dashboard', {
      queues,
      deadLetterQueues,
      stateMachine: this.workflow.stateMachine,
      functions: o.functions,
      alarms: alarms.alarms,
    });
    return { alarms, dashboard };
  }

  /** What `videoTimeoutFor` adds up, from the functions and props as synthesized. */
  private videoWork(o: {
    probe: PipelineFunction;
    plan: PipelineFunction;
    aggregate: PipelineFunction;
    segmentFn: PipelineFunction;
    branchFns: { kind: string; fn: PipelineFunction }[];
    renditionTimeout?: Duration;
    fallback: boolean;
    /** Attempts of a segmented fallback (its first run and every checkpoint retry). */
    fallbackInvocations: number;
    branches: number;
    segments: number;
    mapMaxConcurrency: number;
    segmentConcurrency: number;
  }): VideoWork {
    // The construct's task timeout of a Lambda step: the function's timeout + 30 s.
    const task = (f: PipelineFunction) => (f.function.timeout?.toSeconds() ?? 900) + 30;
    const kindTask = (kind: string) => {
      const found = o.branchFns.find((b) => b.kind === kind);
      return found ? task(found.fn) : 0;
    };
    const rendition = o.renditionTimeout?.toSeconds() ?? kindTask('rendition');
    const chains = o.branchFns
      .filter(({ kind }) => kind !== SEGMENT_KIND && kind !== 'rendition-fallback')
      .map(({ kind }) =>
        kind === 'rendition'
          ? rendition +
            (o.fallback
              ? o.fallbackInvocations * kindTask('rendition-fallback') +
                (o.fallbackInvocations - 1) * FALLBACK_RETRY_INTERVAL_SECONDS
              : 0)
          : kindTask(kind)
      );
    const waves = (n: number, at: number) =>
      Token.isUnresolved(at) || at < 1 ? 1 : Math.ceil(n / at);
    return {
      probeSeconds: task(o.probe),
      planSeconds: task(o.plan),
      segmentSeconds: task(o.segmentFn),
      segmentWaves: waves(o.segments, o.segmentConcurrency),
      branchChainSeconds: Math.max(...chains),
      fanOutWaves: waves(o.branches, o.mapMaxConcurrency),
      aggregateSeconds: task(o.aggregate),
    };
  }

  /**
   * The verdict keeper: an EventBridge rule on the video state machine's
   * "Step Functions Execution Status Change" events that end an execution
   * unsuccessfully (FAILED, TIMED_OUT, ABORTED) invokes a function that writes
   * the video's FAILED manifest, unless one exists, and publishes VideoProcessed
   * FAILED (so the Alerts queue gets it). Events EventBridge cannot deliver, and
   * events the function still fails on after Lambda's two retries, land in one
   * queue (a DLQ in all but name, alarmed). docs/architecture.md.
   * https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html
   */
  private declareVerdictKeeper(
    fn: (id: string, name: string, extra?: Omit<PipelineFunctionProps, 'entry'>) => PipelineFunction
  ): { keeper: PipelineFunction; failures: sqs.Queue; rule: events.Rule } {
    const machine = this.workflow.stateMachine;
    // A dead-letter queue for both stages; nothing consumes it, so it needs no DLQ of its own.
    const failures = new sqs.Queue(this, 'VerdictDeadLetterQueue', SECURE_DLQ_DEFAULTS);
    acknowledgeDeadLetterQueue(failures);
    Validations.of(failures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "The dead-letter queue of the verdict keeper's rule target and function (not of a queue): redrive ends here, and its depth is alarmed.",
    });
    const keeper = fn('VerdictKeeper', 'verdict-keeper', {
      timeout: Duration.seconds(30),
      memorySize: 256,
      environment: {
        OUTPUT_BUCKET: this.outputBucket.bucketName,
        PROCESSED_TOPIC_ARN: this.processed.topic.topicArn,
        STATE_MACHINE_ARN: machine.stateMachineArn,
        // Every ending gives its admission lease back (lambdas/start-workflow/ledger.ts).
        ADMISSION_LEDGER_BUCKET: this.outputBucket.bucketName,
      },
      // Invoked asynchronously: what still fails after Lambda's 2 retries is kept here.
      functionProps: { deadLetterQueue: failures },
    });
    const rule = new events.Rule(this, 'ExecutionEndings', {
      description: 'Video executions that ended without success → the verdict keeper',
      eventPattern: {
        source: [STATES_EVENT_SOURCE],
        detailType: [EXECUTION_STATUS_CHANGE],
        detail: {
          status: [...VERDICT_ENDINGS],
          stateMachineArn: [machine.stateMachineArn],
        },
      },
    });
    const target = new targets.LambdaFunction(keeper.function, {
      deadLetterQueue: failures,
      // EventBridge's own defaults, stated: an alert a day late still beats none.
      retryAttempts: 185,
      maxEventAge: Duration.hours(24),
    });
    rule.addTarget(target);
    // Successes need no verdict, only their admission lease back (the exact running bound).
    new events.Rule(this, 'ExecutionSuccesses', {
      description: 'Video executions that succeeded → the verdict keeper releases their lease',
      eventPattern: {
        source: [STATES_EVENT_SOURCE],
        detailType: [EXECUTION_STATUS_CHANGE],
        detail: { status: ['SUCCEEDED'], stateMachineArn: [machine.stateMachineArn] },
      },
    }).addTarget(target);
    const read = new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: [this.outputBucket.arnForObjects(`${OUTPUT_PREFIX}*`)],
    });
    keeper.role.addToPolicy(read);
    keeper.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [this.outputBucket.arnForObjects(`${OUTPUT_PREFIX}*`)],
      })
    );
    const executions = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${machine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    keeper.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executions] })
    );
    this.processed.topic.grantPublish(keeper.role);
    Validations.of(keeper.role).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Publishing to a KMS-encrypted topic needs GenerateDataKey*, scoped to the topic key.',
    });
    const outputs = `Resource::<${this.getLogicalId(this.outputBucket.node.defaultChild as s3.CfnBucket)}.Arn>/${OUTPUT_PREFIX}*`;
    Validations.of(keeper.role).acknowledge({
      id: `AwsSolutions-IAM5[${outputs}]`,
      reason:
        'Reads and conditionally writes one manifest under the outputs/ prefix; the videoId is only known at run time.',
    });
    const machineId = this.getLogicalId(machine.node.defaultChild as sfn.CfnStateMachine);
    Validations.of(keeper.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${machineId}.Name>:*]`,
      reason:
        "DescribeExecution on the video state machine's own executions; their names are the videoIds, known at run time.",
    });
    return { keeper, failures, rule };
  }

  /**
   * The in-flight gauge: a scheduled rule runs a small function every minute that
   * counts RUNNING executions (one paginated ListExecutions) and publishes
   * `RunningWorkflows` overall and per tenant. A schedule, not the starter: the
   * starter only runs when uploads arrive, and the gauge must move while videos
   * run with no upload in sight. Cost: 43,200 short invocations a month.
   * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
   */
  private declareRunningGauge(
    fn: (id: string, name: string, extra?: Omit<PipelineFunctionProps, 'entry'>) => PipelineFunction
  ): PipelineFunction {
    const machine = this.workflow.stateMachine;
    const gauge = fn('RunningGauge', 'running-gauge', {
      timeout: Duration.seconds(30),
      memorySize: 128,
      environment: { STATE_MACHINE_ARN: machine.stateMachineArn },
    });
    gauge.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['states:ListExecutions'],
        resources: [machine.stateMachineArn],
      })
    );
    const rule = new events.Rule(this, 'RunningGaugeSchedule', {
      description: 'Publishes RunningWorkflows (overall and per tenant) every minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
    });
    // A missed minute is replaced by the next one: no retries, no DLQ to fill.
    rule.addTarget(
      new targets.LambdaFunction(gauge.function, {
        retryAttempts: 0,
        maxEventAge: Duration.minutes(1),
      })
    );
    Validations.of(rule).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason:
        'A gauge: the next minute replaces a missed delivery, so there is nothing worth keeping in a DLQ.',
    });
    const noDlq =
      'A gauge: each minute replaces the last, so a failed run is not worth keeping (its error is logged).';
    Validations.of(gauge.function).acknowledge({ id: 'Serverless-LambdaDLQ', reason: noDlq });
    skipCheckov(gauge.function, [{ id: CHECKOV_SKIPS.synchronousInvokeDlq.id, comment: noDlq }]);
    return gauge;
  }

  /**
   * S3 → SNS declared natively on the bucket (NotificationConfiguration)
   * instead of `addEventNotification`, whose custom resource LocalStack
   * community skips silently. S3 validates the destination when the bucket
   * is created, so the bucket must wait for the topic policy.
   */
  private declareUploadNotifications(): void {
    const topicPolicy = this.uploads.grantServicePublish('s3.amazonaws.com', this.account);
    const cfnBucket = this.uploadBucket.node.defaultChild as s3.CfnBucket;
    cfnBucket.notificationConfiguration = {
      topicConfigurations: [
        {
          event: 's3:ObjectCreated:*',
          topic: this.uploads.topic.topicArn,
          filter: { s3Key: { rules: [{ name: 'prefix', value: UPLOAD_PREFIX }] } },
        },
      ],
    };
    cfnBucket.node.addDependency(topicPolicy);
  }

  /**
   * Each acknowledgement names one finding on one construct and says why it is
   * acceptable. Finding ids are built from logical ids, so a renamed resource
   * re-surfaces the finding instead of silently staying acknowledged.
   */
  private acknowledgeFindings(grants: Array<[PipelineFunction, string[]]>): void {
    for (const [fn, findings] of grants) {
      for (const finding of findings) {
        Validations.of(fn.role).acknowledge({
          id: `AwsSolutions-IAM5[${finding}]`,
          reason:
            'Object-level access is scoped to one prefix of one bucket; the object keys are ' +
            'only known at run time, so the resource ends in a prefix wildcard.',
        });
      }
    }
  }
}
