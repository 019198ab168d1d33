import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { rethrowClassified } from '../../contract/aws-errors.js';
import {
  type AggregateInput,
  type AggregateOutput,
  type Branch,
  type BranchRef,
  type BranchResult,
  BranchResultSchema,
  branchRecordKey,
  MANIFEST_SCHEMA_VERSION,
  type Manifest,
  ManifestSchema,
  manifestKey,
  PROCESSED_EVENT_ATTRIBUTES,
  type VideoProcessedEvent,
  type VideoStatus,
} from '../../contract/index.js';
import { mapLimit } from '../shared/concurrency.js';
import { logger, metrics, tracer } from '../shared/powertools.js';
import { getJsonIfExists, putJson } from '../shared/s3.js';

/** One client per process: reused across warm invocations. */
export const sns = tracer.captureAWSv3Client(new SNSClient({}));

/** Parallel S3 reads of branch records; enough to be fast, few enough not to trip SlowDown. */
export const READ_CONCURRENCY = 16;
const REASON_LIMIT = 1000;

const truncate = (s: string, max: number): string =>
  s.length > max ? `${s.slice(0, max - 1)}…` : s;

/**
 * Turns a Catch payload into "<Error>: <message>". Lambda errors arrive with a
 * JSON Cause (`{"errorType","errorMessage","trace"}`); Step Functions' own
 * errors (States.Timeout, Sandbox.Timedout) may carry plain text or nothing.
 */
export const failureReason = (failure: { Error: string; Cause?: string }): string => {
  let message = failure.Cause?.trim() ?? '';
  if (message.startsWith('{')) {
    try {
      const cause = JSON.parse(message) as { errorMessage?: unknown };
      if (typeof cause.errorMessage === 'string') message = cause.errorMessage;
    } catch {
      // Not JSON after all: keep the text as it is.
    }
  }
  return truncate(message ? `${failure.Error}: ${message}` : failure.Error, REASON_LIMIT);
};

/**
 * Reads the worker's record for one planned branch. The record is the source of
 * truth when present (it is written last, after the artifacts). A missing record
 * means the worker never got to write it: it timed out or crashed, and the
 * Map's ref carries the only error name we have.
 */
const branchFor = async (
  bucket: string,
  videoId: string,
  branch: Branch,
  ref: BranchRef | undefined
): Promise<BranchResult> => {
  const raw = await getJsonIfExists<unknown>(bucket, branchRecordKey(videoId, branch.id));
  const parsed = raw === undefined ? undefined : BranchResultSchema.safeParse(raw);
  // The record is the worker's own account, in the manifest's shape: passed through as is.
  if (parsed?.success && parsed.data.id === branch.id) return parsed.data;
  const errorName =
    ref?.status === 'FAILED' ? (ref.error ?? 'BranchFailed') : 'BranchResultMissing';
  const message =
    parsed && !parsed.success
      ? 'branch record is unreadable'
      : 'no branch record: the worker timed out or crashed before recording a result';
  return {
    id: branch.id,
    kind: branch.kind,
    status: 'FAILED',
    artifacts: [],
    error: { name: errorName, message },
    durationMs: null,
    finishedAt: null,
  };
};

export const decideStatus = (
  branches: BranchResult[]
): { status: VideoStatus; reason: string | null } => {
  const failed = branches.filter((b) => b.status === 'FAILED');
  if (branches.length === 0) return { status: 'FAILED', reason: 'no branches were planned' };
  if (failed.length === 0) return { status: 'COMPLETE', reason: null };
  const list = failed
    .map((b) => `${b.id} (${b.error?.name ?? 'Error'}: ${b.error?.message ?? ''})`)
    .join('; ');
  const summary = `${failed.length} of ${branches.length} branches failed: ${list}`;
  return {
    status: failed.length === branches.length ? 'FAILED' : 'PARTIAL',
    reason: truncate(summary, REASON_LIMIT),
  };
};

export interface AggregateOptions {
  outputBucket: string;
  topicArn: string;
  now?: () => Date;
}

/** Fan-in: one manifest and one event per video, whatever path reached here. */
export const aggregate = async (
  input: AggregateInput,
  { outputBucket, topicArn, now = () => new Date() }: AggregateOptions
): Promise<AggregateOutput> => {
  const { videoId, source } = input;
  let branches: BranchResult[] = [];
  let status: VideoStatus;
  let reason: string | null;

  if (input.failure) {
    status = 'FAILED';
    reason = failureReason(input.failure);
  } else if (!input.plan) {
    status = 'FAILED';
    reason = 'no plan: the workflow reached the aggregator without planning';
  } else {
    const refs = new Map((input.results ?? []).map((r) => [r.id, r]));
    branches = await mapLimit(input.plan.branches, READ_CONCURRENCY, (branch) =>
      branchFor(outputBucket, videoId, branch, refs.get(branch.id))
    );
    ({ status, reason } = decideStatus(branches));
  }

  const succeeded = branches.filter((b) => b.status === 'SUCCEEDED').length;
  const manifest = ManifestSchema.parse({
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    videoId,
    source,
    status,
    reason,
    probe: input.probe ?? null,
    branches,
    counts: { total: branches.length, succeeded, failed: branches.length - succeeded },
    createdAt: now().toISOString(),
  } satisfies Manifest);

  const key = manifestKey(videoId);
  // Manifest before event: a subscriber reacting to the event must find it.
  await putJson(outputBucket, key, manifest);

  const event: VideoProcessedEvent = {
    videoId,
    status,
    reason,
    source,
    manifest: { bucket: outputBucket, key },
  };
  try {
    // A retried aggregator publishes again with the same videoId; subscribers dedupe on it.
    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: JSON.stringify(event),
        MessageAttributes: {
          [PROCESSED_EVENT_ATTRIBUTES.status]: { DataType: 'String', StringValue: status },
        },
      })
    );
  } catch (err) {
    rethrowClassified(err, `Publish ${videoId}`);
  }

  const metricName =
    status === 'COMPLETE'
      ? 'VideosCompleted'
      : status === 'PARTIAL'
        ? 'VideosPartial'
        : 'VideosFailed';
  metrics.addMetric(metricName, MetricUnit.Count, 1);
  logger.info('Video aggregated', { status, reason, counts: manifest.counts, manifestKey: key });
  return { videoId, status, reason, manifestKey: key };
};
