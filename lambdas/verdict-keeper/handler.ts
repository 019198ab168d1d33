import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { Context } from 'aws-lambda';
import { METRIC_NAMES } from '../../contract/index.js';
import { rethrowClassified } from '../../shared/aws-errors.js';
import { requireEnv } from '../shared/env.js';
import { correlate, flushMetrics, logger, metrics, tracer } from '../shared/powertools.js';
import { getJsonIfExists, s3 } from '../shared/s3.js';
import { publishEvent } from '../shared/sns.js';
import { emitTenantMetric } from '../shared/tenant-metrics.js';
import { keepVerdict, type VerdictIo } from './logic.js';

const sfn = tracer.captureAWSv3Client(new SFNClient({}));

/** 412: the manifest exists; 409 ConditionalRequestConflict: another writer is writing it now. */
const isConditionFailure = (err: unknown): boolean => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e?.name === 'PreconditionFailed' ||
    e?.name === 'ConditionalRequestConflict' ||
    e?.$metadata?.httpStatusCode === 412 ||
    e?.$metadata?.httpStatusCode === 409
  );
};

export const io: VerdictIo = {
  async describeExecution(executionArn) {
    try {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return { status: d.status ?? 'UNKNOWN', input: d.input ?? '{}' };
    } catch (err) {
      return rethrowClassified(err, `DescribeExecution ${executionArn}`);
    }
  },
  async putIfAbsent(bucket, key, body) {
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: `${JSON.stringify(body, null, 2)}\n`,
          ContentType: 'application/json',
          // Never over a manifest: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
          IfNoneMatch: '*',
        })
      );
      return 'written';
    } catch (err) {
      if (isConditionFailure(err)) return 'exists';
      return rethrowClassified(err, `PutObject s3://${bucket}/${key}`);
    }
  },
  getJson: (bucket, key) => getJsonIfExists(bucket, key),
  publish: (topicArn, event, attributes, tenant) =>
    publishEvent(topicArn, event, attributes, `Publish ${event.videoId}`, tenant),
};

/**
 * EventBridge target of the rule on the video state machine's "Step Functions
 * Execution Status Change" events (FAILED, TIMED_OUT, ABORTED). Invoked
 * asynchronously: a thrown error is retried by Lambda, then lands in the
 * function's dead-letter queue with the event.
 * Env: OUTPUT_BUCKET, PROCESSED_TOPIC_ARN, STATE_MACHINE_ARN.
 */
export const handler = async (event: unknown, context: Context) => {
  logger.addContext(context);
  try {
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
