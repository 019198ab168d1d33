import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import {
  extensionOf,
  METRIC_NAMES,
  manifestKey,
  type S3EventRecord,
  type SourceObject,
  UPLOAD_PREFIX,
  type UploadIdentity,
  type UploadOverflowPolicy,
  uploadIdentity,
  VIDEO_EXTENSIONS,
  type WorkflowInput,
} from '../../contract/index.js';
import { rethrowClassified } from '../../shared/aws-errors.js';
import { logger, metrics, tracer } from '../shared/powertools.js';
import { getJsonIfExists, putJsonIfAbsent, s3 } from '../shared/s3.js';
import { uploadsIn } from '../shared/s3-events.js';
import { publishEvent } from '../shared/sns.js';
import { checkPinned, isCurrentObject, isPinnable } from '../shared/source-pin.js';
import { emitTenantMetric } from '../shared/tenant-metrics.js';
import { type AdmissionDecision, rejectionReason } from './admission.js';
import {
  type StartBudget,
  TenantOverQuota,
  TenantRateLimited,
  WorkflowsAtCapacity,
} from './backpressure.js';
import { recordCurrentUpload } from './pointer.js';
import { type RejectIo, rejectedLimit, rejectOverLimit } from './reject.js';

/** One client per process: reused across warm invocations. */
export const sfn = tracer.captureAWSv3Client(new SFNClient({}));

export type StartOutcome =
  | { videoId: string; status: 'started'; executionArn: string }
  | { videoId: string; status: 'duplicate' };

/** A started (or already started) upload, or one rejected over a limit (overflow policy `reject`). */
export type UploadOutcome =
  | StartOutcome
  | { videoId: string; status: 'rejected'; tenant: string; limit: string };

/**
 * Starts one execution named after the upload. The name is the idempotency
 * key: S3 delivers notifications at least once and SNS/SQS may redeliver, and
 * Step Functions refuses a second execution with the same name for 90 days.
 */
export const startWorkflow = async (
  stateMachineArn: string,
  source: SourceObject,
  { videoId, tenant }: UploadIdentity,
  uploadedAt?: string
): Promise<StartOutcome> => {
  const input: WorkflowInput = { videoId, tenant, source, ...(uploadedAt && { uploadedAt }) };
  try {
    const res = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name: videoId,
        input: JSON.stringify(input),
        // One trace per video: the execution (tracing on) and every task continue this
        // invocation's trace (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-xray-tracing.html).
        traceHeader: process.env._X_AMZN_TRACE_ID,
      })
    );
    logger.info('Workflow started', { videoId, key: source.key, executionArn: res.executionArn });
    metrics.addMetric('WorkflowsStarted', MetricUnit.Count, 1);
    return { videoId, status: 'started', executionArn: res.executionArn ?? '' };
  } catch (err) {
    if (err instanceof ExecutionAlreadyExists || (err as Error).name === 'ExecutionAlreadyExists') {
      logger.info('Duplicate upload event ignored: execution already exists', {
        videoId,
        key: source.key,
      });
      metrics.addMetric('DuplicateUploadIgnored', MetricUnit.Count, 1);
      return { videoId, status: 'duplicate' };
    }
    return rethrowClassified(err, `StartExecution ${videoId}`);
  }
};

export interface StarterConfig {
  readonly stateMachineArn: string;
  /**
   * The only bucket whose events this starter acts on; an event naming any
   * other bucket is rejected (the output bucket's objects are never videos).
   */
  readonly uploadBucket: string;
  /** Where `outputs/by-key/<hash>/current.json` lives; no pointer is kept when unset. */
  readonly outputBucket?: string | undefined;
}

/** Why an upload event was dropped: the log line's `reason` and the metric's meaning. */
export type RejectReason =
  | 'foreign-bucket'
  | 'outside-contract'
  | 'unpinned'
  | 'not-in-s3'
  | 'other-bytes';

/**
 * Dropped events: one warning each (with what the event claimed) and one
 * `UploadEventsRejected` count. The message is then deleted like a processed
 * one: it is a verdict, not a failure, so it never loops through the DLQ.
 */
export const rejectUpload = (
  reason: RejectReason,
  detail: string,
  claimed: {
    bucket: string;
    key: string;
    etag?: string | undefined;
    versionId?: string | undefined;
  }
): void => {
  logger.warn('Upload event rejected: it does not match S3', { reason, detail, ...claimed });
  metrics.addMetric(METRIC_NAMES.uploadEventsRejected, MetricUnit.Count, 1);
};

/**
 * Verifies one upload event against S3 before anything acts on it
 * (source-pin.ts): HeadObject with the event's VersionId when it has one, else
 * with If-Match on its ETag. Returns the rejection, or null when S3 holds
 * exactly the object the event names. Transient S3 failures throw
 * TransientServiceError: the message is retried, not judged.
 *
 * A mismatch is dropped, not ended as a FAILED manifest, because the starter
 * cannot tell a forged event from a real one whose bytes are gone: ending both
 * with a manifest would let anyone who can send to the queue write manifests
 * (and page the alerts queue) for any key. What a drop costs: on a versioned
 * bucket (AWS, as the stack configures it) nothing, since a real version still
 * exists when overwritten and so passes; on an unversioned bucket (the local
 * runtime) an upload overwritten before its event is checked gets no manifest
 * of its own: its bytes exist nowhere, and the upload that replaced it gets
 * the key's manifest. A replayed old event of a superseded version passes on a
 * versioned bucket, is refused by Step Functions as a duplicate execution
 * name, and never moves the pointer (it is not the current object).
 */
export const verifyUpload = async (
  source: SourceObject,
  uploadBucket: string
): Promise<{ reason: RejectReason; detail: string } | null> => {
  if (source.bucket !== uploadBucket) {
    return {
      reason: 'foreign-bucket',
      detail: `bucket ${source.bucket} is not the upload bucket ${uploadBucket}`,
    };
  }
  if (!isPinnable(source)) {
    return { reason: 'unpinned', detail: 'the event names neither a versionId nor an ETag' };
  }
  const check = await checkPinned(s3, source);
  if (check.outcome === 'match') return null;
  return {
    reason: check.outcome === 'missing' ? 'not-in-s3' : 'other-bytes',
    detail: check.detail,
  };
};

/**
 * Admission of one upload: the lease ledger (ledger.ts LeaseGate) on every
 * deployed stack, or the older ListExecutions budget (backpressure.ts
 * StartBudget, through budgetGate) where no ledger bucket is configured.
 */
export interface StartGate {
  take(videoId: string, tenant: string): Promise<AdmissionDecision>;
  /** Gives a fresh lease back when its execution already existed (a duplicate event). */
  release?(videoId: string): Promise<boolean>;
}

/** The ListExecutions budget as a gate (no lease: nothing to release). */
export const budgetGate = (budget: StartBudget): StartGate => ({
  async take(_videoId, tenant) {
    const decision = await budget.take(tenant);
    if (decision === 'start') return { verdict: 'start', fresh: true };
    return {
      verdict: decision,
      limit: decision === 'over-bound' ? 'running bound' : 'tenant quota',
    };
  },
});

/** What happens to an upload over a limit (contract/admission.ts); `block` when unset. */
export interface OverflowConfig {
  readonly policy: UploadOverflowPolicy;
  /** Where a rejection's VideoProcessed FAILED event goes (required for `reject`). */
  readonly topicArn?: string | undefined;
  readonly io?: RejectIo;
  /**
   * The message was received before (ApproximateReceiveCount > 1). With `reject`,
   * an upload already rejected then stays rejected: its manifest is checked first, so a
   * redelivery that finds room now does not start it over its FAILED verdict.
   */
  readonly redelivered?: boolean;
}

export const defaultRejectIo: RejectIo = {
  putIfAbsent: putJsonIfAbsent,
  getJson: (bucket, key) => getJsonIfExists(bucket, key),
  publish: (topicArn, event, attributes, tenant) =>
    publishEvent(topicArn, event, attributes, `Publish ${event.videoId}`, tenant),
};

/** The limit an earlier attempt rejected this upload over, read back from its manifest. */
const earlierRejection = async (
  outputBucket: string,
  videoId: string,
  io: RejectIo
): Promise<{ verdict: 'over-bound'; limit: string } | undefined> => {
  const limit = rejectedLimit(await io.getJson(outputBucket, manifestKey(videoId)));
  // The verdict only routes the upload to the reject path; the reason keeps the limit.
  return limit === undefined ? undefined : { verdict: 'over-bound', limit };
};

/** Held back (block): the message waits; a rate limit says when its next token is due. */
const holdBackError = (decision: Exclude<AdmissionDecision, { verdict: 'start' }>, key: string) => {
  switch (decision.verdict) {
    case 'over-tenant-quota':
      return new TenantOverQuota(`Over the ${decision.limit}; ${key} waits in the queue`);
    case 'over-rate-limit':
      return new TenantRateLimited(
        `Over the ${decision.limit}; ${key} waits in the queue`,
        Math.ceil((decision.retryAfterMs ?? 0) / 1000)
      );
    default:
      return new WorkflowsAtCapacity(`Over the ${decision.limit}; ${key} waits in the queue`);
  }
};

/**
 * Handles one SQS body (one S3 notification, possibly several records).
 * Every verified object under uploads/ is started, whatever its extension: the
 * probe rejects non-videos with a reason, so each upload still ends with a
 * manifest. Records of another bucket or prefix, and records S3 does not
 * confirm, are dropped (rejectUpload) before they take a slot, start work or
 * touch the pointer.
 * Each upload is admitted by `gate` (the running bound, its tenant's quota and
 * rate limit). Over a limit, `block` throws WorkflowsAtCapacity (or its
 * TenantOverQuota / TenantRateLimited), so the message waits in the queue;
 * `reject` ends the upload with a FAILED manifest `rejected: over <limit>` and
 * its event (reject.ts). An invalid tenant segment throws InvalidEventError before any slot is taken. If one record fails the whole message is
 * retried; records that already started come back as duplicates (and keep the
 * lease they took), so the retry is safe. Once started, found started or
 * rejected, the upload is offered to its key's pointer, which takes it only
 * while it is the key's current object.
 */
export const handleUploadMessage = async (
  body: string,
  config: StarterConfig,
  gate?: StartGate,
  overflow: OverflowConfig = { policy: 'block' }
): Promise<UploadOutcome[]> => {
  const { stateMachineArn, outputBucket, uploadBucket } = config;
  const outcomes: UploadOutcome[] = [];
  const ignored = (record: S3EventRecord, source: SourceObject) =>
    rejectUpload(
      'outside-contract',
      `${record.eventName}: not an object created under ${UPLOAD_PREFIX}`,
      source
    );
  for (const { source, record } of uploadsIn(body, ignored)) {
    const rejected = await verifyUpload(source, uploadBucket);
    if (rejected) {
      rejectUpload(rejected.reason, rejected.detail, source);
      continue;
    }
    if (!(VIDEO_EXTENSIONS as readonly string[]).includes(extensionOf(source.key))) {
      logger.info('Unexpected extension; starting anyway so the probe records why it fails', {
        key: source.key,
      });
    }
    // The upload enters here: its tenant and videoId are derived once and carried from now on.
    const identity = uploadIdentity(source);
    const { tenant, videoId } = identity;
    const earlier =
      overflow.policy === 'reject' && overflow.redelivered && outputBucket
        ? await earlierRejection(outputBucket, videoId, overflow.io ?? defaultRejectIo)
        : undefined;
    const decision: AdmissionDecision = earlier
      ? { verdict: earlier.verdict, limit: earlier.limit }
      : gate
        ? await gate.take(videoId, tenant)
        : { verdict: 'start', fresh: true };
    let outcome: UploadOutcome;
    if (decision.verdict === 'start') {
      const started = await startWorkflow(
        stateMachineArn,
        source,
        identity,
        record.eventTime || undefined
      );
      // A fresh lease on an execution that already existed: that execution's own lease ended
      // with it (released, reconciled or expired), so this one stands for nothing.
      if (started.status === 'duplicate' && decision.fresh && gate?.release) {
        await gate.release(videoId);
      }
      outcome = started;
    } else if (overflow.policy === 'reject' && outputBucket && overflow.topicArn) {
      const reason = rejectionReason(decision.limit);
      const input: WorkflowInput = {
        videoId,
        tenant,
        source,
        ...(record.eventTime && { uploadedAt: record.eventTime }),
      };
      const written = await rejectOverLimit(
        input,
        reason,
        { outputBucket, topicArn: overflow.topicArn },
        overflow.io ?? defaultRejectIo
      );
      logger.info('Upload rejected over a limit', { videoId, key: source.key, reason, written });
      outcome = { videoId, status: 'rejected', tenant, limit: decision.limit };
    } else {
      emitTenantMetric(METRIC_NAMES.uploadsHeldBack, MetricUnit.Count, 1, tenant);
      throw holdBackError(decision, source.key);
    }
    outcomes.push(outcome);
    if (outputBucket) {
      const result = await recordCurrentUpload(
        s3,
        outputBucket,
        {
          bucket: source.bucket,
          key: source.key,
          videoId: outcome.videoId,
          sequencer: record.s3.object.sequencer || null,
          eventTime: record.eventTime ?? new Date().toISOString(),
          updatedAt: new Date().toISOString(),
        },
        () => isCurrentObject(s3, source)
      );
      logger.info('Current-upload pointer', { key: source.key, videoId: outcome.videoId, result });
    }
  }
  return outcomes;
};
