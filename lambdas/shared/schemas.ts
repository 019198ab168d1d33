import { z } from 'zod';

/**
 * The data contract between the functions and the state machine. Everything
 * that crosses a boundary (SQS body, state input, S3 document) is parsed with
 * one of these schemas at the edge, so a malformed payload fails with a named
 * error instead of a TypeError three calls later.
 */

export const SourceObjectSchema = z.object({
  bucket: z.string().min(3),
  key: z.string().min(1),
  versionId: z.string().min(1).optional(),
  etag: z.string().min(1).optional(),
  size: z.number().int().nonnegative().optional(),
});
export type SourceObject = z.infer<typeof SourceObjectSchema>;

/** Execution input, built by the workflow starter from the S3 event. */
export const WorkflowInputSchema = z.object({
  videoId: z.string().min(1),
  source: SourceObjectSchema,
});
export type WorkflowInput = z.infer<typeof WorkflowInputSchema>;

/** What the probe learned about the upload, plus the uploader's requests. */
export const ProbeResultSchema = z.object({
  durationSec: z.number().positive(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  videoCodec: z.string(),
  audioCodec: z.string().nullable(),
  frameRate: z.number().nonnegative(),
  formatName: z.string(),
  sizeBytes: z.number().int().positive(),
  bitRate: z.number().nonnegative().nullable(),
  /** Thumbnail times the uploader asked for (object metadata `thumbnail-times`). */
  requestedThumbnailTimes: z.array(z.number().nonnegative()).optional(),
});
export type ProbeResult = z.infer<typeof ProbeResultSchema>;

const TaskId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/);

export const ThumbnailTaskSchema = z.object({
  id: TaskId,
  kind: z.literal('thumbnail'),
  atSec: z.number().nonnegative(),
  width: z.number().int().positive(),
});
export const RenditionTaskSchema = z.object({
  id: TaskId,
  kind: z.literal('rendition'),
  height: z.number().int().positive(),
});
export const MetadataTaskSchema = z.object({
  id: TaskId,
  kind: z.literal('metadata'),
});
export const BranchTaskSchema = z.discriminatedUnion('kind', [
  ThumbnailTaskSchema,
  RenditionTaskSchema,
  MetadataTaskSchema,
]);
export type BranchTask = z.infer<typeof BranchTaskSchema>;

export const PlanSchema = z.object({ tasks: z.array(BranchTaskSchema).min(1) });
export type Plan = z.infer<typeof PlanSchema>;

/** One Map iteration's input (the Map's ItemSelector builds it). */
export const BranchInputSchema = z.object({
  videoId: z.string().min(1),
  source: SourceObjectSchema,
  task: BranchTaskSchema,
});
export type BranchInput = z.infer<typeof BranchInputSchema>;

export const ArtifactSchema = z.object({
  key: z.string(),
  contentType: z.string(),
  bytes: z.number().int().nonnegative(),
});
export type Artifact = z.infer<typeof ArtifactSchema>;

export const BranchStatusSchema = z.enum(['SUCCEEDED', 'FAILED']);

/**
 * What a branch returns into the state. Kept tiny on purpose: the details live
 * in S3 (see {@link BranchResultSchema}) so a 1,000-item Map stays far below
 * the 256 KiB state limit, which Step Functions enforces with an uncatchable error.
 */
export const BranchRefSchema = z.object({
  taskId: TaskId,
  status: BranchStatusSchema,
  error: z.string().optional(),
});
export type BranchRef = z.infer<typeof BranchRefSchema>;

/** The full branch record the worker writes to S3 (success or failure). */
export const BranchResultSchema = z.object({
  taskId: TaskId,
  kind: z.enum(['thumbnail', 'rendition', 'metadata']),
  status: BranchStatusSchema,
  artifacts: z.array(ArtifactSchema),
  error: z.object({ name: z.string(), message: z.string() }).nullable(),
  durationMs: z.number().nonnegative(),
  finishedAt: z.string(),
});
export type BranchResult = z.infer<typeof BranchResultSchema>;

/** Step Functions' Catch output (`ResultPath: $.failure`). */
export const StateErrorSchema = z.object({
  Error: z.string(),
  Cause: z.string().optional(),
});

/** The aggregator's input: the whole state, whichever path reached it. */
export const AggregateInputSchema = WorkflowInputSchema.extend({
  probe: ProbeResultSchema.optional(),
  plan: PlanSchema.optional(),
  results: z.array(BranchRefSchema).optional(),
  failure: StateErrorSchema.optional(),
});
export type AggregateInput = z.infer<typeof AggregateInputSchema>;

export const VideoStatusSchema = z.enum(['COMPLETE', 'PARTIAL', 'FAILED']);
export type VideoStatus = z.infer<typeof VideoStatusSchema>;

export const ManifestBranchSchema = z.object({
  name: z.string(),
  kind: z.string(),
  status: BranchStatusSchema,
  artifacts: z.array(ArtifactSchema),
  error: z.object({ name: z.string(), message: z.string() }).nullable(),
  durationMs: z.number().nonnegative().nullable(),
});

export const ManifestSchema = z.object({
  schemaVersion: z.literal(1),
  videoId: z.string(),
  source: SourceObjectSchema,
  status: VideoStatusSchema,
  /** Present whenever status is not COMPLETE. */
  reason: z.string().nullable(),
  probe: ProbeResultSchema.nullable(),
  branches: z.array(ManifestBranchSchema),
  counts: z.object({
    total: z.number().int(),
    succeeded: z.number().int(),
    failed: z.number().int(),
  }),
  createdAt: z.string(),
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
  reason: z.string().nullable(),
  source: SourceObjectSchema,
  manifest: z.object({ bucket: z.string(), key: z.string() }),
});
export type VideoProcessedEvent = z.infer<typeof VideoProcessedEventSchema>;

/** The aggregator's output, which the state machine's final Choice reads. */
export const AggregateOutputSchema = z.object({
  videoId: z.string(),
  status: VideoStatusSchema,
  reason: z.string().nullable(),
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
  eventName: z.string().min(1),
  eventTime: z.string().optional(),
  s3: z.object({
    bucket: z.object({ name: z.string().min(3) }),
    object: z.object({
      key: z.string().min(1),
      size: z.number().int().nonnegative().optional(),
      eTag: z.string().optional(),
      versionId: z.string().optional(),
      sequencer: z.string().optional(),
    }),
  }),
});
export type S3EventRecord = z.infer<typeof S3EventRecordSchema>;

export const S3EventNotificationSchema = z.object({
  Records: z.array(S3EventRecordSchema).min(1),
});

/** What S3 sends once when a notification configuration is created. Not an upload. */
export const S3TestEventSchema = z.object({
  Event: z.literal('s3:TestEvent'),
  Service: z.string().optional(),
  Bucket: z.string().optional(),
});

/** The upload-audit function's record, one per uploaded object version. */
export const UploadAuditRecordSchema = z.object({
  videoId: z.string(),
  bucket: z.string(),
  key: z.string(),
  versionId: z.string().nullable(),
  etag: z.string().nullable(),
  size: z.number().int().nonnegative().nullable(),
  contentType: z.string().nullable(),
  /** The S3 event time: when the upload completed. */
  uploadedAt: z.string().nullable(),
  /** When this function saw the event; the gap shows fan-out lag. */
  receivedAt: z.string(),
  eventName: z.string(),
  /** True when the object was already gone (deleted or overwritten) when audited. */
  missing: z.boolean(),
});
export type UploadAuditRecord = z.infer<typeof UploadAuditRecordSchema>;
