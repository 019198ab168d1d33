import * as z from 'zod/mini';
import { CostBreakdownSchema } from './cost.js';
import { AWAIT_MODES, BranchRoleSchema, FAN_OUT_MODES, FanOutPolicySchema } from './policy.js';
import { TenantSchema } from './tenant.js';

/**
 * The data contract between the functions, the state machine, the CLI and the
 * tools. Everything that crosses a boundary (SQS body, state input, S3
 * document) is parsed with one of these schemas at the edge, so a malformed
 * payload fails with a named error instead of a TypeError three calls later.
 *
 * Vocabulary: the unit of fan-out is a **branch**. A plan lists branches; each
 * branch has an `id` (unique within a video) and a `kind` (thumbnail,
 * rendition, metadata, …; see lambdas/branch-kinds). The same words are used
 * in the state machine (`FanOut`, `RunBranch…`, `BranchFailed`), the manifest
 * and the CLI.
 */

export const SourceObjectSchema = z.object({
  bucket: z.string().check(z.minLength(3)),
  key: z.string().check(z.minLength(1)),
  versionId: z.optional(z.string().check(z.minLength(1))),
  etag: z.optional(z.string().check(z.minLength(1))),
  size: z.optional(z.int().check(z.nonnegative())),
});
export type SourceObject = z.infer<typeof SourceObjectSchema>;

/**
 * A redrive request (`npm run redrive -- video`): re-run one video's failed
 * branches in a new execution. `branches` lists the planned branch ids to run
 * again (the plan keeps only those, the aggregator merges the others from the
 * previous manifest); null re-runs every branch (the video failed before its
 * fan-out, so there is nothing to keep).
 */
export const RedriveRequestSchema = z.object({
  attempt: z.int().check(z.positive()),
  branches: z.nullable(z.array(z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,63}$/)))),
  /** The status being redriven (the previous manifest's, or the execution's when none). */
  previousStatus: z.string(),
});
export type RedriveRequest = z.infer<typeof RedriveRequestSchema>;

/** Execution input, built by the workflow starter from the S3 event (or by a redrive). */
export const WorkflowInputSchema = z.object({
  videoId: z.string().check(z.minLength(1)),
  /** tenantOfKey(source.key), computed once by the starter so every step carries it. */
  tenant: TenantSchema,
  source: SourceObjectSchema,
  /**
   * The S3 event time of the upload (ISO 8601), where the upload → manifest
   * latency starts. A plain string: an emulator's odd timestamp must not fail
   * the video, it only leaves the latency unmeasured.
   */
  uploadedAt: z.optional(z.string()),
  redrive: z.optional(RedriveRequestSchema),
});
export type WorkflowInput = z.infer<typeof WorkflowInputSchema>;

/**
 * What the probe learned about the upload, plus the uploader's requests. It
 * travels to every branch, so no branch has to probe the source again.
 */
export const ProbeResultSchema = z.object({
  durationSec: z.number().check(z.positive()),
  width: z.int().check(z.positive()),
  height: z.int().check(z.positive()),
  videoCodec: z.string(),
  audioCodec: z.nullable(z.string()),
  frameRate: z.number().check(z.nonnegative()),
  formatName: z.string(),
  sizeBytes: z.int().check(z.positive()),
  bitRate: z.nullable(z.number().check(z.nonnegative())),
  /** Thumbnail times the uploader asked for (object metadata `thumbnail-times`). */
  requestedThumbnailTimes: z.optional(z.array(z.number().check(z.nonnegative()))),
  /**
   * How many `thumbnail-times` entries were left out (invalid, or beyond the
   * stack's `maxExtraThumbnails`). A count, because this result is copied into
   * every branch's input; the Plan lists them as warnings.
   */
  thumbnailTimesIgnored: z.optional(z.int().check(z.positive())),
  /**
   * The display matrix's rotation (degrees, as ffprobe reports it), when not 0.
   * `width`/`height` are already the displayed ones; ffmpeg turns the frames
   * upright when it decodes (autorotate), so every output is oriented as displayed.
   */
  rotation: z.optional(z.int()),
  /**
   * A variable-frame-rate source's measured average (fps). Present only for such a
   * source: `frameRate` is then the constant rate the outputs are converted to.
   */
  variableFrameRate: z.optional(z.number().check(z.positive())),
  /** How many audio tracks the source has, when more than one. */
  audioTracks: z.optional(z.int().check(z.positive())),
  /** Which audio track (`0:a:N`) the outputs carry: the default one, else the first. @default 0 */
  audioTrack: z.optional(z.int().check(z.nonnegative())),
  /** How long the probe task ran (ms), for the cost estimate. */
  taskDurationMs: z.optional(z.number().check(z.nonnegative())),
  /** Test hook (object metadata `test-fail-once`): branch ids whose first run fails. */
  failOnce: z.optional(z.array(z.string())),
});
export type ProbeResult = z.infer<typeof ProbeResultSchema>;

/** A branch id: unique within one video, safe in an S3 key and a state name. */
export const BranchIdSchema = z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,63}$/));
/** A branch kind's name; the registry in lambdas/branch-kinds knows which exist. */
export const BranchKindNameSchema = z.string().check(z.regex(/^[a-z][a-z0-9-]{0,31}$/));

/**
 * One planned branch as the contract sees it: an id, a kind, and the kind's
 * own parameters (validated by the kind's schema in lambdas/branch-kinds).
 */
export const BranchSchema = z.looseObject({
  id: BranchIdSchema,
  kind: BranchKindNameSchema,
  /**
   * A kind may demote some of its branches: the primary kind's plan marks all
   * but its main branch `secondary` (only the main rendition decides playability).
   */
  role: z.optional(z.literal('secondary')),
});
export type Branch = z.infer<typeof BranchSchema>;

/**
 * Where the Plan wrote the items of the segment Distributed Map (a JSON array
 * in the output bucket), when some rendition is segmented.
 */
export const SegmentItemsRefSchema = z.object({
  key: z.string().check(z.minLength(1)),
  count: z.int().check(z.positive()),
});
export type SegmentItemsRef = z.infer<typeof SegmentItemsRefSchema>;

export const PlanSchema = z.object({
  branches: z.array(BranchSchema).check(z.minLength(1)),
  segments: z.optional(SegmentItemsRefSchema),
  /**
   * What the plan left out of the upload's requests, and what it chose for an
   * unusual source (sourceWarnings), for the manifest's `warnings`. Once in the state (never copied into a branch's input), and
   * bounded (contract/metadata.ts thumbnailTimeWarnings).
   */
  warnings: z.optional(z.array(z.string())),
  /** How long the plan task ran (ms), for the cost estimate. */
  taskDurationMs: z.optional(z.number().check(z.nonnegative())),
});
export type Plan = z.infer<typeof PlanSchema>;

/** One Map iteration's input (the Map's ItemSelector builds it; see state.ts). */
export const BranchInputSchema = z.object({
  videoId: z.string().check(z.minLength(1)),
  tenant: TenantSchema,
  source: SourceObjectSchema,
  probe: ProbeResultSchema,
  branch: BranchSchema,
  /**
   * Sequential mode only (the construct's ItemSelector adds it): this branch's
   * place in the plan, the plan and the policy, so the worker can see whether
   * an earlier branch stopped the sequence.
   */
  sequence: z.optional(
    z.object({
      index: z.int().check(z.nonnegative()),
      branches: z.array(BranchSchema),
      policy: FanOutPolicySchema,
    })
  ),
});
export type BranchInput = z.infer<typeof BranchInputSchema>;

export const ArtifactSchema = z.object({
  key: z.string(),
  contentType: z.string(),
  bytes: z.int().check(z.nonnegative()),
});
export type Artifact = z.infer<typeof ArtifactSchema>;

/** SKIPPED: a sequential run stopped before the branch (the worker's gate). */
/** SENT only in a state ref: a fire-and-forget branch dispatched asynchronously, not awaited. */
export const BranchStatusSchema = z.enum(['SUCCEEDED', 'FAILED', 'SKIPPED', 'SENT']);
export type BranchStatus = z.infer<typeof BranchStatusSchema>;

export const ErrorInfoSchema = z.object({ name: z.string(), message: z.string() });
export type ErrorInfo = z.infer<typeof ErrorInfoSchema>;

/**
 * What a branch returns into the state. Kept tiny on purpose: the details live
 * in S3 (see {@link BranchResultSchema}) so a 1,000-branch Map stays far below
 * the 256 KiB state limit, which Step Functions enforces with an uncatchable error.
 */
export interface BranchRef {
  id: string;
  status: BranchStatus;
  /** The error name (`States.Timeout` when the branch ran past its policy timeout). */
  error?: string | undefined;
  /** The fallback that ran in this branch's place (its own ref, possibly with its own fallback). */
  fallback?: BranchRef | undefined;
}
export const BranchRefSchema: z.ZodMiniType<BranchRef> = z.object({
  id: BranchIdSchema,
  status: BranchStatusSchema,
  error: z.optional(z.string()),
  get fallback() {
    return z.optional(BranchRefSchema);
  },
});

/**
 * One branch's outcome, in one shape from the worker's S3 record to the
 * manifest. `durationMs`/`finishedAt` are null when the worker never got to
 * record anything (it timed out or crashed).
 */
export const BranchResultSchema = z.object({
  id: BranchIdSchema,
  kind: BranchKindNameSchema,
  status: BranchStatusSchema,
  artifacts: z.array(ArtifactSchema),
  error: z.nullable(ErrorInfoSchema),
  durationMs: z.nullable(z.number().check(z.nonnegative())),
  finishedAt: z.nullable(z.string()),
});
export type BranchResult = z.infer<typeof BranchResultSchema>;

/** Step Functions' Catch output (`ResultPath: $.failure`). */
export const StateErrorSchema = z.object({
  Error: z.string(),
  Cause: z.optional(z.string()),
});

/** The aggregator's input: the whole state, whichever path reached it. */
export const AggregateInputSchema = z.extend(WorkflowInputSchema, {
  probe: z.optional(ProbeResultSchema),
  plan: z.optional(PlanSchema),
  results: z.optional(z.array(BranchRefSchema)),
  /**
   * The Wave's refs (parallel mode with a segment stage): the FanOut's, where a
   * deferred branch is SKIPPED, and the Joins map's, which run only those.
   */
  wave: z.optional(
    z.object({
      fanOut: z.array(BranchRefSchema),
      joins: z.optional(z.array(BranchRefSchema)),
    })
  ),
  failure: z.optional(StateErrorSchema),
  /** Written by the construct's first state; absent in executions started before policies existed. */
  policy: z.optional(FanOutPolicySchema),
});
export type AggregateInput = z.infer<typeof AggregateInputSchema>;

export const VideoStatusSchema = z.enum(['COMPLETE', 'PARTIAL', 'FAILED']);
export type VideoStatus = z.infer<typeof VideoStatusSchema>;

/**
 * Bumped on any change a reader could notice. 2: `branches[].name` became `id`;
 * `finishedAt`. 3: fan-out policies: `policy`, `fanOut`, and per branch `role`,
 * `fallbackFor` and the statuses TIMED_OUT, SKIPPED and SENT. 4: `tenant`, `estimatedCostUsd`,
 * `costBreakdown` (contract/cost.ts), `redrive`, and a segmented rendition's `segmentation`.
 * 5: `warnings` (metadata entries ignored), `ending` and `execution` (a verdict the
 * verdict keeper wrote for an execution that ended without the aggregator's), and the
 * probe's `thumbnailTimesIgnored`. 6: `hls` (the HLS ladder: multivariant, audio and
 * variant playlists). 7: the probe's `rotation`, `variableFrameRate`, `audioTracks` and
 * `audioTrack`; `width`/`height` are the displayed size.
 */
export const MANIFEST_SCHEMA_VERSION = 7;

/**
 * A branch's status in the manifest. TIMED_OUT: ran past its policy timeout
 * (terminal; a late result is ignored). SKIPPED: never ran (sequential mode
 * stopped before it). SENT: fire-and-forget, started but not awaited.
 */
export const ManifestBranchStatusSchema = z.enum([
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'SKIPPED',
  'SENT',
]);
export type ManifestBranchStatus = z.infer<typeof ManifestBranchStatusSchema>;

/** How a rendition was segmented, as the plan chose it (present only on segmented renditions). */
export const ManifestSegmentationSchema = z.object({
  count: z.int().check(z.positive()),
  lengthSec: z.number().check(z.positive()),
});

export const ManifestBranchSchema = z.extend(BranchResultSchema, {
  status: ManifestBranchStatusSchema,
  segmentation: z.optional(ManifestSegmentationSchema),
  role: BranchRoleSchema,
  /** The id of the branch this one stood in for; null unless it is a fallback. */
  fallbackFor: z.nullable(BranchIdSchema),
});
export type ManifestBranch = z.infer<typeof ManifestBranchSchema>;

/** Per-video outcome counts after the policy is applied (also emitted as EMF metrics per kind). */
export const FanOutCountsSchema = z.object({
  /** Branches started, fallbacks included. */
  sent: z.int(),
  succeeded: z.int(),
  failed: z.int(),
  timedOut: z.int(),
  /** Fallbacks that ran. */
  fellBack: z.int(),
  skipped: z.int(),
});
export type FanOutCounts = z.infer<typeof FanOutCountsSchema>;

/**
 * The video's HLS ladder (RFC 8216): what a player opens (`multivariantPlaylist`),
 * the one audio playlist (null for a silent source), and one video variant per
 * delivered rendition, with what the multivariant playlist declares for it.
 * Keys are S3 keys in the output bucket; the playlists' URIs are relative.
 */
export const ManifestHlsSchema = z.object({
  multivariantPlaylist: z.string(),
  audioPlaylist: z.nullable(z.string()),
  variants: z.array(
    z.object({
      /** The rendition (or fallback) branch that packaged this variant. */
      branchId: BranchIdSchema,
      playlist: z.string(),
      /** BANDWIDTH: peak segment bit rate, audio included (bits/s). */
      bandwidth: z.int().check(z.nonnegative()),
      /** RESOLUTION, `<width>x<height>`. */
      resolution: z.nullable(z.string()),
      /** CODECS, audio included, e.g. `avc1.64001e,mp4a.40.2`. */
      codecs: z.string(),
    })
  ),
});
export type ManifestHls = z.infer<typeof ManifestHlsSchema>;

/**
 * How an execution ended without the aggregator's verdict (Step Functions
 * execution statuses; docs/architecture.md "Every ending has a verdict").
 */
export const EXECUTION_ENDINGS = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export const ExecutionEndingSchema = z.enum(EXECUTION_ENDINGS);
export type ExecutionEnding = z.infer<typeof ExecutionEndingSchema>;

export const ManifestSchema = z.object({
  schemaVersion: z.literal(MANIFEST_SCHEMA_VERSION),
  videoId: z.string(),
  /** The upload's tenant (contract/tenant.ts). */
  tenant: TenantSchema,
  source: SourceObjectSchema,
  status: VideoStatusSchema,
  /** Present whenever status is not COMPLETE. */
  reason: z.nullable(z.string()),
  /**
   * What was asked for but not done, without failing the video (an invalid
   * `thumbnail-times` entry, times beyond the limit), and what the pipeline chose
   * for an unusual source (which of several audio tracks, a variable frame rate
   * made constant: docs/ffmpeg.md); empty when there is none.
   * Optional for the readers of manifests written before it existed.
   */
  warnings: z.optional(z.array(z.string())),
  probe: z.nullable(ProbeResultSchema),
  /** The policy that decided `status`; null when the workflow failed before the fan-out. */
  policy: z.nullable(z.object({ mode: z.enum(FAN_OUT_MODES), await: z.enum(AWAIT_MODES) })),
  /** Planned branches in plan order, each followed by the fallbacks that ran for it. */
  branches: z.array(ManifestBranchSchema),
  /** Planned branches: `succeeded` counts those that succeeded themselves or through a fallback. */
  counts: z.object({
    total: z.int(),
    succeeded: z.int(),
    failed: z.int(),
  }),
  fanOut: FanOutCountsSchema,
  /**
   * The HLS ladder; null when no rendition was delivered (or the workflow
   * failed before its fan-out).
   */
  hls: z.nullable(ManifestHlsSchema),
  /** The estimate of what this video cost on AWS (contract/cost.ts; the README says what it leaves out). */
  estimatedCostUsd: z.number().check(z.nonnegative()),
  costBreakdown: CostBreakdownSchema,
  createdAt: z.string(),
  /**
   * Set when this manifest was rewritten by a redrive: which attempt, which
   * planned branches ran again (null: all), and the status it replaced. The
   * other branches' entries are the previous manifest's, unchanged.
   */
  redrive: z.nullable(
    z.object({
      attempt: z.int().check(z.positive()),
      branches: z.nullable(z.array(z.string())),
      previousStatus: z.string(),
      executionName: z.string(),
    })
  ),
  /**
   * Set only on a verdict the verdict keeper wrote because the execution ended
   * (FAILED, TIMED_OUT, ABORTED) without the aggregator's manifest; null on
   * the aggregator's. Such a manifest is always FAILED, with the reason.
   */
  ending: z.nullable(ExecutionEndingSchema),
  /**
   * The execution whose ending `ending` records (its ARN, its stop time, and
   * the Step Functions error, if any); null on the aggregator's manifest.
   */
  execution: z.nullable(
    z.object({
      arn: z.string(),
      stopDate: z.string(),
      error: z.nullable(z.string()),
    })
  ),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/**
 * Body of the `VideoProcessed` SNS message; `status` is also a message
 * attribute (for filter policies). Delivery is at least once and a retried
 * aggregator publishes again, so subscribers must dedupe on `videoId`. The
 * manifest is always written before the event is published.
 */
export const VideoProcessedEventSchema = z.object({
  videoId: z.string(),
  status: VideoStatusSchema,
  reason: z.nullable(z.string()),
  source: SourceObjectSchema,
  manifest: z.object({ bucket: z.string(), key: z.string() }),
});
export type VideoProcessedEvent = z.infer<typeof VideoProcessedEventSchema>;
/** SNS message attributes on `VideoProcessed` that subscribers may filter on. */
export const PROCESSED_EVENT_ATTRIBUTES = { status: 'status', type: 'type' } as const;
/** Values of the `type` message attribute on the VideoProcessed topic. */
export const PROCESSED_EVENT_TYPES = {
  playable: 'VideoPlayable',
  processed: 'VideoProcessed',
} as const;

/**
 * Published on the VideoProcessed topic (attribute `type = VideoPlayable`, no
 * `status` attribute, so status-filtered subscriptions such as the alerts
 * queue never see it) as soon as the multivariant playlist
 * (`outputs/<videoId>/hls/index.m3u8`) lists a delivered rendition, usually
 * the lowest rung, before the other branches finish (docs/hls.md). At least
 * once; dedupe on `videoId`.
 */
export const VideoPlayableEventSchema = z.object({
  videoId: z.string(),
  /** The rendition (or rendition fallback) whose delivery made the playlist playable first. */
  branchId: BranchIdSchema,
  artifacts: z.array(ArtifactSchema),
  source: SourceObjectSchema,
  playableAt: z.string(),
});
export type VideoPlayableEvent = z.infer<typeof VideoPlayableEventSchema>;

/** The aggregator's output, which the state machine's final Choice reads. */
export const AggregateOutputSchema = z.object({
  videoId: z.string(),
  status: VideoStatusSchema,
  reason: z.nullable(z.string()),
  manifestKey: z.string(),
});
export type AggregateOutput = z.infer<typeof AggregateOutputSchema>;

/**
 * One record of an S3 event notification, as S3 puts it in the SNS message
 * (raw delivery makes that message the SQS body). `sequencer` is only present
 * on PUT/DELETE events, `versionId` only on versioned buckets.
 */
export const S3EventRecordSchema = z.object({
  eventSource: z.literal('aws:s3'),
  eventName: z.string().check(z.minLength(1)),
  eventTime: z.optional(z.string()),
  s3: z.object({
    bucket: z.object({ name: z.string().check(z.minLength(3)) }),
    object: z.object({
      key: z.string().check(z.minLength(1)),
      size: z.optional(z.int().check(z.nonnegative())),
      eTag: z.optional(z.string()),
      versionId: z.optional(z.string()),
      sequencer: z.optional(z.string()),
    }),
  }),
});
export type S3EventRecord = z.infer<typeof S3EventRecordSchema>;

export const S3EventNotificationSchema = z.object({
  Records: z.array(S3EventRecordSchema).check(z.minLength(1)),
});

/** What S3 sends once when a notification configuration is created. Not an upload. */
export const S3TestEventSchema = z.object({
  Event: z.literal('s3:TestEvent'),
  Service: z.optional(z.string()),
  Bucket: z.optional(z.string()),
});

/** The upload-audit function's record, one per uploaded object version. */
export const UploadAuditRecordSchema = z.object({
  videoId: z.string(),
  bucket: z.string(),
  key: z.string(),
  versionId: z.nullable(z.string()),
  etag: z.nullable(z.string()),
  size: z.nullable(z.int().check(z.nonnegative())),
  contentType: z.nullable(z.string()),
  /** The S3 event time: when the upload completed. */
  uploadedAt: z.nullable(z.string()),
  /** When this function saw the event; the gap shows fan-out lag. */
  receivedAt: z.string(),
  eventName: z.string(),
  /** True when the object was already gone (deleted or overwritten) when audited. */
  missing: z.boolean(),
});
export type UploadAuditRecord = z.infer<typeof UploadAuditRecordSchema>;

/**
 * `outputs/by-key/<hash>/current.json`: the videoId that is current for one source
 * key. "Current" is the upload S3 holds under the key when the starter writes
 * (a HEAD after reading the pointer; lambdas/start-workflow/pointer.ts), never
 * the one processed last and never the event's `sequencer`, which is recorded
 * here but decides nothing (an event's claim, forgeable).
 */
export const CurrentPointerSchema = z.object({
  bucket: z.string(),
  key: z.string(),
  videoId: z.string().check(z.minLength(1)),
  /** The S3 event's sequencer (hex); null when the event carried none. */
  sequencer: z.nullable(z.string().check(z.regex(/^[0-9A-Fa-f]+$/))),
  /** The S3 event time (upload completion), for readers; it decides nothing either. */
  eventTime: z.string(),
  /** When the pointer was written. */
  updatedAt: z.string(),
});
export type CurrentPointer = z.infer<typeof CurrentPointerSchema>;
