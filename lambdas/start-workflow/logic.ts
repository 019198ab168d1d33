import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import {
  extensionOf,
  METRIC_NAMES,
  type SourceObject,
  tenantOfKey,
  VIDEO_EXTENSIONS,
  videoIdFor,
  type WorkflowInput,
} from '../../contract/index.js';
import { rethrowClassified } from '../../shared/aws-errors.js';
import { logger, metrics, tracer } from '../shared/powertools.js';
import { s3 } from '../shared/s3.js';
import { uploadsIn } from '../shared/s3-events.js';
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
      new StartExecutionCommand({ stateMachineArn, name: videoId, input: JSON.stringify(input) })
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
  /** Where `outputs/by-key/<hash>/current.json` lives; no pointer is kept when unset. */
  readonly outputBucket?: string;
}

/**
 * Handles one SQS body (one S3 notification, possibly several records).
 * Every object under uploads/ is started, whatever its extension: the probe
 * rejects non-videos with a reason, so each upload still ends with a manifest.
 * Over the running-workflow bound (`budget`) it throws WorkflowsAtCapacity, and
 * over the upload's tenant quota TenantOverQuota, so the message waits in the
 * queue. An invalid tenant segment throws InvalidEventError before any slot is taken. If one record fails the whole message is
 * retried; records that already started come back as duplicates, so the retry
 * is safe. Once started (or found started), the upload is offered to its key's
 * pointer, which keeps the newest upload whatever order the events came in.
 */
export const handleUploadMessage = async (
  body: string,
  config: StarterConfig | string,
  budget?: StartBudget
): Promise<StartOutcome[]> => {
  const { stateMachineArn, outputBucket } =
    typeof config === 'string' ? { stateMachineArn: config, outputBucket: undefined } : config;
  const outcomes: StartOutcome[] = [];
  for (const { source, record } of uploadsIn(body)) {
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
      const result = await recordCurrentUpload(s3, outputBucket, {
        bucket: source.bucket,
        key: source.key,
        videoId: outcome.videoId,
        sequencer: record.s3.object.sequencer || null,
        eventTime: record.eventTime ?? new Date().toISOString(),
        updatedAt: new Date().toISOString(),
      });
      logger.info('Current-upload pointer', { key: source.key, videoId: outcome.videoId, result });
    }
  }
  return outcomes;
};
