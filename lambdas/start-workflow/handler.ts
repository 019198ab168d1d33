import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { SQSHandler, SQSRecord } from 'aws-lambda';
import { requireEnv } from '../shared/env.js';
import { correlateRecordTenant, flushMetrics, logger } from '../shared/powertools.js';
import { tenantsInBody } from '../shared/s3-events.js';
import { deadLetterPoison, sqs } from '../shared/sqs.js';
import { backoffSeconds, countRunning, StartBudget, WorkflowsAtCapacity } from './backpressure.js';
import { handleUploadMessage, sfn } from './logic.js';
import { countRunningByTenant, tenantQuotasFromEnv } from './tenant-quota.js';

/**
 * SQS (raw SNS delivery of S3 notifications) → StartExecution per upload
 * that S3 confirms (logic.ts verifyUpload).
 * Env: STATE_MACHINE_ARN; UPLOAD_BUCKET (the only bucket whose events count); MAX_RUNNING_WORKFLOWS (no bound when unset);
 * TENANT_QUOTAS (JSON `{default, tenants?}`, tenant-quota.ts; no per-tenant quota when unset);
 * OUTPUT_BUCKET (the per-key pointer); STARTER_QUEUE_URL and
 * BACKPRESSURE_BASE_SECONDS / BACKPRESSURE_MAX_SECONDS (the backoff of a
 * held-back upload); DEAD_LETTER_QUEUE_URL (a body that is not an S3 event
 * goes there at once, with its reason). Any other record that throws is
 * reported as a batch item failure, retried by SQS and dead-lettered after
 * maxReceiveCount; one held back by the
 * bound also gets a longer invisibility, so it waits instead of spinning.
 */
export const processor = new BatchProcessor(EventType.SQS);

const positiveInt = (name: string): number | undefined => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
};

const holdBack = async (record: SQSRecord): Promise<void> => {
  const queueUrl = process.env.STARTER_QUEUE_URL;
  if (!queueUrl) return; // without it the message returns after the queue's visibility timeout
  const receives = Number(record.attributes.ApproximateReceiveCount) || 1;
  const seconds = backoffSeconds(
    receives,
    positiveInt('BACKPRESSURE_BASE_SECONDS') ?? 5,
    positiveInt('BACKPRESSURE_MAX_SECONDS') ?? 120
  );
  try {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: seconds,
      })
    );
  } catch (err) {
    logger.warn('Could not set the backoff; the queue visibility timeout applies', {
      error: (err as Error).message,
    });
  }
};

export const handler: SQSHandler = async (event, context) => {
  const stateMachineArn = requireEnv('STATE_MACHINE_ARN');
  const bound = positiveInt('MAX_RUNNING_WORKFLOWS');
  const quotas = tenantQuotasFromEnv(process.env.TENANT_QUOTAS);
  // Global bound only: one page of `bound` answers "at least bound running?".
  // With quotas, every RUNNING name is needed to count per tenant.
  const budget = quotas
    ? new StartBudget({ bound, quotas }, () => countRunningByTenant(sfn, stateMachineArn))
    : bound
      ? new StartBudget({ bound }, async () => ({
          total: await countRunning(sfn, stateMachineArn, bound),
          byTenant: new Map(),
        }))
      : undefined;
  const config = {
    stateMachineArn,
    uploadBucket: requireEnv('UPLOAD_BUCKET'),
    outputBucket: process.env.OUTPUT_BUCKET,
  };
  return processPartialResponse(
    event,
    async (record: SQSRecord) => {
      correlateRecordTenant(record.body, tenantsInBody);
      try {
        return await handleUploadMessage(record.body, config, budget);
      } catch (err) {
        if (err instanceof WorkflowsAtCapacity) await holdBack(record);
        else if (await deadLetterPoison(record, err)) return;
        throw err;
      }
    },
    processor,
    // A batch that fails entirely throws (Powertools' default), so the ESM backs off too.
    // One record at a time: the tenant log key is per process (correlateRecordTenant).
    { context, processInParallel: false }
  ).finally(flushMetrics);
};
