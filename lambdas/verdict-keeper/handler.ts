import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { ADMISSION_LEDGER_KEY, METRIC_NAMES } from '../../contract/index.js';
import { rethrowClassified } from '../../shared/aws-errors.js';
import { requireEnv } from '../shared/env.js';
import { correlate, flushMetrics, logger, metrics, tracer } from '../shared/powertools.js';
import { getJsonIfExists, putJsonIfAbsent, s3 } from '../shared/s3.js';
import { publishEvent } from '../shared/sns.js';
import { emitTenantMetric } from '../shared/tenant-metrics.js';
import { releaseLease, s3LedgerStore } from '../start-workflow/ledger.js';
import { keepVerdict, stoppedExecution, type VerdictIo } from './logic.js';

const sfn = tracer.captureAWSv3Client(new SFNClient({}));

export const io: VerdictIo = {
  async describeExecution(executionArn) {
    try {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return { status: d.status ?? 'UNKNOWN', input: d.input ?? '{}' };
    } catch (err) {
      return rethrowClassified(err, `DescribeExecution ${executionArn}`);
    }
  },
  // Never over a manifest (If-None-Match: *).
  putIfAbsent: putJsonIfAbsent,
  getJson: (bucket, key) => getJsonIfExists(bucket, key),
  publish: (topicArn, event, attributes, tenant) =>
    publishEvent(topicArn, event, attributes, `Publish ${event.videoId}`, tenant),
};

/**
 * Gives back the admission lease of an execution that stopped (any ending,
 * SUCCEEDED included), so the starter may admit the next upload
 * (lambdas/start-workflow/admission.ts). A release that fails throws, and
 * Lambda retries the event; one that is lost for good is reconciled or
 * expires in the starter.
 */
const releaseAdmission = async (event: unknown, stateMachineArn: string): Promise<void> => {
  const bucket = process.env.ADMISSION_LEDGER_BUCKET;
  const videoId = bucket && stoppedExecution(event, stateMachineArn);
  if (!bucket || !videoId) return;
  const released = await releaseLease(s3LedgerStore(s3, bucket, ADMISSION_LEDGER_KEY), videoId);
  logger.info('Admission lease', { videoId, released });
};

/**
 * EventBridge target of the rules on the video state machine's "Step Functions
 * Execution Status Change" events: FAILED, TIMED_OUT and ABORTED get a verdict,
 * and every ending (SUCCEEDED too) gives its admission lease back. Invoked
 * asynchronously: a thrown error is retried by Lambda, then lands in the
 * function's dead-letter queue with the event.
 * Env: OUTPUT_BUCKET, PROCESSED_TOPIC_ARN, STATE_MACHINE_ARN; ADMISSION_LEDGER_BUCKET
 * (where the starter's lease ledger is; no lease is released when unset).
 */
export const handler = async (event: unknown, context: Context) => {
  logger.addContext(context);
  try {
    await releaseAdmission(event, requireEnv('STATE_MACHINE_ARN'));
    const result = await keepVerdict(
      event,
      {
        outputBucket: requireEnv('OUTPUT_BUCKET'),
        topicArn: requireEnv('PROCESSED_TOPIC_ARN'),
        stateMachineArn: requireEnv('STATE_MACHINE_ARN'),
      },
      io,
      correlate
    );
    if (result.outcome === 'written') {
      metrics.addMetric(METRIC_NAMES.videosFailed, MetricUnit.Count, 1);
      emitTenantMetric(METRIC_NAMES.videosFailed, MetricUnit.Count, 1, result.tenant);
      metrics.addMetric('VerdictsKept', MetricUnit.Count, 1);
    }
    logger.info('Execution ending judged', { ...result });
    return result;
  } finally {
    flushMetrics();
  }
};
