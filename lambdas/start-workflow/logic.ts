import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import {
  extensionOf,
  METRIC_NAMES,
  type S3EventRecord,
  type SourceObject,
  tenantOfKey,
  UPLOAD_PREFIX,
  VIDEO_EXTENSIONS,
  videoIdFor,
  type WorkflowInput,
} from '../../contract/index.js';
import { rethrowClassified } from '../../shared/aws-errors.js';
import { logger, metrics, tracer } from '../shared/powertools.js';
import { s3 } from '../shared/s3.js';
import { uploadsIn } from '../shared/s3-events.js';
import { checkPinned, isCurrentObject, isPinnable } from '../shared/source-pin.js';
import { emitTenantMetric } from '../shared/tenant-metrics.js';
import { type StartBudget, TenantOverQuota, WorkflowsAtCapacity } from './backpressure.js';
import { recordCurrentUpload } from './pointer.js';

/** One client per process: reused across warm invocations. */
export const sfn = tracer.captureAWSv3Client(new SFNClient({}));

export type StartOutcome =
  | { videoId: string; status: 'started'; executionArn: string }
  | { videoId: string; status: 'duplicate' };

/**
 * Starts one execution named after the upload. The name is the idempotency
 * key: S3 delivers notifications at least once and SNS/SQS may redeliver, and
 * Step Functions refuses a second execution with the same name for 90 days.
 */
export const startWorkflow = async (
  stateMachineArn: string,
  source: SourceObject,
  uploadedAt?: string
): Promise<StartOutcome> => {
  const videoId = videoIdFor(source);
  const tenant = tenantOfKey(source.key);
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
 * Handles one SQS body (one S3 notification, possibly several records).
 * Every verified object under uploads/ is started, whatever its extension: the
 * probe rejects non-videos with a reason, so each upload still ends with a
 * manifest. Records of another bucket or prefix, and records S3 does not
 * confirm, are dropped (rejectUpload) before they take a slot, start work or
 * touch the pointer.
 * Over the running-workflow bound (`budget`) it throws WorkflowsAtCapacity, and
 * over the upload's tenant quota TenantOverQuota, so the message waits in the
 * queue. An invalid tenant segment throws InvalidEventError before any slot is taken. If one record fails the whole message is
 * retried; records that already started come back as duplicates, so the retry
 * is safe. Once started (or found started), the upload is offered to its key's
 * pointer, which takes it only while it is the key's current object.
 */
export const handleUploadMessage = async (
  body: string,
  config: StarterConfig,
  budget?: StartBudget
): Promise<StartOutcome[]> => {
  const { stateMachineArn, outputBucket, uploadBucket } = config;
  const outcomes: StartOutcome[] = [];
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
    const tenant = tenantOfKey(source.key);
    const decision = budget ? await budget.take(tenant) : 'start';
    if (decision !== 'start') {
      emitTenantMetric(METRIC_NAMES.uploadsHeldBack, MetricUnit.Count, 1, tenant);
      if (decision === 'over-tenant-quota') {
        throw new TenantOverQuota(
          `Tenant ${tenant} is at its quota of running workflows; ${source.key} waits in the queue`
        );
      }
      throw new WorkflowsAtCapacity(
        `Running workflows at the bound; ${source.key} waits in the queue`
      );
    }
    const outcome = await startWorkflow(stateMachineArn, source, record.eventTime || undefined);
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
