import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { SQSHandler, SQSRecord } from 'aws-lambda';
import {
  ADMISSION_LEDGER_KEY,
  METRIC_DIMENSIONS,
  METRIC_NAMES,
  STARTER_INPUT,
  type TenantRateLimits,
  TenantRateLimitsSchema,
  tenantRateLimitsProblem,
  type UploadOverflowPolicy,
  UploadOverflowPolicySchema,
} from '../../contract/index.js';
import { requireEnv } from '../shared/env.js';
import { correlateRecordTenant, flushMetrics, logger, metrics } from '../shared/powertools.js';
import { s3 } from '../shared/s3.js';
import { tenantsInBody } from '../shared/s3-events.js';
import { deadLetterPoison, sqs } from '../shared/sqs.js';
import { tenantDimensionOf } from '../shared/tenant-metrics.js';
import {
  backoffSeconds,
  countRunning,
  StartBudget,
  TenantRateLimited,
  WorkflowsAtCapacity,
} from './backpressure.js';
import { LeaseGate, s3LedgerStore } from './ledger.js';
import { budgetGate, handleUploadMessage, type StartGate, sfn } from './logic.js';
import { countRunningByTenant, listRunningNames, tenantQuotasFromEnv } from './tenant-quota.js';

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
 * Admission (admission.ts, ledger.ts) when ADMISSION_LEDGER_BUCKET is set (the
 * stack always sets it): a lease per start in that bucket's ledger, with
 * TENANT_RATE_LIMITS (JSON `{default, tenants?}`, starts per minute),
 * ADMISSION_LEASE_SECONDS (how long a lease lasts unreleased) and
 * ADMISSION_GRACE_SECONDS (how young a lease is kept though ListExecutions
 * does not list its execution). UPLOAD_OVERFLOW_POLICY `block` (default) or
 * `reject`; `reject` needs OUTPUT_BUCKET and PROCESSED_TOPIC_ARN.
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

const holdBack = async (record: SQSRecord, err: WorkflowsAtCapacity): Promise<void> => {
  const queueUrl = process.env.STARTER_QUEUE_URL;
  if (!queueUrl) return; // without it the message returns after the queue's visibility timeout
  const receives = Number(record.attributes.ApproximateReceiveCount) || 1;
  const maxSeconds = positiveInt('BACKPRESSURE_MAX_SECONDS') ?? 120;
  const backoff = backoffSeconds(
    receives,
    positiveInt('BACKPRESSURE_BASE_SECONDS') ?? 5,
    maxSeconds
  );
  // Not before the tenant's next token: an earlier receive would only be held back again.
  // SQS allows at most 12 hours of invisibility.
  const seconds =
    err instanceof TenantRateLimited
      ? Math.min(43_200, Math.max(backoff, err.retryAfterSeconds))
      : backoff;
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

/** TENANT_RATE_LIMITS (JSON); undefined when unset (no rate limit). */
export const tenantRateLimitsFromEnv = (raw: string | undefined): TenantRateLimits | undefined => {
  if (raw === undefined || raw === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error(`TENANT_RATE_LIMITS is not JSON: ${raw.slice(0, 80)}`);
  }
  const problem = tenantRateLimitsProblem(value);
  if (problem) throw new Error(`TENANT_RATE_LIMITS is invalid: ${problem}`);
  return TenantRateLimitsSchema.parse(value);
};

const overflowPolicyFromEnv = (raw: string | undefined): UploadOverflowPolicy => {
  if (raw === undefined || raw === '') return 'block';
  const parsed = UploadOverflowPolicySchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(`UPLOAD_OVERFLOW_POLICY must be block or reject, got ${raw}`);
  return parsed.data;
};

/** The batch's admission: the lease ledger when configured, else the ListExecutions budget. */
const gateFromEnv = (stateMachineArn: string): StartGate | undefined => {
  const bound = positiveInt('MAX_RUNNING_WORKFLOWS');
  const quotas = tenantQuotasFromEnv(process.env.TENANT_QUOTAS);
  const rates = tenantRateLimitsFromEnv(process.env.TENANT_RATE_LIMITS);
  const ledgerBucket = process.env.ADMISSION_LEDGER_BUCKET;
  if (ledgerBucket) {
    return new LeaseGate(
      s3LedgerStore(s3, ledgerBucket, ADMISSION_LEDGER_KEY),
      { bound, quotas, rates, leaseMs: (positiveInt('ADMISSION_LEASE_SECONDS') ?? 86_400) * 1000 },
      async () => new Set(await listRunningNames(sfn, stateMachineArn)),
      (positiveInt('ADMISSION_GRACE_SECONDS') ?? 60) * 1000
    );
  }
  if (rates)
    throw new Error(
      'TENANT_RATE_LIMITS needs ADMISSION_LEDGER_BUCKET (its token buckets live there)'
    );
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
  return budget && budgetGate(budget);
};

/**
 * One `Rejected` count per tenant per batch (dimensions input and tenant) and
 * one log line for the batch, not one per upload.
 */
const reportRejections = (rejected: ReadonlyMap<string, number>, limits: ReadonlySet<string>) => {
  if (rejected.size === 0) return;
  for (const [tenant, count] of rejected) {
    const single = metrics.singleMetric();
    single.setDefaultDimensions({
      [METRIC_DIMENSIONS.input]: STARTER_INPUT,
      [METRIC_DIMENSIONS.tenant]: tenantDimensionOf(tenant),
    });
    single.addMetric(METRIC_NAMES.rejected, MetricUnit.Count, count);
  }
  logger.warn('Uploads rejected over a limit in this batch', {
    input: STARTER_INPUT,
    byTenant: Object.fromEntries(rejected),
    limits: [...limits],
  });
};

export const handler: SQSHandler = async (event, context) => {
  const stateMachineArn = requireEnv('STATE_MACHINE_ARN');
  const gate = gateFromEnv(stateMachineArn);
  const policy = overflowPolicyFromEnv(process.env.UPLOAD_OVERFLOW_POLICY);
  const config = {
    stateMachineArn,
    uploadBucket: requireEnv('UPLOAD_BUCKET'),
    outputBucket: process.env.OUTPUT_BUCKET,
  };
  if (policy === 'reject') {
    requireEnv('OUTPUT_BUCKET');
  }
  const overflow = {
    policy,
    topicArn: policy === 'reject' ? requireEnv('PROCESSED_TOPIC_ARN') : undefined,
  };
  const rejected = new Map<string, number>();
  const limits = new Set<string>();
  return processPartialResponse(
    event,
    async (record: SQSRecord) => {
      correlateRecordTenant(record.body, tenantsInBody);
      try {
        const outcomes = await handleUploadMessage(record.body, config, gate, {
          ...overflow,
          redelivered: Number(record.attributes.ApproximateReceiveCount) > 1,
        });
        for (const o of outcomes) {
          if (o.status !== 'rejected') continue;
          rejected.set(o.tenant, (rejected.get(o.tenant) ?? 0) + 1);
          limits.add(o.limit);
        }
        return outcomes;
      } catch (err) {
        if (err instanceof WorkflowsAtCapacity) await holdBack(record, err);
        else if (await deadLetterPoison(record, err)) return;
        throw err;
      }
    },
    processor,
    // A batch that fails entirely throws (Powertools' default), so the ESM backs off too.
    // One record at a time: the tenant log key is per process (correlateRecordTenant).
    { context, processInParallel: false }
  ).finally(() => {
    reportRejections(rejected, limits);
    flushMetrics();
  });
};
